"""The sam study: arms x seeds on a shared baseline, records for the report, errors."""

import optuna
import pytest

from aisnas.cli import main
from aisnas.errors import AisnasError
from aisnas.finetune import format_arms, summarize_arms
from aisnas.search import load_study, run_search


def test_shipped_sam_study_resolves_per_budget():
    smoke, default = load_study("sam", "smoke"), load_study("sam")
    assert default.config.protocol == "finetune" and default.space.labels == ["SGD", "SAM", "ASAM", "NAT"]
    assert (smoke.config.train.epochs, smoke.config.finetune.epochs) == (1, 1)
    assert (default.config.train.optimizer, default.config.finetune.epochs, default.config.seeds) == ("sgd", 2, 3)
    assert default.config.eval.bits == (8, 6, 4, 3, 2)
    assert set(default.config.eval.noise_kinds) == {"additive", "correlated", "multiplicative"}
    assert default.space.variant("ASAM").train == {"optimizer": "asam", "rho": 0.5}


def test_sam_smoke_study_runs_every_arm_on_one_baseline_per_seed(shrink_study, tiny_data, tmp_path, capsys):
    study = shrink_study("sam", tmp_path, smoke={"seeds": 2, "width": 0.0625, "train_size": 50, "val_size": 20,
                                                 "epochs": 1, "finetune_epochs": 1, "repeats": 1},
                         train={"batch_size": 25, "bn_recalibration": 50},
                         eval={"sigmas": [0.0, 0.4], "bits": [8, 4], "calibration_size": 50})
    url = f"sqlite:///{tmp_path / 'sam.db'}"
    s = run_search(str(study), budget="smoke", storage=url, data=str(tiny_data), quiet=True)
    assert (s.complete, s.failed) == (8, 0)
    trials = optuna.load_study(study_name="sam-smoke", storage=url).trials
    for t in trials:
        a = t.user_attrs
        assert {(n["kind"], n["sigma"]) for n in a["noisy"]} == {
            (k, s) for k in ("additive", "correlated", "multiplicative") for s in (0.0, 0.4)}
        assert set(a["quantized"]) == {"8", "4"} and 0 <= a["clean_accuracy"] <= 1
        assert a["noisy_accuracy"] == next(n["mean"] for n in a["noisy"] if (n["kind"], n["sigma"]) == ("additive", 0.4))
        f = a["finetune"]
        assert f["arm"] == a["label"] == t.params["variant"]
        expected = {"SGD": ("sgd", None, 0.0), "SAM": ("sam", 0.05, 0.0), "ASAM": ("asam", 0.5, 0.0),
                    "NAT": ("sgd", None, 0.4)}[a["label"]]
        assert (f["optimizer"], f["rho"], f["noise_sigma"]) == expected == (a["train"]["optimizer"],
                                                                             a["train"]["rho"], f["noise_sigma"])
    for seed in (0, 1):
        arms = [t.user_attrs["finetune"]["baseline"] for t in trials if t.params["seed"] == seed]
        assert len({b["key"] for b in arms}) == 1 and [b["cached"] for b in arms].count(False) == 1
    summary = summarize_arms(optuna.load_study(study_name="sam-smoke", storage=url))
    assert summary["reference"] == "SGD" and summary["arms"]["SAM"]["seeds"] == [0, 1]
    sam = {t.params["seed"]: t.user_attrs for t in trials if t.params["variant"] == "SAM"}
    sgd = {t.params["seed"]: t.user_attrs for t in trials if t.params["variant"] == "SGD"}
    diff = summary["arms"]["SAM"]["vs_reference"]["4bit"]
    per_seed = [sam[s]["quantized"]["4"] - sgd[s]["quantized"]["4"] for s in (0, 1)]
    assert diff["mean"] == pytest.approx(sum(per_seed) / 2) and diff["n"] == 2
    assert "paired difference to SGD" in format_arms(summary)
    capsys.readouterr()
    assert main(["analyze", "--study", str(study), "--budget", "smoke", "--storage", url]) == 0
    assert "correlated@0.4" in capsys.readouterr().out


@pytest.mark.parametrize("edit, message", [
    (("protocol = \"finetune\"", "protocol = \"transfer\""), "protocol: 'transfer'"),
    (("[finetune]", "[finetuned]"), "unknown key 'finetuned'"),
])
def test_bad_protocol_settings_are_one_line_errors(shrink_study, tmp_path, edit, message):
    study = shrink_study("sam", tmp_path, smoke={"seeds": 1})
    study.write_text(study.read_text().replace(*edit, 1))
    with pytest.raises(AisnasError, match=message) as e:
        load_study(str(study), "smoke")
    assert str(study) in str(e.value) and "\n" not in str(e.value)


def test_an_arm_with_an_unknown_recipe_key_is_refused(tmp_path):
    space = tmp_path / "arms.toml"
    space.write_text('kind = "variants"\n[[variants]]\nlabel = "SAM"\narch = "cnn3"\ntrain = { optimiser = "sam" }\n')
    from aisnas.search import load_space

    with pytest.raises(AisnasError, match="arms.toml.*variants\\[0\\].train: unknown key 'optimiser'"):
        load_space(space)
