"""Topology vs noise: the `nasbench101` study's analysis (Horton et al., finding 3).

From the completed trials of a study over NAS-Bench-101 cells: pick N cells with
similar clean accuracy and MACs, then ask whether clean accuracy predicts noisy
accuracy (Pearson and Spearman, with bootstrap intervals) and which topological
features go with a larger drop under noise.

Selection rule (`select_similar`): put every cell at (clean accuracy, log10 MACs),
each axis divided by its standard deviation over all cells; for each cell take it and
its N-1 nearest neighbours; keep the group with the smallest radius (largest distance
from its centre cell), ties to the higher mean clean accuracy. It is the tightest
group of N cells in accuracy and cost, the paper's "similar runtime and clean
accuracy" made deterministic.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from aisnas.errors import AisnasError

__all__ = ["analyze", "bootstrap_correlation", "format_analysis", "select_similar"]

SELECTION_RULE = ("tightest group of N cells in (clean accuracy, log10 MACs), each axis scaled by its std over "
                  "all cells: for each cell, it and its N-1 nearest neighbours; smallest radius wins, ties to the "
                  "higher mean clean accuracy")


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share their mean rank), as Spearman needs."""
    import pandas as pd

    if a.ndim == 1:
        return pd.Series(a).rank().to_numpy()
    return pd.DataFrame(a).rank(axis=1).to_numpy()


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair; NaN where a row is constant."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    den = np.sqrt((xc**2).sum(axis=-1) * (yc**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (xc * yc).sum(axis=-1) / np.where(den > 0, den, 1.0), np.nan)


def bootstrap_correlation(x, y, *, method: str = "pearson", n_boot: int = 10_000, seed: int = 0,
                          level: float = 0.95) -> dict:
    """Correlation of x and y with a percentile bootstrap interval over resampled pairs.

    Resamples in which x or y is constant have no correlation and are left out;
    `n_boot_used` says how many remained.
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method: {method!r} is not 'pearson' or 'spearman'")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n != len(y):
        raise ValueError(f"x and y differ in length ({n} vs {len(y)})")
    out = {"method": method, "n": n, "r": math.nan, "low": math.nan, "high": math.nan, "level": level,
           "n_boot": n_boot, "n_boot_used": 0}
    if n < 3:
        return out
    f = (lambda a: _ranks(a)) if method == "spearman" else (lambda a: a)
    out["r"] = float(_pearson_rows(f(x), f(y)))
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    rs = _pearson_rows(f(x[idx]), f(y[idx]))
    rs = rs[np.isfinite(rs)]
    out["n_boot_used"] = int(rs.size)
    if rs.size:
        tail = (1 - level) / 2 * 100
        out["low"], out["high"] = (float(v) for v in np.percentile(rs, [tail, 100 - tail]))
    return out


def select_similar(clean, macs, n: int) -> list[int]:
    """Indices of the tightest group of `n` cells in (clean accuracy, log10 MACs); see the module doc."""
    clean = np.asarray(clean, dtype=float)
    logm = np.log10(np.asarray(macs, dtype=float))
    if len(clean) <= n:
        return list(range(len(clean)))
    z = np.stack([v / (v.std() or 1.0) for v in (clean, logm)], axis=1)
    d = np.linalg.norm(z[:, None, :] - z[None, :, :], axis=-1)
    best, best_key = None, None
    for c in range(len(clean)):
        group = np.argsort(d[c], kind="stable")[:n]
        key = (d[c, group].max(), -clean[group].mean())
        if best_key is None or key < best_key:
            best, best_key = group, key
    return sorted(int(i) for i in best)


def _noisy_mean(trial, kind: str, sigma: float) -> float:
    for r in trial.user_attrs.get("noisy", []):
        if r["kind"] == kind and math.isclose(r["sigma"], sigma):
            return r["mean"]
    raise AisnasError(f"trial {trial.number} has no noisy accuracy for ({kind}, sigma {sigma}); "
                      "the study's [eval] must include that kind and sigma")


def _cells(trials, kind: str, sigma: float) -> list[dict]:
    """One record per distinct cell network, accuracies averaged over its seeds."""
    from aisnas.configs import from_dict
    from aisnas.nasbench._cell import CellSpec

    by_arch: dict[str, dict] = {}
    for t in trials:
        a = t.user_attrs
        if "clean_accuracy" not in a or a.get("skipped_training"):
            continue
        try:
            spec = from_dict(CellSpec, a["arch"], source=f"trial {t.number}")
        except (AisnasError, KeyError, TypeError):
            raise AisnasError(f"trial {t.number} is not a NAS-Bench-101 cell; analyze needs a study over the "
                              "nasbench101 space") from None
        rec = by_arch.setdefault(a["arch_id"], {"label": a.get("label", spec.name), "spec": spec, "clean": [],
                                                "noisy": [], "seeds": [], "first": t.number})
        rec["clean"].append(a["clean_accuracy"])
        rec["noisy"].append(_noisy_mean(t, kind, sigma))
        rec["seeds"].append(a.get("seed"))
    out = []
    for arch_id, rec in sorted(by_arch.items(), key=lambda kv: kv[1]["first"]):  # the order they were run
        spec = rec["spec"]
        clean, noisy = statistics.fmean(rec["clean"]), statistics.fmean(rec["noisy"])
        out.append({"label": rec["label"], "arch_id": arch_id, "graph_hash": spec.graph_hash,
                    "ops": list(spec.ops[1:-1]), "seeds": len(rec["seeds"]), "clean_accuracy": clean,
                    "noisy_accuracy": noisy, "drop": clean - noisy, **spec.totals(), **spec.features()})
    return out


def analyze(study, *, select: int = 10, kind: str = "additive", sigma: float = 0.4, n_boot: int = 10_000,
            seed: int = 0) -> dict:
    """The topology-vs-noise analysis of a study over NAS-Bench-101 cells (an optuna Study or its trials)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if hasattr(study, "get_trials") \
        else [t for t in study if t.state == TrialState.COMPLETE]
    cells = _cells(trials, kind, sigma)
    if not cells:
        raise AisnasError("analyze: the study has no completed trials yet")
    chosen = select_similar([c["clean_accuracy"] for c in cells], [c["macs"] for c in cells], select)
    for i, c in enumerate(cells):
        c["selected"] = i in chosen

    def corr(group: list[dict]) -> dict:
        x, y = [c["clean_accuracy"] for c in group], [c["noisy_accuracy"] for c in group]
        return {m: bootstrap_correlation(x, y, method=m, n_boot=n_boot, seed=seed) for m in ("pearson", "spearman")}

    picked = [c for c in cells if c["selected"]]
    # A feature that is the same for every cell (e.g. the stem's fan-in as the minimum)
    # has no correlation: listed apart rather than reported as NaN.
    varying = [f for f in _feature_keys(cells[0]) if len({c[f] for c in cells}) > 1]
    constant = [f for f in _feature_keys(cells[0]) if f not in varying]
    features = {f: bootstrap_correlation([c[f] for c in cells], [c["drop"] for c in cells], method="spearman",
                                         n_boot=n_boot, seed=seed) for f in varying}
    return {
        "kind": kind, "sigma": sigma, "n_cells": len(cells), "n_selected": len(picked),
        "selection_rule": SELECTION_RULE,
        "cells": cells,
        "correlation": {"selected": corr(picked), "all": corr(cells)},
        "feature_vs_drop": features,
        "constant_features": constant,
    }


def _feature_keys(cell: dict):
    from aisnas.nasbench._cell import CellSpec

    probe = CellSpec(matrix=((0, 1), (0, 0)), ops=("input", "output"))
    return [k for k in probe.features() if k in cell]


def _fmt_corr(c: dict) -> str:
    return (f"{c['r']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}] ({c['level']:.0%} bootstrap CI, n={c['n']}, "
            f"{c['n_boot_used']} resamples)")


def format_analysis(res: dict) -> str:
    """The analysis as plain text: cells, correlations with intervals, features vs drop."""
    lines = [f"NAS-Bench-101 cells: {res['n_cells']} trained, {res['n_selected']} selected "
             f"(noisy = {res['kind']} noise, sigma {res['sigma']:g}, sigma^2 {res['sigma'] ** 2:.2f})",
             f"selection: {res['selection_rule']}", "",
             f"{'cell':<10}{'sel':>4}{'clean':>8}{'noisy':>8}{'drop':>8}{'MMACs':>8}{'V':>3}{'E':>3}"
             f"{'3x3':>4}{'1x1':>4}{'mp':>4}{'proj':>5}{'fanin mean/min/max':>22}"]
    for c in res["cells"]:
        lines.append(f"{c['label']:<10}{'*' if c['selected'] else '':>4}{c['clean_accuracy']:>8.3f}"
                     f"{c['noisy_accuracy']:>8.3f}{c['drop']:>8.3f}{c['macs'] / 1e6:>8.2f}{c['vertices']:>3}"
                     f"{c['edges']:>3}{c['conv3x3']:>4}{c['conv1x1']:>4}{c['maxpool3x3']:>4}{c['projections']:>5}"
                     f"{c['fanin_mean']:>12.1f}/{c['fanin_min']}/{c['fanin_max']}")
    lines.append("")
    for group in ("selected", "all"):
        for m in ("pearson", "spearman"):
            lines.append(f"clean vs noisy, {group} cells, {m}: {_fmt_corr(res['correlation'][group][m])}")
    lines.append("")
    lines.append("feature vs accuracy drop (clean - noisy), all cells, spearman:")
    for f, c in res["feature_vs_drop"].items():
        lines.append(f"  {f:<20}{_fmt_corr(c)}")
    if res["constant_features"]:
        lines.append(f"  the same for every cell: {', '.join(res['constant_features'])}")
    return "\n".join(lines)
