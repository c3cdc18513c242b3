"""Protocols: how a trial turns its architecture into a trained, evaluated model.

- "train" (default): train from scratch with `[train]` (plus the variant's own `train`
  overrides), then evaluate (`aisnas.experiment.run_experiment`).
- "finetune": `[train]` is the baseline recipe, trained once per (architecture, seed)
  and cached; each variant is an arm that fine-tunes the baseline with `[finetune]`
  plus its own `train` overrides (`aisnas.finetune.finetune_experiment`).
"""

from __future__ import annotations

from aisnas.configs import from_dict, to_dict
from aisnas.search._config import ResolvedStudy
from aisnas.train import TrainConfig

__all__ = ["PROTOCOLS", "run_protocol", "variant_recipe"]

PROTOCOLS = ("train", "finetune")


def variant_recipe(rs: ResolvedStudy, label: str | None) -> TrainConfig:
    """The recipe a variant trains with: `[train]` ("train") or `[finetune]` ("finetune"), plus its overrides."""
    cfg = rs.config
    base = cfg.finetune if cfg.protocol == "finetune" else cfg.train
    overrides = rs.space.variant(label).train if rs.space.kind == "variants" and label is not None else {}
    if not overrides:
        return base
    return from_dict(TrainConfig, {**to_dict(base), **overrides}, source=f"{rs.source}: variant {label!r} train")


def run_protocol(rs: ResolvedStudy, spec, splits, *, label: str | None, seed: int, progress: bool = False,
                 desc: str = "train"):
    """(model, ExperimentResult, extra user attrs) for one trial of `rs`."""
    recipe = variant_recipe(rs, label)
    if rs.config.protocol == "finetune":
        from aisnas.finetune import finetune_experiment

        model, res, info = finetune_experiment(spec, splits, rs.config.train, recipe, rs.config.eval, seed=seed,
                                               progress=progress, desc=desc)
        return model, res, {"finetune": {"arm": label, **info}}
    from aisnas.experiment import run_experiment

    model, res = run_experiment(spec, splits, recipe, rs.config.eval, seed=seed, progress=progress, desc=desc)
    return model, res, {}
