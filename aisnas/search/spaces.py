"""Registered knob-space builders: knob values -> `ArchSpec`.

A knob space (`search_spaces/<name>.toml`, `kind = "knobs"`) names its builder; the
builder turns one trial's knob values into an architecture, or raises ValueError with
the reason when the combination is invalid, so that the trial is rejected before any
training (the objective records the reason as `failure_reason`).

`ais_cnn` (search_spaces/ais_cnn.toml) knobs:
- `num_stages` (2..5), `stem_width` (channels of stage 1), `growth` (channel factor per
  downsampling) and the fixed `max_channels` cap: stage s has
  min(stem * growth^(s-1), max_channels) channels, times the study's width;
- per stage s, conditional on `num_stages >= s`: `depth_s`, `kernel_s`, `fan_in_s`
  ("full", "1/2", "1/4", "depthwise") and `bits_s` (weight bits, 0 = float);
- `skip` (identity residuals around shape-keeping convs), `pooled_stages` (how many
  final stages run on globally pooled 1x1 maps, the paper's early global pooling; their
  kernel knobs are then moot, a 1x1 map makes every kernel 1x1);
- `in_sensor_layers`: conv layers in the sensor, counting a depthwise-separable conv
  as one layer (so the analog/digital boundary never splits it), and `adc_bits`;
- `input_variant` is consumed by the objective (the data variant), not here.
"""

from __future__ import annotations

import dataclasses
import math

from aisnas.arch import FAN_IN_GROUPS, ArchSpec, StageSpec
from aisnas.search._space import register_space_builder

__all__ = ["ais_cnn", "ais_cnn_label"]

_STAGE_KNOBS = ("depth", "kernel", "fan_in", "bits")
_MAX_STAGES = 5
# Knobs the builder reads; anything else in the values is a space-file mistake.
_GLOBAL_KNOBS = {"num_stages", "stem_width", "growth", "max_channels", "skip", "pooled_stages",
                 "in_sensor_layers", "adc_bits", "activation", "downsample"}


def _groups(fan_in: str) -> int:
    # Depthwise needs no divisibility: its kxk part has one group per channel and its
    # 1x1 part is full.
    return max(FAN_IN_GROUPS[fan_in], 1)


def _round_to(c: float, multiple: int) -> int:
    """Same rounding as the presets (aisnas.arch._presets._scaled), so baselines match."""
    return max(multiple, int(round(c / multiple)) * multiple)


def _stage_values(values: dict, n: int) -> list[dict]:
    stages = []
    for s in range(1, _MAX_STAGES + 1):
        present = {k: values[f"{k}_{s}"] for k in _STAGE_KNOBS if f"{k}_{s}" in values}
        if s <= n:
            missing = [f"{k}_{s}" for k in _STAGE_KNOBS if k not in present]
            if missing:
                raise ValueError(f"num_stages is {n} but knob(s) {', '.join(missing)} have no value")
            stages.append(present)
        elif present:
            # A per-stage knob of a stage that does not exist is a phantom parameter: the
            # space file must make it conditional on num_stages.
            names = ", ".join(f"{k}_{s}" for k in present)
            raise ValueError(f"{names} given but num_stages is {n}; make it conditional "
                             f"(when = {{num_stages = [{', '.join(str(i) for i in range(s, _MAX_STAGES + 1))}]}})")
    return stages


def _sensor_weight_layers(spec: ArchSpec, units: int) -> int:
    """Weight layers covered by the first `units` conv layers (a dw+pw pair is one)."""
    convs = [layer for layer in spec.layers() if layer.kind != "linear"]
    total = sum(1 for layer in convs if layer.kind != "pwconv")
    if units > total:
        raise ValueError(f"in_sensor_layers {units} exceeds the {total} conv layers of this architecture")
    seen = 0
    for i, layer in enumerate(convs):
        if layer.kind != "pwconv":
            if seen == units:
                return i
            seen += 1
    return len(convs)


@register_space_builder("ais_cnn")
def ais_cnn(values: dict, width: float | None = None) -> ArchSpec:
    """The ArchSpec for one `ais_cnn` knob assignment (see the module docstring)."""
    unknown = sorted(k for k in values if k not in _GLOBAL_KNOBS
                     and not any(k.startswith(f"{p}_") for p in _STAGE_KNOBS))
    if unknown:
        raise ValueError(f"unknown knob(s) {', '.join(unknown)} for builder ais_cnn")
    n = int(values["num_stages"])
    if not 1 <= n <= _MAX_STAGES:
        raise ValueError(f"num_stages {n} is outside 1..{_MAX_STAGES}")
    stages = _stage_values(values, n)
    pooled = int(values.get("pooled_stages", 0))
    if not 0 <= pooled < n:
        raise ValueError(f"pooled_stages {pooled} must be below num_stages {n}: the first stage needs full resolution")
    w = 1.0 if width is None else float(width)
    stem, growth = float(values["stem_width"]), float(values["growth"])
    cap = float(values.get("max_channels", 128))
    if growth < 1:
        raise ValueError(f"growth {growth} must be >= 1")
    groups = [_groups(st["fan_in"]) for st in stages]
    specs = []
    for s, st in enumerate(stages):
        # A stage's channels are its own convs' outputs and the next stage's first input,
        # so both stages' groups must divide them.
        nxt = groups[s + 1] if s + 1 < n else 1
        channels = _round_to(min(stem * growth**s, cap) * w, math.lcm(groups[s], nxt))
        bits = int(st["bits"])
        specs.append(StageSpec(depth=int(st["depth"]), channels=channels, kernel=int(st["kernel"]),
                               fan_in=st["fan_in"], skip=bool(values.get("skip", False)),
                               weight_bits=bits or None))
    spec = ArchSpec(stages=tuple(specs), global_pool_after=n - pooled if pooled else None,
                    activation=values.get("activation", "softplus"), downsample=values.get("downsample", "maxpool"))
    units = int(values.get("in_sensor_layers", 0))
    if units < 0:
        raise ValueError(f"in_sensor_layers {units} must be >= 0")
    layers = _sensor_weight_layers(spec, units)
    adc = values.get("adc_bits") if layers else None  # no boundary in the sensor, no ADC to model
    spec = dataclasses.replace(spec, in_sensor_layers=layers, adc_bits=int(adc) if adc else None)
    return dataclasses.replace(spec, name=ais_cnn_label(spec, units))


def ais_cnn_label(spec: ArchSpec, units: int | None = None) -> str:
    """A short readable name: channels x depth per stage, then what differs from plain.

    e.g. "16x2-32x2-64x2" (cnn3), "16x4k5-32x1/2-64x1dw|gp1|skip|L1@6b".
    """
    fan = {"full": "", "1/2": "/2", "1/4": "/4", "1/8": "/8", "depthwise": "dw"}
    parts = []
    for st in spec.stages:
        tok = f"{st.channels}x{st.depth}"
        if st.kernel != 3:
            tok += f"k{st.kernel}"
        tok += fan[st.fan_in]
        if st.weight_bits:
            tok += f"q{st.weight_bits}"
        parts.append(tok)
    label = "-".join(parts)
    if spec.global_pool_after is not None:
        label += f"|gp{len(spec.stages) - spec.global_pool_after}"
    if any(st.skip for st in spec.stages):
        label += "|skip"
    if spec.in_sensor_layers:
        label += f"|L{spec.in_sensor_layers if units is None else units}"
        if spec.adc_bits:
            label += f"@{spec.adc_bits}b"
    return label
