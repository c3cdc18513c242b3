"""Publishing to optuna-dashboard, and `aisnas dashboard` served and read over HTTP and in Chromium."""

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import optuna
import optuna_dashboard
import pytest
from optuna.artifacts import get_all_artifact_meta

from aisnas.report import SIGMA_ARTIFACT, DashboardPublisher, artifact_dir_for, publish_study

METRICS = ("noisy_accuracy", "clean_accuracy")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("url, expected", [
    ("sqlite:///runs/x.db", Path("runs/aisnas-artifacts")),
    ("sqlite:////abs/dir/x.db", Path("/abs/dir/aisnas-artifacts")),
    ("sqlite:///aisnas.db", Path("aisnas-artifacts")),
    (None, Path("aisnas-artifacts")),  # the default storage sqlite:///aisnas.db
    ("journal:/j/s.journal", Path("/j/aisnas-artifacts")),
    ("postgresql://u:pw@host/db", Path("aisnas-artifacts")),
])
def test_artifact_dir_follows_the_storage(url, expected):
    assert artifact_dir_for(url) == expected


def _searchlike(study: optuna.Study, trial_attrs, n: int, publisher: DashboardPublisher, seen_notes: list):
    """Trials as TrialRunner records them, through the publisher's objective wrapper and callback."""

    def objective(trial):
        seen_notes.append(optuna_dashboard.get_note(study))  # what the dashboard showed when this trial began
        a = trial_attrs("k3", trial.number, 0.5 + trial.number / 100, 0.6, noisy_by_sigma={0.0: 0.6, 0.4: 0.5})
        if trial.number == 1:
            a["skipped_training"] = "over budget: sensor_area_mm2"  # priced, not trained: no plot
        for k, v in a.items():
            trial.set_user_attr(k, v)
        return [a["noisy_accuracy"], a["clean_accuracy"]]

    study.optimize(publisher.objective(objective), n_trials=n, callbacks=[publisher])


def _new_study(url, name="pub"):
    from aisnas.search import open_storage

    study = optuna.create_study(study_name=name, storage=open_storage(url), directions=["maximize", "maximize"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(list(METRICS))
    return study


def test_publisher_refreshes_every_three_trials_and_attaches_a_plot_per_trial(trial_attrs, storage_url, tmp_path):
    study = _new_study(storage_url)
    pub = DashboardPublisher(storage_url, artifact_dir=tmp_path / "art")
    notes: list[str] = []
    _searchlike(study, trial_attrs, 7, pub, notes)
    # Published after trials 3 and 6, not after each: trials 1-3 saw no note, 4-6 saw 3 complete.
    assert pub.publications == 2
    assert notes[:3] == ["", "", ""] and all("complete 3" in n for n in notes[3:6]) and "complete 6" in notes[6]
    pub.finish(study)
    assert pub.publications == 3 and "complete 7" in optuna_dashboard.get_note(study)
    assert "Feasible Pareto front (1 trials)" in optuna_dashboard.get_note(study)  # trial 6: the best noisy
    for t in study.trials:
        metas = get_all_artifact_meta(t, storage=study._storage)
        if t.number == 1:
            assert metas == []
            continue
        assert [m.filename for m in metas] == [SIGMA_ARTIFACT] and metas[0].mimetype == "image/png"
        assert (tmp_path / "art" / metas[0].artifact_id).read_bytes().startswith(PNG_MAGIC)


def test_publish_replaces_rather_than_piles_up(trial_attrs, storage_url, tmp_path):
    study = _new_study(storage_url)
    _searchlike(study, trial_attrs, 2, DashboardPublisher(storage_url, artifact_dir=tmp_path / "a", every=99), [])
    assert publish_study(study) == ["pareto-front", "accuracy-vs-sigma"]
    publish_study(study)
    from optuna_dashboard._custom_plot_data import get_plotly_graph_objects  # what the dashboard's API serves

    graphs = get_plotly_graph_objects(study._storage.get_study_system_attrs(study._study_id))
    assert sorted(graphs) == ["accuracy-vs-sigma", "pareto-front"]
    front = json.loads(graphs["pareto-front"])
    assert {tr["name"].split(" (")[0] for tr in front["data"]} == {"Pareto front", "dominated"}


def test_a_failing_publisher_never_stops_the_search(trial_attrs, storage_url, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")  # the artifact folder cannot be created here
    out = io.StringIO()
    study = _new_study(storage_url)
    pub = DashboardPublisher(storage_url, artifact_dir=blocker, out=out)
    _searchlike(study, trial_attrs, 3, pub, [])
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert out.getvalue().count("could not publish to the dashboard") == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.headers.get_content_type(), r.read()


@pytest.mark.slow
def test_aisnas_dashboard_serves_the_study_its_trials_and_artifacts(trial_attrs, tmp_path, browser, page_tools):
    url = f"journal:{tmp_path / 'dash.journal'}"
    study = _new_study(url, "dash-smoke")
    pub = DashboardPublisher(url)  # the artifact folder derived from the storage, as `aisnas dashboard` finds it
    _searchlike(study, trial_attrs, 3, pub, [])
    port = _free_port()
    log = open(tmp_path / "server.log", "w+")
    server = subprocess.Popen([sys.executable, "-m", "aisnas", "dashboard", "--storage", url, "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:  # bounded: the server needs a few seconds to import and bind
            try:
                _, body = _get(f"{base}/api/studies")
                break
            except OSError:
                assert server.poll() is None, log.seek(0) or log.read()
                assert time.monotonic() < deadline, "dashboard did not answer within 90 s"
                time.sleep(0.5)
        studies = json.loads(body)["study_summaries"]
        assert [s["study_name"] for s in studies] == ["dash-smoke"]
        sid = studies[0]["study_id"]
        detail = json.loads(_get(f"{base}/api/studies/{sid}")[1])
        assert [t["number"] for t in detail["trials"]] == [0, 1, 2]
        assert {g["id"] for g in detail["plotly_graph_objects"]} == {"pareto-front", "accuracy-vs-sigma"}
        assert "## dash-smoke" in detail["note"]["body"]
        arts = detail["trials"][0]["artifacts"]
        assert [a["filename"] for a in arts] == [SIGMA_ARTIFACT]
        kind, png = _get(f"{base}/artifacts/{sid}/{detail['trials'][0]['trial_id']}/{arts[0]['artifact_id']}")
        assert kind == "image/png" and png.startswith(PNG_MAGIC)

        from selenium.webdriver.support.ui import WebDriverWait

        page_tools.severe_errors(browser)  # drop what earlier pages logged
        browser.get(f"{base}/dashboard")
        WebDriverWait(browser, 60).until(lambda d: "dash-smoke" in d.find_element("tag name", "body").text)
        assert page_tools.severe_errors(browser) == []
        # The study page draws the figures the search published, with the dashboard's own plotly.
        browser.get(f"{base}/dashboard/studies/{sid}")
        WebDriverWait(browser, 60).until(
            lambda d: "Feasible Pareto front" in d.find_element("tag name", "body").text)
        assert "Accuracy vs noise sigma per variant" in browser.find_element("tag name", "body").text
        page_tools.screenshot(browser, tmp_path / "dashboard.png")
        log.seek(0)
        assert f"http://127.0.0.1:{port}/dashboard" in log.read()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
