"""Publishing a study to optuna-dashboard, and serving the dashboard on a storage.

optuna-dashboard 0.21 does not read Optuna constraints (its own Pareto view shows
infeasible trials), so the search publishes its own feasibility-aware Pareto figure
and the accuracy-vs-sigma curves (`save_plotly_graph_object` with fixed ids, so a
refresh replaces them), a Markdown note with the study summary (`save_note`), and per
trial a PNG of its accuracy-vs-sigma curve as an artifact (uploaded as the trial
ends: Optuna refuses changes to a finished trial). Refreshing rewrites the figures'
JSON in the storage, so `DashboardPublisher` does it every few trials and at the end
rather than after every trial.

Artifacts live in a folder derived from the storage, so `aisnas dashboard` finds them
without being told: `sqlite:///DIR/X.db` and `journal:DIR/X` -> `DIR/aisnas-artifacts`,
anything else (a database server) -> `./aisnas-artifacts`.
"""

from __future__ import annotations

import datetime as _dt
import sys
import tempfile
import warnings
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial

from aisnas.report._figures import accuracy_vs_sigma, pareto_2d
from aisnas.report._load import StudyData, load_study_data

__all__ = ["ARTIFACT_DIRNAME", "DashboardPublisher", "SIGMA_ARTIFACT", "artifact_dir_for", "publish_study",
           "serve_dashboard", "study_note", "upload_trial_artifacts"]

ARTIFACT_DIRNAME = "aisnas-artifacts"
SIGMA_ARTIFACT = "accuracy_vs_sigma.png"
PUBLISH_EVERY = 3  # trials between refreshes: each rewrites every figure's JSON in the storage
GRAPH_IDS = ("pareto-front", "accuracy-vs-sigma")


def artifact_dir_for(storage_url: str | None) -> Path:
    """The artifact folder that belongs to a storage URL (see the module docstring)."""
    from aisnas.search import DEFAULT_STORAGE

    url = storage_url or DEFAULT_STORAGE
    for prefix in ("sqlite:///", "journal:"):
        if url.startswith(prefix) and url[len(prefix):] not in ("", ":memory:"):
            return Path(url[len(prefix):]).expanduser().parent / ARTIFACT_DIRNAME
    return Path(ARTIFACT_DIRNAME)


def study_note(sd: StudyData) -> str:
    """The study summary as Markdown: what, when, state, and the feasible front as a table."""
    a, f = sd.attrs, sd.frame
    counts = f["state"].value_counts().to_dict() if len(f) else {}
    lines = [f"## {sd.name}", "", a.get("description", ""), "",
             f"- budget **{a.get('budget', '?')}**, created {a.get('created', '?')}, "
             f"code {a.get('code_version', '?')}, config hash `{a.get('config_hash', '?')}`",
             "- objectives: " + ", ".join(f"{n} ({d})" for n, d in zip(sd.metric_names, sd.directions)),
             "- trials: " + (", ".join(f"{k.lower()} {v}" for k, v in counts.items()) or "none yet"), ""]
    front = sd.trials("pareto")
    if len(front):
        cols = [c for c in ("number", "label", "seed", "arch_id", "noisy_accuracy", "clean_accuracy", "energy_pj",
                            "sensor_area_mm2", "adc_conversions") if c in front]
        lines += [f"### Feasible Pareto front ({len(front)} trials)", "",
                  "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for _, r in front.head(30).iterrows():
            lines.append("| " + " | ".join(_cell(r[c]) for c in cols) + " |")
        if len(front) > 30:
            lines.append(f"\n... and {len(front) - 30} more (see the report)")
    else:
        lines.append("No feasible complete trial yet.")
    budget = a.get("budget", "default")
    from aisnas.search import DEFAULT_STORAGE

    store = "" if sd.storage in ("", DEFAULT_STORAGE) else f" --storage '{sd.storage}'"
    lines += ["", f"Full report: `aisnas report --study {a.get('study', sd.name)}"
                  + ("" if budget == "default" else f" --budget {budget}") + store + "`",
              f"\n_updated {_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')}_"]
    return "\n".join(lines)


def _cell(v) -> str:
    if isinstance(v, float):
        return "-" if v != v else f"{v:.4g}"
    return str(v).replace("|", "/")


def _sigma_png(trial, path: Path) -> Path | None:
    """This trial's accuracy against sigma, one line per noise kind, bars = std over repeats."""
    records = trial.user_attrs.get("noisy") or []
    if not records:
        return None
    # The object API, not pyplot: no global figure state, no GUI backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for kind in dict.fromkeys(r["kind"] for r in records):
        rs = sorted((r for r in records if r["kind"] == kind), key=lambda r: r["sigma"])
        ax.errorbar([r["sigma"] for r in rs], [r["mean"] for r in rs], yerr=[r.get("std") or 0 for r in rs],
                    marker="o", capsize=3, label=f"{kind} (n={rs[0].get('repeats')} repeats)")
    a = trial.user_attrs
    ax.set(xlabel=f"sigma ({a.get('noise_mode', '')})", ylabel="accuracy",
           title=f"trial {trial.number}: {a.get('label', '')} seed {a.get('seed', '')}")
    ax.grid(alpha=.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return path


def upload_trial_artifacts(trial: optuna.Trial, artifact_dir: str | Path) -> list[str]:
    """Attach this trial's accuracy-vs-sigma PNG; call it while the trial is running.

    Optuna refuses to change a finished trial, so this runs inside the objective
    (see `DashboardPublisher.objective`), not in a callback. Returns the artifact ids.
    """
    from optuna.artifacts import FileSystemArtifactStore, upload_artifact

    if trial.user_attrs.get("skipped_training") or not trial.user_attrs.get("noisy"):
        return []
    Path(artifact_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        png = _sigma_png(trial, Path(tmp) / SIGMA_ARTIFACT)  # the artifact keeps the file's name
        return [upload_artifact(artifact_store=FileSystemArtifactStore(str(artifact_dir)), file_path=str(png),
                                study_or_trial=trial, mimetype="image/png")]


def publish_study(study: optuna.Study, *, storage_url: str | None = None) -> list[str]:
    """Publish the study's figures and note (replacing earlier ones); returns the graph ids."""
    import optuna_dashboard

    sd = load_study_data(study, storage_url=storage_url)
    published: list[str] = []
    m = sd.metric_names
    if sd.multi_objective:
        fig = pareto_2d(sd, f"value_{m[1]}", f"value_{m[0]}")
        if fig is not None:
            fig.update_layout(title=f"Feasible Pareto front: {m[0]} vs {m[1]} (infeasible and dominated apart)")
            optuna_dashboard.save_plotly_graph_object(study, fig, graph_object_id=GRAPH_IDS[0])
            published.append(GRAPH_IDS[0])
    sig = accuracy_vs_sigma(sd)
    if sig is not None:
        optuna_dashboard.save_plotly_graph_object(study, sig, graph_object_id=GRAPH_IDS[1])
        published.append(GRAPH_IDS[1])
    optuna_dashboard.save_note(study, study_note(sd))
    return published


class DashboardPublisher:
    """The search's link to the dashboard.

    As an Optuna callback it runs `publish_study` every `every` finished trials; call
    `finish` at the end. `objective(f)` wraps an objective so that each trial that
    returns uploads its artifacts before it is marked finished. A failure to publish
    is reported once and never stops the search: the trials are stored either way,
    and `aisnas report` draws the same figures later.
    """

    def __init__(self, storage_url: str | None = None, *, every: int = PUBLISH_EVERY,
                 artifact_dir: str | Path | None = None, out=None):
        self.storage_url = storage_url
        self.every = max(1, int(every))
        self.artifact_dir = Path(artifact_dir) if artifact_dir is not None else artifact_dir_for(storage_url)
        self.out = out or sys.stderr
        self.pending = 0
        self.publications = 0
        self._warned = False

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.pending += 1
        if self.pending >= self.every:
            self.publish(study)

    def finish(self, study: optuna.Study) -> None:
        self.publish(study)

    def publish(self, study: optuna.Study) -> None:
        self.pending = 0
        if self._safely(publish_study, study, storage_url=self.storage_url) is not None:
            self.publications += 1

    def objective(self, func):
        def objective_with_artifacts(trial: optuna.Trial):
            values = func(trial)
            self._safely(upload_trial_artifacts, trial, self.artifact_dir)
            return values

        return objective_with_artifacts

    def _safely(self, f, *args, **kw):
        try:
            return f(*args, **kw)
        except Exception as e:  # the dashboard is a view: losing it must not lose the search
            if not self._warned:
                print(f"aisnas: warning: could not publish to the dashboard: {type(e).__name__}: {e}",
                      file=self.out, flush=True)
                self._warned = True
            return None


def serve_dashboard(storage_url: str | None = None, *, host: str = "127.0.0.1", port: int = 8080,
                    artifact_dir: str | Path | None = None, out=None) -> None:
    """Run optuna-dashboard on the storage until interrupted (blocks), artifacts included."""
    import optuna_dashboard
    from optuna.artifacts import FileSystemArtifactStore

    from aisnas.report._load import open_report_storage
    from aisnas.search import DEFAULT_STORAGE, redact

    url = storage_url or DEFAULT_STORAGE
    storage = open_report_storage(url)
    art = Path(artifact_dir) if artifact_dir is not None else artifact_dir_for(url)
    art.mkdir(parents=True, exist_ok=True)
    out = out or sys.stdout
    shown = f"[{host}]" if ":" in host else host
    print(f"optuna-dashboard on {redact(url)} (artifacts: {art}): http://{shown}:{port}/dashboard "
          "(Ctrl-C stops it)", file=out, flush=True)
    optuna_dashboard.run_server(storage, host=host, port=port, artifact_store=FileSystemArtifactStore(str(art)))
