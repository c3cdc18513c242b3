"""Colour stages: reverse/forward tone curve and colour transform, sensor noise, ADC.

Constants are CRIP's (Buckler et al., "Reconfiguring the Imaging Pipeline for Computer
Vision", ICCV 2017), which builds on Kim et al.'s in-camera imaging model (TPAMI 2012)
fitted to a Nikon D7000. All functions take and return float tensors [N,3,H,W] in
[0,1] and are pure, batched tensor ops, so they run unchanged on CPU and CUDA.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "NOISE_A",
    "NOISE_B",
    "NOISE_SCALE",
    "TONE_ANCHOR",
    "TONE_GAMMA",
    "TONE_KNEE",
    "TONE_OFFSET",
    "TONE_TOE_SLOPE",
    "TS",
    "TSTW",
    "TSTW_INV",
    "WB_FLUORESCENT",
    "add_sensor_noise",
    "forward_color",
    "forward_tone",
    "quantize_adc",
    "reverse_color",
    "reverse_tone",
]

# Colour space transform Ts (camera RGB -> sRGB primaries), Nikon D7000 (CRIP, after Kim et al.).
TS = (
    (1.578706, -0.509131, -0.026729),
    (-0.129182, 1.430037, -0.268639),
    (0.026785, -0.554129, 1.556603),
)
# White balance Tw = diag(wb), fluorescent illuminant (CRIP).
WB_FLUORESCENT = (1.832031, 1.0, 2.027344)
# TsTw = Ts * diag(wb), as published by CRIP (a test checks it equals Ts @ diag(wb)).
TSTW = (
    (2.892238, -0.509131, -0.054189),
    (-0.236666, 1.430037, -0.544623),
    (0.049071, -0.554129, 3.155769),
)
# inv(TsTw) as published by CRIP (6 decimals). Kept as a checked reference only: its
# rounding makes TSTW @ TSTW_INV differ from I by ~1e-6, which the steep tone curve
# turns into ~1e-4 errors on saturated dark channels, so the pipeline inverts TSTW
# exactly in float64 instead (a test checks both agree to the published precision).
TSTW_INV = (
    (0.356584, 0.138594, 0.030042),
    (0.060980, 0.773099, 0.134469),
    (0.005163, 0.133595, 0.340024),
)

# Reverse tone curve. CRIP uses a per-channel lookup table learned by Kim et al. for the
# D7000; we do not have it, so we approximate it by a smooth monotone curve through
# (0,0), (1,1) and CRIP's one published anchor: 127/255 maps to about 0.094 (GUIDE.md
# sec. 6), i.e. much darker than gamma 2.2 (which gives 0.216). We use the sRGB form
# (IEC 61966-2-1): y = ((x + a)/(1 + a))**g above a knee, a straight line through the
# origin below it, joined with matching value and slope. sRGB's offset a = 0.055 is
# kept and g is solved from the anchor (g ~= 3.66). The linear toe matters: a pure power
# law x**3.39 would make the forward curve y**(1/g) infinitely steep at black, so float
# rounding of ~1e-16 in a zero channel would come back from RC as ~2e-5. The same curve
# serves all channels (the LUT is per channel, but only one anchor is known). Its exact
# inverse is the forward curve used by RC.
TONE_ANCHOR = (127.0 / 255.0, 0.094)
TONE_OFFSET = 0.055  # sRGB (IEC 61966-2-1)
TONE_GAMMA = math.log(TONE_ANCHOR[1]) / math.log((TONE_ANCHOR[0] + TONE_OFFSET) / (1 + TONE_OFFSET))
# Knee where the tangent of the power branch passes through the origin: x0 = a/(g-1).
TONE_KNEE = TONE_OFFSET / (TONE_GAMMA - 1)
TONE_TOE_SLOPE = ((TONE_KNEE + TONE_OFFSET) / (1 + TONE_OFFSET)) ** TONE_GAMMA / TONE_KNEE

# Sensor noise, CRIP's heteroscedastic (shot + read) model on the 12-bit scale (x4096):
# v += N(0, sigma^2) with sigma = sqrt(a*v + b); per channel R, G, B.
NOISE_SCALE = 4096.0
NOISE_A = (0.1460, 0.1352, 0.1709)
NOISE_B = (7.6876, 5.0834, 12.3381)


def reverse_tone(x: torch.Tensor) -> torch.Tensor:
    """Dataset (tone-mapped) values -> linear sensor values (see TONE_GAMMA)."""
    x = x.clamp(0.0, 1.0)
    power = ((x + TONE_OFFSET) / (1 + TONE_OFFSET)) ** TONE_GAMMA
    return torch.where(x <= TONE_KNEE, x * TONE_TOE_SLOPE, power)


def forward_tone(y: torch.Tensor) -> torch.Tensor:
    """Linear values -> tone-mapped values, the exact inverse of reverse_tone.

    Clamped to [0,1] first: after noise, TsTw @ raw can leave the unit cube, and a
    display/8-bit ISP saturates there too.
    """
    y = y.clamp(0.0, 1.0)
    power = (1 + TONE_OFFSET) * y ** (1.0 / TONE_GAMMA) - TONE_OFFSET
    return torch.where(y <= TONE_KNEE * TONE_TOE_SLOPE, y / TONE_TOE_SLOPE, power)


def _apply_matrix(m: tuple[tuple[float, ...], ...] | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    m = torch.as_tensor(m, dtype=x.dtype, device=x.device)
    return torch.einsum("ij,njhw->nihw", m, x)


def _tstw_inverse(like: torch.Tensor) -> torch.Tensor:
    # Inverted in float64 on the CPU (exact to ~1e-16), then moved: one tiny 3x3 solve
    # per call avoids holding a module-level tensor (no global mutable state).
    inv = torch.linalg.inv(torch.tensor(TSTW, dtype=torch.float64))
    return inv.to(dtype=like.dtype, device=like.device)


def reverse_color(x: torch.Tensor) -> torch.Tensor:
    """Stage C: dataset RGB -> estimated linear sensor RGB ("raw"), as CRIP does it.

    Reverse tone curve, reverse gamut map, then raw = max(0, inv(TsTw) x). The gamut
    map is skipped (identity): CRIP's gamut mapping only moves out-of-gamut colours and
    its parameters are not published. inv(TsTw) has only positive entries and row sums
    below 1 (0.53, 0.97, 0.48), so raw lies in [0, 0.97]: dark and greenish, as raw is.
    For the same reason CRIP's max(0, .) clamp never fires on [0,1] inputs (every
    dataset colour is inside the sensor gamut), so C is exactly invertible by RC; the
    clamp is kept for fidelity with CRIP and for inputs that are not plain RGB.
    """
    return _apply_matrix(_tstw_inverse(x), reverse_tone(x)).clamp_min(0.0)


def forward_color(raw: torch.Tensor) -> torch.Tensor:
    """Stage RC: linear sensor RGB -> dataset RGB (colour transform TsTw, then tone curve)."""
    return forward_tone(_apply_matrix(TSTW, raw))


def add_sensor_noise(raw: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """CRIP's sensor noise on linear raw in [0,1]; the result is clipped to [0,1].

    Clipping models the sensor: a pixel cannot read below black or above full well.
    """
    v = raw * NOISE_SCALE
    a = torch.tensor(NOISE_A, dtype=raw.dtype, device=raw.device).view(1, 3, 1, 1)
    b = torch.tensor(NOISE_B, dtype=raw.dtype, device=raw.device).view(1, 3, 1, 1)
    sigma = torch.sqrt(a * v + b)
    eps = torch.randn(raw.shape, generator=generator, dtype=raw.dtype, device=raw.device)
    return ((v + sigma * eps) / NOISE_SCALE).clamp(0.0, 1.0)


def quantize_adc(raw: torch.Tensor, bits: int) -> torch.Tensor:
    """An ideal `bits`-bit ADC over [0,1]: 2**bits levels, round to nearest."""
    levels = float(2**bits - 1)
    return torch.round(raw * levels) / levels
