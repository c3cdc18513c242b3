"""The trial loop of a command's worker(s), and how many trials a study gets.

Every run goes through `work`, one trial at a time through `study.optimize` (the only
path on which Optuna records heartbeats); a single process runs it inline
(`run_inline`), N local processes each run it (`aisnas.search._pool`). Every trial
records who ran it (user attr `worker`: run id, index, host, pid, sampler seed, torch
threads, device), so that a dead worker's trials can be found.

How many trials run, with any number of workers or machines:
- grid studies: the enqueued (variant, seed) points are the work; a worker runs while
  one waits. A trial that finds no point, or a point another trial completed or is
  running, is not run (it ends FAIL with `failure_reason` "not run: ...").
- knob studies: the study's trial count caps COMPLETE + PRUNED + RUNNING trials across
  all workers and machines (MaxTrialsCallback's rule, checked before a trial starts
  rather than after one ends); a trial started past the cap (a race between machines)
  is not run either. `--trials K` instead lets this command start K trials.

A worker that dies mid-trial (kill -9, OOM killer, lost machine):
- its own parent sees it at once: the trial is marked FAIL with the reason and queued
  again with `RetryHeartbeatStaleTrialCallback` (any storage; see `_pool`);
- PostgreSQL: heartbeats catch what no parent saw (a whole machine lost): the next
  worker to look fails the silent trial and the same callback queues it again;
- journal and SQLite have no heartbeat (optuna's `fail_stale_trials` does nothing on
  them): a RUNNING trial whose process is gone (same host, pid not alive) is failed
  when the next command starts on the study.
A retry is a new trial with the same parameters whose user attrs `retry_of` and
`retry_history` name the failed trial(s); at most MAX_RETRY retries per trial. Idle
workers stay while trials they could inherit still run (any on PostgreSQL, their
siblings' elsewhere), polling every few seconds, so a retry never waits for a rerun.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import TrialState

from aisnas.errors import AisnasError

__all__ = ["Plan", "run_inline", "threads_per_worker", "work", "worker_alive", "worker_device", "worker_seed"]

_LIVE = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


@dataclass(frozen=True)
class Plan:
    """What one command runs; the same for all its workers."""

    grid: bool
    cap: int | None = None  # knob studies: COMPLETE+PRUNED+RUNNING trials the study may hold
    budget: int | None = None  # trials this command may start (None: until the work is done)
    heartbeat: int | None = None  # seconds, when the storage fails silent workers' trials by itself

    @property
    def poll_s(self) -> float:
        """How often an idle worker looks for work that came back."""
        return min(2.0, self.heartbeat or 2.0)


def worker_seed(base: int, index: int) -> int:
    """Distinct seeds, or NSGA-II/TPE startup trials of all workers would coincide."""
    return base + index


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // workers)


def worker_device(device: str, index: int, gpus: int) -> str:
    """`auto`/`cuda` spread over the GPUs round-robin; an explicit cuda:N is kept."""
    if device in ("auto", "cuda") and gpus > 0:
        return f"cuda:{index % gpus}"
    return device


def worker_alive(worker: dict | None) -> bool:
    """Whether the process that a trial's `worker` attr names still runs on this host.

    The same pid is not enough after a crash and a reboot: where Linux tells, the
    process must also have the same start (boot id and start time) as the one recorded.
    """
    if not worker or worker.get("host") != socket.gethostname():
        return False
    try:
        pid = int(worker["pid"])
        os.kill(pid, 0)
    except (ProcessLookupError, KeyError, ValueError, TypeError):
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    started = _process_start(pid)
    return worker.get("started") is None or started is None or started == worker["started"]


def _process_start(pid: int) -> str | None:
    """"<boot id>:<start time in clock ticks>" of a process, or None off Linux."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"  # field 22, counted after "(comm)"


class _Objective:
    """The trial runner plus the bookkeeping that many workers need."""

    def __init__(self, runner, plan: Plan, worker: dict):
        self.runner, self.plan, self.worker = runner, plan, worker

    def __call__(self, trial: optuna.Trial):
        trial.set_user_attr("worker", self.worker)
        system = trial.storage.get_trial_system_attrs(trial._trial_id)
        if "failed_trial" in system:  # a retry: make its history visible to reports
            trial.set_user_attr("retry_of", system["failed_trial"])
            trial.set_user_attr("retry_history", list(system.get("retry_history", [])))
        why = self._not_run(trial, system)
        if why:
            trial.set_user_attr("failure_reason", f"not run: {why}")
            raise AisnasError(f"trial {trial.number} not run: {why}")
        try:
            return self.runner(trial)
        except KeyboardInterrupt:
            trial.set_user_attr("failure_reason", "interrupted: stopped by Ctrl-C or SIGTERM")
            raise

    def _not_run(self, trial, system: dict) -> str | None:
        if not self.plan.grid and self.plan.cap is None:
            return None
        others = [t for t in trial.study.get_trials(deepcopy=False) if t.number != trial.number]
        if not self.plan.grid:
            live = sum(1 for t in others if t.number < trial.number and t.state in _LIVE)
            return f"the study already holds its {self.plan.cap} trials" if live >= self.plan.cap else None
        point = system.get("fixed_params")
        if not point:
            return "no grid point was left to run"
        for t in others:
            if dict(t.system_attrs.get("fixed_params", t.params)) != dict(point):
                continue
            if t.state == TrialState.COMPLETE or (t.state == TrialState.RUNNING and t.number < trial.number):
                return f"grid point {dict(point)} is {t.state.name.lower()} in trial {t.number}"
        return None


class _Budget:
    """The trials one process may start when it runs alone."""

    def __init__(self, n: int | None):
        self.left = n

    def take(self) -> bool | None:
        if self.left is None:
            return True
        self.left -= 1
        return self.left >= 0


def work(study: optuna.Study, objective, plan: Plan, budget, *, catch, callbacks=(), run_id: str = "") -> int:
    """Run trials until the plan's work is done; returns how many this process ran.

    `budget.take()` answers True (go), False (stop) or None (wait: a sibling may die
    and hand its trial back).
    """
    ran = 0
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # a no-op without heartbeats
        trials = study.get_trials(deepcopy=False)
        n = Counter(t.state for t in trials)
        if plan.grid:
            has_work = n[TrialState.WAITING] > 0
        else:
            has_work = plan.cap is None or sum(n[s] for s in _LIVE) < plan.cap
        if has_work:
            go = budget.take()
            if go:
                try:
                    study.optimize(objective, n_trials=1, catch=catch, callbacks=list(callbacks),
                                   gc_after_trial=False)
                except optuna.exceptions.UpdateFinishedTrialError as e:
                    # Its heartbeats were late (a starved CPU) and another worker failed it and
                    # queued a retry; the result cannot be stored, the retry stands in for it.
                    print(f"aisnas: warning: {e}", file=sys.stderr, flush=True)
                ran += 1
                continue
            if go is False:
                return ran
        elif not any(t.state == TrialState.RUNNING and _may_come_back(t, plan, run_id) for t in trials):
            return ran
        time.sleep(plan.poll_s)


def _record(run_id: str, index: int, workers: int, seed: int, device) -> dict:
    """The `worker` user attr: who ran a trial, so a dead worker's trials can be found."""
    import torch

    return {"run": run_id, "index": index, "of": workers, "host": socket.gethostname(), "pid": os.getpid(),
            "started": _process_start(os.getpid()), "sampler_seed": seed, "torch_threads": torch.get_num_threads(),
            "device": str(device)}


def run_inline(study: optuna.Study, objective, plan: Plan, *, seed: int, device, catch, callbacks=()) -> int:
    """This process as the only worker of the command; returns how many trials it ran."""
    run_id = uuid.uuid4().hex[:12]
    return work(study, _Objective(objective, plan, _record(run_id, 0, 1, seed, device)), plan, _Budget(plan.budget),
                catch=catch, callbacks=callbacks, run_id=run_id)


def _may_come_back(t, plan: Plan, run_id: str) -> bool:
    """A running trial that may fail and be queued again for us to run.

    Only trials a worker loop runs count: they have heartbeats (a RUNNING trial without
    any, e.g. from `study.ask()`, is never found stale) and a `worker` record.
    """
    worker = t.user_attrs.get("worker")
    return bool(worker) and (plan.heartbeat is not None or worker.get("run") == run_id)
