"""One experiment: build an architecture, train it briefly, evaluate it.

This is what `aisnas evaluate` runs and what every search trial runs before PPA and
bookkeeping: architecture -> model -> training -> evaluation (clean, noisy, quantized).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from aisnas.arch import ArchSpec
from aisnas.configs import to_dict
from aisnas.evaluation import accuracy, noise_sweep, quantized_accuracy
from aisnas.train import TrainConfig, train

__all__ = ["EvalConfig", "ExperimentResult", "evaluate_trained", "noise_specs", "run_experiment"]


@dataclass(frozen=True)
class EvalConfig:
    """What to measure after training; studies embed it as `[eval]`."""

    noise_kinds: tuple[str, ...] = ("additive",)
    sigmas: tuple[float, ...] = (0.0, 0.2, 0.4, 0.8)
    mode: str = "relative"
    sites: str = "all"
    repeats: int = 3
    correlation_length: float = 2.0
    bits: tuple[int, ...] = ()  # post-training weight quantization grid
    objective_kind: str = "additive"
    objective_sigma: float = 0.4  # the noisy-accuracy objective: sigma^2 = 0.16 as in the paper
    calibration_size: int = 256
    split: str = "val"  # the test split is for final reporting only

    def __post_init__(self) -> None:
        from aisnas.noise import NOISE_KINDS, NOISE_MODES, NOISE_SCOPES

        for k in self.noise_kinds:
            if k not in NOISE_KINDS:
                raise ValueError(f"noise_kinds: {k!r} is not one of {', '.join(NOISE_KINDS)}")
        if not self.sigmas:
            raise ValueError("sigmas: at least one sigma is needed")
        for s in self.sigmas:
            if s < 0:
                raise ValueError(f"sigmas: {s} is negative; sigma must be >= 0")
        if self.mode not in NOISE_MODES:
            raise ValueError(f"mode: {self.mode!r} is not one of {', '.join(NOISE_MODES)}")
        if self.sites not in NOISE_SCOPES:
            raise ValueError(f"sites: {self.sites!r} is not one of {', '.join(NOISE_SCOPES)}")
        if self.repeats < 1:
            raise ValueError(f"repeats: {self.repeats} must be >= 1")
        for b in self.bits:
            if not 2 <= b <= 16:
                raise ValueError(f"bits: {b} is outside 2..16")
        if self.objective_kind not in self.noise_kinds or self.objective_sigma not in self.sigmas:
            raise ValueError(
                f"objective_kind/objective_sigma: ({self.objective_kind}, {self.objective_sigma}) must be in "
                f"noise_kinds {list(self.noise_kinds)} x sigmas {list(self.sigmas)}")
        if self.split not in ("val", "test"):
            raise ValueError(f"split: {self.split!r} is not one of 'val', 'test'")


def noise_specs(cfg: EvalConfig) -> list:
    from aisnas.noise import NoiseSpec

    return [NoiseSpec(kind=k, sigma=s, mode=cfg.mode, sites=cfg.sites, correlation_length=cfg.correlation_length)
            for k in cfg.noise_kinds for s in cfg.sigmas]


@dataclass(frozen=True)
class ExperimentResult:
    arch: dict
    arch_id: str
    counts: dict
    seed: int
    train: dict
    clean_accuracy: float
    noisy: tuple[dict, ...]  # NoisyAccuracy records: kind, sigma, mode, mean, std, repeats, values, spec
    quantized: dict  # bits -> accuracy
    train_seconds: float
    eval_seconds: float
    split: str
    device: str

    def noisy_mean(self, kind: str, sigma: float) -> float:
        for r in self.noisy:
            if r["kind"] == kind and r["sigma"] == sigma:
                return r["mean"]
        raise KeyError(f"no noisy accuracy for ({kind}, {sigma})")

    def as_dict(self) -> dict:
        return asdict(self)


def run_experiment(spec: ArchSpec, splits, train_cfg: TrainConfig, eval_cfg: EvalConfig, *, seed: int,
                   progress: bool = False, desc: str = "train") -> tuple[torch.nn.Module, ExperimentResult]:
    """Train `spec` on `splits` with `seed` and evaluate it; returns the model and the record.

    `spec` is an `ArchSpec` or any description with `build()`, `arch_id`, `totals()`
    and a dataclass body (for the record), such as a NAS-Bench-101 cell.
    """
    torch.manual_seed(seed)  # the initial weights
    model = spec.build().to(splits.x_train.device)
    tr = train(model, splits, train_cfg, seed=seed, progress=progress, desc=desc)
    return model, evaluate_trained(model, spec, splits, eval_cfg, seed=seed, train_result=tr)


def evaluate_trained(model: torch.nn.Module, spec, splits, eval_cfg: EvalConfig, *, seed: int,
                     train_result) -> ExperimentResult:
    """Score a trained model (clean, noise grid, PTQ) and assemble its record."""
    t0 = time.perf_counter()
    x, y = (splits.x_val, splits.y_val) if eval_cfg.split == "val" else (splits.x_test, splits.y_test)
    calibration = splits.x_train[: eval_cfg.calibration_size]
    clean = accuracy(model, x, y)
    noisy = noise_sweep(model, x, y, noise_specs(eval_cfg), repeats=eval_cfg.repeats, seed=seed,
                        calibration=calibration, clean=clean)
    quant = quantized_accuracy(model, x, y, eval_cfg.bits) if eval_cfg.bits else {}
    return ExperimentResult(
        arch=to_dict(spec), arch_id=spec.arch_id, counts=spec.totals(), seed=seed, train=train_result.as_dict(),
        clean_accuracy=clean, noisy=tuple(n.as_dict() for n in noisy), quantized={int(b): a for b, a in quant.items()},
        train_seconds=train_result.seconds, eval_seconds=time.perf_counter() - t0, split=eval_cfg.split,
        device=str(splits.x_train.device),
    )
