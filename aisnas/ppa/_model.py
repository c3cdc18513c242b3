"""The whole-network PPA estimate: per-layer costs plus the per-frame sensor costs.

Accelergy/Timeloop style: energy = sum over components of (action count x energy per
action); area = sum of (instances x area per instance). Layers 1..L_a run in the sensor
(analog, `_analog.py`), the rest off-sensor (digital, `_digital.py`). Per frame, every
photosite (pixel x colour channel) is read once; optional ISP stages cost energy per
photosite wherever they run; the activations that leave the sensor are digitized by
the ADCs and sent over the link:
- nothing in the sensor: every photosite, input_size^2 x input_channels conversions;
- L_a layers in the sensor: the outputs of layer L_a. If a pooling follows that layer,
  its outputs are still what is converted (pooling happens off-sensor): simple, and an
  upper bound on conversions.
Latency is a single frame with no pipelining: exposure + in-sensor compute + ADC +
link + off-sensor compute, with ADC time ceil(conversions / ADC count) x conversion
time (single-slope 2^b / f, SAR b / f). EDP = energy (pJ) x latency (us).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from aisnas.arch import ArchSpec
from aisnas.errors import AisnasError
from aisnas.ppa._analog import analog_layer
from aisnas.ppa._digital import DigitalCosts, digital_layer
from aisnas.ppa._profile import HardwareProfile, load_profile

__all__ = ["ENERGY_COMPONENTS", "AREA_COMPONENTS", "LayerCost", "PPAResult", "estimate_ppa"]

# Display and summation order. Frame-level ones first, then per-layer ones.
ENERGY_COMPONENTS = (
    "sensing", "isp", "adc", "link",
    "analog_mac", "routing", "hold", "skip", "weight_dac", "weight_fetch",
    "digital_mac", "digital_memory",
)
SENSOR_AREA = ("pixels", "adc", "weight_storage", "routing", "hold")
DIGITAL_AREA = ("digital_macs", "digital_act_buffer", "digital_weight_sram")
AREA_COMPONENTS = SENSOR_AREA + DIGITAL_AREA
# act/param above this: more activations than weights, cheap to keep analog in the sensor.
SPATIAL_BOUND_RATIO = 1.0


@dataclass(frozen=True)
class LayerCost:
    """Counts and costs of one weight layer where it runs (sensor or off-sensor)."""

    name: str
    kind: str
    in_sensor: bool
    output_shape: tuple[int, int, int]  # H, W, C
    macs: int
    params: int
    activations: int
    fan_in: int
    act_per_param: float
    bound: str  # "spatial" (activations > weights) or "channel"
    weight_bits: int  # bits the weights are computed at (32: float)
    replication: int  # copies of the weights held on the sensor (0 off-sensor)
    onsensor_weight_bits: int
    energy_pj: dict[str, float]
    area_mm2: dict[str, float]
    latency_us: float

    @property
    def energy_total_pj(self) -> float:
        return sum(self.energy_pj.values())

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["output_shape"] = list(self.output_shape)
        d["energy_total_pj"] = self.energy_total_pj
        return d


@dataclass(frozen=True)
class PPAResult:
    """A network's PPA under one profile at one in-sensor depth."""

    arch: str
    arch_id: str
    profile: str
    in_sensor_layers: int
    isp_stages: tuple[str, ...]
    layers: tuple[LayerCost, ...]
    frame_energy_pj: dict[str, float]  # costs of the frame, not of a layer: sensing, isp, adc, link
    frame_area_mm2: dict[str, float]  # pixels, adc, digital_macs, digital_act_buffer
    frame_latency_us: dict[str, float]  # exposure, adc, link
    totals: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly: plain dicts, lists, numbers and strings."""
        return {
            "arch": self.arch,
            "arch_id": self.arch_id,
            "profile": self.profile,
            "in_sensor_layers": self.in_sensor_layers,
            "isp_stages": list(self.isp_stages),
            "layers": [layer.as_dict() for layer in self.layers],
            "frame": {
                "energy_pj": dict(self.frame_energy_pj),
                "area_mm2": dict(self.frame_area_mm2),
                "latency_us": dict(self.frame_latency_us),
            },
            "totals": self.totals,
        }


def _depth(spec: ArchSpec, profile: HardwareProfile, in_sensor_layers: int | None) -> int:
    n_conv = sum(1 for layer in spec.layers() if layer.kind != "linear")
    depth = spec.in_sensor_layers if in_sensor_layers is None else in_sensor_layers
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise AisnasError(f"in_sensor_layers: {depth!r} must be an integer")
    if not 0 <= depth <= n_conv:
        raise AisnasError(
            f"in_sensor_layers: {depth} is outside 0..{n_conv} (the conv layers of {spec.name})"
        )
    if depth > 0 and not profile.has_analog:
        raise AisnasError(
            f"hardware profile {profile.name!r} has no analog compute in the sensor; "
            f"in_sensor_layers must be 0 (got {depth})"
        )
    return depth


def _check_isp(stages: tuple[str, ...], profile: HardwareProfile) -> tuple[str, ...]:
    if isinstance(stages, str):
        raise AisnasError(f"isp_stages: {stages!r} must be a sequence of stage names, not one string")
    stages = tuple(stages)
    for stage in stages:
        if stage not in profile.isp:
            raise AisnasError(
                f"ISP stage {stage!r} has no energy in hardware profile {profile.name!r}; "
                f"its [isp] table has: {', '.join(sorted(profile.isp)) or 'nothing'}"
            )
    return stages


def adc_energy_pj(profile: HardwareProfile, bits: int) -> float:
    """One conversion: Walden FOM x 2^bits, but never below the per-conversion floor."""
    return max(profile.adc.fom_fj_per_step * 1e-3 * 2**bits, profile.adc.floor_pj)


def adc_conversion_us(profile: HardwareProfile, bits: int) -> float:
    steps = 2**bits if profile.adc.architecture == "single_slope" else bits
    return steps / profile.adc.clock_mhz


def estimate_ppa(
    spec: ArchSpec,
    profile: HardwareProfile | str,
    *,
    in_sensor_layers: int | None = None,
    isp_stages: tuple[str, ...] = (),
) -> PPAResult:
    """Energy per frame, areas, ADC conversions, storage and latency of `spec` on `profile`.

    `in_sensor_layers=None` uses `spec.in_sensor_layers`; the depth counts weight layers
    in execution order (a depthwise-separable block is two) and must be 0..conv layers.
    """
    profile = load_profile(profile)
    depth = _depth(spec, profile, in_sensor_layers)
    stages = _check_isp(isp_stages, profile)
    layers = spec.layers()
    dig = DigitalCosts.from_profile(profile)
    adc_bits = spec.adc_bits or profile.adc.default_bits

    costs: list[LayerCost] = []
    sram_left = dig.sram_bits
    streamed_bits = 0
    digital_bits: list[int | None] = []  # off-sensor weight widths: the widest sizes the MAC units
    act_buffer_bits = 0
    for layer in layers:
        in_sensor = layer.index < depth
        if in_sensor:
            energy, area, latency, wbits, copies, streamed = analog_layer(
                layer, profile, dig, boundary=layer.index == depth - 1
            )
            streamed_bits += streamed
            stored = layer.params * copies * wbits
        else:
            energy, area, latency, wbits, sram_left = digital_layer(layer, dig, sram_left)
            copies, stored = 0, 0
            digital_bits.append(dig.weight_bits(layer.weight_bits))
            in_acts = layer.in_hw[0] * layer.in_hw[1] * layer.in_channels
            act_bits = dig.act_bits(dig.weight_bits(layer.weight_bits))
            act_buffer_bits = max(act_buffer_bits, (in_acts + layer.activations) * act_bits)
        costs.append(LayerCost(
            name=layer.name, kind=layer.kind, in_sensor=in_sensor,
            output_shape=(layer.out_hw[0], layer.out_hw[1], layer.out_channels),
            macs=layer.macs, params=layer.params, activations=layer.activations,
            fan_in=layer.fan_in, act_per_param=layer.act_per_param,
            bound="spatial" if layer.act_per_param > SPATIAL_BOUND_RATIO else "channel",
            weight_bits=wbits, replication=copies, onsensor_weight_bits=stored,
            energy_pj=energy, area_mm2=area, latency_us=latency,
        ))

    pixels = spec.input_size**2 * spec.input_channels
    conversions = pixels if depth == 0 else layers[depth - 1].activations
    link_bits = conversions * adc_bits + streamed_bits
    frame_energy = {
        "sensing": pixels * profile.sensor.pixel_readout_pj,
        "isp": pixels * sum(profile.isp[s] for s in stages),
        "adc": conversions * adc_energy_pj(profile, adc_bits),
        "link": conversions * adc_bits * profile.link.pj_per_bit,
    }
    frame_area = {
        "pixels": pixels * profile.sensor.pixel_pitch_um**2 * 1e-6,
        "adc": profile.adc.count * profile.adc.area_um2 * 1e-6,
        "digital_macs": dig.mac_units * dig.mac_area_um2(_widest(digital_bits)) * 1e-6,
        "digital_act_buffer": act_buffer_bits * dig.sram_bit_um2 * 1e-6,
    }
    frame_latency = {
        "exposure": profile.sensor.exposure_us,
        "adc": math.ceil(conversions / profile.adc.count) * adc_conversion_us(profile, adc_bits),
        "link": link_bits / (profile.link.gbps * 1e3),  # 1 Gb/s moves 1000 bits per us
    }
    totals = _totals(costs, frame_energy, frame_area, frame_latency)
    totals.update(
        adc_conversions=conversions,
        adc_bits=adc_bits,
        adc_pj_per_conversion=adc_energy_pj(profile, adc_bits),
        pixels=pixels,
        link_bits=link_bits,
        dac_conversions=sum(c.params for c in costs if c.in_sensor and profile.storage.streamed),
        in_sensor_layers=depth,
    )
    return PPAResult(
        arch=spec.name, arch_id=spec.arch_id, profile=profile.name, in_sensor_layers=depth,
        isp_stages=stages, layers=tuple(costs), frame_energy_pj=frame_energy,
        frame_area_mm2=frame_area, frame_latency_us=frame_latency, totals=totals,
    )


def _widest(bits: list[int | None]) -> int | None:
    """The MAC units must run every off-sensor layer: float if any layer is float."""
    return None if not bits or None in bits else max(bits)


def _totals(costs, frame_energy, frame_area, frame_latency) -> dict[str, Any]:
    energy = {c: frame_energy.get(c, 0.0) + sum(lc.energy_pj.get(c, 0.0) for lc in costs) for c in ENERGY_COMPONENTS}
    area = {c: frame_area.get(c, 0.0) + sum(lc.area_mm2.get(c, 0.0) for lc in costs) for c in AREA_COMPONENTS}
    latency = {
        "exposure": frame_latency["exposure"],
        "analog": sum(lc.latency_us for lc in costs if lc.in_sensor),
        "adc": frame_latency["adc"],
        "link": frame_latency["link"],
        "digital": sum(lc.latency_us for lc in costs if not lc.in_sensor),
    }
    energy_pj = sum(energy.values())
    latency_us = sum(latency.values())
    return {
        "energy_pj": energy_pj,
        "energy_by_component_pj": energy,
        "sensor_area_mm2": sum(area[c] for c in SENSOR_AREA),
        "digital_area_mm2": sum(area[c] for c in DIGITAL_AREA),
        "area_by_component_mm2": area,
        "onsensor_weight_bits": sum(lc.onsensor_weight_bits for lc in costs),
        "latency_us": latency_us,
        "latency_by_component_us": latency,
        "edp": energy_pj * latency_us,
        "macs": sum(lc.macs for lc in costs),
        "in_sensor_macs": sum(lc.macs for lc in costs if lc.in_sensor),
        "params": sum(lc.params for lc in costs),
    }
