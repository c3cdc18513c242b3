"""The ais_cnn space: every sample builds or is rejected with a reason; knobs and baselines."""

import collections
import dataclasses
import re

import optuna
import pytest
import torch

from aisnas.arch import create_arch
from aisnas.errors import AisnasError
from aisnas.ppa import estimate_ppa
from aisnas.search import builtin_path, load_space, load_study

SPACE = builtin_path("search_spaces", "ais_cnn")
# Every reason the builder may give for a combination the sampler can produce.
REASONS = (r"pooled_stages \d must be below num_stages \d", r"in_sensor_layers \d exceeds the \d+ conv layers")


@pytest.fixture(scope="module")
def space():
    return load_space(SPACE)


def _sample(space, n, seed=0):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        values = space.suggest(trial)
        out.append((dict(trial.params), values))
        study.tell(trial, 0.0)
    return out


def test_every_sample_builds_and_runs_or_is_rejected_with_a_reason(space):
    # archai-style dummy evaluation: no training, just build, price and run a forward pass.
    reasons = collections.Counter()
    built = 0
    x = torch.randn(2, 3, 32, 32)
    for _, values in _sample(space, 300):
        values.pop("input_variant")
        try:
            spec = space.build(values, 0.25)
        except ValueError as e:
            matched = [r for r in REASONS if re.search(r, str(e))]
            assert matched, f"unexpected rejection: {e}"
            reasons[matched[0]] += 1
            continue
        built += 1
        assert estimate_ppa(spec, "p2m").totals["energy_pj"] > 0
        if built <= 25:  # a forward pass costs ~0.1 s on a busy CPU: a sample of them
            model = spec.build().eval()
            with torch.no_grad():
                assert model(x).shape == (2, 10)
            assert len(model.convs()) == sum(1 for layer in spec.layers() if layer.kind != "linear")
    assert built > 240  # rejections are the exception (about 9% of random samples)
    assert set(reasons) == set(REASONS)  # both kinds of invalid combination occur and are caught


def test_conditional_knobs_exist_only_when_their_condition_holds(space):
    for params, values in _sample(space, 200, seed=1):
        assert params == values  # suggest returns exactly the trial's parameters
        n = params["num_stages"]
        for s in range(1, 6):
            for k in ("depth", "kernel", "fan_in", "bits"):
                assert (f"{k}_{s}" in params) == (s <= n), (k, s, n)
        assert ("adc_bits" in params) == (params["in_sensor_layers"] > 0)


def test_channels_round_to_the_groups_of_both_stages_they_feed(space):
    values = dict(num_stages=3, stem_width=12, growth=1.5, pooled_stages=0, skip=False, in_sensor_layers=0)
    for s, fan in enumerate(("full", "1/4", "1/2"), start=1):
        values.update({f"depth_{s}": 1, f"kernel_{s}": 3, f"fan_in_{s}": fan, f"bits_{s}": 0})
    spec = space.build(values)
    # 12 (multiple of lcm(1, 4) = 4); 18 -> multiple of lcm(4, 2) = 4: round(4.5) = 4 -> 16;
    # 27 -> multiple of lcm(2, 1) = 2: round(13.5) = 14 -> 28.
    assert [st.channels for st in spec.stages] == [12, 16, 28]
    assert [layer.groups for layer in spec.layers()][:3] == [1, 4, 2]
    assert space.build(values, 0.5).stages[0].channels == 8  # 12 * 0.5 = 6 -> multiple of 4


def test_in_sensor_depth_counts_a_separable_conv_as_one_layer(space):
    values = dict(num_stages=2, stem_width=8, growth=2.0, pooled_stages=0, skip=False, in_sensor_layers=2,
                  adc_bits=6, depth_1=2, kernel_1=3, fan_in_1="depthwise", bits_1=4, depth_2=1, kernel_2=5,
                  fan_in_2="full", bits_2=0)
    spec = space.build(values)
    kinds = [layer.kind for layer in spec.layers()]
    assert kinds == ["conv", "dwconv", "pwconv", "conv", "linear"]
    assert spec.in_sensor_layers == 3  # s1.c1 and the whole s1.c2 (dw + pw) pair
    assert spec.adc_bits == 6 and spec.stages[0].weight_bits == 4 and spec.stages[1].weight_bits is None
    assert spec.name == "8x2dwq4-16x1k5|L2@6b"
    no_sensor = space.build({**{k: v for k, v in values.items() if k != "adc_bits"}, "in_sensor_layers": 0})
    assert no_sensor.in_sensor_layers == 0 and no_sensor.adc_bits is None


def test_pooled_stages_run_on_1x1_maps(space):
    values = dict(num_stages=3, stem_width=16, growth=2.0, pooled_stages=2, skip=False, in_sensor_layers=0)
    for s in (1, 2, 3):
        values.update({f"depth_{s}": 1, f"kernel_{s}": 5, f"fan_in_{s}": "full", f"bits_{s}": 0})
    spec = space.build(values)
    assert spec.global_pool_after == 1
    assert [(layer.out_hw, layer.kernel) for layer in spec.layers()[:3]] == [((32, 32), 5), ((1, 1), 1), ((1, 1), 1)]


@pytest.mark.parametrize("change, message", [
    ({"num_stages": 2, "pooled_stages": 2}, "pooled_stages 2 must be below num_stages 2"),
    ({"num_stages": 2, "in_sensor_layers": 3, "adc_bits": 8}, "in_sensor_layers 3 exceeds the 2 conv layers"),
    ({"num_stages": 2, "depth_3": 1}, "depth_3 given but num_stages is 2; make it conditional"),
    ({"num_stages": 3}, "num_stages is 3 but knob"),
    ({"width": 2}, "unknown knob"),
])
def test_invalid_combinations_are_rejected_with_the_reason(space, change, message):
    values = dict(num_stages=2, stem_width=8, growth=2.0, pooled_stages=0, skip=False, in_sensor_layers=0)
    for s in (1, 2):
        values.update({f"depth_{s}": 1, f"kernel_{s}": 3, f"fan_in_{s}": "full", f"bits_{s}": 0})
    with pytest.raises(ValueError, match=message):
        space.build({**values, **change})


@pytest.mark.parametrize("budget", ["smoke", "default"])
def test_baselines_reproduce_their_presets(budget):
    rs = load_study("ais", budget)
    assert [e.label for e in rs.config.enqueue] == [
        "vgg13 x0.25", "cnn3", "cnn3_slow_growth", "cnn3_deep_early", "cnn3_early_pool"]
    width = rs.config.width or 1.0
    for e in rs.config.enqueue:
        built = rs.space.build({k: v for k, v in e.params.items() if k != "input_variant"}, rs.config.width)
        preset = create_arch(e.arch, width=e.args.get("width", 1.0) * width)
        assert built.arch_id == preset.arch_id, e.label
        assert built.in_sensor_layers == 0 and e.params["input_variant"] == "N/A"


def test_ais_study_objectives_constraints_and_sampler():
    rs = load_study("ais")
    assert [(o.metric, o.resolved_direction) for o in rs.config.objectives] == [
        ("noisy_accuracy", "maximize"), ("energy_pj", "minimize"), ("sensor_area_mm2", "minimize")]
    assert rs.config.constraints.min_clean_accuracy == 0.25
    assert rs.config.constraints.budgets == {"onsensor_weight_bits": 8e6, "sensor_area_mm2": 2.0}
    assert rs.config.ppa.hardware == "p2m" and rs.config.sampler.name == "tpe"
    assert load_study("ais", "smoke").config.trials == 6


@pytest.mark.parametrize("edit, message", [
    (("growth = 1.5,", "growth = 1.75,"),
     r"enqueue\[2\] \(cnn3_slow_growth\): params build 16x2-28x2-49x2, not preset"),
    (("pooled_stages = 1, skip = false", "pooled_stages = 1, skip = 0"), r"params.skip: 0 is not allowed"),
    (("bits_3 = 0 }", "bits_3 = 0, depth_4 = 2 }"), r"params.depth_4: set, but it exists only when num_stages in"),
    (("stem_width = 16, growth = 2.0, pooled_stages = 1", "stem_width = 16, growth = 2.0, pooled_stages = 3"),
     r"params.pooled_stages: 3 is not allowed \(0..2\)"),
])
def test_bad_baselines_are_refused_when_the_study_loads(tmp_path, edit, message):
    text = builtin_path("studies", "ais").read_text()
    assert edit[0] in text
    path = tmp_path / "ais.toml"
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(AisnasError, match=message):
        load_study(str(path))


def test_knob_values_are_checked_against_the_space(space):
    good = dict(input_variant="M", num_stages=2, stem_width=8, growth=1.25, pooled_stages=0, skip=True,
                in_sensor_layers=1, adc_bits=4)
    for s in (1, 2):
        good.update({f"depth_{s}": 1, f"kernel_{s}": 7, f"fan_in_{s}": "1/2", f"bits_{s}": 2})
    space.check_values(good)
    for bad, message in [({"growth": 1.3}, "growth: 1.3 is not allowed"), ({"stem_width": 10}, "stem_width: 10"),
                         ({"num_stages": 2.0}, "num_stages: 2.0"), ({"colour": 1}, "colour: not a knob")]:
        with pytest.raises(ValueError, match=message):
            space.check_values({**good, **bad})
    with pytest.raises(ValueError, match="adc_bits: missing"):
        space.check_values({k: v for k, v in good.items() if k != "adc_bits"})
    assert dataclasses.replace(space.knobs["num_stages"]).is_int and not space.knobs["growth"].is_int


@pytest.mark.parametrize("name", ["tpe", "nsga2", "nsga3", "gp", "random", "qmc"])
def test_every_sampler_a_study_may_name_searches_the_ais_space(name):
    import warnings

    from aisnas.ppa import constraint_values
    from aisnas.search import make_sampler
    from aisnas.search._config import SamplerConfig

    rs = load_study("ais")
    rs = dataclasses.replace(rs, config=dataclasses.replace(
        rs.config, sampler=SamplerConfig(name=name, seed=0, n_startup_trials=3, population_size=4)))

    def objective(trial):  # PPA only: the samplers, not training, are under test
        values = rs.space.suggest(trial)
        values.pop("input_variant")
        ppa = estimate_ppa(rs.space.build(values, 0.25), "p2m")
        for k, v in constraint_values(ppa, dict(rs.config.constraints.budgets)).items():
            trial.set_constraint(k, v)
        return [1e6 / ppa.totals["energy_pj"], ppa.totals["energy_pj"], ppa.totals["sensor_area_mm2"]]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-feature warnings
        study = optuna.create_study(directions=["maximize", "minimize", "minimize"], sampler=make_sampler(rs))
        study.optimize(objective, n_trials=5, catch=(ValueError,))
    # Past the 3 startup trials (4 for the populations): the sampler's own picks ran too.
    assert [t.state for t in study.trials].count(optuna.trial.TrialState.COMPLETE) >= 4
