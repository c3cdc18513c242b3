"""N local worker processes on one study, supervised by the command that started them.

Workers are forked from a fork server (multiprocessing "forkserver"; "spawn" where
there is none), a clean process that has imported torch and aisnas once, so N workers
do not pay N imports and none inherits the parent's threads, CUDA context or database
connections. Each gets its own sampler seed (base + index), `cores // N` torch threads
and, where there are several GPUs, its own GPU (round-robin), and runs
`_workers.work`. The parent hands out the trials this command may start (the
budget), runs the progress bar and the callbacks for every finished trial, reaps
workers that die (their trial failed with the reason and queued again) and stops them
all on Ctrl-C. The storage URL reaches the workers over a pipe, never a command line.
As with any multiprocessing code, a script that calls `run_search(workers=N)` needs
the `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait as wait_any

import optuna
from optuna.trial import TrialState

from aisnas.errors import AisnasError
from aisnas.search._storage import MAX_RETRY, open_storage
from aisnas.search._workers import Plan, _Objective, _record, threads_per_worker, work, worker_device, worker_seed

__all__ = ["WorkerSpec", "WorkersOutcome", "run_workers"]

_STOP_GRACE_S = 20  # after Ctrl-C, how long workers get to record their trial as failed
# What the fork server imports once for all workers: everything a trial touches, also
# lazily (the first torch optimizer imports torch._dynamo; the dashboard's per-trial
# plot imports matplotlib): seconds each on a busy CPU. A name that fails is skipped.
_PRELOAD = ["aisnas.search._run", "aisnas.experiment", "aisnas.ppa", "aisnas.raw", "aisnas.report", "torch._dynamo",
            "matplotlib.figure", "matplotlib.backends.backend_agg"]


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a spawned worker needs; pickled to it over a pipe, never argv."""

    rs: object  # ResolvedStudy
    url: str
    plan: Plan
    data: str | None
    device: str
    seed: int
    heartbeat: int
    workers: int
    catch: tuple = ()
    wrap: Callable | None = None  # module-level (picklable) f(runner, url) -> objective
    env: dict = field(default_factory=lambda: dict(os.environ))  # the fork server's may be older
    # A command that ignores Ctrl-C (started in the background by a shell) has workers that do too.
    sigint: bool = field(default_factory=lambda: signal.getsignal(signal.SIGINT) is not signal.SIG_IGN)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


_STORAGE_CODE = os.path.dirname(optuna.storages.__file__)


def _interrupt(signum, frame):
    """Ctrl-C or SIGTERM in a worker: KeyboardInterrupt, but never inside a storage call.

    A journal write cut in the middle leaves its lock file behind (every worker then
    waits out optuna's 30 s grace) or breaks its release; so the signal is sent again
    50 ms later until it lands outside optuna.storages.
    """
    f = frame
    while f is not None:
        if f.f_code.co_filename.startswith(_STORAGE_CODE):
            threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
            return
        f = f.f_back
    raise KeyboardInterrupt


class _PipeBudget:
    def __init__(self, conn):
        self.conn = conn

    def take(self) -> bool | None:
        self.conn.send(("claim",))
        return self.conn.recv()


def _worker_main(spec: WorkerSpec, index: int, conn) -> None:
    signal.signal(signal.SIGINT, _interrupt if spec.sigint else signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)  # schedulers stop jobs with SIGTERM: end like Ctrl-C
    try:
        code = _worker(spec, index, conn)
    except KeyboardInterrupt:
        code = 130
    except AisnasError as e:
        try:
            conn.send(("error", str(e)))
        except OSError:
            pass
        code = 2
    except (EOFError, BrokenPipeError):  # the parent is gone; the trial in hand was finished
        code = 0
    sys.exit(code)


def _worker(spec: WorkerSpec, index: int, conn) -> int:
    os.environ.clear()
    os.environ.update(spec.env)
    import torch

    from aisnas.runtime import provenance, select_device, tune_allocator
    from aisnas.search._objective import TrialRunner
    from aisnas.search._run import make_sampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the parent reports every trial, once
    threads = threads_per_worker(spec.workers)
    torch.set_num_threads(threads)
    tune_allocator()
    dev = select_device(spec.device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    storage = open_storage(spec.url, workers=spec.workers, heartbeat=spec.heartbeat)
    study = optuna.load_study(study_name=spec.rs.name, storage=storage, sampler=make_sampler(spec.rs, spec.seed))
    runner = TrialRunner(spec.rs, data_path=spec.data, device=dev, provenance=provenance(dev), progress=False)
    objective = spec.wrap(runner, spec.url) if spec.wrap else runner
    me = _record(spec.run_id, index, spec.workers, spec.seed, dev)
    work(study, _Objective(objective, spec.plan, me), spec.plan, _PipeBudget(conn), catch=spec.catch,
         callbacks=[lambda s, t: conn.send(("done", t._trial_id))], run_id=spec.run_id)
    return 0


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _reap(study: optuna.Study, spec: WorkerSpec, index: int, pid: int, why: str, retry: bool = True) -> list[int]:
    """Fail the trials a dead worker left RUNNING (with `why`) and queue each once more."""
    retried = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        w = t.user_attrs.get("worker") or {}
        if w.get("run") != spec.run_id or w.get("pid") != pid:
            continue
        before = study._storage.get_trial(t._trial_id)  # the retry copies attrs from before the failure
        try:
            study._storage.set_trial_user_attr(t._trial_id, "failure_reason", why)
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # a heartbeat check got there first and queued the retry
        if not retry:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)(study, before)
        retried.append(t.number)
    return retried


@dataclass
class WorkersOutcome:
    ran: int = 0
    interrupted: bool = False
    lost: list[str] = field(default_factory=list)  # one line per worker that died
    errors: list[str] = field(default_factory=list)


def run_workers(study: optuna.Study, spec: WorkerSpec, *, callbacks=(), out=None) -> WorkersOutcome:
    """Start `spec.workers` spawned workers on `study` and supervise them to the end."""
    import torch

    out = out or sys.stdout
    # Not plain fork: it would copy torch's thread pools, a CUDA context, open database connections.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(_PRELOAD)
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    procs, conns = [], []
    for i in range(spec.workers):
        mine = replace(spec, device=worker_device(spec.device, i, gpus), seed=worker_seed(spec.seed, i))
        parent_end, child_end = ctx.Pipe()
        p = ctx.Process(target=_worker_main, args=(mine, i, child_end), name=f"aisnas-worker-{i}", daemon=True)
        p.start()
        child_end.close()
        procs.append(p)
        conns.append(parent_end)
    res = WorkersOutcome()
    left = spec.plan.budget
    # A scheduler's SIGTERM to this command stops the workers as Ctrl-C does (main thread only).
    main = threading.current_thread() is threading.main_thread()
    old_term = signal.signal(signal.SIGTERM, _raise_interrupt) if main else None
    busy = [False] * spec.workers  # holds a claim it has not reported done
    alive = set(range(spec.workers))

    def reply(i: int, answer) -> None:
        try:
            conns[i].send(answer)
        except OSError:  # it died after asking; its sentinel tells the rest
            pass

    def handle(i: int, msg) -> None:
        nonlocal left
        if msg[0] == "claim":
            if left is None or left > 0:
                left = None if left is None else left - 1
                busy[i] = True
                reply(i, True)
            else:
                reply(i, None if any(busy[j] for j in alive if j != i) else False)
        elif msg[0] == "done":
            busy[i] = False
            res.ran += 1
            frozen = study._storage.get_trial(msg[1])
            for cb in callbacks:
                cb(study, frozen)
        elif msg[0] == "error":
            res.errors.append(msg[1])

    def drain(i: int) -> None:
        try:
            while conns[i].poll():
                handle(i, conns[i].recv())
        except (EOFError, OSError):
            pass

    def ended(i: int, stopping: bool = False) -> None:
        nonlocal left
        p = procs[i]
        p.join()
        alive.discard(i)
        drain(i)
        if p.exitcode in (0, 2, 130):
            return
        how = _describe_exit(p.exitcode)
        if stopping:  # Ctrl-C caught it starting up, or it had to be killed: stopped, not lost
            _reap(study, spec, i, p.pid, f"interrupted: worker {i} (pid {p.pid}) {how} while stopping", retry=False)
            return
        retried = _reap(study, spec, i, p.pid, f"worker {i} (pid {p.pid}) {how}")
        if busy[i] and left is not None:
            left += 1  # its trial did not finish: the budget gets it back for the retry
        busy[i] = False
        line = f"worker {i} (pid {p.pid}) {how}" + (
            f"; trial(s) {', '.join(map(str, retried))} marked failed and queued again" if retried else "")
        res.lost.append(line)
        print(line, file=out, flush=True)

    try:
        while alive:
            by_handle = {}
            for i in alive:
                by_handle[procs[i].sentinel] = i
                if not conns[i].closed:
                    by_handle[conns[i]] = i
            for h in wait_any(list(by_handle), timeout=1.0):
                i = by_handle[h]
                if i not in alive:  # ended (and drained) earlier in this round
                    continue
                if h is procs[i].sentinel:
                    ended(i)
                    continue
                try:
                    handle(i, conns[i].recv())
                except (EOFError, OSError):
                    conns[i].close()  # the sentinel says how it ended
    except KeyboardInterrupt:
        res.interrupted = True
        _stop(procs, alive)
        for i in sorted(alive):
            ended(i, stopping=True)
    finally:
        if main:
            signal.signal(signal.SIGTERM, old_term)
    return res


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop(procs, alive) -> None:
    """Ctrl-C reached the workers too (one process group); make sure, then wait, then end them."""
    for i in alive:
        if procs[i].is_alive():
            try:
                os.kill(procs[i].pid, signal.SIGINT)
            except OSError:
                pass
    deadline = time.monotonic() + _STOP_GRACE_S
    for i in alive:
        procs[i].join(max(0.0, deadline - time.monotonic()))
    for i in alive:
        if procs[i].is_alive():
            procs[i].kill()
            procs[i].join()
