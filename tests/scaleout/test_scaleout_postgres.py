"""Many workers on one PostgreSQL study: exact totals, a lost machine's trial retried, the
report and the dashboard reading it, and the password kept out of everything."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import threading
import time
import urllib.request
from itertools import product
from types import SimpleNamespace

import optuna
import pytest
from scaleout_helpers import PASSWORD, machine, write_study
from optuna.trial import TrialState

from aisnas.cli import main
from aisnas.report import serve_dashboard, write_report
from aisnas.search import open_storage, run_search
from aisnas.search._workers import threads_per_worker

pytestmark = pytest.mark.slow


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=open_storage(url)).trials


def _complete_points(trials) -> list[tuple[str, int]]:
    return sorted((t.params["variant"], t.params["seed"]) for t in trials if t.state == TrialState.COMPLETE)


def _everything_stored(url: str, name: str) -> str:
    study = optuna.load_study(study_name=name, storage=open_storage(url))
    blob = {"study": [study.user_attrs, study._storage.get_study_system_attrs(study._study_id)],
            "trials": [[t.user_attrs, t.system_attrs, t.params] for t in study.trials]}
    return json.dumps(blob, default=str)


@pytest.fixture(scope="module")
def grid_run(postgres, tiny_data, shared_cache, tmp_path_factory):
    """One search by 4 workers on PostgreSQL: 2 variants x 3 seeds, read by the tests below."""
    folder = tmp_path_factory.mktemp("grid")
    url = postgres.new_database()
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)  # a PostgreSQL run keeps dashboard artifacts in ./aisnas-artifacts
        mp.setenv("AISNAS_CACHE", str(shared_cache))
        s = run_search(str(write_study(folder, seeds=3, epochs=1)), storage=url, data=str(tiny_data), quiet=True,
                       workers=4, out=out)
    return SimpleNamespace(url=url, summary=s, out=out.getvalue(), artifacts=folder / "aisnas-artifacts")


def test_four_workers_run_every_grid_point_exactly_once(grid_run):
    s, trials = grid_run.summary, _trials(grid_run.url, "tiny")
    assert _complete_points(trials) == sorted(product(["k3", "k5"], range(3)))
    assert (s.complete, s.workers, s.lost) == (6, 4, ())
    assert s.ran == len(trials)  # every trial started was reported back to the parent
    # A trial that lost the race for the last point is recorded as not run, never trained.
    assert all(t.user_attrs["failure_reason"].startswith("not run:") for t in trials if t.state == TrialState.FAIL)
    workers = {t.user_attrs["worker"]["index"]: t.user_attrs["worker"] for t in trials}
    assert len(workers) >= 2 and set(workers) <= {0, 1, 2, 3}
    for index, w in workers.items():
        assert w["of"] == 4 and w["sampler_seed"] == index  # base seed 0 + worker index
        assert w["torch_threads"] == threads_per_worker(4)
    assert "6 trial(s) to run by 4 workers" in grid_run.out


def test_the_password_is_in_no_output_stored_attr_or_report(grid_run, tmp_path):
    assert "aisnas:***@" in grid_run.out and PASSWORD not in grid_run.out
    assert PASSWORD not in _everything_stored(grid_run.url, "tiny")
    folder = write_report("tiny", grid_run.url, tmp_path / "report")
    texts = [f.read_text(errors="replace") for f in folder.rglob("*") if f.is_file()]
    assert len(texts) >= 3 and not [t for t in texts if PASSWORD in t]


def test_the_report_reads_the_postgres_study(grid_run, tmp_path, capsys):
    assert main(["report", "--study", "tiny", "--storage", grid_run.url, "--out", str(tmp_path / "r")]) == 0
    rows = list(csv.DictReader((tmp_path / "r" / "trials.csv").open()))
    done = sorted((r["label"], int(float(r["seed"]))) for r in rows if r["state"] == "COMPLETE")
    assert done == sorted(product(["k3", "k5"], range(3)))
    assert "tiny" in (tmp_path / "r" / "index.html").read_text()


def test_the_dashboard_serves_the_postgres_study_on_localhost_only(grid_run):
    port = _free_port()
    out = io.StringIO()
    threading.Thread(target=serve_dashboard, args=(grid_run.url,), daemon=True,
                     kwargs=dict(port=port, artifact_dir=grid_run.artifacts, out=out)).start()
    body = _get_when_up(f"http://127.0.0.1:{port}/api/studies")
    (summary,) = json.loads(body)["study_summaries"]
    assert summary["study_name"] == "tiny"
    detail = _get_when_up(f"http://127.0.0.1:{port}/api/studies/{summary['study_id']}")
    trials = json.loads(detail)["trials"]
    assert sum(t["state"] == "Complete" for t in trials) == 6
    assert PASSWORD not in body + detail and PASSWORD not in out.getvalue()
    assert "127.0.0.1" in out.getvalue()
    outside = _outward_address()
    if outside:  # bound to the loopback interface, so another interface's address is refused
        with pytest.raises(OSError):
            socket.create_connection((outside, port), timeout=2).close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_when_up(url: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.read().decode()
        except OSError:
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.2)


def _outward_address() -> str | None:
    """This machine's address on a non-loopback interface, if it has one (UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            return None
        addr = s.getsockname()[0]
    return None if addr.startswith("127.") else addr


def test_four_workers_stop_at_the_studys_trial_count(postgres, tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = postgres.new_database()
    study = write_study(tmp_path, name="knob", knobs=True, trials=5, epochs=0.25)
    s = run_search(str(study), storage=url, data=str(tiny_data), quiet=True, workers=4)
    trials = _trials(url, "knob")
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == s.complete == 5
    assert all(set(t.params) == {"kernel_1", "kernel_2"} for t in complete)
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    # The cap holds for the study, not per command: running again starts nothing.
    again = run_search(str(study), storage=url, data=str(tiny_data), quiet=True, workers=4)
    assert (again.ran, again.complete) == (0, 5)


def test_a_lost_machines_trial_fails_by_heartbeat_and_others_retry_it(postgres, tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = postgres.new_database()
    study = write_study(tmp_path, name="slow", epochs=10)  # points k3 and k5, a second or more of training each
    # "Machine B": a whole command, killed with kill -9 while it trains; no parent of its
    # own sees it die. (Forked from the warm fork server, so it starts in a moment; the
    # tests' own process plays no part in the study.) Heartbeats every 2 s: 1 s could
    # starve on a busy CPU and a live trial be taken for dead.
    b = machine(run_search, str(study), storage=url, data=str(tiny_data), quiet=True, heartbeat=2)
    try:
        _wait_for_running(url, "slow", b)
        os.kill(b.pid, signal.SIGKILL)
    finally:
        b.kill()
        b.join()
    (victim,) = [t for t in _trials(url, "slow") if t.state == TrialState.RUNNING]  # nobody has noticed yet
    # "Machine A" joins with two workers: one runs what still waits; an idle one fails
    # B's silent trial after three missed heartbeats, and the retry is run.
    s = run_search(str(study), storage=url, data=str(tiny_data), quiet=True, heartbeat=2, workers=2)
    trials = _trials(url, "slow")
    assert trials[victim.number].state == TrialState.FAIL
    retry = [t for t in trials if t.user_attrs.get("retry_of") == victim.number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].params == victim.system_attrs["fixed_params"]  # the same grid point
    assert retry[0].user_attrs["retry_history"] == [victim.number]
    assert retry[0].user_attrs["worker"]["run"] != victim.user_attrs["worker"]["run"]
    assert _complete_points(trials) == [("k3", 0), ("k5", 0)]
    assert (s.complete, s.lost) == (2, ())


def _wait_for_running(url: str, name: str, proc, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.is_alive(), "the command ended before it started a trial"
        try:
            running = [t for t in _trials(url, name) if t.state == TrialState.RUNNING
                       and "ppa_hardware" in t.user_attrs]  # its last record before training
        except KeyError:  # the study does not exist yet
            running = []
        if running:
            return running[0]
        time.sleep(0.1)
    raise AssertionError("no trial started in time")


def _state(url: str, name: str, number: int) -> TrialState:
    return _trials(url, name)[number].state
