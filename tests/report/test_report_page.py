"""The page: offline, every section where it belongs, and clear words for degenerate studies."""

import json
import re

import pandas as pd
import pytest

from aisnas.cli import main
from aisnas.report import write_report

METRICS = ("noisy_accuracy", "clean_accuracy")
PLOTLY_BANNER = "* plotly.js v"  # the licence header that opens the inlined bundle


def _page(out):
    return (out / "index.html").read_text()


def test_page_is_offline_with_plotly_inlined_once(make_study, trial_attrs, storage_url, tmp_path):
    specs = [{"attrs": trial_attrs(f"k{k}", 0, 0.5 + k / 100, 0.7 - k / 100, arch_args={"kernel": k})}
             for k in (3, 5)]
    make_study(storage_url, "two", specs, metrics=METRICS)
    html = _page(write_report("two", storage_url, tmp_path / "two"))
    assert html.count(PLOTLY_BANNER) == 1
    assert not re.search(r"<script[^>]+src=", html), "a script is loaded from elsewhere"
    assert not re.search(r"<link[^>]+href=", html)
    # 4 projections + 3-D + sigma + per-variant + 2 PPA breakdowns + hypervolume; only the
    # variant varies (one seed), so importances are not drawn and the page says why.
    assert html.count('class="plotly-graph-div"') == 10
    assert "only &#x27;variant&#x27; varies across the complete trials" in html
    for section in ("Pareto front", "Accuracy vs noise", "Accuracy per variant", "Per-layer PPA",
                    "Hypervolume history", "Parameter importances", "Pareto trials"):
        assert f">{section}" in html, section
    assert 'id="pareto-table"' in html and "Accuracy vs weight bits" not in html  # no quantized attrs here
    assert "test study two" in html and "2026-01-01" in html


def test_empty_study(make_study, storage_url, tmp_path):
    make_study(storage_url, "empty", [], metrics=METRICS)
    out = write_report("empty", storage_url, tmp_path / "empty")
    assert "has no trials yet" in _page(out)
    assert json.loads((out / "trials.json").read_text()) == []
    assert {"number", "state", "status", "failure_reason"} <= set(pd.read_csv(out / "trials.csv").columns)


def test_only_failed_trials_show_their_reasons(make_study, trial_attrs, storage_url, tmp_path):
    specs = [{"attrs": {"label": "k3", "seed": s}, "fail": f"AisnasError: invalid architecture {s}"}
             for s in (0, 1)]
    make_study(storage_url, "failed", specs, metrics=METRICS)
    html = _page(write_report("failed", storage_url, tmp_path / "failed"))
    assert "No complete trial: all of its trials failed" in html
    assert "invalid architecture 0" in html and "invalid architecture 1" in html
    assert PLOTLY_BANNER not in html  # nothing to draw, so no 4.6 MB of plotly.js either


def test_single_objective_study(make_study, trial_attrs, storage_url, tmp_path):
    specs = [{"attrs": trial_attrs("k3", s, 0.5 + s / 10, 0.7)} for s in (0, 1)]
    make_study(storage_url, "single", specs, metrics=("noisy_accuracy",))
    out = write_report("single", storage_url, tmp_path / "single")
    html = _page(out)
    assert "Single-objective study" in html and "single-objective study: no hypervolume" in html
    frame = pd.read_csv(out / "trials.csv")
    assert list(frame["status"]) == ["dominated", "pareto"]  # the better one is the "front"


def test_running_study_is_a_snapshot(make_study, trial_attrs, storage_url, tmp_path):
    study = make_study(storage_url, "live", [{"attrs": trial_attrs("k3", 0, 0.5, 0.7)}], metrics=METRICS)
    study.ask()  # a trial that has started and not finished
    out = write_report("live", storage_url, tmp_path / "live")
    html = _page(out)
    assert "still running: 1 trial(s) running" in html and ">Running and waiting trials<" in html
    assert list(pd.read_csv(out / "trials.csv")["state"]) == ["COMPLETE", "RUNNING"]


def test_all_infeasible(make_study, trial_attrs, storage_url, tmp_path):
    specs = [{"attrs": trial_attrs("k3", 0, 0.5, 0.7), "constraints": {"sensor_area_mm2": 0.3}}]
    make_study(storage_url, "over", specs, metrics=METRICS)
    html = _page(write_report("over", storage_url, tmp_path / "over"))
    assert "Every complete trial is infeasible" in html and "no feasible complete trial" in html


def test_raw_study_draws_the_variant_pictures_when_the_data_is_there(make_study, trial_attrs, storage_url, tmp_path,
                                                                     monkeypatch):
    from aisnas.data import write_synthetic_image_folder

    monkeypatch.setenv("AISNAS_CACHE", str(tmp_path / "cache"))
    data = write_synthetic_image_folder(tmp_path / "data", classes=2, train=2, test=4, size=8)
    specs = [{"attrs": trial_attrs(v, 0, 0.5, 0.6, variant=v)} for v in ("N/A", "M", "U+M")]
    make_study(storage_url, "raw", specs, metrics=METRICS)
    html = _page(write_report("raw", storage_url, tmp_path / "with", data=str(data)))
    assert html.count('<img class="picture"') == 1 and "data:image/png;base64," in html
    html = _page(write_report("raw", storage_url, tmp_path / "without", data=str(tmp_path / "nowhere")))
    assert "no picture grid: the dataset could not be loaded" in html and '<img class="picture"' not in html


def test_cli_writes_the_report_and_refuses_unknown_studies(make_study, trial_attrs, storage_url, tmp_path, capsys):
    make_study(storage_url, "cli-smoke", [{"attrs": trial_attrs("k3", 0, 0.5, 0.7)}], metrics=METRICS)
    out = tmp_path / "cli"
    assert main(["report", "--study", "cli", "--budget", "smoke", "--storage", storage_url, "--out", str(out)]) == 0
    assert str(out / "index.html") in capsys.readouterr().out
    assert len(pd.read_csv(out / "trials.csv")) == 1
    assert main(["report", "--study", "nope", "--storage", storage_url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no study 'nope'" in err and "cli-smoke" in err


@pytest.mark.parametrize("budget, name", [(None, "fanin"), ("smoke", "fanin-smoke")])
def test_default_folder_is_reports_slash_stored_name(make_study, storage_url, tmp_path, monkeypatch, budget, name):
    make_study(storage_url, name, [], metrics=METRICS)
    monkeypatch.chdir(tmp_path)
    assert write_report("fanin", storage_url, budget=budget) == tmp_path.joinpath("reports", name).relative_to(
        tmp_path)
    assert (tmp_path / "reports" / name / "index.html").is_file()
