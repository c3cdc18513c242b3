"""Named architecture builders, timm-style: `create_arch("vgg13", width=0.25)`.

Each builder returns an `ArchSpec`; the registry maps names to builders so studies,
the CLI and tests can iterate over every preset.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

from aisnas.arch._spec import FAN_IN_GROUPS, ArchSpec, StageSpec
from aisnas.errors import AisnasError

__all__ = ["create_arch", "list_archs", "register_arch"]

_REGISTRY: dict[str, Callable[..., ArchSpec]] = {}


def register_arch(name: str):
    def deco(fn: Callable[..., ArchSpec]) -> Callable[..., ArchSpec]:
        if name in _REGISTRY:
            raise RuntimeError(f"architecture {name!r} registered twice")  # a bug, not bad input
        _REGISTRY[name] = fn
        return fn

    return deco


def list_archs() -> list[str]:
    return sorted(_REGISTRY)


def create_arch(name: str, **overrides) -> ArchSpec:
    """Build a preset; `overrides` are the builder's keyword arguments (width, kernel...)."""
    if name not in _REGISTRY:
        raise AisnasError(f"unknown architecture {name!r}; available: {', '.join(list_archs())}")
    try:
        return _REGISTRY[name](**overrides)
    except TypeError as e:
        raise AisnasError(f"architecture {name!r}: {e}") from None
    except ValueError as e:
        raise AisnasError(f"architecture {name!r}: {e}") from None


def _scaled(channels: int, width: float, multiple: int = 1) -> int:
    """Round channels*width to a positive multiple of `multiple` (for grouping)."""
    return max(multiple, int(round(channels * width / multiple)) * multiple)


def _common(spec: ArchSpec, **kw) -> ArchSpec:
    return dataclasses.replace(spec, **{k: v for k, v in kw.items() if v is not None})


# The paper's VGG-13 (Horton et al.): ten 3x3 convs in five stages of two, softplus.
_VGG13 = (64, 128, 256, 512, 512)


@register_arch("vgg13")
def vgg13(
    width: float = 1.0,
    fan_in: str = "full",
    kernel: int = 3,
    skip: bool = False,
    weight_bits: int | None = None,
    activation: str = "softplus",
    in_sensor_layers: int = 0,
    adc_bits: int | None = None,
    match_cost: bool = True,
) -> ArchSpec:
    """VGG-13; with fan-in 1/g the widths grow by sqrt(g) so MACs and params stay put.

    A grouped conv with g groups costs C_in*C_out/g, so multiplying both channel counts
    by sqrt(g) restores the cost of the full-fan-in layer (the paper compares variants
    "at about the same MAC and parameter count").
    """
    if fan_in not in FAN_IN_GROUPS:
        raise ValueError(f"fan_in: {fan_in!r} is not one of {', '.join(FAN_IN_GROUPS)}")
    g = FAN_IN_GROUPS[fan_in]
    mult = g if g > 1 else 1
    w = width * (math.sqrt(g) if match_cost and g > 1 else 1.0)
    stages = tuple(
        StageSpec(depth=2, channels=_scaled(c, w, mult), kernel=kernel, fan_in=fan_in, skip=skip,
                  weight_bits=weight_bits)
        for c in _VGG13
    )
    name = "vgg13" if fan_in == "full" else f"vgg13_fanin{fan_in.replace('1/', '')}"
    return _common(ArchSpec(stages=stages, name=name, activation=activation),
                   in_sensor_layers=in_sensor_layers, adc_bits=adc_bits)


@register_arch("vgg13_fanin2")
def vgg13_fanin2(**kw) -> ArchSpec:
    return vgg13(fan_in="1/2", **kw)


@register_arch("vgg13_fanin4")
def vgg13_fanin4(**kw) -> ArchSpec:
    return vgg13(fan_in="1/4", **kw)


def _cnn(name: str, stages: list[tuple[int, int]], width: float, global_pool_after=None, **kw) -> ArchSpec:
    kernel = kw.pop("kernel", 3)
    fan_in = kw.pop("fan_in", "full")
    skip = kw.pop("skip", False)
    weight_bits = kw.pop("weight_bits", None)
    g = max(FAN_IN_GROUPS[fan_in], 1) if fan_in in FAN_IN_GROUPS else 1
    specs = tuple(
        StageSpec(depth=d, channels=_scaled(c, width, g), kernel=kernel, fan_in=fan_in, skip=skip,
                  weight_bits=weight_bits)
        for d, c in stages
    )
    return _common(ArchSpec(stages=specs, name=name, global_pool_after=global_pool_after), **kw)


@register_arch("cnn3")
def cnn3(width: float = 1.0, **kw) -> ArchSpec:
    """The paper's Fig. 4 network: 32x32x16 -> 16x16x32 -> 8x8x64, two 3x3 convs a stage.

    Channels double at each downsampling, so MACs per channel-keeping conv stay at
    16384*144 = 2,359,296 while activations halve and parameters quadruple.
    """
    return _cnn("cnn3", [(2, 16), (2, 32), (2, 64)], width, **kw)


# Front-loaded alternatives to cnn3 (the paper's advice, GUIDE.md 2.4): spend compute
# where activations are many and weights few, and stop growing channels early.
@register_arch("cnn3_slow_growth")
def cnn3_slow_growth(width: float = 1.0, **kw) -> ArchSpec:
    """Channels grow by 1.5x instead of 2x per downsampling."""
    return _cnn("cnn3_slow_growth", [(2, 16), (2, 24), (2, 36)], width, **kw)


@register_arch("cnn3_deep_early")
def cnn3_deep_early(width: float = 1.0, **kw) -> ArchSpec:
    """More layers before the first downsampling, fewer after."""
    return _cnn("cnn3_deep_early", [(4, 16), (1, 32), (1, 64)], width, **kw)


@register_arch("cnn3_early_pool")
def cnn3_early_pool(width: float = 1.0, **kw) -> ArchSpec:
    """Global pooling after the second stage: the last stage runs on 1x1 maps."""
    return _cnn("cnn3_early_pool", [(2, 16), (2, 32), (2, 64)], width, global_pool_after=2, **kw)
