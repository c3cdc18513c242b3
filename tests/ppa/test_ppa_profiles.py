"""Built-in profiles load; edited copies fail with one line naming the file and key."""

import re

import pytest

from aisnas.errors import AisnasError
from aisnas.ppa import HardwareProfile, list_profiles, load_profile, profile_path


def test_builtin_profiles():
    assert {"p2m", "scamp5", "conventional"} <= set(list_profiles())
    p2m, scamp, conv = (load_profile(n) for n in ("p2m", "scamp5", "conventional"))
    assert isinstance(p2m, HardwareProfile) and p2m.name == "p2m"
    assert p2m.storage.replication == "per_pixel" and not p2m.storage.streamed
    assert scamp.storage.replication == "broadcast" and scamp.storage.streamed
    assert not conv.has_analog and conv.storage is None


@pytest.mark.parametrize("name", list_profiles())
def test_every_number_in_a_builtin_profile_has_a_source_or_assumption(name):
    # The files are the documentation: a bare number is a bug.
    for i, line in enumerate(profile_path(name).read_text().splitlines(), 1):
        if re.match(r"^\s*\w+\s*=\s*[-\d.]", line):
            assert "#" in line, f"{name}.toml:{i} has a number without a source: {line!r}"


def test_unknown_profile_lists_builtins():
    with pytest.raises(AisnasError, match="conventional, p2m, scamp5"):
        load_profile("p3m")


def _copy(tmp_path, edit):
    text = profile_path("p2m").read_text()
    path = tmp_path / "mine.toml"
    path.write_text(edit(text))
    return path


def test_a_copied_profile_loads_and_changes_results(tmp_path):
    from aisnas.arch import create_arch
    from aisnas.ppa import estimate_ppa

    path = _copy(tmp_path, lambda t: t.replace("fom_fj_per_step = 100.0", "fom_fj_per_step = 50.0"))
    mine = load_profile(str(path))
    assert mine.adc.fom_fj_per_step == 50.0
    spec = create_arch("cnn3")
    ours, theirs = (estimate_ppa(spec, p, in_sensor_layers=1) for p in (mine, "p2m"))
    assert ours.totals["energy_by_component_pj"]["adc"] == pytest.approx(
        theirs.totals["energy_by_component_pj"]["adc"] / 2
    )


def test_unknown_key_in_a_copy_names_file_and_key(tmp_path):
    path = _copy(tmp_path, lambda t: t.replace("[adc]\n", "[adc]\nbogus = 1\n"))
    with pytest.raises(AisnasError) as e:
        load_profile(str(path))
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and "adc.bogus" in msg


def test_wrong_type_in_a_copy_names_file_and_key(tmp_path):
    path = _copy(tmp_path, lambda t: re.sub(r"count = 32 ", 'count = "many" ', t))
    with pytest.raises(AisnasError) as e:
        load_profile(str(path))
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and "adc.count" in msg


def test_bad_values_in_a_copy_are_rejected(tmp_path):
    path = _copy(tmp_path, lambda t: t.replace("pixel_readout_pj = 10.0", "pixel_readout_pj = -1.0"))
    with pytest.raises(AisnasError, match=r"sensor\.pixel_readout_pj"):
        load_profile(str(path))
    path = _copy(tmp_path, lambda t: t.replace("[routing]", "[not_routing]").replace("wire_cap_ff_per_mm", "x"))
    with pytest.raises(AisnasError, match="not_routing"):
        load_profile(str(path))
    # In-sensor sections go together.
    text = profile_path("p2m").read_text()
    start, end = text.index("[routing]"), text.index("[storage]")
    path = _copy(tmp_path, lambda t: t[:start] + t[end:])
    with pytest.raises(AisnasError, match="go together"):
        load_profile(str(path))
