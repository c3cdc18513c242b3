"""Apply a variant to a batch: the stages in order, then U's pooling back to size.

Variants with colour stages (C, RC, S) run in float64 internally and are cast back at
the end: the reverse tone curve is steep (~x**3.66) and TsTw has negative entries, so in
float32 a C then RC round trip loses up to ~1e-4 on saturated dark channels through
cancellation. Mosaic-only variants are convex linear maps that float32 handles exactly
enough, and stay in float32 because float64 demosaicing is ~3x slower on CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from aisnas.errors import AisnasError
from aisnas.raw._color import add_sensor_noise, forward_color, quantize_adc, reverse_color
from aisnas.raw._mosaic import MOSAIC_LAYOUTS, POOL_GAIN, demosaic
from aisnas.raw._mosaic import mosaic as mosaic_image
from aisnas.raw._variant import Variant, parse_variant

__all__ = ["apply_variant", "apply_variant_uint8", "check_options"]

# ADC resolutions accepted; 12 bits is the scale of CRIP's noise model.
ADC_BITS = range(1, 17)


def apply_variant(
    x: torch.Tensor,
    variant: Variant | str,
    *,
    mosaic: str = "sparse3",
    generator: torch.Generator | None = None,
    sensor_noise: bool = False,
    adc_bits: int | None = None,
) -> torch.Tensor:
    """Turn dataset RGB float [N,3,H,W] in [0,1] into the variant's network input.

    Returns float [N,C,H,W] with the input's dtype and device and the SAME H,W: C is 3,
    or 1 when the last stage is M with mosaic="bayer1". With U, the image is upsampled
    2x (bilinear, align_corners=False) first, and average-pooled 2x2 back at the end, as
    in Horton et al.; a pooled sparse3 mosaic is rescaled by 4 (see _mosaic.POOL_GAIN).
    Note that bilinear-up then 2x2-average is not the identity: it is exactly a
    [1,6,1]/8 x [1,6,1]/8 blur with replicate borders (exact on constant images and, away
    from borders, on linear ramps).

    sensor_noise adds CRIP's noise right after C (on the 12-bit scale), adc_bits then
    quantizes the raw readout; both model the sensor, so they need C in the variant.
    `generator` seeds the noise and must live on x's device.
    """
    v = parse_variant(variant)
    check_options(v, mosaic=mosaic, generator=generator, sensor_noise=sensor_noise, adc_bits=adc_bits)
    _check_input(x, v)
    if generator is not None and generator.device.type != x.device.type:
        raise AisnasError(f"generator: on {generator.device}, but the input is on {x.device}; use the same device")
    if not v.codes:
        return x.clone()

    precise = any(code in ("C", "RC", "S") for code in v.codes)
    work = torch.float64 if precise or x.dtype == torch.float64 else torch.float32
    y = x.to(work)
    layout = None  # the mosaic layout while the data is mosaicked, else None
    for code in v.codes:
        if code == "U":
            y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        elif code == "C":
            y = reverse_color(y)
            if sensor_noise:
                y = add_sensor_noise(y, generator)
            if adc_bits is not None:
                y = quantize_adc(y, adc_bits)
        elif code == "RC":
            y = forward_color(y)
        elif code == "S":
            y = torch.sqrt(y)
        elif code == "M":
            y, layout = mosaic_image(y, mosaic), mosaic
        elif code == "RM":
            y, layout = demosaic(y, layout), None
    if "U" in v.codes:
        y = F.avg_pool2d(y, kernel_size=2)
        if layout is not None:
            y = y * POOL_GAIN[layout]
    return y.to(x.dtype)


def apply_variant_uint8(x: torch.Tensor, variant: Variant | str, **kw) -> torch.Tensor:
    """uint8 [N,3,H,W] in, uint8 [N,C,H,W] out (CRIP also writes 8-bit images).

    Scales by 1/255, applies the variant (keywords as apply_variant), rounds to nearest.
    """
    if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8:
        got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise AisnasError(f"apply_variant_uint8: input dtype {got} is not allowed; pass a uint8 tensor")
    y = apply_variant(x.to(torch.float32) / 255.0, variant, **kw)
    return torch.round(y * 255.0).clamp_(0, 255).to(torch.uint8)


def check_options(
    v: Variant,
    *,
    mosaic: str = "sparse3",
    generator: torch.Generator | None = None,
    sensor_noise: bool = False,
    adc_bits: int | None = None,
) -> None:
    """Validate apply_variant's keywords against the variant (one-line AisnasError)."""
    if mosaic not in MOSAIC_LAYOUTS:
        raise AisnasError(f"mosaic: {mosaic!r} is not one of {', '.join(MOSAIC_LAYOUTS)}")
    if not isinstance(sensor_noise, bool):
        raise AisnasError(f"sensor_noise: {sensor_noise!r} must be true or false")
    if adc_bits is not None and (isinstance(adc_bits, bool) or adc_bits not in ADC_BITS):
        raise AisnasError(f"adc_bits: {adc_bits!r} must be an integer in 1..16 (or None for no ADC)")
    if (sensor_noise or adc_bits is not None) and "C" not in v.codes:
        raise AisnasError(
            f"variant {v.name!r}: sensor_noise and adc_bits model the raw sensor readout, so they need C in the variant"
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        raise AisnasError(f"generator: {type(generator).__name__} is not a torch.Generator")


def _check_input(x: torch.Tensor, v: Variant) -> None:
    if not isinstance(x, torch.Tensor):
        raise AisnasError(f"apply_variant: input of type {type(x).__name__} is not allowed; pass a torch.Tensor")
    if not x.is_floating_point():
        raise AisnasError(f"apply_variant: input dtype {x.dtype} is not allowed; pass floats in [0,1]")
    if x.ndim != 4 or x.shape[1] != 3:
        raise AisnasError(f"apply_variant: input shape {tuple(x.shape)} is not allowed; pass [N,3,H,W] RGB")
    h, w = x.shape[-2:]
    if "M" in v.codes and "U" not in v.codes and (h % 2 or w % 2):
        raise AisnasError(f"variant {v.name!r}: image size {h}x{w} is not allowed; M needs even height and width")
    if x.numel() and not bool(((x >= 0) & (x <= 1)).all()):  # NaN fails both comparisons
        raise AisnasError("apply_variant: input values outside [0,1] (or NaN) are not allowed; scale images to [0,1]")
