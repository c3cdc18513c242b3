"""In-sensor (analog) costs of one layer: MACs, wires, holds, weight storage, streaming.

Physics, per layer with k x k kernels, on an array of pixel pitch p:
- analog MAC: MACs x ceil(weight_bits / weight_bits_per_op) x op energy;
- routing: each MAC drives an input over a wire about k/2 pixel pitches long, costing
  C_wire * length * swing^2; summed over MACs it grows with fan-in and kernel span;
- hold: an output consumed by another in-sensor layer waits on a sample-and-hold
  capacitor (C_hold * swing^2); the boundary layer's outputs go straight to the ADC,
  whose own sampling is part of the ADC energy;
- skip: a residual input is held while the conv runs, then wired to the adder;
- storage: weights held on the sensor, params x replication x weight bits;
- streaming (broadcast designs without local weights): every weight is fetched from
  off-sensor SRAM, sent over the link and converted by a DAC once per frame.
Routing area counts each output location's fan-in wires side by side (an upper bound:
real wires stack in metal layers over the pixels).
Pooling between in-sensor stages is taken as free (an analog max is one comparator per
output, small next to the MACs): an assumption, stated once here.
"""

from __future__ import annotations

import math

from aisnas.arch import LayerInfo
from aisnas.ppa._digital import DigitalCosts
from aisnas.ppa._profile import HardwareProfile

__all__ = ["analog_layer", "replication"]


def replication(layer: LayerInfo, profile: HardwareProfile) -> int:
    """Copies of the layer's weights on the sensor: one per output location (P2M) or 1."""
    storage = profile.storage
    if storage.replication == "broadcast":
        return 1
    copies = layer.out_hw[0] * layer.out_hw[1]
    return min(copies, storage.replication_cap) if storage.replication_cap > 0 else copies


def analog_layer(layer: LayerInfo, profile: HardwareProfile, dig: DigitalCosts, *, boundary: bool):
    """Energy, area and time of one in-sensor layer; `boundary`: its outputs leave the sensor.

    Returns (energy_pj, area_mm2, latency_us, weight_bits, replication, streamed_bits).
    """
    analog, routing, storage = profile.analog, profile.routing, profile.storage
    wb = layer.weight_bits or analog.default_weight_bits  # analog cells cannot hold floats
    ops_per_mac = math.ceil(wb / analog.weight_bits_per_op)

    wire_um = layer.kernel / 2 * profile.sensor.pixel_pitch_um
    wire_pj = wire_um * 1e-3 * routing.wire_cap_ff_per_mm * 1e-3 * routing.swing_v**2  # mm * fF/mm -> fF -> pJ
    hold_pj = routing.hold_cap_ff * 1e-3 * routing.swing_v**2
    held = 0 if boundary else layer.activations
    skipped = layer.activations if layer.skip else 0

    copies = replication(layer, profile)
    stored_bits = layer.params * copies * wb
    streamed_bits = layer.params * wb if storage.streamed else 0

    energy = {
        "analog_mac": layer.macs * ops_per_mac * analog.op_pj,
        "routing": layer.macs * wire_pj,
        "hold": held * hold_pj,
        "skip": skipped * (hold_pj + wire_pj),
        # A DAC step costs dac_fj_per_step; a b-bit conversion walks 2^b steps (Walden-style).
        "weight_dac": layer.params * storage.dac_fj_per_step * 1e-3 * 2**wb if storage.streamed else 0.0,
        "weight_fetch": (dig.words(streamed_bits) * dig.sram_word_pj + streamed_bits * profile.link.pj_per_bit),
    }
    # Each output location needs fan_in input wires of about k/2 pitches.
    routing_um2 = layer.out_hw[0] * layer.out_hw[1] * layer.fan_in * wire_um * routing.wire_pitch_um
    area = {
        "weight_storage": stored_bits * storage.area_um2_per_bit * 1e-6,
        "routing": routing_um2 * 1e-6,
        "hold": (held + skipped) * routing.hold_area_um2 * 1e-6,
    }
    latency = math.ceil(layer.macs * ops_per_mac / analog.ops_per_cycle) / analog.clock_mhz
    return energy, area, latency, wb, copies, streamed_bits
