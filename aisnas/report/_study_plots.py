"""Study-level analyses: hypervolume history and parameter importances (both via Optuna).

Each function returns (figure or None, a one-line note saying what was drawn or why not).
"""

from __future__ import annotations

import warnings

import optuna
import plotly.graph_objects as go
from optuna.trial import TrialState

from aisnas.report._figures import LAYOUT, colour
from aisnas.report._load import StudyData

__all__ = ["REFERENCE_MARGIN", "hypervolume_history", "param_importances", "reference_point"]

# The hypervolume reference point lies this fraction of each objective's observed range
# beyond its worst feasible value, so that every feasible trial (the worst included)
# adds volume. With a single distinct value the margin is taken of |value| (or 1 at 0).
REFERENCE_MARGIN = 0.1


def reference_point(data: StudyData) -> list[float] | None:
    """Per objective: worst feasible complete value, pushed REFERENCE_MARGIN x range further."""
    df = data.trials("pareto", "dominated")
    cols = [f"value_{n}" for n in data.metric_names]
    if not len(df) or any(c not in df for c in cols):
        return None
    ref = []
    for col, direction in zip(cols, data.directions):
        v = df[col].astype(float)
        worst = v.min() if direction == "maximize" else v.max()
        span = (v.max() - v.min()) or abs(worst) or 1.0
        ref.append(float(worst - REFERENCE_MARGIN * span if direction == "maximize"
                         else worst + REFERENCE_MARGIN * span))
    return ref


def hypervolume_history(data: StudyData) -> tuple[go.Figure | None, str]:
    if not data.multi_objective:
        return None, "single-objective study: no hypervolume (see the best value in the table)"
    ref = reference_point(data)
    if ref is None:
        return None, "no feasible complete trial yet: no hypervolume"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-API and "no feasible trials" warnings
        fig = optuna.visualization.plot_hypervolume_history(data.study, ref)
    shown = ", ".join(f"{n} {v:.4g}" for n, v in zip(data.metric_names, ref))
    fig.update_layout(title="Hypervolume of the feasible front after each trial", **LAYOUT)
    fig.update_xaxes(dtick=1 if len(fig.data[0].x or ()) <= 20 else None)
    return fig, (f"reference point ({shown}): each objective's worst feasible value moved "
                 f"{REFERENCE_MARGIN:.0%} of its observed range further out")


def param_importances(data: StudyData) -> tuple[go.Figure | None, str]:
    """fANOVA importances of the trial parameters for each objective (Optuna's default evaluator)."""
    complete = data.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return None, f"{len(complete)} complete trial(s): importances need at least 2"
    varied = sorted({k for t in complete for k in t.params
                     if len({repr(u.params.get(k)) for u in complete}) > 1})
    if not varied:
        return None, "every complete trial has the same parameter values: nothing to attribute"
    if len(varied) == 1:
        return None, (f"only {varied[0]!r} varies across the complete trials, so its importance is 1 by "
                      "construction; the per-variant figures show its effect")
    fig = go.Figure()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, name in enumerate(data.metric_names):
                imp = optuna.importance.get_param_importances(
                    data.study, params=varied, target=lambda t, i=i: t.values[i])
                fig.add_trace(go.Bar(x=list(imp.values()), y=list(imp.keys()), orientation="h", name=name,
                                     marker_color=colour(i)))
    except (ValueError, RuntimeError) as e:  # e.g. parameters not shared by all trials
        return None, f"importances could not be computed: {e}"
    fig.update_layout(title="Parameter importances (fANOVA, normalized per objective)", barmode="group",
                      xaxis_title="importance", **LAYOUT)
    return fig, f"{len(complete)} complete trials, parameters varied: {', '.join(varied)}"
