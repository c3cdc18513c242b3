"""Off-sensor digital costs: Horowitz's 45 nm actions scaled to the accelerator's node.

Memory traffic assumes ideal reuse: every weight and every input/output activation of
a layer crosses the memory interface once per frame. That is the lower bound a good
Timeloop mapping approaches; real mappings re-read more, so digital energy here is
optimistic, which favours the baseline rather than the in-sensor designs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aisnas.arch import LayerInfo
from aisnas.ppa._profile import HardwareProfile, node_factor

__all__ = ["DigitalCosts", "digital_layer"]

FLOAT_BITS = 32  # float layers compute and move fp32 values
WORD_BITS = 32  # Horowitz's memory energies are per 32-bit access


@dataclass(frozen=True)
class DigitalCosts:
    """Per-action energies (pJ) and per-instance areas (um^2) at the accelerator's node."""

    int8_mult_pj: float
    int32_add_pj: float
    fp32_mult_pj: float
    fp32_add_pj: float
    sram_word_pj: float
    dram_word_pj: float
    int8_mult_um2: float
    int32_add_um2: float
    fp32_mult_um2: float
    fp32_add_um2: float
    sram_bit_um2: float
    sram_bits: int
    activation_bits: int
    default_weight_bits: int | None  # for layers the arch keeps float; None: run them in fp32
    mac_units: int
    clock_mhz: float

    @classmethod
    def from_profile(cls, profile: HardwareProfile) -> DigitalCosts:
        d = profile.digital
        e = node_factor(d.reference_nm, d.technology_nm, profile.scaling, "energy")
        a = node_factor(d.reference_nm, d.technology_nm, profile.scaling, "area")
        return cls(
            int8_mult_pj=d.int8_mult_pj * e, int32_add_pj=d.int32_add_pj * e,
            fp32_mult_pj=d.fp32_mult_pj * e, fp32_add_pj=d.fp32_add_pj * e,
            sram_word_pj=d.sram_read_32b_pj * e,
            # DRAM is a separate chip on its own process: its access energy is mostly
            # I/O and array, so it is not scaled with the accelerator's logic node.
            dram_word_pj=d.dram_read_32b_pj,
            int8_mult_um2=d.int8_mult_area_um2 * a, int32_add_um2=d.int32_add_area_um2 * a,
            fp32_mult_um2=d.fp32_mult_area_um2 * a, fp32_add_um2=d.fp32_add_area_um2 * a,
            sram_bit_um2=d.sram_area_um2_per_bit * a,
            sram_bits=int(d.sram_kib * 1024 * 8),
            activation_bits=d.activation_bits, default_weight_bits=d.default_weight_bits or None,
            mac_units=d.mac_units, clock_mhz=d.clock_mhz,
        )

    def weight_bits(self, layer_bits: int | None) -> int | None:
        """The width a layer runs at: its own, else the profile's default (None: fp32)."""
        return layer_bits if layer_bits is not None else self.default_weight_bits

    def act_bits(self, weight_bits: int | None) -> int:
        return FLOAT_BITS if weight_bits is None else self.activation_bits

    def mac_pj(self, weight_bits: int | None) -> float:
        """One multiply-accumulate. An array multiplier's energy grows with the product
        of its operand widths (Horowitz: 8b 0.2 pJ, 32b 3.1 pJ, ~16x for 4x4 the bits),
        so a b_w x b_a multiply costs int8 * b_w*b_a/64; the accumulator is 32-bit."""
        if weight_bits is None:
            return self.fp32_mult_pj + self.fp32_add_pj
        return self.int8_mult_pj * weight_bits * self.activation_bits / 64 + self.int32_add_pj

    def add_pj(self, weight_bits: int | None) -> float:
        return self.fp32_add_pj if weight_bits is None else self.int32_add_pj

    def mac_area_um2(self, weight_bits: int | None) -> float:
        if weight_bits is None:
            return self.fp32_mult_um2 + self.fp32_add_um2
        return self.int8_mult_um2 * weight_bits * self.activation_bits / 64 + self.int32_add_um2

    def words(self, bits: int) -> int:
        return math.ceil(bits / WORD_BITS)


def digital_layer(layer: LayerInfo, dig: DigitalCosts, sram_bits_left: int):
    """Energy, area and time of one off-sensor layer.

    Weights are placed in the SRAM weight buffer greedily in execution order; a layer
    whose weights no longer fit is read from DRAM every frame (whole layer, no split).
    Returns (energy_pj, area_mm2, latency_us, weight_bits, sram_bits_left).
    """
    wb = dig.weight_bits(layer.weight_bits)
    wbits = FLOAT_BITS if wb is None else wb
    abits = dig.act_bits(wb)
    weight_bits = layer.params * wbits
    in_sram = weight_bits <= sram_bits_left
    if in_sram:
        sram_bits_left -= weight_bits
    in_acts = layer.in_hw[0] * layer.in_hw[1] * layer.in_channels
    mac = layer.macs * dig.mac_pj(wb)
    memory = (
        dig.words(weight_bits) * (dig.sram_word_pj if in_sram else dig.dram_word_pj)
        + dig.words((in_acts + layer.activations) * abits) * dig.sram_word_pj
    )
    if layer.skip:  # residual: read the held input once more and add it to each output
        mac += layer.activations * dig.add_pj(wb)
        memory += dig.words(layer.activations * abits) * dig.sram_word_pj
    energy = {"digital_mac": mac, "digital_memory": memory}
    area = {"digital_weight_sram": weight_bits * dig.sram_bit_um2 * 1e-6 if in_sram else 0.0}
    latency = math.ceil(layer.macs / dig.mac_units) / dig.clock_mhz
    return energy, area, latency, wbits, sram_bits_left
