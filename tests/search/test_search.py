"""Searches end to end on a tiny dataset: trials, records, resume, refusal, failures."""

import dataclasses
import json

import optuna
import pytest
from optuna.trial import TrialState

from aisnas.cli import main
from aisnas.errors import AisnasError
from aisnas.search import BUDGETS, builtin_path, list_studies, load_study, run_search


@pytest.mark.parametrize("name", list_studies())
def test_every_builtin_study_loads_at_every_budget(name):
    from aisnas.configs import from_dict, load_toml
    from aisnas.search import StudyConfig

    cfg = from_dict(StudyConfig, load_toml(builtin_path("studies", name)), source=name)
    assert cfg.budgets, f"{name} defines no budgets"
    for budget in BUDGETS:
        if budget in cfg.budgets:
            rs = load_study(name, budget)
            assert rs.name == (name if budget == "default" else f"{name}-{budget}")
            assert len(rs.config_hash) == 16
    assert "smoke" in cfg.budgets and "default" in cfg.budgets


def test_budget_overrides_apply():
    smoke, default = load_study("fanin", "smoke"), load_study("fanin", "default")
    assert smoke.config.data.train_size < default.config.data.train_size
    assert smoke.config.seeds == 1 and default.config.seeds == 3
    assert smoke.config_hash != default.config_hash


def _storage(tmp_path):
    return f"sqlite:///{tmp_path / 'study.db'}"


def test_tiny_search_records_everything_and_resumes(tiny_study, tiny_data, tmp_path, capsys):
    url = _storage(tmp_path)
    s = run_search(str(tiny_study), storage=url, data=str(tiny_data), quiet=True)
    assert (s.complete, s.failed, s.ran) == (2, 0, 2)
    study = optuna.load_study(study_name="tiny", storage=url)
    assert study.metric_names == ["noisy_accuracy", "clean_accuracy"]
    assert study.user_attrs["config_hash"] and study.user_attrs["budget"] == "default"
    for t in study.trials:
        a = t.user_attrs
        assert t.values == [a["noisy_accuracy"], a["clean_accuracy"]]
        assert {"seed", "arch", "arch_id", "counts", "provenance", "config_hash", "noisy", "train", "seconds"} <= set(a)
        assert {"code_version", "torch", "optuna", "device"} <= set(a["provenance"])
        assert [n["sigma"] for n in a["noisy"]] == [0.0, 0.4] and a["noisy"][1]["repeats"] == 2
        assert a["noise_mode"] == "relative"
        assert a["counts"]["macs"] > 0
    assert {t.params["variant"] for t in study.trials} == {"k3", "k5"}
    out = capsys.readouterr().out
    assert "aisnas report --study tiny" in out and "aisnas dashboard" in out
    # Running it again continues the same study: nothing left to do, nothing lost.
    again = run_search(str(tiny_study), storage=url, data=str(tiny_data), quiet=True)
    assert (again.complete, again.ran) == (2, 0)


def test_same_seed_same_result(tiny_study, tiny_data, tmp_path):
    a = run_search(str(tiny_study), storage=f"sqlite:///{tmp_path / 'a.db'}", data=str(tiny_data), quiet=True)
    b = run_search(str(tiny_study), storage=f"sqlite:///{tmp_path / 'b.db'}", data=str(tiny_data), quiet=True)
    assert a.complete == b.complete == 2
    va = [t.values for t in optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'a.db'}").trials]
    vb = [t.values for t in optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'b.db'}").trials]
    assert va == vb


def test_changed_study_file_is_refused_not_mixed(tiny_study, tiny_data, tmp_path):
    url = _storage(tmp_path)
    run_search(str(tiny_study), storage=url, data=str(tiny_data), quiet=True, trials=1)
    tiny_study.write_text(tiny_study.read_text().replace("epochs = 1", "epochs = 2"))
    with pytest.raises(AisnasError, match="different configuration"):
        run_search(str(tiny_study), storage=url, data=str(tiny_data), quiet=True)
    trials = optuna.load_study(study_name="tiny", storage=url).trials
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 1  # nothing ran, nothing lost
    assert trials[0].state == TrialState.COMPLETE


def test_interrupted_trial_is_marked_failed_and_its_grid_point_rerun(tiny_study, tiny_data, tmp_path):
    url = _storage(tmp_path)
    run_search(str(tiny_study), storage=url, data=str(tiny_data), quiet=True, trials=1)
    # A killed process leaves its trial RUNNING: the second grid point waits; start it.
    study = optuna.load_study(study_name="tiny", storage=url)
    t = study.ask()
    assert t.params == {"variant": "k5", "seed": 0} or study.trials[t.number].system_attrs["fixed_params"]
    assert study.trials[t.number].state == TrialState.RUNNING
    s = run_search(str(tiny_study), storage=url, data=str(tiny_data), quiet=True)
    study = optuna.load_study(study_name="tiny", storage=url)
    states = {tr.number: tr.state for tr in study.trials}
    assert states[t.number] == TrialState.FAIL
    assert "interrupted" in study.trials[t.number].user_attrs["failure_reason"]
    assert (s.complete, s.failed, s.ran) == (2, 1, 1)  # the first kept, the interrupted point run again
    assert sorted(tr.params["variant"] for tr in study.trials if tr.state == TrialState.COMPLETE) == ["k3", "k5"]


def test_failed_trial_keeps_its_reason_and_the_study_goes_on(tiny_study, tiny_data, tmp_path):
    space = tiny_study.parent / "space.toml"
    space.write_text(space.read_text().replace("args = { kernel = 5 }", "args = { kernel = 4 }"))
    url = _storage(tmp_path)
    s = run_search(str(tiny_study), storage=url, data=str(tiny_data), quiet=True)
    assert (s.complete, s.failed) == (1, 1)
    failed = [t for t in optuna.load_study(study_name="tiny", storage=url).trials if t.state == TrialState.FAIL]
    assert "kernel" in failed[0].user_attrs["failure_reason"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (("[eval]", "[eval]\nsigmaz = 1"), "unknown key 'eval.sigmaz'"),
        (("repeats = 2", "repeats = \"two\""), "eval.repeats"),
        (("sigmas = [0.0, 0.4]", "sigmas = [0.0, -0.4]"), "negative"),
        (("[eval]", "[eval]\nbits = [1]"), "bits"),
        (("seeds = 1", "seeds = [1"), "malformed TOML.*line"),
        (("metric = \"clean_accuracy\"", "metric = \"speed\""), "metric"),
    ],
)
def test_bad_study_files_give_one_line_errors(tiny_study, tiny_data, tmp_path, capsys, edit, message):
    tiny_study.write_text(tiny_study.read_text().replace(*edit, 1))
    url = _storage(tmp_path)
    code = main(["search", "--study", str(tiny_study), "--storage", url, "--data", str(tiny_data), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "tiny.toml" in err
    import re

    assert re.search(message, err), err


def test_empty_space_and_unknown_study_are_refused(tiny_study, capsys):
    (tiny_study.parent / "space.toml").write_text('kind = "variants"\n')
    assert main(["search", "--study", str(tiny_study)]) == 2
    assert "search space is empty" in capsys.readouterr().err
    assert main(["search", "--study", "nosuchstudy"]) == 2
    err = capsys.readouterr().err
    assert "unknown study 'nosuchstudy'" in err and "fanin" in err


def test_studies_command_lists_builtins(capsys):
    assert main(["studies"]) == 0
    out = capsys.readouterr().out
    assert "fanin:" in out and "--budget smoke" in out and "kernel:" in out


def test_fanin_smoke_end_to_end_on_cifar10(tmp_path, capsys):
    """The issue's command: fanin smoke on the real dataset, at least 3 complete trials."""
    from pathlib import Path

    data = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cifar10-jpg"
    if not data.is_dir():
        pytest.skip(f"{data} is not present")
    url = f"sqlite:///{tmp_path / 'smoke.db'}"
    code = main(["search", "--study", "fanin", "--budget", "smoke", "--storage", url, "--data", str(data),
                 "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "3 complete" in out and "aisnas report --study fanin --budget smoke" in out
    study = optuna.load_study(study_name="fanin-smoke", storage=url)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(done) >= 3
    assert {t.params["variant"] for t in done} == {"fan-in 1", "fan-in 1/2", "fan-in 1/4"}
    # Brief training, but clearly above chance (10 classes).
    assert max(t.user_attrs["clean_accuracy"] for t in done) > 0.15


def test_ppa_compare_prices_each_trial_on_every_listed_profile(tiny_study, tiny_data, tmp_path):
    text = tiny_study.read_text().replace("[sampler]", '[ppa]\nhardware = "p2m"\ncompare = ["scamp5", "conventional"]\n\n[sampler]')
    text = text.replace('seeds = 1', 'seeds = 1\n')
    tiny_study.write_text(text)
    space = tiny_study.parent / "space.toml"
    space.write_text(space.read_text().replace("args = { kernel = 3 }", "args = { kernel = 3, in_sensor_layers = 2 }"))
    url = _storage(tmp_path)
    run_search(str(tiny_study), storage=url, data=str(tiny_data), quiet=True, trials=1)
    t = [t for t in optuna.load_study(study_name="tiny", storage=url).trials if t.state == TrialState.COMPLETE][0]
    by = t.user_attrs["ppa_by_profile"]
    assert set(by) == {"scamp5", "conventional"}
    # In-sensor depth 2 on scamp5: the ADCs convert the second conv's outputs (32x32x4 at width 0.25);
    # the conventional sensor has no analog compute and digitizes every photosite.
    assert by["scamp5"]["adc_conversions"] == 32 * 32 * 4
    assert by["conventional"]["adc_conversions"] == 32 * 32 * 3


def test_rerun_does_not_enqueue_waiting_grid_points_twice(tiny_study, tiny_data, tmp_path):
    url = _storage(tmp_path)
    run_search(str(tiny_study), storage=url, data=str(tiny_data), quiet=True, trials=1)  # k5 left waiting
    s = run_search(str(tiny_study), storage=url, data=str(tiny_data), quiet=True)
    trials = optuna.load_study(study_name="tiny", storage=url).trials
    assert (s.ran, s.complete, len(trials)) == (1, 2, 2)
    assert sorted(t.params["variant"] for t in trials) == ["k3", "k5"]
