"""The ais study end to end on tiny data: baselines first, budgets, rejections, export."""

import json

import optuna
import pytest
from optuna.trial import TrialState
from safetensors.torch import load_file

from aisnas.arch import create_arch, load_arch
from aisnas.cli import main
from aisnas.errors import AisnasError
from aisnas.export import check_export, export_trial, load_export
from aisnas.search import load_study, run_search
from aisnas.search._objective import TrialRunner

from ais_helpers import tiny_ais_study

from aisnas.data import write_synthetic_image_folder as make_image_folder

BASELINES = ["vgg13 x0.25", "cnn3", "cnn3_slow_growth", "cnn3_deep_early", "cnn3_early_pool"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """The ais smoke budget (data sizes shrunk to the tiny set), run once for the module."""
    root = tmp_path_factory.mktemp("ais")
    data = make_image_folder(root / "data")
    study = tiny_ais_study(root / "study")
    url = f"sqlite:///{root / 'ais.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AISNAS_CACHE", str(root / "cache"))
        summary = run_search(str(study), budget="smoke", storage=url, data=str(data), quiet=True)
    return {"root": root, "data": data, "study": study, "url": url, "summary": summary,
            "trials": optuna.load_study(study_name="ais-smoke", storage=url).trials}


def test_smoke_budget_runs_end_to_end_with_baselines_first_in_order(smoke):
    s, trials = smoke["summary"], smoke["trials"]
    assert (s.ran, s.complete + s.failed) == (6, 6)
    assert [t.user_attrs.get("baseline") for t in trials] == BASELINES + [None]
    rs = load_study(str(smoke["study"]), "smoke")
    for t, e in zip(trials, rs.config.enqueue):
        assert t.state == TrialState.COMPLETE and t.user_attrs["label"] == e.label
        # The knob values rebuild the named preset at the smoke width (0.5 x its own width).
        preset = create_arch(e.arch, width=e.args.get("width", 1.0) * 0.5)
        assert t.user_attrs["arch_id"] == preset.arch_id
        assert t.params == e.params
        a = t.user_attrs
        assert t.values == [a["noisy_accuracy"], a["ppa"]["energy_pj"], a["ppa"]["sensor_area_mm2"]]
        assert a["ppa_hardware"] == "p2m" and a["input_variant"] == "N/A"
        assert set(a["constraints"]) == {"onsensor_weight_bits", "sensor_area_mm2", "min_clean_accuracy"}
        assert a["constraints"]["min_clean_accuracy"] == pytest.approx(0.25 - a["clean_accuracy"])
    sampled = trials[5]
    assert "baseline" not in sampled.user_attrs and "input_variant" in sampled.params
    # Running again continues: the baselines are done and are not queued a second time.
    again = run_search(str(smoke["study"]), budget="smoke", storage=smoke["url"], data=str(smoke["data"]),
                       quiet=True)
    assert again.ran == 0
    study = optuna.load_study(study_name="ais-smoke", storage=smoke["url"])
    assert not study.get_trials(states=(TrialState.WAITING,))


def test_trial_over_a_hard_budget_is_priced_not_trained(tmp_path, tiny_data):
    # A 0.01 mm^2 sensor: every baseline (0.115 mm^2 of pixels alone) breaks the budget.
    study = tiny_ais_study(tmp_path / "study", **{"sensor_area_mm2 = 2.0": "sensor_area_mm2 = 0.01"})
    url = f"sqlite:///{tmp_path / 'b.db'}"
    s = run_search(str(study), budget="smoke", storage=url, data=str(tiny_data), quiet=True, trials=2)
    assert (s.complete, s.failed) == (2, 0)
    study = optuna.load_study(study_name="ais-smoke", storage=url)
    assert len(study.get_trials(states=(TrialState.WAITING,))) == 3  # the other baselines wait their turn
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        a = t.user_attrs
        assert a["skipped_training"] == "over budget: sensor_area_mm2"
        assert "train" not in a and "clean_accuracy" not in a
        assert a["feasible"] is False
        assert a["constraints"]["sensor_area_mm2"] == pytest.approx(a["ppa"]["sensor_area_mm2"] - 0.01)
        assert t.values == [0.0, a["ppa"]["energy_pj"], a["ppa"]["sensor_area_mm2"]]


def test_invalid_combination_is_rejected_before_training_with_the_reason(tmp_path, tiny_data):
    import torch

    rs = load_study("ais", "smoke")
    params = dict(rs.config.enqueue[1].params, pooled_stages=2, num_stages=2)
    for k in ("depth_3", "kernel_3", "fan_in_3", "bits_3"):
        params.pop(k)
    trial = optuna.trial.FixedTrial(params)
    runner = TrialRunner(rs, data_path=str(tiny_data), device=torch.device("cpu"), provenance={}, progress=False)
    with pytest.raises(AisnasError, match="invalid architecture: pooled_stages 2 must be below num_stages 2"):
        runner(trial)
    assert trial.user_attrs["failure_reason"].startswith("AisnasError: invalid architecture: pooled_stages 2")
    assert "train" not in trial.user_attrs and runner._splits is None  # nothing loaded, nothing trained


def test_export_rebuilds_with_the_recorded_clean_accuracy(smoke, tmp_path, capsys):
    out = tmp_path / "export"
    code = main(["export", "--study", str(smoke["study"]), "--budget", "smoke", "--storage", smoke["url"],
                 "--trial", "1", "--out", str(out), "--data", str(smoke["data"]), "--quiet"])
    assert code == 0
    recorded = smoke["trials"][1].user_attrs
    assert sorted(p.name for p in out.iterdir()) == ["arch.toml", "export.json", "hardware.json",
                                                     "weights.safetensors"]
    assert load_arch(out / "arch.toml").arch_id == recorded["arch_id"]
    rec = json.loads((out / "export.json").read_text())
    assert rec["clean_accuracy"] == {"recorded": recorded["clean_accuracy"], "reproduced": recorded["clean_accuracy"]}
    assert rec["noisy_accuracy"]["reproduced"] == recorded["noisy_accuracy"]
    # Rebuilt from the files alone, the weights score exactly the recorded accuracy.
    check = check_export(out, data=str(smoke["data"]), device="cpu")
    assert check["clean_accuracy"] == recorded["clean_accuracy"] and check["images"] == 40
    spec, model = load_export(out)
    weights = load_file(str(out / "weights.safetensors"))
    assert set(weights) == set(model.state_dict()) and spec.arch_id == recorded["arch_id"]
    hw = json.loads((out / "hardware.json").read_text())
    assert hw["hardware"] == "p2m" and hw["in_sensor_layers"] == 0 and hw["boundary"]["after_layer"] is None
    assert hw["boundary"]["adc_conversions"] == 32 * 32 * 3  # nothing in the sensor: every photosite
    assert hw["totals"]["energy_pj"] == pytest.approx(smoke["trials"][1].values[1])
    assert [layer["name"] for layer in hw["layers"]][:2] == ["s1.c1", "s1.c2"]
    assert main(["export", "--check", str(out), "--data", str(smoke["data"]), "--device", "cpu"]) == 0
    assert "same as the recorded" in capsys.readouterr().out


def test_export_of_a_sampled_trial_with_quantized_weights_and_an_adc(smoke, tmp_path):
    # Trial 5 (sampler seed 0) has QAT weights, depthwise units, skips, pooled stages and an
    # ADC quantizer in the model: all of it must survive the state dict round trip.
    t = smoke["trials"][5]
    assert "train" in t.user_attrs and t.user_attrs["arch"]["adc_bits"]
    assert any(st.get("weight_bits") for st in t.user_attrs["arch"]["stages"])
    out = tmp_path / "sampled"
    r = export_trial(str(smoke["study"]), trial=5, out=out, budget="smoke", storage=smoke["url"],
                     data=str(smoke["data"]), device="cpu")
    assert r.clean_reproduced == r.clean_recorded == t.user_attrs["clean_accuracy"]
    assert check_export(out, data=str(smoke["data"]), device="cpu")["clean_accuracy"] == r.clean_recorded
    weights = load_file(str(out / "weights.safetensors"))
    assert any(k.endswith("parametrizations.weight.original") for k in weights)  # QAT kept as trained
    assert any(k.endswith("full_scale") for k in weights)  # the ADC's calibrated range


def test_export_of_an_in_sensor_trial_maps_the_boundary(tmp_path):
    from aisnas.export import hardware_mapping

    rs = load_study("ais")
    values = dict(rs.config.enqueue[1].params, in_sensor_layers=2, adc_bits=6, bits_1=4)
    values.pop("input_variant")
    spec = rs.space.build(values)
    hw = hardware_mapping(spec, "p2m", "M")
    assert hw["in_sensor_layers"] == 2 and hw["boundary"]["after_layer"] == "s1.c2"
    assert hw["boundary"]["adc_bits"] == 6 and hw["boundary"]["adc_conversions"] == 32 * 32 * 16
    assert "demosaic" not in hw["isp_stages"]  # the network sees the mosaic
    first = hw["layers"][0]
    assert first["in_sensor"] and first["trained_weight_bits"] == 4 and first["weight_bits"] == 4
    # P2M holds one copy of the weights per output pixel: 3*3*3*16 weights x 1024 x 4 bits.
    assert first["onsensor_weight_bits"] == 432 * 1024 * 4 and first["replication"] == 1024
    assert hw["onsensor_weight_bits"] == sum(layer["onsensor_weight_bits"] for layer in hw["layers"])


def test_export_refuses_what_it_cannot_reproduce(smoke, tmp_path):
    kw = dict(budget="smoke", storage=smoke["url"], data=str(smoke["data"]))
    with pytest.raises(AisnasError, match="has no trial 99"):
        export_trial(str(smoke["study"]), trial=99, out=tmp_path / "a", **kw)
    with pytest.raises(AisnasError, match="no study 'ais' in"):
        export_trial(str(smoke["study"]), trial=1, out=tmp_path / "a", budget="default", storage=smoke["url"])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(AisnasError, match="is not empty"):
        export_trial(str(smoke["study"]), trial=1, out=tmp_path / "full", **kw)
    assert main(["export", "--study", "ais"]) == 2
