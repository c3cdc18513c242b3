"""`aisnas ppa`: tables, JSON with the documented keys, one-line errors."""

import json

import pytest

from aisnas.arch import create_arch, save_arch
from aisnas.cli import main
from aisnas.ppa import list_profiles

LAYER_KEYS = {"name", "macs", "params", "activations", "fan_in", "in_sensor"}
TOTAL_KEYS = {"energy_pj", "sensor_area_mm2", "adc_conversions", "onsensor_weight_bits", "latency_us", "edp"}


@pytest.mark.parametrize("profile", list_profiles())
def test_json_for_vgg13_on_every_profile(profile, capsys):
    assert main(["ppa", "--arch", "vgg13", "--hardware", profile, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["layers"]) == 11 and all(LAYER_KEYS <= set(layer) for layer in out["layers"])
    assert TOTAL_KEYS <= set(out["totals"])
    assert out["profile"] == profile and out["totals"]["macs"] == sum(layer["macs"] for layer in out["layers"])


def test_table_and_depth(capsys):
    assert main(["ppa", "--arch", "cnn3", "--in-sensor-layers", "2", "--width", "1.0"]) == 0
    out = capsys.readouterr().out
    assert "2 of 6 conv layers in the sensor" in out
    assert "2,359,296" in out and "ADC conversions     16,384" in out


def test_profile_file_and_arch_file(tmp_path, capsys):
    from aisnas.ppa import profile_path

    prof = tmp_path / "mine.toml"
    prof.write_text(profile_path("scamp5").read_text())
    arch = save_arch(create_arch("cnn3"), tmp_path / "arch.toml")
    assert main(["ppa", "--arch", str(arch), "--hardware", str(prof), "--in-sensor-layers", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["totals"]["adc_conversions"] == 16384
    # --width is for presets only.
    assert main(["ppa", "--arch", str(arch), "--width", "0.5"]) == 2


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--arch", "vgg13", "--in-sensor-layers", "99"], "outside 0..10"),
        (["--arch", "cnn3", "--hardware", "conventional", "--in-sensor-layers", "1"], "no analog compute"),
        (["--arch", "cnn3", "--hardware", "nope"], "built-in: conventional, p2m, scamp5"),
        (["--arch", "nope"], "unknown architecture"),
        (["--arch", "cnn3", "--isp", "demosaic,warp"], "warp"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys):
    assert main(["ppa", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
