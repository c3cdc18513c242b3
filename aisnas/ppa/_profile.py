"""Hardware profiles: every constant the PPA model uses, in one declarative file.

A profile is a TOML file (built-ins live in `aisnas/resources/hardware/`) loaded into
frozen dataclasses with unknown keys and wrong types rejected, one line naming the
file and the key. Each number in a built-in file carries its source or is marked as an
assumption next to it. To try other numbers, copy a built-in file, edit it and pass its
path wherever a profile name is accepted.

Sections `analog`, `routing` and `storage` describe compute inside the sensor; a
profile without them (the conventional sensor + accelerator baseline) has none, and
asking it to run layers in the sensor is an error.

Technology scaling is explicit: digital constants are given at `digital.reference_nm`
(Horowitz's 45 nm) and scaled to `digital.technology_nm` by `node_factor`, a power law
through the published anchor in `[scaling]` (Stillmaker & Baas: 45 -> 20 nm, energy
x0.22, area x0.21). Analog and mixed-signal constants (pixel readout, analog ops, ADC)
are used as given (`analog.source_nm` records the node of the op energy): their energy
is set by noise and matching, not by transistor size, so digital scaling would flatter
them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Literal

from aisnas.configs import from_dict, load_toml
from aisnas.errors import AisnasError

__all__ = [
    "AdcSpec",
    "AnalogSpec",
    "DigitalSpec",
    "HardwareProfile",
    "LinkSpec",
    "RoutingSpec",
    "ScalingSpec",
    "SensorSpec",
    "StorageSpec",
    "list_profiles",
    "load_profile",
    "node_factor",
    "profile_path",
]


def _check_positive(obj, *, allow_zero: tuple[str, ...] = ()) -> None:
    """Every number of a section must be > 0 (or >= 0 where a zero is meaningful)."""
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if f.name in allow_zero:
            if v < 0:
                raise ValueError(f"{f.name}: {v} must be >= 0")
        elif v <= 0:
            raise ValueError(f"{f.name}: {v} must be > 0")


@dataclass(frozen=True)
class SensorSpec:
    """The photosite array: one readout per photosite (pixel x colour channel) per frame."""

    pixel_pitch_um: float
    pixel_readout_pj: float
    exposure_us: float

    def __post_init__(self) -> None:
        _check_positive(self, allow_zero=("exposure_us",))


@dataclass(frozen=True)
class AnalogSpec:
    """In-sensor analog MACs: a MAC costs ceil(weight_bits / weight_bits_per_op) ops."""

    op_pj: float
    weight_bits_per_op: int
    default_weight_bits: int  # used for in-sensor layers whose arch keeps float weights
    ops_per_cycle: int  # primitive ops the array performs in parallel per cycle
    clock_mhz: float
    source_nm: float  # node of op_pj (recorded, not scaled: see the module docstring)

    def __post_init__(self) -> None:
        _check_positive(self)


@dataclass(frozen=True)
class RoutingSpec:
    """Analog wires and sample-and-hold capacitors inside the array."""

    wire_cap_ff_per_mm: float
    swing_v: float  # analog signal swing: a wire or hold cap costs C * swing^2 per charge
    wire_pitch_um: float
    hold_cap_ff: float
    hold_area_um2: float

    def __post_init__(self) -> None:
        _check_positive(self)


@dataclass(frozen=True)
class StorageSpec:
    """Where the in-sensor weights live and how they get there.

    `per_pixel`: every output location holds its own copy (P2M); `broadcast`: one copy
    sent to all locations (SCAMP-5). `replication_cap` > 0 caps the per-pixel copies.
    `streamed`: weights come from off-sensor memory every frame (DAC + read + link).
    """

    replication: Literal["per_pixel", "broadcast"]
    area_um2_per_bit: float
    streamed: bool
    dac_fj_per_step: float
    replication_cap: int = 0

    def __post_init__(self) -> None:
        _check_positive(self, allow_zero=("replication_cap",))


@dataclass(frozen=True)
class AdcSpec:
    """ADCs at the analog/digital boundary: energy = max(Walden FOM * 2^bits, floor)."""

    fom_fj_per_step: float
    floor_pj: float
    default_bits: int  # used when the arch does not set adc_bits
    architecture: Literal["single_slope", "sar"]
    clock_mhz: float
    count: int
    area_um2: float

    def __post_init__(self) -> None:
        _check_positive(self, allow_zero=("floor_pj",))
        if not 1 <= self.default_bits <= 16:
            raise ValueError(f"default_bits: {self.default_bits} is outside 1..16")


@dataclass(frozen=True)
class DigitalSpec:
    """The off-sensor accelerator; energies and areas at `reference_nm`."""

    technology_nm: float
    reference_nm: float
    int8_mult_pj: float
    int32_add_pj: float
    fp32_mult_pj: float
    fp32_add_pj: float
    sram_read_32b_pj: float
    dram_read_32b_pj: float
    int8_mult_area_um2: float
    int32_add_area_um2: float
    fp32_mult_area_um2: float
    fp32_add_area_um2: float
    sram_area_um2_per_bit: float
    sram_kib: float  # weight buffer; weights beyond it are read from DRAM every frame
    activation_bits: int  # activations of quantized layers (fp32 layers move 32 bits)
    default_weight_bits: int  # bits for layers the arch keeps float (deployed quantized); 0: run them in fp32
    mac_units: int
    clock_mhz: float

    def __post_init__(self) -> None:
        _check_positive(self, allow_zero=("default_weight_bits",))
        if self.default_weight_bits not in (0, *range(2, 17)):
            raise ValueError(f"default_weight_bits: {self.default_weight_bits} must be 0 (fp32) or 2..16")


@dataclass(frozen=True)
class ScalingSpec:
    """One published node-to-node scaling pair; `node_factor` extends it as a power law."""

    from_nm: float
    to_nm: float
    energy_factor: float
    area_factor: float

    def __post_init__(self) -> None:
        _check_positive(self)
        if self.from_nm == self.to_nm:
            raise ValueError("to_nm: must differ from from_nm (the anchor needs two nodes)")


@dataclass(frozen=True)
class LinkSpec:
    """The sensor-to-processor link (MIPI-like)."""

    pj_per_bit: float
    gbps: float

    def __post_init__(self) -> None:
        _check_positive(self)


@dataclass(frozen=True)
class HardwareProfile:
    name: str
    description: str
    technology_nm: float  # the sensor's node
    sources: tuple[str, ...]
    sensor: SensorSpec
    adc: AdcSpec
    digital: DigitalSpec
    scaling: ScalingSpec
    link: LinkSpec
    isp: dict[str, float]  # pJ per photosite for each ISP stage a caller may ask for
    analog: AnalogSpec | None = None
    routing: RoutingSpec | None = None
    storage: StorageSpec | None = None

    def __post_init__(self) -> None:
        present = [s for s in ("analog", "routing", "storage") if getattr(self, s) is not None]
        if present and len(present) != 3:
            missing = sorted({"analog", "routing", "storage"} - set(present))
            raise ValueError(
                f"{missing[0]}: sections analog, routing and storage go together "
                "(all present for in-sensor compute, all absent for none)"
            )
        for stage, pj in self.isp.items():
            if pj < 0:
                raise ValueError(f"isp.{stage}: {pj} must be >= 0")
        if self.technology_nm <= 0:
            raise ValueError(f"technology_nm: {self.technology_nm} must be > 0")

    @property
    def has_analog(self) -> bool:
        """Whether any layer can run in the sensor."""
        return self.analog is not None


def node_factor(from_nm: float, to_nm: float, scaling: ScalingSpec, quantity: str) -> float:
    """Factor that moves a `quantity` ("energy" or "area") from one node to another.

    A power law (to/from)^a whose exponent is fixed by the published anchor pair, so
    it reproduces the anchor exactly (45 -> 20 nm: x0.22 energy) and is an
    extrapolation elsewhere (an assumption, stated here once).
    """
    if quantity not in ("energy", "area"):
        raise ValueError(f"quantity: {quantity!r} is not 'energy' or 'area'")
    if from_nm <= 0 or to_nm <= 0:
        raise AisnasError(f"technology node must be > 0 nm (got {from_nm} -> {to_nm})")
    anchor = scaling.energy_factor if quantity == "energy" else scaling.area_factor
    exponent = math.log(anchor) / math.log(scaling.to_nm / scaling.from_nm)
    return (to_nm / from_nm) ** exponent


def _builtin_dir():
    return resources.files("aisnas").joinpath("resources", "hardware")


def list_profiles() -> list[str]:
    """Names of the built-in profiles (file stems in aisnas/resources/hardware)."""
    return sorted(p.name[: -len(".toml")] for p in _builtin_dir().iterdir() if p.name.endswith(".toml"))


def profile_path(name: str) -> Path:
    """The file of a built-in profile, to copy and edit."""
    if name not in list_profiles():
        raise AisnasError(f"unknown hardware profile {name!r}; built-in: {', '.join(list_profiles())}")
    return Path(str(_builtin_dir().joinpath(f"{name}.toml")))


def load_profile(name_or_path: str | Path | HardwareProfile) -> HardwareProfile:
    """A built-in profile by name ("p2m", "scamp5", "conventional") or a TOML file path."""
    if isinstance(name_or_path, HardwareProfile):
        return name_or_path
    text = str(name_or_path)
    if text in list_profiles():
        path = profile_path(text)
    else:
        path = Path(text)
        if path.suffix != ".toml" and not path.is_file():
            raise AisnasError(
                f"unknown hardware profile {text!r}; built-in: {', '.join(list_profiles())} "
                "(or the path of a .toml profile file)"
            )
    return from_dict(HardwareProfile, load_toml(path), source=str(path))
