"""`run_search`: create or resume a study in its storage and run its trials.

Running the same command again continues the same study: completed trials are kept,
grid points not yet completed are enqueued again, and trials left RUNNING by a killed
single-process run are marked failed with the reason. A study whose configuration
changed since it was created is refused, never silently mixed. `workers=N` runs N
local worker processes (see `_workers` and `_pool` for caps, crashes and retries).
"""

from __future__ import annotations

import datetime as _dt
import logging
import sys
import time
import warnings
from dataclasses import dataclass, field

import optuna
import torch
from optuna.trial import TrialState

from aisnas.configs import to_dict
from aisnas.errors import AisnasError
from aisnas.search._config import ResolvedStudy, load_study
from aisnas.search._objective import TrialRunner
from aisnas.search._storage import DEFAULT_STORAGE, HEARTBEAT_S, has_heartbeat, open_storage, redact
from aisnas.search._pool import WorkerSpec, run_workers
from aisnas.search._workers import Plan, run_inline, worker_alive

__all__ = ["SearchSummary", "make_sampler", "open_study", "run_search"]

_CATCH = (AisnasError, ValueError, RuntimeError, torch.OutOfMemoryError)


@dataclass(frozen=True)
class SearchSummary:
    study_name: str
    storage: str  # redacted
    complete: int
    failed: int
    ran: int
    seconds: float
    interrupted: bool
    workers: int = 1
    lost: tuple[str, ...] = field(default=())  # one line per worker that died
    waiting: int = 0  # trials queued but not run (the next run starts with them)


def make_sampler(rs: ResolvedStudy, seed: int | None = None) -> optuna.samplers.BaseSampler:
    s = rs.config.sampler
    seed = s.seed if seed is None else seed
    if s.name in ("tpe", "grid"):  # grid studies enqueue every point; the sampler never picks
        kw = {"n_startup_trials": s.n_startup_trials} if s.n_startup_trials else {}
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, **kw)
    if s.name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=s.population_size or 50)
    if s.name == "nsga3":
        return optuna.samplers.NSGAIIISampler(seed=seed, population_size=s.population_size or 50)
    if s.name == "gp":
        kw = {"n_startup_trials": s.n_startup_trials} if s.n_startup_trials else {}
        return optuna.samplers.GPSampler(seed=seed, **kw)
    if s.name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def open_study(rs: ResolvedStudy, storage, *, sampler=None, storage_url: str = DEFAULT_STORAGE) -> optuna.Study:
    """Load the study if it exists (refusing a changed configuration), else create it."""
    directions = [o.resolved_direction for o in rs.config.objectives]
    names = {s.study_name: s for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}
    if rs.name in names:
        old = names[rs.name].user_attrs.get("config_hash")
        if old != rs.config_hash:
            raise AisnasError(
                f"study {rs.name!r} in {redact(storage_url)} was created from a different configuration "
                f"(hash {old} vs {rs.config_hash} now); use another --storage or --study-name, or restore "
                f"the study file")
        return optuna.load_study(study_name=rs.name, storage=storage, sampler=sampler)
    study = optuna.create_study(study_name=rs.name, storage=storage, directions=directions, sampler=sampler,
                                load_if_exists=True)
    from aisnas.runtime import code_version

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([o.metric for o in rs.config.objectives])
    for k, v in {
        "config_hash": rs.config_hash, "study": rs.study, "budget": rs.budget, "source": rs.source,
        "description": rs.config.description, "config": to_dict(rs.config), "space": to_dict(rs.space),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(), "storage": redact(storage_url),
    }.items():
        study.set_user_attr(k, v)
    return study


def _fail_stale_running(study: optuna.Study) -> int:
    """Single-process storages have no heartbeat: a RUNNING trial at start was killed."""
    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if worker_alive(t.user_attrs.get("worker")):  # another command's worker on this host: not stale
            continue
        study._storage.set_trial_user_attr(t._trial_id, "failure_reason",
                                           "interrupted: found RUNNING when the study was resumed")
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        n += 1
    return n


def _enqueue_grid(study: optuna.Study, rs: ResolvedStudy) -> int:
    """Enqueue every (variant, seed) not yet completed, waiting or running; returns how many wait."""
    def point(t):
        # A waiting (or just popped) trial has no params yet: its grid point is the
        # enqueued fixed_params.
        p = t.params or t.system_attrs.get("fixed_params", {})
        return p.get("variant"), p.get("seed")

    done = {point(t) for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.WAITING,
                                                                     TrialState.RUNNING))}
    for seed in range(rs.config.seeds):
        for label in rs.space.labels:
            if (label, seed) not in done:
                study.enqueue_trial({"variant": label, "seed": seed}, skip_if_exists=False)
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def _enqueue_baselines(study: optuna.Study, rs: ResolvedStudy) -> None:
    """Knob studies: the study's `[[enqueue]]` baselines run first, in file order, once each."""
    have = {t.user_attrs.get("baseline")
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.WAITING,
                                                              TrialState.RUNNING))}
    for e in rs.config.enqueue:
        if e.label not in have:
            study.enqueue_trial(dict(e.params), user_attrs={"baseline": e.label}, skip_if_exists=False)


def run_search(study: str, *, budget: str = "default", storage: str | None = None, data: str | None = None,
               seed: int | None = None, trials: int | None = None, device: str = "auto", quiet: bool = False,
               study_name: str | None = None, workers: int = 1, heartbeat: int = HEARTBEAT_S, callbacks=(),
               out=None) -> SearchSummary:
    """Run (or continue) a study; everything `aisnas search` does, callable from Python.

    `workers`: local worker processes (journal or PostgreSQL storage when > 1);
    `heartbeat`: seconds between heartbeats on PostgreSQL (a trial silent for three is
    taken for dead, failed and queued again).
    """
    from aisnas.runtime import provenance, select_device

    out = out or sys.stdout
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own lines and bars say what happens
    rs = load_study(study, budget)
    if study_name:
        import dataclasses

        rs = dataclasses.replace(rs, name=study_name)
    if workers < 1:
        raise AisnasError(f"workers {workers}: must be at least 1")
    url = storage or DEFAULT_STORAGE
    st = open_storage(url, workers=workers, heartbeat=heartbeat)
    dev = select_device(device)
    runner = TrialRunner(rs, data_path=data, device=dev, provenance=provenance(dev), progress=not quiet)
    _check_data(rs, runner, data, workers, quiet)
    sampler = make_sampler(rs, seed)
    opt_study = open_study(rs, st, sampler=sampler, storage_url=url)
    stale = _fail_stale_running(opt_study) if not url.startswith(("postgresql", "mysql")) else 0
    hb = heartbeat if has_heartbeat(url) else None
    if rs.space.kind == "variants":
        n = _enqueue_grid(opt_study, rs)
        if trials is not None:
            n = min(n, trials)
        plan = Plan(grid=True, budget=trials, heartbeat=hb)  # the queue is the cap
    else:
        _enqueue_baselines(opt_study, rs)
        target = trials if trials is not None else (rs.config.trials or 20)
        done = len(opt_study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        n = max(0, target - done) if trials is None else target
        # The study's trial count caps all workers and machines; --trials caps this command.
        plan = Plan(grid=False, cap=None if trials is not None else target, budget=n, heartbeat=hb)
    print(f"study {rs.name!r} ({rs.budget} budget) in {redact(url)}: {n} trial(s) to run"
          + (f" by {workers} workers" if workers > 1 else "")
          + (f", {stale} interrupted trial(s) marked failed" if stale else ""), file=out, flush=True)
    bar = _StudyProgress(n, rs, quiet=quiet, out=out)
    from aisnas.report import DashboardPublisher

    # optuna-dashboard view: figures and note every few trials and at the end, a plot per trial.
    dashboard = DashboardPublisher(url)
    t0 = time.perf_counter()
    interrupted, lost, errors = False, [], []
    base_seed = rs.config.sampler.seed if seed is None else seed
    try:
        if n > 0 and workers == 1:
            run_inline(opt_study, dashboard.objective(runner), plan, seed=base_seed, device=dev, catch=_CATCH,
                       callbacks=[bar, dashboard, *callbacks])
        elif n > 0:
            spec = WorkerSpec(rs=rs, url=url, plan=plan, data=data, device=device, seed=base_seed,
                              heartbeat=heartbeat, workers=workers, catch=_CATCH, wrap=_with_artifacts)
            outcome = run_workers(opt_study, spec, callbacks=[bar, dashboard, *callbacks], out=out)
            interrupted, lost, errors = outcome.interrupted, outcome.lost, outcome.errors
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        dashboard.finish(opt_study)
    if errors and bar.count == 0:
        raise AisnasError(errors[0])
    states = [t.state for t in opt_study.get_trials(deepcopy=False)]
    summary = SearchSummary(
        study_name=rs.name, storage=redact(url), complete=states.count(TrialState.COMPLETE),
        failed=states.count(TrialState.FAIL), ran=bar.count, seconds=time.perf_counter() - t0,
        interrupted=interrupted, workers=workers, lost=tuple(lost), waiting=states.count(TrialState.WAITING),
    )
    _print_summary(summary, rs, url, out)
    return summary


def _with_artifacts(runner, url):
    """The objective a spawned worker runs: picklable by name, unlike a closure."""
    from aisnas.report import DashboardPublisher

    return DashboardPublisher(url).objective(runner)


def _check_data(rs: ResolvedStudy, runner: TrialRunner, data: str | None, workers: int, quiet: bool) -> None:
    """A missing or corrupt dataset is one error before any trial, not N failed trials.

    Without a path (the download cache) one process loads lazily as before; N workers
    get the data decoded (or downloaded) once by the parent instead of N times at once.
    """
    path = data or rs.config.data.path
    if workers == 1 and path is not None:
        runner.splits()
    elif workers > 1:
        from aisnas.data import load_dataset

        load_dataset(path, download=path is None, progress=not quiet)


class _StudyProgress:
    """Study-level progress: a live bar (trials done, best so far) or plain log lines."""

    def __init__(self, total: int, rs: ResolvedStudy, *, quiet: bool, out):
        self.count = 0
        self.quiet = quiet
        self.out = out
        self.objectives = [o.metric for o in rs.config.objectives]
        self.best: float | None = None
        self.bar = None
        if not quiet and total > 0:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=f"study {rs.name}", unit="trial", position=1, dynamic_ncols=True)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.count += 1
        acc = trial.user_attrs.get("noisy_accuracy")
        if trial.state == TrialState.COMPLETE and acc is not None:
            self.best = acc if self.best is None else max(self.best, acc)
        if self.bar is not None:
            self.bar.update(1)
            if self.best is not None:
                self.bar.set_postfix(best_noisy=f"{self.best:.3f}")
        if self.quiet or self.bar is None:
            vals = ", ".join(f"{m}={v:.4g}" for m, v in zip(self.objectives, trial.values or []))
            why = trial.user_attrs.get("failure_reason", "")
            print(f"trial {trial.number} {trial.user_attrs.get('label', '')} seed {trial.user_attrs.get('seed')}: "
                  f"{trial.state.name.lower()} {vals or why}", file=self.out, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _print_summary(s: SearchSummary, rs: ResolvedStudy, url: str, out) -> None:
    store = "" if url == DEFAULT_STORAGE else f" --storage '{redact(url)}'"
    budget = "" if rs.budget == "default" else f" --budget {rs.budget}"
    lines = [
        ("interrupted: " if s.interrupted else "done: ")
        + f"{s.complete} complete, {s.failed} failed trial(s) in study {s.study_name!r} ({s.seconds:.0f} s this run)",
        f"results: {s.storage} (study {s.study_name!r})",
        f"report:    aisnas report --study {rs.study}{budget}{store}",
        f"dashboard: aisnas dashboard{store}",
    ]
    if s.lost:
        lines.append(f"{len(s.lost)} worker(s) died; their trials were failed and queued again")
    if s.interrupted or s.waiting:
        lines.append("run the same command again to continue the study")
    print("\n".join(lines), file=out, flush=True)
