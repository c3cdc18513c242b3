"""Weight and activation quantization (GUIDE.md section 4).

Weights: symmetric, uniform, per output channel, with 2^(b-1)-1 levels each side of
zero, so that zero stays exactly representable (an analog cell of zero conductance).
Quantization-aware training uses a straight-through estimator (Bengio et al. 2013):
the forward pass sees quantized weights, the backward pass treats rounding as identity.
Post-training quantization rounds a trained model's weights once. Activations are
quantized where they leave the sensor, by an ADC of a given bit count.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = [
    "ADCQuantizer",
    "attach_weight_quantization",
    "post_training_quantize",
    "quantize_weight",
    "weight_scale",
]


def _check_bits(bits: int) -> int:
    if not isinstance(bits, int) or not 2 <= bits <= 16:
        raise ValueError(f"weight bits: {bits!r} is outside 2..16")
    return bits


def weight_scale(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel step size: max|w_c| / (2^(b-1) - 1), shaped to broadcast."""
    levels = 2 ** (_check_bits(bits) - 1) - 1
    max_abs = w.detach().abs().flatten(1).amax(dim=1) if w.dim() > 1 else w.detach().abs().amax().view(1)
    # An all-zero channel would give a zero step; any positive step keeps it at zero.
    scale = torch.clamp(max_abs, min=torch.finfo(w.dtype).tiny) / levels
    return scale.view(-1, *([1] * (w.dim() - 1)))


def quantize_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric uniform quantization per output channel; |error| <= step / 2."""
    scale = weight_scale(w, bits)
    levels = 2 ** (bits - 1) - 1
    return torch.clamp(torch.round(w / scale), -levels, levels) * scale


class _FakeQuant(nn.Module):
    """Parametrization: quantized forward, straight-through backward."""

    def __init__(self, bits: int):
        super().__init__()
        self.bits = _check_bits(bits)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w + (quantize_weight(w, self.bits) - w).detach()


def attach_weight_quantization(bits_by_module: dict[nn.Module, int]) -> None:
    """Quantization-aware training: each module's weight is fake-quantized in forward."""
    for module, bits in bits_by_module.items():
        parametrize.register_parametrization(module, "weight", _FakeQuant(bits))


def post_training_quantize(model: nn.Module, bits: int) -> nn.Module:
    """A copy of `model` whose conv and linear weights are quantized to `bits` once.

    Symmetric per-channel weight quantization needs no calibration data: the step is
    set by each channel's largest weight. Any quantization-aware parametrization is
    baked in first, so the copy holds plain tensors at the new precision.
    """
    _check_bits(bits)
    q = copy.deepcopy(model)
    for m in q.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if parametrize.is_parametrized(m, "weight"):
                parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
            with torch.no_grad():
                m.weight.copy_(quantize_weight(m.weight, bits))
    return q


class ADCQuantizer(nn.Module):
    """The ADC at the analog/digital boundary: uniform quantization to `bits`.

    The full-scale range tracks the largest activation seen in training (a running max,
    as an ADC's reference is set at calibration) and is frozen in eval. Non-negative
    inputs (softplus/ReLU outputs) use all 2^b codes on [0, max]; signed ones are
    symmetric. Straight-through estimator for the rounding.
    """

    def __init__(self, bits: int, momentum: float = 0.1):
        super().__init__()
        if not 1 <= bits <= 16:
            raise ValueError(f"adc_bits: {bits} is outside 1..16")
        self.bits = bits
        self.momentum = momentum
        self.register_buffer("full_scale", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                seen = x.detach().abs().amax()
                if self.full_scale == 0:
                    self.full_scale.copy_(seen)
                else:
                    self.full_scale.lerp_(seen, self.momentum)
        fs = torch.clamp(self.full_scale, min=torch.finfo(x.dtype).tiny)
        if bool((x.detach().min() >= 0).item()):
            step = fs / (2**self.bits - 1)
            q = torch.clamp(torch.round(x / step), 0, 2**self.bits - 1) * step
        else:
            levels = 2 ** (self.bits - 1) - 1
            step = fs / max(levels, 1)
            q = torch.clamp(torch.round(x / step), -levels, levels) * step
        return x + (q - x).detach()
