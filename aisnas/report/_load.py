"""A stored study as a pandas frame: one row per trial, every measured figure a column.

The frame is what `trials.csv` and `trials.json` hold and what every figure of the
report is drawn from. Each trial gets a `status`:
- "pareto": complete, feasible, and dominated by no other feasible complete trial
  (ties all stay); for a single-objective study, the trial(s) with the best value;
- "dominated": complete and feasible, but not on the front;
- "infeasible": complete, but a constraint value is > 0 (a broken budget or accuracy floor);
- otherwise the trial's state in lower case: "fail", "running", "waiting", "pruned".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from aisnas.errors import AisnasError

__all__ = ["StudyData", "arch_knobs", "load_study_data", "open_report_storage", "pareto_numbers", "resolve_study_name",
           "trials_frame"]

# Frame columns that exist even for a study without a single complete trial, in this order.
BASE_COLUMNS = ("number", "state", "status", "label", "seed", "arch_id", "arch_name", "input_variant",
                "feasible", "clean_accuracy", "noisy_accuracy", "failure_reason")


@dataclass(frozen=True)
class StudyData:
    """Everything the report draws: the study, its trials as a frame, and what they mean."""

    study: optuna.Study
    storage: str  # redacted URL
    frame: pd.DataFrame
    metric_names: tuple[str, ...]
    directions: tuple[str, ...]  # "maximize" / "minimize", one per objective
    attrs: dict[str, Any] = field(default_factory=dict)  # the study's user attrs

    @property
    def name(self) -> str:
        return self.study.study_name

    @property
    def multi_objective(self) -> bool:
        return len(self.directions) > 1

    def trials(self, *status: str) -> pd.DataFrame:
        return self.frame[self.frame["status"].isin(status)] if len(self.frame) else self.frame

    def frozen(self) -> dict[int, FrozenTrial]:
        return {t.number: t for t in self.study.get_trials(deepcopy=False)}


def open_report_storage(url: str):
    """The storage at `url`, refusing a SQLite or journal file that does not exist (it would be created empty)."""
    from aisnas.search import open_storage, redact

    for prefix in ("sqlite:///", "journal:"):
        if url.startswith(prefix) and url[len(prefix):] not in ("", ":memory:"):
            path = Path(url[len(prefix):]).expanduser()
            if not path.is_file():
                raise AisnasError(f"storage {redact(url)}: {path} does not exist; run `aisnas search` first "
                                  "or pass --storage")
    return open_storage(url)


def resolve_study_name(name: str, storage, budget: str | None = None) -> str:
    """The stored study for `name`: `fanin` + budget smoke -> "fanin-smoke", else the exact name.

    `name` may also be a study file path (its stem names the study), as with `aisnas search`.
    """
    stored = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    stem = Path(name).stem if name.endswith(".toml") else name
    wanted = stem if budget in (None, "default") else f"{stem}-{budget}"
    # An exact stored name ("fanin-smoke") is taken as it is unless a budget was asked for.
    for candidate in (wanted,) if budget is not None else (wanted, name):
        if candidate in stored:
            return candidate
    hint = f"stored studies: {', '.join(sorted(stored))}" if stored else "the storage holds no study yet"
    raise AisnasError(f"no study {wanted!r} in this storage; {hint} (pass the exact name or --budget)")


def load_study_data(study_or_name, storage=None, *, budget: str | None = None,
                    storage_url: str | None = None) -> StudyData:
    """Load a study (an `optuna.Study`, or a name plus a storage URL or object) and tabulate it."""
    from aisnas.search import redact

    if isinstance(study_or_name, optuna.Study):
        study = study_or_name
        shown = redact(storage_url) if storage_url else study.user_attrs.get("storage", "(in memory)")
    else:
        if storage is None:
            from aisnas.search import DEFAULT_STORAGE

            storage = DEFAULT_STORAGE
        url = storage if isinstance(storage, str) else storage_url
        st = open_report_storage(storage) if isinstance(storage, str) else storage
        name = resolve_study_name(str(study_or_name), st, budget)
        study = optuna.load_study(study_name=name, storage=st)
        shown = redact(url) if url else study.user_attrs.get("storage", "")
    directions = tuple(d.name.lower() for d in study.directions)
    names = tuple(study.metric_names or [f"objective_{i}" for i in range(len(directions))])
    return StudyData(study=study, storage=shown, frame=trials_frame(study, names), metric_names=names,
                     directions=directions, attrs=dict(study.user_attrs))


def _feasible(t: FrozenTrial) -> bool:
    cons = t.constraints or t.user_attrs.get("constraints") or {}
    return all(v <= 0 for v in cons.values())


def pareto_numbers(trials: list[FrozenTrial], directions) -> set[int]:
    """Numbers of the feasible complete trials that no other feasible complete trial dominates.

    Computed here rather than with `study.best_trials`, which only skips infeasible
    trials when they carry Optuna constraints: trials that record their constraints as
    user attrs only (or none) are treated the same way. Ties (equal values) all stay on
    the front; a single-objective "front" is every trial with the best value.
    """
    sign = [1.0 if str(getattr(d, "name", d)).lower() == "maximize" else -1.0 for d in directions]
    pts = [(t.number, [s * v for s, v in zip(sign, t.values)]) for t in trials
           if t.state == TrialState.COMPLETE and t.values and _feasible(t)]
    front = set()
    for n, p in pts:
        dominated = any(all(a >= b for a, b in zip(q, p)) and any(a > b for a, b in zip(q, p)) for _, q in pts)
        if not dominated:
            front.add(n)
    return front


def _status(t: FrozenTrial, front: set[int]) -> str:
    if t.state != TrialState.COMPLETE:
        return t.state.name.lower()
    if not _feasible(t):
        return "infeasible"
    return "pareto" if t.number in front else "dominated"


def _slash(values) -> str:
    return "/".join("float" if v is None else str(v) for v in values)


def arch_knobs(arch: dict | None) -> dict[str, Any]:
    """The architecture's knobs as flat columns: per-stage values joined by '/', scalars as they are."""
    if not isinstance(arch, dict):
        return {}
    out: dict[str, Any] = {}
    stages = arch.get("stages")
    if isinstance(stages, list) and stages and all(isinstance(s, dict) for s in stages):
        out["arch_stages"] = len(stages)
        for key in ("depth", "channels", "kernel", "fan_in", "skip", "weight_bits"):
            if any(key in s for s in stages):
                out[f"arch_{key}"] = _slash(s.get(key) for s in stages)
    for key, v in arch.items():
        if key in ("stages", "name"):
            continue
        if v is None or isinstance(v, (bool, int, float, str)):
            out[f"arch_{key}"] = v
        else:  # e.g. a NAS-Bench cell's matrix and ops: kept readable, not expanded
            out[f"arch_{key}"] = str(v)
    return out


def _sigma_key(kind: str, sigma: float) -> str:
    return f"acc_{kind}_s{sigma:g}"


def trial_row(t: FrozenTrial, names: tuple[str, ...], front: set[int]) -> dict[str, Any]:
    a = t.user_attrs
    arch = a.get("arch") if isinstance(a.get("arch"), dict) else None
    row: dict[str, Any] = {
        "number": t.number, "state": t.state.name, "status": _status(t, front),
        "label": a.get("label", t.params.get("variant")), "seed": a.get("seed", t.params.get("seed")),
        "arch_id": a.get("arch_id"), "arch_name": arch.get("name") if arch else None,
        "input_variant": a.get("input_variant"),
        "feasible": _feasible(t) if t.state == TrialState.COMPLETE else None,
        "clean_accuracy": a.get("clean_accuracy"), "noisy_accuracy": a.get("noisy_accuracy"),
        "failure_reason": a.get("failure_reason"),
    }
    row.update({f"param_{k}": v for k, v in t.params.items()})
    row.update(arch_knobs(arch))
    for name, v in zip(names, t.values or ()):
        row[f"value_{name}"] = v
    for r in a.get("noisy") or ():
        key = _sigma_key(r.get("kind", "noise"), float(r.get("sigma", math.nan)))
        row[f"{key}_mean"], row[f"{key}_std"], row[f"{key}_repeats"] = r.get("mean"), r.get("std"), r.get("repeats")
    for bits, acc in (a.get("quantized") or {}).items():
        row[f"acc_w{bits}"] = acc
    row.update(a.get("counts") or {})
    for k, v in (a.get("ppa") or {}).items():
        if isinstance(v, dict):
            row.update({f"{k}.{c}": x for c, x in v.items()})
        elif k not in row:  # macs and params are already there from the counts
            row[k] = v
    row.update({f"constraint_{k}": v for k, v in (a.get("constraints") or t.constraints or {}).items()})
    row.update({f"seconds_{k}": v for k, v in (a.get("seconds") or {}).items()})
    row["skipped_training"] = a.get("skipped_training")
    row["datetime_start"] = t.datetime_start.isoformat(timespec="seconds") if t.datetime_start else None
    row["datetime_complete"] = t.datetime_complete.isoformat(timespec="seconds") if t.datetime_complete else None
    return row


def trials_frame(study: optuna.Study, names: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per trial (every state), columns as documented in the module and README."""
    directions = study.directions
    names = tuple(names or study.metric_names or [f"objective_{i}" for i in range(len(directions))])
    front = pareto_numbers(study.get_trials(deepcopy=False), directions)
    rows = [trial_row(t, names, front) for t in study.get_trials(deepcopy=False)]
    frame = pd.DataFrame(rows)
    for col in BASE_COLUMNS:
        if col not in frame:
            frame[col] = pd.Series(dtype=object)
    return frame
