"""Search spaces: `search_spaces/<name>.toml`.

Two kinds:
- `kind = "variants"`: a small list of named architectures (`[[variants]]` with
  `label`, `arch` (a preset) and `args`), run as a grid over variants x seeds. The
  design-rule studies (fan-in, kernel size, raw inputs) are of this kind.
- `kind = "knobs"`: named knobs (`[knobs.<name>]` with `choices`, or `low`/`high`
  with optional `step`/`log`), optionally conditional (`when = {knob = [values]}`),
  turned into an `ArchSpec` by a registered space builder (`builder = "..."`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from aisnas.configs import from_dict, load_toml
from aisnas.errors import AisnasError

__all__ = ["Knob", "SearchSpace", "Variant", "load_space", "register_space_builder", "space_builders"]

_BUILDERS: dict[str, Callable[[dict, float | None], Any]] = {}


def register_space_builder(name: str):
    """Register `fn(values: dict, width: float | None) -> ArchSpec` for knob spaces."""

    def deco(fn):
        if name in _BUILDERS:
            raise RuntimeError(f"space builder {name!r} registered twice")
        _BUILDERS[name] = fn
        return fn

    return deco


def space_builders() -> list[str]:
    _load_builtin_builders()
    return sorted(_BUILDERS)


def _load_builtin_builders() -> None:
    # Builders live beside the code they need; importing registers them.
    import importlib

    for mod in ("aisnas.search.spaces", "aisnas.nasbench"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise


@dataclass(frozen=True)
class Variant:
    label: str
    arch: str = ""  # a preset name; unused in a space with a builder (args are its values)
    args: dict[str, Any] = field(default_factory=dict)
    # Recipe overrides for this variant: [train] keys, or [finetune] keys for a fine-tuning arm.
    train: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Knob:
    choices: tuple[Any, ...] | None = None
    # int before float: the config loader would otherwise turn `low = 1` into 1.0, and
    # suggest() picks suggest_int only for integer bounds.
    low: int | float | None = None
    high: int | float | None = None
    step: int | float | None = None
    log: bool = False
    when: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.choices is not None:
            if not self.choices:
                raise ValueError("choices: the list is empty")
            if self.low is not None or self.high is not None:
                raise ValueError("give either choices or low/high, not both")
        elif self.low is None or self.high is None:
            raise ValueError("needs choices, or low and high")
        elif self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")

    @property
    def is_int(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int) and not isinstance(self.step, float)

    def allows(self, v: Any) -> bool:
        """Whether `v` is a value this knob can take (bool is not an int here)."""
        if self.choices is not None:
            return any(v == c and type(v) is type(c) for c in self.choices)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (self.is_int and not isinstance(v, int)):
            return False
        if not self.low <= v <= self.high:
            return False
        return self.step is None or abs((v - self.low) / self.step - round((v - self.low) / self.step)) < 1e-9

    def describe(self) -> str:
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        return f"{self.low}..{self.high}" + (f" step {self.step}" if self.step else "")


@dataclass(frozen=True)
class SearchSpace:
    kind: str
    description: str = ""
    variants: tuple[Variant, ...] = ()
    builder: str | None = None
    knobs: dict[str, Knob] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)  # builder arguments that are not searched
    # Variants kind with a builder: one variant per combination of these builder values.
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("variants", "knobs"):
            raise ValueError(f"kind: {self.kind!r} is not 'variants' or 'knobs'")
        if self.kind == "variants":
            if self.grid and not self.builder:
                raise ValueError("grid: a grid of builder values needs a builder name")
            if not self.all_variants:
                raise ValueError("variants: the search space is empty")
            labels = [v.label for v in self.all_variants]
            if len(set(labels)) != len(labels):
                raise ValueError("variants: labels must be unique")
            _check_variants(self.variants, self.builder)
        else:
            if not self.knobs:
                raise ValueError("knobs: the search space is empty")
            if not self.builder:
                raise ValueError("builder: a knob space needs a builder name")
            for name, knob in self.knobs.items():
                for dep in knob.when:
                    if dep not in self.knobs:
                        raise ValueError(f"knobs.{name}.when: {dep!r} is not a knob")

    @property
    def all_variants(self) -> tuple[Variant, ...]:
        """The listed variants, then one per combination of the `grid` values."""
        import itertools

        keys = list(self.grid)
        combos = itertools.product(*(self.grid[k] for k in keys)) if keys else ()
        return self.variants + tuple(Variant(label=", ".join(f"{k} {v}" for k, v in zip(keys, c)),
                                             args=dict(zip(keys, c))) for c in combos)

    @property
    def labels(self) -> list[str]:
        return [v.label for v in self.all_variants]

    def variant(self, label: str) -> Variant:
        for v in self.all_variants:
            if v.label == label:
                return v
        raise KeyError(label)

    def suggest(self, trial) -> dict[str, Any]:
        """Knob values for an Optuna trial, skipping knobs whose condition is unmet."""
        values: dict[str, Any] = {}
        for name, knob in self.knobs.items():  # TOML order: conditions refer to earlier knobs
            if any(values.get(dep) not in allowed for dep, allowed in knob.when.items()):
                continue
            if knob.choices is not None:
                values[name] = trial.suggest_categorical(name, list(knob.choices))
            elif knob.is_int:
                values[name] = trial.suggest_int(name, knob.low, knob.high, step=knob.step or 1, log=knob.log)
            else:
                values[name] = trial.suggest_float(name, knob.low, knob.high, step=knob.step, log=knob.log)
        return values

    def check_values(self, values: dict[str, Any]) -> None:
        """Raise ValueError unless `values` is an assignment suggest() could return.

        For knob values written by hand (baselines enqueued by a study): every active
        knob set to an allowed value, no knob set whose condition is unmet.
        """
        extra = sorted(set(values) - set(self.knobs))
        if extra:
            raise ValueError(f"{', '.join(extra)}: not a knob of this space")
        seen: dict[str, Any] = {}
        for name, knob in self.knobs.items():
            if any(seen.get(dep) not in allowed for dep, allowed in knob.when.items()):
                if name in values:
                    cond = ", ".join(f"{d} in {list(a)}" for d, a in knob.when.items())
                    raise ValueError(f"{name}: set, but it exists only when {cond}")
                continue
            if name not in values:
                raise ValueError(f"{name}: missing; the knob is active")
            if not knob.allows(values[name]):
                raise ValueError(f"{name}: {values[name]!r} is not allowed ({knob.describe()})")
            seen[name] = values[name]

    def build(self, values: dict[str, Any], width: float | None = None):
        """The ArchSpec for knob values (knob spaces) via the registered builder."""
        _load_builtin_builders()
        if self.builder not in _BUILDERS:
            raise AisnasError(f"space builder {self.builder!r} is unknown; available: {', '.join(sorted(_BUILDERS))}")
        return _BUILDERS[self.builder]({**self.fixed, **values}, width)


def _check_variants(variants: tuple[Variant, ...], builder: str | None) -> None:
    from dataclasses import fields

    from aisnas.train import TrainConfig

    allowed = sorted(f.name for f in fields(TrainConfig))
    for i, v in enumerate(variants):
        if not v.arch and not builder:
            raise ValueError(f"variants[{i}].arch: {v.label!r} names no architecture preset")
        unknown = sorted(set(v.train) - set(allowed))
        if unknown:
            raise ValueError(f"variants[{i}].train: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")


def load_space(path: str | Path) -> SearchSpace:
    data = load_toml(path)
    space = from_dict(SearchSpace, data, source=str(path))
    if space.builder:
        _load_builtin_builders()
        if space.builder not in _BUILDERS:
            raise AisnasError(
                f"{path}: key 'builder': {space.builder!r} is not one of {', '.join(sorted(_BUILDERS)) or '(none)'}")
    return space
