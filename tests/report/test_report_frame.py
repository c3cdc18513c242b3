"""The trials frame, its files, and the figures' numbers, checked against hand computations."""

import json
import math

import optuna
import pandas as pd
import pytest

from aisnas.errors import AisnasError
from aisnas.report import (
    load_study_data,
    pareto_numbers,
    reference_point,
    resolve_study_name,
    write_report,
)
from aisnas.report._breakdown import ppa_breakdowns
from aisnas.report._figures import (
    accuracy_per_label,
    accuracy_vs_bits,
    accuracy_vs_sigma,
    hover_text,
    seed_mean_std,
)
from aisnas.report._study_plots import hypervolume_history, param_importances

METRICS = ("noisy_accuracy", "clean_accuracy")
# number: (label, seed, noisy, clean, area constraint value). Hand-worked statuses:
# 0 and 1 are on the front, 5 ties 1 (also on it), 2 is dominated by 0, 3 would
# dominate everything but breaks the area budget, 4 fails.
TRIALS = {
    0: ("k3", 0, 0.60, 0.80, -0.1),
    1: ("k5", 0, 0.70, 0.70, -0.1),
    2: ("k3", 1, 0.50, 0.75, -0.1),
    3: ("k7", 0, 0.90, 0.95, 0.5),
    4: ("k5", 1, None, None, None),
    5: ("k5", 1, 0.70, 0.70, -0.2),
}
EXPECTED_STATUS = {0: "pareto", 1: "pareto", 2: "dominated", 3: "infeasible", 4: "fail", 5: "pareto"}


@pytest.fixture(scope="module")
def toy(tmp_path_factory, make_study, trial_attrs):
    """The toy study, built once (every storage write is an fsync): the tests here only read it."""
    specs = []
    for n, (label, seed, noisy, clean, area) in TRIALS.items():
        attrs = trial_attrs(label, seed, noisy or 0.0, clean or 0.0, arch_args={"kernel": int(label[1])},
                            quantized={8: (clean or 0) - 0.01, 4: (clean or 0) - 0.1 * (seed + 1)})
        if noisy is None:
            specs.append({"attrs": {k: attrs[k] for k in ("label", "seed", "arch", "arch_id")},
                          "fail": "RuntimeError: out of memory (test)"})
        else:
            specs.append({"attrs": attrs, "constraints": {"sensor_area_mm2": area}})
    return make_study(f"journal:{tmp_path_factory.mktemp('toy') / 'toy.journal'}", "toy", specs, metrics=METRICS)


@pytest.fixture
def url(toy):
    return f"journal:{toy.user_attrs['storage'][len('journal:'):]}"


def test_statuses_follow_the_feasible_pareto_front(url):
    sd = load_study_data("toy", url)
    assert dict(zip(sd.frame["number"], sd.frame["status"])) == EXPECTED_STATUS
    row = sd.frame.set_index("number", drop=False).loc[3]
    assert row["feasible"] == False  # noqa: E712 (numpy bool)
    hover = hover_text(row)
    assert "trial #3 · k7 · seed 0" in hover and "violates sensor_area_mm2 +0.5" in hover and "kernel 7/7/7" in hover


def test_csv_and_json_hold_one_row_per_trial_with_every_figure(url, tmp_path):
    out = write_report("toy", url, tmp_path / "rep")
    csv = pd.read_csv(out / "trials.csv")
    rows = json.loads((out / "trials.json").read_text())
    assert list(csv["number"]) == [r["number"] for r in rows] == list(TRIALS)
    for col in ("number", "state", "label", "seed", "arch_id", "arch_kernel", "arch_channels", "param_variant",
                "value_noisy_accuracy", "value_clean_accuracy", "acc_additive_s0.4_mean", "acc_additive_s0.4_std",
                "acc_additive_s0.4_repeats", "acc_w8", "acc_w4", "macs", "params", "energy_pj", "sensor_area_mm2",
                "adc_conversions", "constraint_sensor_area_mm2", "seconds_total", "failure_reason"):
        assert col in csv.columns, col
    r0 = csv.set_index("number").loc[0]
    assert (r0["acc_additive_s0.4_mean"], r0["acc_additive_s0.4_std"], r0["acc_additive_s0.4_repeats"]) == (
        0.6, 0.01, 2)
    assert r0["arch_kernel"] == "3/3/3" and r0["constraint_sensor_area_mm2"] == -0.1 and r0["seconds_total"] == 1.7
    from aisnas.arch import create_arch

    assert r0["macs"] == create_arch("cnn3", kernel=3).totals()["macs"]
    failed = rows[4]
    assert failed["state"] == "FAIL" and failed["failure_reason"] == "RuntimeError: out of memory (test)"
    assert failed["value_noisy_accuracy"] is None
    assert rows[5]["status"] == "pareto" and rows[5]["acc_w4"] == pytest.approx(0.7 - 0.2)


@pytest.mark.parametrize("directions, values, feasible, front", [
    (["maximize", "minimize"], [(1, 5), (2, 5), (2, 4), (0, 0)], [1, 1, 1, 1], {2, 3}),
    (["maximize", "maximize"], [(1, 1), (1, 1), (0, 2)], [1, 1, 1], {0, 1, 2}),  # ties both stay
    (["maximize", "maximize"], [(1, 1), (5, 5)], [1, 0], {0}),  # the infeasible one dominates nothing
    (["minimize"], [(3,), (1,), (1,), (2,)], [1, 1, 1, 1], {1, 2}),
])
def test_pareto_numbers_by_hand(directions, values, feasible, front):
    trials = [optuna.trial.create_trial(values=list(v), user_attrs={"constraints": {"c": -1.0 if f else 1.0}})
              for v, f in zip(values, feasible)]
    for i, t in enumerate(trials):
        t.number = i
    assert pareto_numbers(trials, directions) == front


def test_seed_mean_std_by_hand():
    df = pd.DataFrame({"label": ["a", "a", "b"], "v": [0.5, 0.7, 0.3]})
    agg = seed_mean_std(df, ["label"], "v").set_index("label")
    assert agg.loc["a", "mean"] == pytest.approx(0.6) and agg.loc["a", "std"] == pytest.approx(math.sqrt(0.02))
    assert (agg.loc["a", "n"], agg.loc["b", "n"], agg.loc["b", "std"]) == (2, 1, 0.0)


def test_accuracy_vs_sigma_is_mean_and_std_across_seeds(url):
    fig = accuracy_vs_sigma(load_study_data("toy", url))
    traces = {t.name.split(" ")[0]: t for t in fig.data}
    k3 = traces["k3"]  # trials 0 and 2: sigma 0 -> 0.80, 0.75; sigma 0.4 -> 0.60, 0.50
    assert list(k3.x) == [0.0, 0.4] and list(k3.y) == pytest.approx([0.775, 0.55])
    assert list(k3.error_y.array) == pytest.approx([math.sqrt(2 * 0.025**2), math.sqrt(2 * 0.05**2)])
    assert "n=2 seeds" in k3.name
    k7 = traces["k7"]  # one seed: the bars are the spread over its noise repeats (std 0.01)
    assert "n=1 seed" in k7.name and list(k7.error_y.array) == [0.01, 0.01]
    assert "std over 2 noise repeats" in k7.hovertemplate


def test_accuracy_per_label_and_per_bits(url):
    sd = load_study_data("toy", url)
    bars = {t.name.split(" ")[0]: t for t in accuracy_per_label(sd).data}
    clean = dict(zip(bars["clean"].x, bars["clean"].y))
    assert clean["k3"] == pytest.approx(0.775) and clean["k5"] == pytest.approx(0.70) and clean["k7"] == 0.95
    bits = {t.name.split(" ")[0]: t for t in accuracy_vs_bits(sd).data}
    assert list(bits["k3"].x) == [8, 4]
    # k3 at 4 bits: seed 0 -> 0.80 - 0.1, seed 1 -> 0.75 - 0.2
    assert bits["k3"].y[1] == pytest.approx((0.70 + 0.55) / 2)
    assert bits["k3"].error_y.array[1] == pytest.approx(math.sqrt(2 * 0.075**2))


def test_reference_point_and_hypervolume(url):
    sd = load_study_data("toy", url)
    # feasible: noisy 0.6, 0.7, 0.5, 0.7 -> worst 0.5, range 0.2; clean 0.8, 0.7, 0.75, 0.7 -> worst 0.7, range 0.1
    assert reference_point(sd) == pytest.approx([0.5 - 0.02, 0.7 - 0.01])
    fig, note = hypervolume_history(sd)
    # After trial 1 the front is (0.6,0.8),(0.7,0.7) against (0.48,0.69):
    # 0.12*0.11 + 0.22*0.01 - overlap 0.12*0.01 = 0.0142; trials 2-5 add nothing.
    assert list(fig.data[0].y)[-1] == pytest.approx(0.12 * 0.11 + 0.22 * 0.01 - 0.12 * 0.01)
    assert "reference point" in note


def test_importances_guarded(url, make_study, trial_attrs, tmp_path):
    fig, note = param_importances(load_study_data("toy", url))
    assert fig is not None and {t.name for t in fig.data} == set(METRICS)
    one = make_study(f"journal:{tmp_path / 'one.journal'}", "one", [{"attrs": trial_attrs("k3", 0, 0.5, 0.6)}],
                     metrics=METRICS)
    fig, note = param_importances(load_study_data(one))
    assert fig is None and "at least 2" in note


def test_study_names_resolve_like_search(make_study, tmp_path):
    from aisnas.search import open_storage

    names = f"journal:{tmp_path / 'names.journal'}"
    make_study(names, "toy", [], metrics=METRICS)
    make_study(names, "toy-smoke", [], metrics=METRICS)
    st = open_storage(names)
    assert resolve_study_name("toy", st, "smoke") == "toy-smoke"
    assert resolve_study_name("toy", st) == "toy"
    assert resolve_study_name("toy-smoke", st) == "toy-smoke"  # the exact stored name
    assert resolve_study_name("studies/toy.toml", st, "smoke") == "toy-smoke"
    with pytest.raises(AisnasError, match="no study 'toy-full'.*stored studies: toy, toy-smoke"):
        resolve_study_name("toy", st, "full")


def test_missing_sqlite_file_is_refused_not_created(tmp_path):
    db = tmp_path / "none.db"
    with pytest.raises(AisnasError, match="does not exist"):
        write_report("toy", f"sqlite:///{db}", tmp_path / "out")
    assert not db.exists()


def test_ppa_breakdown_rebuilds_the_front_and_names_what_it_cannot(url, make_study, trial_attrs, tmp_path):
    from aisnas.arch import create_arch

    shown, note = ppa_breakdowns(load_study_data("toy", url))
    # Front: trial 0 (k3) and trials 1, 5 (k5, the same architecture): two architectures.
    assert note.startswith("2 distinct") and len(shown) == 2
    assert "#1, #5" in shown[1].title
    assert len(shown[0].table) == len(create_arch("cnn3", kernel=3).layers())
    assert shown[0].figure is not None
    cell = trial_attrs("cell", 0, 0.5, 0.6)
    cell["arch"] = {"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]}  # not an ArchSpec
    other = make_study(f"journal:{tmp_path / 'cell.journal'}", "cell", [{"attrs": cell}], metrics=METRICS)
    shown, _ = ppa_breakdowns(load_study_data(other))
    assert shown[0].figure is None and shown[0].note.startswith("cannot be rebuilt here")
