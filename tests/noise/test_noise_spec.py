"""NoiseSpec validation and its record: bad values fail in one line naming the field."""

import json

import pytest

from aisnas.configs import from_dict
from aisnas.errors import AisnasError
from aisnas.noise import NOISE_KINDS, NoiseSpec, NoiseSpecError


def test_defaults_are_relative_all_sites_and_aihwkit_drift():
    spec = NoiseSpec()
    assert (spec.kind, spec.sigma, spec.mode, spec.sites) == ("additive", 0.0, "relative", "all")
    assert (spec.drift_t0_s, spec.drift_nu) == (20.0, 0.05)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"sigma": -0.1}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"sigma": True}, "sigma"),
        ({"kind": "pink"}, "kind"),
        ({"mode": "percent"}, "mode"),
        ({"sites": "first"}, "sites"),
        ({"correlation_length": 0}, "correlation_length"),
        ({"drift_t0_s": 0}, "drift_t0_s"),
        ({"drift_nu": -0.01}, "drift_nu"),
        ({"drift_time_s": 10.0}, "drift_time_s"),  # before t0 = 20 s
    ],
)
def test_bad_fields_raise_one_line_naming_the_field(kwargs, field):
    with pytest.raises(NoiseSpecError) as e:
        NoiseSpec(**kwargs)
    assert isinstance(e.value, AisnasError) and isinstance(e.value, ValueError)
    msg = str(e.value)
    assert msg.startswith(f"{field}:") and "\n" not in msg


def test_unknown_kind_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="kind: 'pink' is not one of 'additive'"):
        NoiseSpec(kind="pink")


def test_from_dict_names_the_file_and_field():
    with pytest.raises(AisnasError, match=r"^studies/x\.toml: noise\.sigma: got -1\.0, must be >= 0$"):
        from_dict(NoiseSpec, {"sigma": -1}, source="studies/x.toml", prefix="noise.")
    assert from_dict(NoiseSpec, {"kind": "weight", "sigma": 1}).sigma == 1.0


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_describe_records_every_field_as_json(kind):
    spec = NoiseSpec(kind=kind, sigma=0.2, mode="absolute")
    record = json.loads(json.dumps(spec.describe()))
    for name in ("kind", "sigma", "mode", "correlation_length", "drift_time_s", "drift_t0_s", "drift_nu", "sites"):
        assert record[name] == getattr(spec, name)
    assert record["sigma_meaning"]
    assert NoiseSpec(**{k: v for k, v in record.items() if k != "sigma_meaning"}) == spec


def test_identity_specs():
    assert NoiseSpec("additive", 0.0).is_identity
    assert NoiseSpec("weight", 0.0).is_identity
    assert not NoiseSpec("drift", 0.0).is_identity  # sigma is the spread of nu, the drift remains
    assert NoiseSpec("drift", 0.3, drift_time_s=20.0).is_identity
