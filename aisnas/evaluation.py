"""Evaluation: clean accuracy, accuracy under analog noise, accuracy when quantized.

Every noisy figure is a mean and std over `repeats` fresh noise draws (and a fresh
simulated chip for weight noise), with the number of repeats kept beside it.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

import torch
from torch import nn

__all__ = ["NoisyAccuracy", "accuracy", "noise_sweep", "noisy_accuracy", "quantized_accuracy"]


@torch.inference_mode()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy in eval mode (BN uses running statistics)."""
    model.eval()
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if x.device.type == "cuda"
                else torch.autocast("cpu", enabled=False))
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    with autocast:
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

    def as_dict(self) -> dict:
        return asdict(self)


def noisy_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec, *, repeats: int, seed: int,
                   calibration: torch.Tensor | None = None, batch_size: int = 1000) -> NoisyAccuracy:
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
    return NoisyAccuracy(
        kind=spec.kind, sigma=spec.sigma, mode=spec.mode, mean=statistics.fmean(values),
        std=statistics.stdev(values) if repeats > 1 else 0.0, repeats=repeats, values=tuple(values),
        spec=spec.describe(),
    )


def noise_sweep(model: nn.Module, x: torch.Tensor, y: torch.Tensor, specs, *, repeats: int, seed: int,
                calibration: torch.Tensor | None = None) -> list[NoisyAccuracy]:
    """`noisy_accuracy` over a grid; each setting gets its own seed, derived from `seed`."""
    clean = None
    out = []
    for i, spec in enumerate(specs):
        if spec.sigma == 0 and spec.kind != "drift":
            # Noise-free: one deterministic pass stands for every repeat.
            if clean is None:
                clean = accuracy(model, x, y)
            out.append(NoisyAccuracy(spec.kind, 0.0, spec.mode, clean, 0.0, repeats, (clean,) * repeats,
                                     spec.describe()))
            continue
        out.append(noisy_accuracy(model, x, y, spec, repeats=repeats, seed=seed * 1000 + i,
                                  calibration=calibration))
    return out


def quantized_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bits_grid) -> dict[int, float]:
    """Post-training weight quantization at each bit width (per-channel symmetric)."""
    from aisnas.quant import post_training_quantize

    return {int(b): accuracy(post_training_quantize(model, int(b)), x, y) for b in bits_grid}
