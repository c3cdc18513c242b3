"""PPA metrics a study may optimize or bound, and their Optuna constraint values.

A study file names metrics from `PPA_METRICS` as objectives or budgets. Budgets become
`trial.set_constraint` values (value - budget, <= 0 feasible, Optuna's convention).
Because PPA comes from the architecture alone, a trial that breaks a hard budget can
be scored before any training is paid for.
"""

from __future__ import annotations

from collections.abc import Mapping

from aisnas.errors import AisnasError
from aisnas.ppa._model import PPAResult

__all__ = ["PPA_METRICS", "constraint_values", "metric_values"]

# Metric name (a key of PPAResult.totals) -> direction. All are costs.
PPA_METRICS = {
    "energy_pj": "minimize",
    "sensor_area_mm2": "minimize",
    "digital_area_mm2": "minimize",
    "adc_conversions": "minimize",
    "onsensor_weight_bits": "minimize",
    "latency_us": "minimize",
    "edp": "minimize",
}


def _check_names(names, what: str) -> None:
    for name in names:
        if name not in PPA_METRICS:
            raise AisnasError(f"{what}: unknown PPA metric {name!r}; allowed: {', '.join(PPA_METRICS)}")


def metric_values(result: PPAResult, names=None) -> dict[str, float]:
    """The named metrics (all of PPA_METRICS by default) as floats."""
    names = list(PPA_METRICS) if names is None else list(names)
    _check_names(names, "metric")
    return {name: float(result.totals[name]) for name in names}


def constraint_values(result: PPAResult, budgets: Mapping[str, float]) -> dict[str, float]:
    """Per budget key: value - budget (<= 0 feasible). Unknown keys are an error."""
    _check_names(budgets, "budget")
    out = {}
    for name, budget in budgets.items():
        if isinstance(budget, bool) or not isinstance(budget, (int, float)):
            raise AisnasError(f"budget {name!r}: {budget!r} must be a number")
        out[name] = float(result.totals[name]) - float(budget)
    return out
