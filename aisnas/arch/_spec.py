"""The frozen architecture description and its exact per-layer counts.

An `ArchSpec` is a plain, hashable value: the same description always builds the same
model and gives the same counts. Counts (MACs, parameters, activations, fan-in) are
computed from the description alone, without tracing a model, so the PPA model and
the constraint checks can price an architecture before anything is trained.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

__all__ = ["FAN_IN_GROUPS", "ArchSpec", "LayerInfo", "StageSpec", "layer_totals"]

# Fan-in choice -> channel-group divisor. "depthwise" is a kxk depthwise conv followed
# by a 1x1 pointwise conv (depthwise alone would never mix channels).
FAN_IN_GROUPS = {"full": 1, "1/2": 2, "1/4": 4, "1/8": 8, "depthwise": 0}
KERNELS = (1, 3, 5, 7)
ACTIVATIONS = ("softplus", "relu")
DOWNSAMPLES = ("maxpool", "avgpool")
WEIGHT_BITS = range(2, 17)
ADC_BITS = range(1, 17)


@dataclass(frozen=True)
class StageSpec:
    """One stage: `depth` conv layers at one resolution; the first sets `channels`."""

    depth: int = 2
    channels: int = 16
    kernel: int = 3
    fan_in: str = "full"
    skip: bool = False  # identity residual around every conv whose input and output shapes match
    weight_bits: int | None = None  # None: floating-point weights

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ValueError(f"depth: {self.depth} must be >= 1")
        if self.channels < 1:
            raise ValueError(f"channels: {self.channels} must be >= 1")
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel: {self.kernel} is not one of {', '.join(map(str, KERNELS))}")
        if self.fan_in not in FAN_IN_GROUPS:
            raise ValueError(f"fan_in: {self.fan_in!r} is not one of {', '.join(FAN_IN_GROUPS)}")
        if self.weight_bits is not None and self.weight_bits not in WEIGHT_BITS:
            raise ValueError(f"weight_bits: {self.weight_bits} is outside 2..16 (or omit it for float)")


@dataclass(frozen=True)
class LayerInfo:
    """Exact counts of one weight layer (conv or the final linear classifier)."""

    index: int  # position among the weight layers, in execution order
    name: str
    kind: str  # "conv", "dwconv", "pwconv" or "linear"
    in_channels: int
    out_channels: int
    kernel: int
    groups: int
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    skip: bool
    weight_bits: int | None
    in_sensor: bool

    @property
    def fan_in(self) -> int:
        """Inputs summed by one output: k*k*C_in/g (the analog MAC's fan-in)."""
        return self.kernel * self.kernel * self.in_channels // self.groups

    @property
    def params(self) -> int:
        """Weights, without bias (convs have none; BN folds into them in hardware)."""
        return self.kernel * self.kernel * self.in_channels * self.out_channels // self.groups

    @property
    def activations(self) -> int:
        return self.out_hw[0] * self.out_hw[1] * self.out_channels

    @property
    def macs(self) -> int:
        return self.out_hw[0] * self.out_hw[1] * self.out_channels * self.fan_in

    @property
    def act_per_param(self) -> float:
        """High: spatial-bound (cheap in the sensor); low: channel-bound."""
        return self.activations / self.params

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.update(fan_in=self.fan_in, params=self.params, activations=self.activations, macs=self.macs)
        return d


def layer_totals(layers) -> dict[str, int]:
    """Network totals from its `LayerInfo`s; activations and conv layers leave out the fc."""
    return {
        "macs": sum(layer.macs for layer in layers),
        "params": sum(layer.params for layer in layers),
        "activations": sum(layer.activations for layer in layers if layer.kind != "linear"),
        "conv_layers": sum(1 for layer in layers if layer.kind != "linear"),
    }


@dataclass(frozen=True)
class ArchSpec:
    """A CNN for analog in-sensor deployment, described by knobs.

    Stages are separated by 2x2 downsampling. With `global_pool_after = s`, the maps
    are globally average-pooled after stage s and later stages run on 1x1 maps, so
    their kernels are 1x1 whatever `kernel` says (front-loading, GUIDE.md 2.4).
    The first `in_sensor_layers` conv layers run in the analog sensor; their outputs
    are digitized by ADCs of `adc_bits` (None: not quantized in the model).
    """

    stages: tuple[StageSpec, ...] = field(default_factory=lambda: (StageSpec(),))
    name: str = "custom"
    input_channels: int = 3
    input_size: int = 32
    num_classes: int = 10
    activation: str = "softplus"
    downsample: str = "maxpool"
    global_pool_after: int | None = None
    in_sensor_layers: int = 0
    adc_bits: int | None = None

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("stages: at least one stage is needed")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation: {self.activation!r} is not one of {', '.join(ACTIVATIONS)}")
        if self.downsample not in DOWNSAMPLES:
            raise ValueError(f"downsample: {self.downsample!r} is not one of {', '.join(DOWNSAMPLES)}")
        if self.input_channels < 1 or self.num_classes < 2:
            raise ValueError("input_channels must be >= 1 and num_classes >= 2")
        if self.input_size < 2 ** (len(self.stages) - 1):
            raise ValueError(f"input_size: {self.input_size} is too small for {len(self.stages)} stages")
        if self.global_pool_after is not None and not 1 <= self.global_pool_after <= len(self.stages):
            raise ValueError(f"global_pool_after: {self.global_pool_after} is outside 1..{len(self.stages)}")
        if self.adc_bits is not None and self.adc_bits not in ADC_BITS:
            raise ValueError(f"adc_bits: {self.adc_bits} is outside 1..16")
        n_conv = sum(1 for layer in self.layers() if layer.kind != "linear")
        if not 0 <= self.in_sensor_layers <= n_conv:
            raise ValueError(f"in_sensor_layers: {self.in_sensor_layers} is outside 0..{n_conv} (conv layers)")

    def layers(self) -> tuple[LayerInfo, ...]:
        """Every weight layer in execution order, with exact shapes."""
        out: list[LayerInfo] = []
        c_in, hw = self.input_channels, self.input_size
        for s, stage in enumerate(self.stages, start=1):
            if s > 1 and hw > 1:
                hw //= 2
            pooled = self.global_pool_after is not None and s > self.global_pool_after
            if pooled:
                hw = 1
            k = 1 if pooled else stage.kernel
            for i in range(1, stage.depth + 1):
                c_out = stage.channels
                first_layer = not out
                g = FAN_IN_GROUPS[stage.fan_in]
                skip = stage.skip and c_in == c_out
                common = dict(in_hw=(hw, hw), out_hw=(hw, hw), weight_bits=stage.weight_bits)
                # The very first conv sees the raw pixels (1-3 channels): grouping them
                # would starve outputs of colour, so it always has full fan-in.
                if first_layer or g == 1:
                    out.append(self._layer(out, f"s{s}.c{i}", "conv", c_in, c_out, k, 1, skip, **common))
                elif g == 0:
                    out.append(self._layer(out, f"s{s}.c{i}.dw", "dwconv", c_in, c_in, k, c_in, False, **common))
                    out.append(self._layer(out, f"s{s}.c{i}.pw", "pwconv", c_in, c_out, 1, 1, skip, **common))
                else:
                    if c_in % g or c_out % g:
                        raise ValueError(
                            f"stages[{s - 1}]: fan_in {stage.fan_in} needs channels divisible by {g} "
                            f"(layer s{s}.c{i} has {c_in} -> {c_out})"
                        )
                    out.append(self._layer(out, f"s{s}.c{i}", "conv", c_in, c_out, k, g, skip, **common))
                c_in = c_out
        out.append(
            LayerInfo(len(out), "fc", "linear", c_in, self.num_classes, 1, 1, (1, 1), (1, 1), False, None, False)
        )
        return tuple(out)

    def _layer(self, done, name, kind, c_in, c_out, k, g, skip, **common) -> LayerInfo:
        return LayerInfo(
            index=len(done), name=name, kind=kind, in_channels=c_in, out_channels=c_out, kernel=k,
            groups=g, skip=skip, in_sensor=len(done) < self.in_sensor_layers, **common,
        )

    @property
    def arch_id(self) -> str:
        """Content hash of everything but the display name: equal ids, equal networks."""
        d = dataclasses.asdict(self)
        d.pop("name")
        return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def build(self):
        """The untrained torch model (any spec with build/arch_id/totals can be trained)."""
        from aisnas.arch._build import AISNet

        return AISNet(self)

    def totals(self) -> dict[str, int]:
        return layer_totals(self.layers())
