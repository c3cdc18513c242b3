"""Evaluation: clean accuracy, accuracy under analog noise, accuracy when quantized.

Every noisy figure is a mean and std over `repeats` fresh noise draws (and a fresh
simulated chip for weight noise), with the number of repeats kept beside it.

A sweep evaluates all levels of one activation-noise kind together: each batch runs
as K stacked copies, one per sigma, that share one standard-normal draw per site
(common random numbers). Each level's figure is still a mean over `repeats`
independent draws; the levels are compared on the same draws, which makes the curve's
shape less noisy, and the draws, which on a CPU cost about as much as the network
itself, are made once per repeat instead of once per level and repeat.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from aisnas.errors import AisnasError

__all__ = [
    "NoisyAccuracy",
    "accuracy",
    "eval_batch_size",
    "noise_sweep",
    "noisy_accuracy",
    "quantized_accuracy",
    "stacked_noisy_accuracy",
]


def eval_batch_size(device: torch.device) -> int:
    """Images per eval forward: large on a GPU; on a CPU small enough that each
    activation tensor stays a few MB and is reused from the heap and cache (a
    width-0.25 VGG-13 evaluates 2,000 images in 0.41 s at 128 vs 0.78 s at 1,000 on
    2 cores, with `aisnas.runtime.tune_allocator` off; 0.41 vs 0.50 s with it on)."""
    return 1000 if device.type == "cuda" else 128


def _autocast(device: torch.device):
    return (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
            else torch.autocast("cpu", enabled=False))


@torch.inference_mode()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None) -> float:
    """Top-1 accuracy in eval mode (BN uses running statistics)."""
    model.eval()
    batch_size = batch_size or eval_batch_size(x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    with _autocast(x.device):
        for i in range(0, x.shape[0], batch_size):
            correct += (model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum()
    return correct.item() / max(1, x.shape[0])


@dataclass(frozen=True)
class NoisyAccuracy:
    kind: str
    sigma: float
    mode: str
    mean: float
    std: float
    repeats: int
    values: tuple[float, ...]
    spec: dict  # the full NoiseSpec record, so every figure says how it was made
    # Sigma levels that shared this figure's draws (common random numbers); () if none.
    shared_draws_with: tuple[float, ...] = ()

    @classmethod
    def of(cls, spec, values, shared_draws_with: tuple[float, ...] = ()) -> NoisyAccuracy:
        """Mean and std (0 for one repeat) of `values`, one accuracy per independent draw."""
        values = tuple(values)
        return cls(kind=spec.kind, sigma=spec.sigma, mode=spec.mode, mean=statistics.fmean(values),
                   std=statistics.stdev(values) if len(values) > 1 else 0.0, repeats=len(values), values=values,
                   spec=spec.describe(), shared_draws_with=shared_draws_with)

    def as_dict(self) -> dict:
        return asdict(self)


def noisy_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec, *, repeats: int, seed: int,
                   calibration: torch.Tensor | None = None, batch_size: int | None = None) -> NoisyAccuracy:
    """Accuracy under one noise setting, over `repeats` independent draws."""
    from aisnas.noise import NoiseInjector

    if repeats < 1:
        raise ValueError(f"repeats: {repeats} must be >= 1")
    values = []
    with NoiseInjector(model, spec, seed=seed, calibration=calibration) as injector:
        for r in range(repeats):
            if r:
                injector.redraw()  # a new chip; activation noise is fresh on every forward anyway
            values.append(accuracy(model, x, y, batch_size))
    return NoisyAccuracy.of(spec, values)


_STACKABLE = ("additive", "multiplicative", "correlated")


@torch.inference_mode()
def stacked_noisy_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, specs, *, repeats: int, seed: int,
                           calibration: torch.Tensor | None = None,
                           batch_size: int | None = None) -> list[NoisyAccuracy]:
    """`noisy_accuracy` for several levels of one activation-noise kind, on shared draws.

    `specs` differ only in sigma (> 0). Level k of repeat r equals what `noisy_accuracy`
    with the same seed gives at `batch_size // len(specs)`; see the module docstring.
    """
    from aisnas.noise import NoiseInjector

    if repeats < 1:
        raise ValueError(f"repeats: {repeats} must be >= 1")
    if not specs or any(replace(s, sigma=specs[0].sigma) != specs[0] for s in specs):
        raise AisnasError("specs: stacked levels must be one noise setting that differs only in sigma")
    sigmas = tuple(s.sigma for s in specs)
    k = len(sigmas)
    # K copies of `per` images: about `batch_size` images per forward.
    per = max(1, (batch_size or eval_batch_size(x.device)) // k)
    model.eval()
    correct = torch.zeros((repeats, k), dtype=torch.long, device=x.device)
    with NoiseInjector(model, specs[0], seed=seed, calibration=calibration, sigmas=sigmas), _autocast(x.device):
        for r in range(repeats):
            for i in range(0, x.shape[0], per):
                xb, yb = x[i:i + per], y[i:i + per]
                pred = model(xb.repeat(k, *([1] * (xb.dim() - 1)))).argmax(1).view(k, -1)
                correct[r] += (pred == yb).sum(1)
    acc = (correct.double() / max(1, x.shape[0])).t().tolist()  # [level][repeat]
    return [NoisyAccuracy.of(spec, values, sigmas if k > 1 else ()) for spec, values in zip(specs, acc)]


def noise_sweep(model: nn.Module, x: torch.Tensor, y: torch.Tensor, specs, *, repeats: int, seed: int,
                calibration: torch.Tensor | None = None, clean: float | None = None) -> list[NoisyAccuracy]:
    """`noisy_accuracy` over a grid, results in the order of `specs`.

    Activation-noise levels that differ only in sigma are evaluated together
    (`stacked_noisy_accuracy`); weight and drift noise level by level. Each group or
    setting gets its own seed, derived from `seed` and its first position in `specs`.
    `clean`: the model's clean accuracy on (x, y) if already measured, for sigma 0.
    """
    out: list[NoisyAccuracy | None] = [None] * len(specs)
    groups: dict[object, list[int]] = {}
    for i, spec in enumerate(specs):
        if spec.sigma == 0 and spec.kind != "drift":
            # Noise-free: one deterministic pass stands for every repeat.
            if clean is None:
                clean = accuracy(model, x, y)
            out[i] = NoisyAccuracy(spec.kind, 0.0, spec.mode, clean, 0.0, repeats, (clean,) * repeats,
                                   spec.describe())
        elif spec.kind in _STACKABLE:
            groups.setdefault(replace(spec, sigma=0.0), []).append(i)
        else:
            out[i] = noisy_accuracy(model, x, y, spec, repeats=repeats, seed=seed * 1000 + i,
                                    calibration=calibration)
    for idx in groups.values():
        group = stacked_noisy_accuracy(model, x, y, [specs[i] for i in idx], repeats=repeats,
                                       seed=seed * 1000 + idx[0], calibration=calibration)
        for i, result in zip(idx, group):
            out[i] = result
    return out


def quantized_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bits_grid) -> dict[int, float]:
    """Post-training weight quantization at each bit width (per-channel symmetric)."""
    from aisnas.quant import post_training_quantize

    return {int(b): accuracy(post_training_quantize(model, int(b)), x, y) for b in bits_grid}
