"""Local workers on a journal file: each grid point once, a killed worker's trial retried,
Ctrl-C ending every worker with its trial recorded."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from itertools import product

import optuna
import pytest
from optuna.trial import TrialState
from scaleout_helpers import write_study

from aisnas.search import open_storage, run_search
from aisnas.search._workers import worker_alive

pytestmark = pytest.mark.slow


def _trials(url: str, name: str = "tiny") -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=name, storage=open_storage(url)).trials
    except KeyError:  # not created yet
        return []


def _running(url: str) -> list[optuna.trial.FrozenTrial]:
    return [t for t in _trials(url) if t.state == TrialState.RUNNING and "worker" in t.user_attrs]


def _in_thread(**kwargs):
    box: dict = {}
    th = threading.Thread(target=lambda: box.update(summary=run_search(**kwargs)), daemon=True)
    th.start()
    return th, box


def _wait(cond, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_two_workers_run_each_point_once_even_when_one_is_killed(tiny_data, tmp_path):
    study = write_study(tmp_path, seeds=1, epochs=10)  # k3 and k5, a second or so of training each
    url = f"journal:{tmp_path / 'study.journal'}"
    out = io.StringIO()
    th, box = _in_thread(study=str(study), storage=url, data=str(tiny_data), quiet=True, workers=2, out=out)
    # Killed in training, after the trial's last record before it: a worker killed while
    # it writes to the journal would hold the journal's lock file, which the others then
    # wait out (optuna's 30 s grace) before going on.
    victim = _wait(lambda: [t for t in _running(url) if "ppa_hardware" in t.user_attrs])[0].user_attrs["worker"]
    os.kill(victim["pid"], signal.SIGKILL)
    th.join(120)
    s = box["summary"]
    trials = _trials(url)
    # The parent saw its worker die: the trial it held is failed with the reason and run again.
    reaped = [t for t in trials if t.state == TrialState.FAIL
              and t.user_attrs.get("failure_reason") == f"worker {victim['index']} (pid {victim['pid']}) "
                                                        "was killed by SIGKILL"]
    assert len(reaped) == 1
    retry = [t for t in trials if t.user_attrs.get("retry_of") == reaped[0].number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].params == reaped[0].system_attrs["fixed_params"]
    assert sorted((t.params["variant"], t.params["seed"]) for t in trials if t.state == TrialState.COMPLETE) == \
        sorted(product(["k3", "k5"], range(1)))
    assert s.complete == 2 and len(s.lost) == 1 and "SIGKILL" in s.lost[0]
    assert f"trial(s) {reaped[0].number} marked failed and queued again" in out.getvalue()
    # Nothing is left to do: running the command again runs nothing.
    assert run_search(str(study), storage=url, data=str(tiny_data), quiet=True, workers=2, out=io.StringIO()).ran == 0


def test_ctrl_c_stops_every_worker_and_records_their_trials(tiny_data, tmp_path):
    study = write_study(tmp_path, seeds=2, epochs=200)  # long trials: the interrupt lands inside them
    url = f"journal:{tmp_path / 'study.journal'}"
    main = threading.main_thread().ident

    def press_ctrl_c():
        _wait(lambda: len([t for t in _running(url) if "ppa_hardware" in t.user_attrs]) == 2)  # both training
        signal.pthread_kill(main, signal.SIGINT)  # as a terminal would, but to the parent only

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    s = run_search(str(study), storage=url, data=str(tiny_data), quiet=True, workers=2, out=io.StringIO())
    assert s.interrupted
    trials = _trials(url)
    stopped = [t for t in trials if t.state == TrialState.FAIL]
    assert len(stopped) == 2 and not [t for t in trials if t.state == TrialState.RUNNING]
    for t in stopped:  # each worker recorded its own trial as interrupted, then exited
        assert t.user_attrs["failure_reason"].startswith("interrupted")
        assert not worker_alive(t.user_attrs["worker"])
    # The grid points wait for the next run: the same command continues the study.
    assert sum(t.state == TrialState.WAITING for t in trials) == 2
