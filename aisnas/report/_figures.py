"""Plotly figures of a study, drawn from its `StudyData` frame and trials.

Every function returns a figure, or None when the study has nothing to draw for it
(the page then says why). Claims carry n: curves aggregated over seeds show the mean
and the standard deviation across seeds of each trial's mean, and say n; with one
seed the bars are the spread over that trial's noise repeats instead, and say so.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aisnas.report._load import StudyData

__all__ = [
    "STATUS_STYLE",
    "accuracy_per_label",
    "accuracy_vs_bits",
    "accuracy_vs_sigma",
    "axis_title",
    "colour",
    "hover_text",
    "noise_long",
    "pareto_2d",
    "pareto_3d",
    "seed_mean_std",
]

# Drawn in this order, so the front lies on top. Dominated and infeasible points are
# open/crossed markers in muted colours; the front is filled and larger.
STATUS_STYLE = {
    "infeasible": dict(name="infeasible", color="#ff9f40", symbol="x", size=7),
    "dominated": dict(name="dominated (feasible)", color="#8c8c8c", symbol="circle-open", size=8),
    "pareto": dict(name="Pareto front (feasible)", color="#d62728", symbol="circle", size=11),
}
AXIS_TITLES = {
    "noisy_accuracy": "noisy accuracy", "clean_accuracy": "clean accuracy", "energy_pj": "energy per frame (pJ)",
    "sensor_area_mm2": "sensor area (mm²)", "adc_conversions": "ADC conversions per frame",
    "macs": "MACs", "params": "parameters", "latency_us": "latency (µs)", "edp": "EDP (pJ·µs)",
    "onsensor_weight_bits": "on-sensor weight bits",
}


def axis_title(col: str) -> str:
    """A readable axis title; `value_<metric>` (an objective column) reads as the metric."""
    col = col[len("value_"):] if col.startswith("value_") else col
    return AXIS_TITLES.get(col, col)


# Titles a little smaller than plotly's default and the legend under the plot, so that
# neither runs into the mode bar in the half-width grid.
LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=70, b=50), height=440,
              title_font_size=14, showlegend=True, legend=dict(orientation="h", y=-0.2))


def _num(v, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def hover_text(row: pd.Series) -> str:
    """Trial, architecture (label, id, key knobs) and the figures that place it on the front."""
    name = row.get("label") or row.get("arch_name") or ""
    lines = [f"trial #{row['number']} · {name} · seed {_num(row.get('seed'))}",
             f"arch {row.get('arch_id') or '-'} ({row.get('arch_name') or '-'})"]
    knobs = [f"{k[5:]} {row[k]}" for k in ("arch_depth", "arch_channels", "arch_kernel", "arch_fan_in",
                                            "arch_weight_bits", "arch_in_sensor_layers", "arch_global_pool_after")
             if k in row and row[k] is not None and not (isinstance(row[k], float) and math.isnan(row[k]))]
    for i in range(0, len(knobs), 3):
        lines.append(", ".join(knobs[i:i + 3]))
    if row.get("input_variant") not in (None, "N/A", ""):
        lines.append(f"input {row['input_variant']}")
    lines.append(f"noisy {_num(row.get('noisy_accuracy'))}, clean {_num(row.get('clean_accuracy'))}")
    lines.append(", ".join(f"{k} {_num(row.get(k))}" for k in ("energy_pj", "sensor_area_mm2", "adc_conversions")
                           if k in row))
    broken = [f"{k[11:]} +{row[k]:.3g}" for k in row.index
              if k.startswith("constraint_") and isinstance(row[k], (int, float)) and row[k] > 0]
    if broken:
        lines.append("violates " + ", ".join(broken))
    if row.get("skipped_training"):
        lines.append(f"not trained: {row['skipped_training']}")
    return "<br>".join(lines)


def _complete(data: StudyData, *cols: str) -> pd.DataFrame:
    df = data.trials("pareto", "dominated", "infeasible")
    if not len(df) or any(c not in df for c in cols):
        return df.iloc[0:0]
    return df.dropna(subset=list(cols))


def _log_axis(values: pd.Series) -> bool:
    v = values[values > 0]
    return len(v) == len(values) and len(v) > 1 and v.max() / v.min() > 100


def pareto_2d(data: StudyData, x: str, y: str = "noisy_accuracy") -> go.Figure | None:
    """`y` against `x` for every complete trial, front / dominated / infeasible drawn apart."""
    df = _complete(data, x, y)
    if not len(df):
        return None
    fig = go.Figure()
    for status, st in STATUS_STYLE.items():
        part = df[df["status"] == status]
        if len(part):
            fig.add_trace(go.Scatter(
                x=part[x], y=part[y], mode="markers", name=f"{st['name']} ({len(part)})",
                marker=dict(color=st["color"], symbol=st["symbol"], size=st["size"]),
                text=[hover_text(r) for _, r in part.iterrows()], hovertemplate="%{text}<extra></extra>"))
    same = df[x].nunique() == 1  # e.g. sensor area when no layer runs in the sensor
    fig.update_layout(title=f"{axis_title(y)} vs {axis_title(x)}" + (" (equal for all)" if same else ""),
                      xaxis_title=axis_title(x) + (f": {_num(df[x].iloc[0])} for every trial" if same else ""),
                      yaxis_title=axis_title(y), **{**LAYOUT, "height": 480})
    if _log_axis(df[x]):
        fig.update_xaxes(type="log")
    return fig


def pareto_3d(data: StudyData, axes: tuple[str, str, str]) -> go.Figure | None:
    df = _complete(data, *axes)
    if not len(df):
        return None
    fig = go.Figure()
    for status, st in STATUS_STYLE.items():
        part = df[df["status"] == status]
        if len(part):
            fig.add_trace(go.Scatter3d(
                x=part[axes[0]], y=part[axes[1]], z=part[axes[2]], mode="markers", name=f"{st['name']} ({len(part)})",
                marker=dict(color=st["color"], symbol=st["symbol"],
                            size=st["size"] / 2),
                text=[hover_text(r) for _, r in part.iterrows()], hovertemplate="%{text}<extra></extra>"))
    scene = {f"{a}axis_title": axis_title(c) for a, c in zip("xyz", axes)}
    fig.update_layout(title="3-D: " + " / ".join(axis_title(c) for c in axes), scene=scene,
                      **{**LAYOUT, "height": 620, "margin": dict(l=10, r=10, t=60, b=10), "legend": dict()})
    return fig


def seed_mean_std(df: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean, std (ddof 1; 0 for one value) and n of `value` per group, groups in first-seen order."""
    g = df.groupby(by, sort=False)[value]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "n": g.count()}).reset_index()
    return out


def noise_long(data: StudyData) -> pd.DataFrame:
    """One row per trained complete trial x (noise kind, sigma): label, seed, mean, std, repeats."""
    rows = []
    frozen = data.frozen()
    for _, r in data.trials("pareto", "dominated", "infeasible").iterrows():
        t = frozen[r["number"]]
        if t.user_attrs.get("skipped_training"):
            continue
        for rec in t.user_attrs.get("noisy") or ():
            rows.append({"label": r["label"] if r["label"] is not None else r["arch_id"], "seed": r["seed"],
                         "number": r["number"], "kind": rec.get("kind"), "sigma": rec.get("sigma"),
                         "mean": rec.get("mean"), "std": rec.get("std"), "repeats": rec.get("repeats")})
    return pd.DataFrame(rows, columns=["label", "seed", "number", "kind", "sigma", "mean", "std", "repeats"])


def accuracy_vs_sigma(data: StudyData, max_labels: int = 12) -> go.Figure | None:
    """The paper's Fig. 3: accuracy against noise sigma, one curve per label, a panel per noise kind."""
    long = noise_long(data)
    if not len(long):
        return None
    labels = list(dict.fromkeys(long["label"]))[:max_labels]
    long = long[long["label"].isin(labels)]
    kinds = list(dict.fromkeys(long["kind"]))
    fig = make_subplots(rows=1, cols=len(kinds), subplot_titles=[f"{k} noise" for k in kinds], shared_yaxes=True)
    mode = data.attrs.get("config", {}).get("eval", {}).get("mode", "")
    for j, kind in enumerate(kinds, start=1):
        part = long[long["kind"] == kind]
        agg = seed_mean_std(part, ["label", "sigma"], "mean")
        rep = (part.groupby(["label", "sigma"], sort=False)
               .agg(rstd=("std", "mean"), reps=("repeats", "max")).reset_index())
        agg = agg.merge(rep, on=["label", "sigma"])
        for i, label in enumerate(labels):
            a = agg[agg["label"] == label].sort_values("sigma")
            if not len(a):
                continue
            n = int(a["n"].max())
            one_seed = n < 2
            err = a["rstd"] if one_seed else a["std"]
            how = f"std over {int(a['reps'].max())} noise repeats" if one_seed else "std across seeds"
            fig.add_trace(go.Scatter(
                x=a["sigma"], y=a["mean"], mode="lines+markers", name=f"{label} (n={n} seed{'s' if n != 1 else ''})",
                legendgroup=str(label), showlegend=j == 1, line=dict(color=colour(i)),
                error_y=dict(type="data", array=err.tolist(), visible=True),
                hovertemplate=f"{label}<br>sigma %{{x}}<br>accuracy %{{y:.4f}} ± %{{error_y.array:.4f}}"
                              f"<br>n={n}; bars: {how}<extra></extra>"), row=1, col=j)
        fig.update_xaxes(title_text=f"sigma ({mode})" if mode else "sigma", row=1, col=j)
    fig.update_yaxes(title_text="accuracy", row=1, col=1)
    fig.update_layout(title="Accuracy vs noise sigma per variant (mean ± std; n in the legend)",
                      **{**LAYOUT, "margin": dict(l=60, r=20, t=90, b=50), "legend": dict(), "height": 460})
    return fig


def accuracy_per_label(data: StudyData) -> go.Figure | None:
    """The raw study's Fig. 5 for any grid study: clean and noisy accuracy per label, mean ± std over seeds."""
    df = data.trials("pareto", "dominated", "infeasible")
    if not len(df) or df["label"].isna().all():
        return None
    df = df[df["skipped_training"].isna()] if "skipped_training" in df else df
    fig = go.Figure()
    sigma = data.attrs.get("config", {}).get("eval", {}).get("objective_sigma")
    for i, (col, name) in enumerate((("clean_accuracy", "clean"),
                                     ("noisy_accuracy", f"noisy (sigma {sigma})" if sigma is not None else "noisy"))):
        part = df.dropna(subset=[col])
        if not len(part):
            continue
        agg = seed_mean_std(part, ["label"], col)
        fig.add_trace(go.Bar(x=agg["label"].astype(str), y=agg["mean"], name=name, marker_color=colour(i),
                             error_y=dict(type="data", array=agg["std"].tolist(), visible=True),
                             customdata=agg["n"], hovertemplate="%{x}: %{y:.4f} ± %{error_y.array:.4f} "
                                                                "(n=%{customdata} seeds)<extra>" + name + "</extra>"))
    if not fig.data:
        return None
    n = seed_mean_std(df.dropna(subset=["clean_accuracy"]), ["label"], "clean_accuracy")["n"]
    fig.update_layout(title=f"Accuracy per variant (mean ± std across seeds, n={_n_range(n)})", barmode="group",
                      yaxis_title="accuracy", **LAYOUT)
    return fig


def accuracy_vs_bits(data: StudyData) -> go.Figure | None:
    """Post-training weight quantization: accuracy against weight bits per label (Fig. 7 right)."""
    df = data.trials("pareto", "dominated", "infeasible")
    cols = sorted((c for c in df.columns if c.startswith("acc_w") and c[5:].isdigit()), key=lambda c: -int(c[5:]))
    if not len(df) or not cols:
        return None
    long = df.melt(id_vars=["label", "seed"], value_vars=cols, var_name="bits", value_name="acc").dropna(subset=["acc"])
    if not len(long):
        return None
    long["bits"] = long["bits"].str[5:].astype(int)
    long["label"] = long["label"].astype(str)
    agg = seed_mean_std(long, ["label", "bits"], "acc")
    fig = go.Figure()
    for i, label in enumerate(dict.fromkeys(agg["label"])):
        a = agg[agg["label"] == label].sort_values("bits", ascending=False)
        fig.add_trace(go.Scatter(x=a["bits"], y=a["mean"], mode="lines+markers", line=dict(color=colour(i)),
                                 name=f"{label} (n={_n_range(a['n'])})",
                                 error_y=dict(type="data", array=a["std"].tolist(), visible=True)))
    fig.update_xaxes(autorange="reversed", title_text="weight bits (post-training quantization)", dtick=1)
    fig.update_layout(title="Accuracy vs weight bits per variant (mean ± std across seeds)",
                      yaxis_title="accuracy", **LAYOUT)
    return fig


def _n_range(n: pd.Series) -> str:
    lo, hi = int(n.min()), int(n.max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


def colour(i: int) -> str:
    """The i-th colour of plotly's default palette, so a label keeps its colour across figures."""
    import plotly.colors

    palette = plotly.colors.qualitative.Plotly
    return palette[i % len(palette)]
