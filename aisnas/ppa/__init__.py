"""Analytical power, performance and area (PPA) of CNNs on analog in-sensor hardware.

    profile = load_profile("p2m")                 # or the path of an edited copy
    result = estimate_ppa(create_arch("cnn3"), profile, in_sensor_layers=2)
    result.totals["energy_pj"], result.totals["adc_conversions"]
    constraint_values(result, {"sensor_area_mm2": 1.0})   # <= 0: within budget

Costs come from the architecture description alone, so a search can price (and reject)
an architecture before training it. The model and every constant are described in
the modules and in the profile files (`aisnas/resources/hardware/*.toml`).
"""

from aisnas.ppa._model import AREA_COMPONENTS, ENERGY_COMPONENTS, LayerCost, PPAResult, estimate_ppa
from aisnas.ppa._objectives import PPA_METRICS, constraint_values, metric_values
from aisnas.ppa._profile import HardwareProfile, list_profiles, load_profile, node_factor, profile_path
from aisnas.ppa._table import format_table

__all__ = [
    "AREA_COMPONENTS",
    "ENERGY_COMPONENTS",
    "PPA_METRICS",
    "HardwareProfile",
    "LayerCost",
    "PPAResult",
    "constraint_values",
    "estimate_ppa",
    "format_table",
    "list_profiles",
    "load_profile",
    "metric_values",
    "node_factor",
    "profile_path",
]
