"""The human-readable PPA report: a counts table, a costs table and the totals."""

from __future__ import annotations

import numbers

import pandas as pd

from aisnas.ppa._model import AREA_COMPONENTS, ENERGY_COMPONENTS, PPAResult

__all__ = ["format_table"]


def _num(v) -> str:
    # numbers.*, not int/float: pandas hands cells over as numpy scalars.
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return f"{int(v):,}"
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return "0" if v == 0 else f"{float(v):.4g}"
    return str(v)


def _counts(result: PPAResult) -> pd.DataFrame:
    rows = [
        {
            "layer": c.name, "kind": c.kind, "where": "sensor" if c.in_sensor else "digital",
            "output HxWxC": "x".join(map(str, c.output_shape)), "MACs": c.macs, "params": c.params,
            "activations": c.activations, "fan-in": c.fan_in, "act/param": c.act_per_param,
            "bound": c.bound, "w bits": c.weight_bits, "copies": c.replication,
            "on-sensor bits": c.onsensor_weight_bits,
        }
        for c in result.layers
    ]
    return pd.DataFrame(rows)


def _costs(result: PPAResult, what: str) -> pd.DataFrame:
    """Energy (nJ, with latency) or area (mm^2) by component: (frame), layers, total."""
    t = result.totals
    if what == "energy":
        totals, comps, scale = t["energy_by_component_pj"], ENERGY_COMPONENTS, 1e-3
    else:
        totals, comps, scale = t["area_by_component_mm2"], AREA_COMPONENTS, 1.0
    cols = [c for c in comps if totals[c] > 0]

    def row(name, parts, latency):
        r = {"layer": name, **{c: parts.get(c, 0.0) * scale for c in cols}, "total": sum(parts.values()) * scale}
        if what == "energy":
            r["latency us"] = latency
        return r

    frame = result.frame_energy_pj if what == "energy" else result.frame_area_mm2
    rows = [row("(frame)", frame, sum(result.frame_latency_us.values()))]
    rows += [row(c.name, c.energy_pj if what == "energy" else c.area_mm2, c.latency_us) for c in result.layers]
    rows.append(row("total", totals, t["latency_us"]))
    return pd.DataFrame(rows)


def _render(df: pd.DataFrame) -> str:
    return df.to_string(index=False, formatters={c: _num for c in df.columns})


def _breakdown(parts: dict[str, float], scale: float = 1.0) -> str:
    return ", ".join(f"{k} {_num(v * scale)}" for k, v in parts.items() if v > 0)


def format_table(result: PPAResult) -> str:
    """Per-layer counts, per-layer costs by component, then the totals."""
    t = result.totals
    n_conv = sum(1 for c in result.layers if c.kind != "linear")
    header = (
        f"{result.arch} on {result.profile}: {result.in_sensor_layers} of {n_conv} conv layers in the sensor, "
        f"ADC {t['adc_bits']} bits"
        + (f", ISP {'+'.join(result.isp_stages)}" if result.isp_stages else "")
    )
    lines = [
        header,
        "",
        _render(_counts(result)),
        "",
        "energy by component, nJ per frame ((frame): photosite readout, ISP, ADC, link)",
        _render(_costs(result, "energy")),
        "",
        "area by component, mm^2 ((frame): pixel array, ADCs, shared digital units)",
        _render(_costs(result, "area")),
        "",
        "totals",
        f"  energy              {_num(t['energy_pj'] * 1e-3)} nJ/frame ({_breakdown(t['energy_by_component_pj'], 1e-3)})",
        f"  latency             {_num(t['latency_us'])} us ({_breakdown(t['latency_by_component_us'])})",
        f"  EDP                 {_num(t['edp'])} pJ*us",
        f"  sensor area         {_num(t['sensor_area_mm2'])} mm^2",
        f"  digital area        {_num(t['digital_area_mm2'])} mm^2",
        f"  ADC conversions     {_num(t['adc_conversions'])} ({_num(t['adc_pj_per_conversion'])} pJ each)",
        f"  on-sensor weights   {_num(t['onsensor_weight_bits'])} bits",
        f"  link                {_num(t['link_bits'])} bits",
        f"  MACs                {_num(t['macs'])} ({_num(t['in_sensor_macs'])} in the sensor), "
        f"params {_num(t['params'])}",
    ]
    return "\n".join(lines)
