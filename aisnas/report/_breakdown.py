"""Per-layer PPA of the Pareto architectures, recomputed from the stored architecture.

A trial stores its architecture as a dict and the hardware profile's name, not the
per-layer costs (they would bloat the storage), so the report rebuilds the ArchSpec
and prices it again with the same model. An architecture that cannot be rebuilt
(another kind of spec, a profile missing on this machine) is listed with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from aisnas.report._figures import LAYOUT, colour
from aisnas.report._load import StudyData

__all__ = ["Breakdown", "ppa_breakdowns"]


@dataclass(frozen=True)
class Breakdown:
    title: str
    figure: go.Figure | None
    table: pd.DataFrame | None
    note: str


def _isp(variant: str | None) -> tuple[str, ...]:
    if variant in (None, "", "N/A"):
        return ()
    from aisnas.raw import isp_stages, parse_variant

    return tuple(isp_stages(parse_variant(variant)))


def _one(arch: dict, hardware: str, variant: str | None) -> tuple[go.Figure, pd.DataFrame]:
    from aisnas.arch import arch_from_dict
    from aisnas.ppa import ENERGY_COMPONENTS, estimate_ppa, load_profile

    result = estimate_ppa(arch_from_dict(arch, source="stored trial arch"), load_profile(hardware),
                          isp_stages=_isp(variant))
    rows = [("(frame)", result.frame_energy_pj)] + [(c.name, c.energy_pj) for c in result.layers]
    used = [c for c in ENERGY_COMPONENTS if any(parts.get(c, 0) > 0 for _, parts in rows)]
    fig = go.Figure()
    for i, comp in enumerate(used):
        fig.add_trace(go.Bar(x=[n for n, _ in rows], y=[parts.get(comp, 0.0) * 1e-3 for _, parts in rows],
                             name=comp, marker_color=colour(i)))
    fig.update_layout(barmode="stack", yaxis_title="energy per frame (nJ)", **{**LAYOUT, "height": 360},
                      title=f"energy per layer by component, total {result.totals['energy_pj'] * 1e-3:.4g} nJ")
    table = pd.DataFrame([{
        "layer": c.name, "kind": c.kind, "where": "sensor" if c.in_sensor else "digital",
        "output HxWxC": "x".join(map(str, c.output_shape)), "MACs": c.macs, "params": c.params,
        "activations": c.activations, "fan-in": c.fan_in, "bound": c.bound, "energy nJ": c.energy_total_pj * 1e-3,
        "area mm2": sum(c.area_mm2.values()), "latency us": c.latency_us,
    } for c in result.layers])
    return fig, table


def ppa_breakdowns(data: StudyData, limit: int = 6) -> tuple[list[Breakdown], str]:
    """One breakdown per distinct Pareto architecture (by arch id), at most `limit`."""
    front = data.trials("pareto")
    if not len(front):
        return [], "no Pareto trial"
    frozen = data.frozen()
    groups: dict[str, list] = {}  # arch id -> its Pareto rows (the same network at several seeds)
    for _, r in front.iterrows():
        groups.setdefault(r["arch_id"] or f"trial {r['number']}", []).append(r)
    out: list[Breakdown] = []
    for rows in list(groups.values())[:limit]:
        r = rows[0]
        a = frozen[int(r["number"])].user_attrs
        trials = ", ".join(f"#{int(x['number'])}" for x in rows)
        title = (f"{r['label'] or r['arch_name'] or ''}: arch {r['arch_id']}, {a.get('ppa_hardware', '?')} profile "
                 f"(trial{'s' if len(rows) > 1 else ''} {trials})")
        if not isinstance(a.get("arch"), dict) or not a.get("ppa_hardware"):
            out.append(Breakdown(title, None, None, "the trial stored no architecture or hardware profile"))
            continue
        try:
            fig, table = _one(a["arch"], a["ppa_hardware"], r.get("input_variant"))
        except Exception as e:  # any spec the ArchSpec loader or the PPA model refuses: say so, keep going
            out.append(Breakdown(title, None, None, f"cannot be rebuilt here: {str(e).splitlines()[0][:300]}"))
            continue
        out.append(Breakdown(title, fig, table, ""))
    note = f"{len(groups)} distinct Pareto architecture(s)"
    if len(groups) > limit:
        note += f"; the first {limit} are shown"
    return out, note
