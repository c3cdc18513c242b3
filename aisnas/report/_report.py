"""`write_report`: a study's `index.html`, `trials.csv` and `trials.json` in one folder.

The page reads top to bottom: what the study is, what state it is in (with a clear
message for a study with no complete trial, only failures, one objective, or trials
still running), then the front, the noise curves, the per-variant figures, the
per-layer costs of the front, the hypervolume, the importances and the tables.
"""

from __future__ import annotations

import datetime as _dt
import tempfile
from pathlib import Path

import pandas as pd

from aisnas.report._breakdown import ppa_breakdowns
from aisnas.report._figures import (
    accuracy_per_label,
    accuracy_vs_bits,
    accuracy_vs_sigma,
    pareto_2d,
    pareto_3d,
)
from aisnas.report._html import Page
from aisnas.report._load import StudyData, load_study_data
from aisnas.report._study_plots import hypervolume_history, param_importances

__all__ = ["PARETO_COLUMNS", "status_messages", "write_report"]

# The Pareto table: these columns when present, then the objective values.
PARETO_COLUMNS = ("number", "label", "seed", "arch_id", "input_variant", "clean_accuracy", "noisy_accuracy",
                  "energy_pj", "sensor_area_mm2", "adc_conversions", "onsensor_weight_bits", "latency_us", "macs",
                  "params", "arch_depth", "arch_channels", "arch_kernel", "arch_fan_in", "arch_weight_bits",
                  "arch_in_sensor_layers", "seconds_total")
PREVIEW_IMAGES = 4  # test images per column of the input-variant picture grid


def write_report(study, storage=None, out_dir: str | Path | None = None, *, budget: str | None = None,
                 data: str | None = None, storage_url: str | None = None) -> Path:
    """Write the report of `study` (an optuna.Study or a name) and return the folder.

    `storage` is a URL (default `sqlite:///aisnas.db`) or an Optuna storage; `budget`
    maps a study file name to its stored name ("fanin" + "smoke" -> "fanin-smoke");
    `out_dir` defaults to `reports/<stored study name>`; `data` is the dataset used for
    the input-variant pictures of raw studies (default: the study's own data path).
    """
    sd = load_study_data(study, storage, budget=budget, storage_url=storage_url)
    out = Path(out_dir) if out_dir is not None else Path("reports") / sd.name
    out.mkdir(parents=True, exist_ok=True)
    sd.frame.to_csv(out / "trials.csv", index=False)
    sd.frame.to_json(out / "trials.json", orient="records", indent=1, double_precision=15)
    (out / "index.html").write_text(_page(sd, data).html(), encoding="utf-8")
    return out


def status_messages(sd: StudyData) -> list[str]:
    """What a reader must know before the figures: empty, failed, single-objective, running."""
    f = sd.frame
    n = len(f)
    states = f["state"].value_counts().to_dict() if n else {}
    complete, failed = states.get("COMPLETE", 0), states.get("FAIL", 0)
    out = []
    if n == 0:
        out.append("This study has no trials yet: run `aisnas search` on it, then write the report again.")
    elif complete == 0:
        what = "all of its trials failed (reasons below)" if failed == n else "none of its trials has completed yet"
        out.append(f"No complete trial: {what}. There is no front to draw.")
    elif failed:
        out.append(f"{failed} of {n} trials failed; their reasons are listed at the end.")
    if complete and not len(sd.trials("pareto", "dominated")):
        out.append("Every complete trial is infeasible (breaks a constraint): the feasible front is empty.")
    running = states.get("RUNNING", 0) + states.get("WAITING", 0)
    if running:
        out.append(f"The study is still running: {states.get('RUNNING', 0)} trial(s) running and "
                   f"{states.get('WAITING', 0)} waiting; this report is a snapshot.")
    if not sd.multi_objective:
        out.append("Single-objective study: the 'front' is the best trial; there is no hypervolume.")
    return out


def _summary(page: Page, sd: StudyData) -> None:
    a, f = sd.attrs, sd.frame
    objectives = ", ".join(f"{n} ({d})" for n, d in zip(sd.metric_names, sd.directions))
    cons = a.get("config", {}).get("constraints", {})
    states = ", ".join(f"{k.lower()} {v}" for k, v in f["state"].value_counts().items()) if len(f) else "none"
    statuses = ", ".join(f"{k} {v}" for k, v in f["status"].value_counts().items()) if len(f) else "none"
    page.key_values([
        ("description", a.get("description", "")), ("study", f"{sd.name} (file {a.get('study', '?')}, "
                                                             f"budget {a.get('budget', '?')})"),
        ("created", a.get("created", "")), ("storage", sd.storage), ("code version", a.get("code_version", "")),
        ("config hash", a.get("config_hash", "")), ("study file", a.get("source", "")),
        ("objectives", objectives), ("constraints", ", ".join(f"{k} {v}" for k, v in cons.items() if v) or "none"),
        ("trials by state", states), ("trials by status", statuses),
        ("files", "trials.csv and trials.json beside this page: one row per trial"),
    ])


def _front(page: Page, sd: StudyData) -> None:
    page.heading("Pareto front")
    page.note("Status is computed on all objectives among feasible complete trials; a 2-D projection can show a "
              "front point below another. Hover a point for its architecture.")
    pairs = [(x, "noisy_accuracy") for x in ("energy_pj", "sensor_area_mm2", "adc_conversions")]
    pairs.append(("clean_accuracy", "noisy_accuracy"))
    figs = [pareto_2d(sd, x, y) for x, y in pairs]
    page.figures_grid(figs)
    metrics = [m for m in sd.metric_names if m in sd.frame]
    axes = tuple(metrics[:3]) if len(metrics) >= 3 else ("noisy_accuracy", "energy_pj", "sensor_area_mm2")
    fig3 = pareto_3d(sd, axes)
    page.figure(fig3)
    if not any(figs) and fig3 is None:
        page.note("nothing to draw: no complete trial with these figures")


def _variant_pictures(page: Page, sd: StudyData, data: str | None) -> None:
    variants = [v for v in dict.fromkeys(sd.frame.get("input_variant", pd.Series(dtype=object)).dropna())]
    if not variants or variants == ["N/A"]:
        return
    page.heading("Input variants as the network sees them")
    if "N/A" not in variants:
        variants.insert(0, "N/A")
    path = data or sd.attrs.get("config", {}).get("data", {}).get("path")
    try:
        from aisnas.data import load_dataset
        from aisnas.raw import preview_grid

        ds = load_dataset(path, download=False, progress=False)
        with tempfile.TemporaryDirectory() as tmp:
            png = preview_grid(ds.x_test[:PREVIEW_IMAGES], variants, Path(tmp) / "variants.png")
            page.picture(png, "input variants")
        page.note(f"{PREVIEW_IMAGES} test images of {ds.source}, one column per variant (Fig. 6 of the paper)")
    except Exception as e:  # no dataset here (or an unknown variant): the rest of the report still stands
        page.note(f"no picture grid: the dataset could not be loaded ({str(e).splitlines()[0][:200]}); "
                  "pass --data PATH")


def _tables(page: Page, sd: StudyData) -> None:
    front = sd.trials("pareto")
    page.heading("Pareto trials")
    if len(front):
        cols = [c for c in PARETO_COLUMNS if c in front] + [c for c in front if c.startswith("value_")]
        page.table(front[cols], sortable=True, table_id="pareto-table")
        page.note("click a column header to sort")
    else:
        page.note("no feasible complete trial")
    failed = sd.trials("fail")
    if len(failed):
        page.heading("Failed trials")
        page.table(failed[["number", "label", "seed", "arch_id", "failure_reason"]])
    live = sd.trials("running", "waiting")
    if len(live):
        page.heading("Running and waiting trials")
        page.table(live[["number", "state", "label", "seed", "datetime_start"]])


def _page(sd: StudyData, data: str | None) -> Page:
    page = Page(f"aisnas report: {sd.name}")
    page.heading(f"Study {sd.name}", level=1)
    for m in status_messages(sd):
        page.message(m)
    _summary(page, sd)
    if len(sd.trials("pareto", "dominated", "infeasible")):
        _front(page, sd)
        sigma, per_label, bits = accuracy_vs_sigma(sd), accuracy_per_label(sd), accuracy_vs_bits(sd)
        if sigma is not None:
            page.heading("Accuracy vs noise")
            page.figure(sigma)
        if per_label is not None:
            page.heading("Accuracy per variant")
            page.figure(per_label)
        if bits is not None:
            page.heading("Accuracy vs weight bits")
            page.figure(bits)
        _variant_pictures(page, sd, data)
        page.heading("Per-layer PPA of the Pareto architectures")
        breakdowns, note = ppa_breakdowns(sd)
        page.note(note)
        for b in breakdowns:
            page.heading(b.title, level=3)
            page.note(b.note)
            page.figure(b.figure)
            if b.table is not None:
                page.table(b.table)
        for title, (fig, note) in (("Hypervolume history", hypervolume_history(sd)),
                                   ("Parameter importances", param_importances(sd))):
            page.heading(title)
            page.note(note)
            page.figure(fig)
    _tables(page, sd)
    from aisnas import __version__

    page.note(f"written {_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')} by aisnas {__version__}")
    return page
