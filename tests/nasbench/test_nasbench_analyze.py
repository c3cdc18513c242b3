"""The topology-vs-noise analysis: correlations with bootstrap intervals, the selection rule."""

import math

import numpy as np
import optuna
import pytest

from aisnas.configs import to_dict
from aisnas.nasbench import analyze, bootstrap_correlation, format_analysis, sample_cells, select_similar


def test_pearson_and_spearman_equal_hand_values():
    x, y = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    # Spearman: rank differences (1, -1, 1, -1, 0), 1 - 6 * 4 / (5 * 24) = 0.8.
    assert bootstrap_correlation(x, y, method="spearman", n_boot=200)["r"] == pytest.approx(0.8)
    # Pearson: cov = (-2*-1 + -1*-2 + 0 + 1*0 + 2*2) / 4 = 2, var x = var y = 2.5: r = 0.8 too;
    # a monotone but curved y separates them.
    assert bootstrap_correlation(x, y, n_boot=200)["r"] == pytest.approx(0.8)
    curved = [1, 2, 3, 4, 100]
    assert bootstrap_correlation(x, curved, method="spearman", n_boot=200)["r"] == pytest.approx(1.0)
    assert bootstrap_correlation(x, curved, n_boot=200)["r"] == pytest.approx(np.corrcoef(x, curved)[0, 1])


def test_bootstrap_interval_brackets_the_estimate_and_is_seeded():
    rng = np.random.default_rng(0)
    x = rng.normal(size=30)
    y = x + rng.normal(size=30)
    a = bootstrap_correlation(x, y, n_boot=2000, seed=1)
    assert a == bootstrap_correlation(x, y, n_boot=2000, seed=1)
    assert a["low"] < a["r"] < a["high"] and a["n_boot_used"] == 2000 and a["n"] == 30
    exact = bootstrap_correlation([1, 2, 3, 4], [2, 4, 6, 8], n_boot=500)
    assert exact["r"] == pytest.approx(1.0) and exact["low"] == pytest.approx(1.0) == exact["high"]
    # Resamples that repeat one pair have no correlation: they are left out, and counted.
    assert exact["n_boot_used"] < 500
    assert math.isnan(bootstrap_correlation([1, 2], [1, 2])["r"])


def test_selection_takes_the_tightest_group_in_accuracy_and_macs():
    clean = [0.50, 0.51, 0.52, 0.30, 0.70, 0.505]
    macs = [1e6, 1.02e6, 0.99e6, 1e6, 4e6, 1.01e6]
    assert select_similar(clean, macs, 4) == [0, 1, 2, 5]
    assert select_similar(clean, macs, 10) == [0, 1, 2, 3, 4, 5]


def _trial(number, cell, clean, noisy, seed=0):
    return optuna.trial.create_trial(
        params={}, distributions={}, values=[noisy, clean],
        user_attrs={"arch": to_dict(cell), "arch_id": cell.arch_id, "label": cell.name, "seed": seed,
                    "clean_accuracy": clean,
                    "noisy": [{"kind": "additive", "sigma": 0.0, "mean": clean},
                              {"kind": "additive", "sigma": 0.4, "mean": noisy}]})


def test_analyze_averages_seeds_selects_and_correlates():
    cells = sample_cells(6, seed=0)
    clean = [0.60, 0.62, 0.61, 0.40, 0.63, 0.59]
    noisy = [0.50, 0.41, 0.55, 0.20, 0.45, 0.52]
    trials = [_trial(i, c, a, n) for i, (c, a, n) in enumerate(zip(cells, clean, noisy))]
    trials.append(_trial(6, cells[0], 0.64, 0.54, seed=1))  # a second seed of cell0: averaged
    res = analyze(trials, select=4, n_boot=500)
    assert res["n_cells"] == 6 and res["n_selected"] == 4
    by = {c["label"]: c for c in res["cells"]}
    assert by["cell0"]["clean_accuracy"] == pytest.approx(0.62) and by["cell0"]["seeds"] == 2
    assert by["cell0"]["drop"] == pytest.approx(0.62 - 0.52)
    picked = [c for c in res["cells"] if c["selected"]]
    expected = [c["label"] for c in res["cells"]]
    chosen = select_similar([c["clean_accuracy"] for c in res["cells"]], [c["macs"] for c in res["cells"]], 4)
    assert [c["label"] for c in picked] == [expected[i] for i in chosen]
    r = res["correlation"]["selected"]["pearson"]["r"]
    assert r == pytest.approx(np.corrcoef([c["clean_accuracy"] for c in picked],
                                          [c["noisy_accuracy"] for c in picked])[0, 1])
    assert set(res["feature_vs_drop"]) >= {"fanin_mean", "conv3x3", "projections", "depth"}
    # Every feature is either correlated (a number) or listed as the same for all cells.
    assert set(res["feature_vs_drop"]) | set(res["constant_features"]) == set(cells[0].features())
    assert all(not math.isnan(c["r"]) for c in res["feature_vs_drop"].values())
    assert all(len({c[f] for c in res["cells"]}) == 1 for f in res["constant_features"])
    text = format_analysis(res)
    assert "clean vs noisy, selected cells, pearson" in text and "cell0" in text


def test_analyze_refuses_trials_without_the_requested_noise():
    cell = sample_cells(1)[0]
    with pytest.raises(Exception, match="no noisy accuracy for \\(additive, sigma 0.8\\)"):
        analyze([_trial(0, cell, 0.5, 0.4)], sigma=0.8)
