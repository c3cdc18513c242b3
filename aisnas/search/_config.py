"""Study files: `studies/<name>.toml`, typed, frozen, with budgets per level.

A study file holds the description, a reference to its search space, and the fixed
settings as tables `[data]`, `[train]`, `[eval]`, `[ppa]`, `[sampler]`,
`[[objectives]]`, `[constraints]`, and `[budgets.smoke|default|full]` whose keys
override the others for that level. `load_study(name_or_path, budget)` gives the
resolved study with its configuration hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aisnas.configs import from_dict, load_toml, to_dict
from aisnas.errors import AisnasError
from aisnas.experiment import EvalConfig
from aisnas.train import TrainConfig

__all__ = ["BUDGETS", "ResolvedStudy", "StudyConfig", "builtin_path", "list_studies", "load_study"]

BUDGETS = ("smoke", "default", "full")
SAMPLERS = ("grid", "tpe", "nsga2", "nsga3", "gp", "random", "qmc")
METRICS = {
    "clean_accuracy": "maximize",
    "noisy_accuracy": "maximize",
    "macs": "minimize",
    "params": "minimize",
    "energy_pj": "minimize",
    "sensor_area_mm2": "minimize",
    "adc_conversions": "minimize",
    "onsensor_weight_bits": "minimize",
    "latency_us": "minimize",
    "edp": "minimize",
}


@dataclass(frozen=True)
class DataConfig:
    path: str | None = None  # None: --data, then $AISNAS_DATA, then the download cache
    train_size: int | None = 5000
    val_size: int = 1000
    test_size: int | None = 0  # the test split is for final reporting, not for search
    subset_seed: int = 0  # one fixed subset for every trial, so trials are comparable
    variant: str = "N/A"

    def __post_init__(self) -> None:
        if self.train_size is not None and self.train_size < 10:
            raise ValueError(f"train_size: {self.train_size} must be >= 10")
        if self.val_size < 1:
            raise ValueError(f"val_size: {self.val_size} must be >= 1 (trials are scored on validation)")


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: str | None = None  # default: the metric's natural direction

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric: {self.metric!r} is not one of {', '.join(METRICS)}")
        if self.direction not in (None, "maximize", "minimize"):
            raise ValueError(f"direction: {self.direction!r} is not 'maximize' or 'minimize'")

    @property
    def resolved_direction(self) -> str:
        return self.direction or METRICS[self.metric]


@dataclass(frozen=True)
class Constraints:
    min_clean_accuracy: float | None = None  # checked after training
    budgets: dict[str, float] = field(default_factory=dict)  # PPA metric -> upper bound, checked before training

    def __post_init__(self) -> None:
        for k in self.budgets:
            if k not in METRICS or METRICS[k] != "minimize":
                allowed = ", ".join(m for m, d in METRICS.items() if d == "minimize")
                raise ValueError(f"budgets: {k!r} is not one of {allowed}")


@dataclass(frozen=True)
class SamplerConfig:
    name: str = "tpe"
    seed: int = 0
    population_size: int | None = None  # NSGA-II/III
    n_startup_trials: int | None = None  # TPE/GP

    def __post_init__(self) -> None:
        if self.name not in SAMPLERS:
            raise ValueError(f"name: {self.name!r} is not one of {', '.join(SAMPLERS)}")


@dataclass(frozen=True)
class PPAConfig:
    hardware: str = "p2m"
    compare: tuple[str, ...] = ()  # also price every trial on these profiles (user attr ppa_by_profile)


@dataclass(frozen=True)
class Enqueued:
    """A trial run before the sampler picks any (a baseline), as knob values.

    `arch` (with `args`) names the preset the values must reproduce; load_study checks
    it, so a label cannot drift from what actually runs.
    """

    label: str
    params: dict[str, Any]
    arch: str | None = None
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Budget:
    """Overrides for one budget level; unset keys keep the study's values."""

    trials: int | None = None  # None: the whole grid (variants x seeds) for grid spaces
    seeds: int | None = None  # repeats over training seeds per variant
    width: float | None = None  # width multiplier handed to the architecture presets
    train_size: int | None = None
    val_size: int | None = None
    epochs: float | None = None
    steps: int | None = None
    batch_size: int | None = None
    repeats: int | None = None
    finetune_epochs: float | None = None  # the [finetune] recipe's epochs (protocol "finetune")
    space: str | None = None  # another search space at this level (e.g. fewer NAS-Bench-101 cells)
    description: str = ""


@dataclass(frozen=True)
class StudyConfig:
    description: str
    space: str  # a search-space name in search_spaces/ or a path
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    ppa: PPAConfig = field(default_factory=PPAConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    objectives: tuple[Objective, ...] = (Objective("noisy_accuracy"), Objective("clean_accuracy"))
    constraints: Constraints = field(default_factory=Constraints)
    seeds: int = 1
    trials: int | None = None
    width: float | None = None
    # "train": every trial trains from scratch. "finetune": [train] is a baseline trained once per
    # (architecture, seed) and cached; each variant fine-tunes it with [finetune] (aisnas.finetune).
    protocol: str = "train"
    finetune: TrainConfig | None = None
    budgets: dict[str, Budget] = field(default_factory=dict)
    enqueue: tuple[Enqueued, ...] = ()  # knob spaces: run these first, in order

    def __post_init__(self) -> None:
        for b in self.budgets:
            if b not in BUDGETS:
                raise ValueError(f"budgets: {b!r} is not one of {', '.join(BUDGETS)}")
        if not self.objectives:
            raise ValueError("objectives: at least one objective is needed")
        if self.seeds < 1:
            raise ValueError(f"seeds: {self.seeds} must be >= 1")
        if self.protocol not in ("train", "finetune"):
            raise ValueError(f"protocol: {self.protocol!r} is not 'train' or 'finetune'")
        if (self.protocol == "finetune") != (self.finetune is not None):
            raise ValueError("finetune: a [finetune] table goes with protocol = 'finetune', and only with it")
        labels = [e.label for e in self.enqueue]
        if len(set(labels)) != len(labels):
            raise ValueError("enqueue: labels must be unique")


@dataclass(frozen=True)
class ResolvedStudy:
    """A study at one budget level, overrides applied, with the space loaded."""

    name: str  # the Optuna study name: "<study>" for default, "<study>-<budget>" otherwise
    study: str
    budget: str
    source: str
    config: StudyConfig
    space: Any  # aisnas.search._space.SearchSpace

    @property
    def config_hash(self) -> str:
        blob = json.dumps({"study": to_dict(self.config), "space": to_dict(self.space), "budget": self.budget},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def builtin_path(kind: str, name: str) -> Path | None:
    """The shipped file `<kind>/<name>.toml` (kind: studies or search_spaces), if any."""
    p = resources.files("aisnas").joinpath("resources", kind, f"{name}.toml")
    return Path(str(p)) if p.is_file() else None


def list_studies() -> list[str]:
    d = resources.files("aisnas").joinpath("resources", "studies")
    return sorted(Path(str(p)).stem for p in d.iterdir() if str(p).endswith(".toml"))


def _find(kind: str, name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".toml" or "/" in name_or_path:
        if not p.is_file():
            raise AisnasError(f"{p}: file not found")
        return p
    found = builtin_path(kind, name_or_path)
    if found is None:
        names = list_studies() if kind == "studies" else []
        hint = f"; built-in studies: {', '.join(names)}" if names else ""
        what = {"studies": "study", "search_spaces": "search space"}[kind]
        raise AisnasError(f"unknown {what} {name_or_path!r}{hint} (or give a path to a .toml file)")
    return found


def load_study(name_or_path: str, budget: str = "default") -> ResolvedStudy:
    from aisnas.search._space import load_space

    if budget not in BUDGETS:
        raise AisnasError(f"budget {budget!r} is not one of {', '.join(BUDGETS)}")
    path = _find("studies", name_or_path)
    cfg = from_dict(StudyConfig, load_toml(path), source=str(path))
    cfg = _apply_budget(cfg, budget, str(path))
    # A path-like space is relative to the study file, so a study and its space travel together.
    looks_like_path = cfg.space.endswith(".toml") or "/" in cfg.space
    space_path = _find("search_spaces", str(path.parent / cfg.space) if looks_like_path else cfg.space)
    space = load_space(space_path)
    _check_enqueue(cfg, space, str(path))
    study = path.stem
    return ResolvedStudy(name=study if budget == "default" else f"{study}-{budget}", study=study, budget=budget,
                         source=str(path), config=cfg, space=space)


def _apply_budget(cfg: StudyConfig, budget: str, source: str) -> StudyConfig:
    b = cfg.budgets.get(budget)
    if b is None:
        if budget != "default":
            raise AisnasError(f"{source}: no [budgets.{budget}] table; levels defined: {', '.join(cfg.budgets)}")
        return cfg
    data, train, ev = cfg.data, cfg.train, cfg.eval
    try:
        if b.train_size is not None or b.val_size is not None:
            data = dataclasses.replace(data, train_size=b.train_size or data.train_size,
                                       val_size=b.val_size or data.val_size)
        if b.epochs is not None or b.steps is not None or b.batch_size is not None:
            train = dataclasses.replace(train, epochs=b.epochs or train.epochs, steps=b.steps or train.steps,
                                        batch_size=b.batch_size or train.batch_size)
        if b.repeats is not None:
            ev = dataclasses.replace(ev, repeats=b.repeats)
        if b.finetune_epochs is not None and cfg.finetune is not None:
            cfg = dataclasses.replace(cfg, finetune=dataclasses.replace(cfg.finetune, epochs=b.finetune_epochs))
        if b.space is not None:
            cfg = dataclasses.replace(cfg, space=b.space)
        return dataclasses.replace(cfg, data=data, train=train, eval=ev, seeds=b.seeds or cfg.seeds,
                                   trials=b.trials if b.trials is not None else cfg.trials,
                                   width=b.width if b.width is not None else cfg.width)
    except ValueError as e:
        raise AisnasError(f"{source}: budgets.{budget}: {e}") from None


def _check_enqueue(cfg: StudyConfig, space, source: str) -> None:
    """Enqueued trials must be knob assignments of the space (and match their preset)."""
    if cfg.enqueue and space.kind != "knobs":
        raise AisnasError(f"{source}: enqueue: only knob spaces take enqueued trials (grid studies run every variant)")
    for i, e in enumerate(cfg.enqueue):
        where = f"{source}: enqueue[{i}] ({e.label})"
        try:
            space.check_values(e.params)
        except ValueError as err:
            raise AisnasError(f"{where}: params.{err}") from None
        values = {k: v for k, v in e.params.items() if k != "input_variant"}
        try:
            built = space.build(values, cfg.width)
        except ValueError as err:
            raise AisnasError(f"{where}: params do not build: {err}") from None
        if e.arch is None:
            continue
        from aisnas.arch import create_arch

        args = {**e.args, "width": e.args.get("width", 1.0) * (cfg.width or 1.0)}
        preset = create_arch(e.arch, **args)
        preset = dataclasses.replace(preset, in_sensor_layers=built.in_sensor_layers, adc_bits=built.adc_bits)
        if preset.arch_id != built.arch_id:
            raise AisnasError(f"{where}: params build {built.name}, not preset {e.arch!r} {preset.name} "
                              f"({[(st.depth, st.channels) for st in preset.stages]})")
