"""CRIP colour constants, the reverse tone curve, C/RC reversibility, noise and ADC."""

import math

import pytest
import torch

from aisnas.errors import AisnasError
from aisnas.raw import apply_variant
from aisnas.raw import _color as col

F64 = torch.float64


def test_published_matrices_agree_with_each_other():
    ts = torch.tensor(col.TS, dtype=F64)
    wb = torch.tensor(col.WB_FLUORESCENT, dtype=F64)
    tstw = torch.tensor(col.TSTW, dtype=F64)
    inv = torch.tensor(col.TSTW_INV, dtype=F64)
    # Published to 6 decimals, so agreement is to ~1e-6.
    torch.testing.assert_close(ts @ torch.diag(wb), tstw, atol=1e-5, rtol=0)
    torch.testing.assert_close(tstw @ inv, torch.eye(3, dtype=F64), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.inv(tstw), inv, atol=1e-5, rtol=0)
    # A non-negative inverse is why CRIP's max(0, .) clamp never fires on [0,1] inputs.
    assert bool((inv >= 0).all())


def test_reverse_tone_curve_passes_through_crip_anchor():
    x = torch.tensor([0.0, 127 / 255, 1.0], dtype=F64)
    torch.testing.assert_close(col.reverse_tone(x), torch.tensor([0.0, 0.094, 1.0], dtype=F64))
    assert 3.5 < col.TONE_GAMMA < 3.8


def test_reverse_tone_is_monotone_darker_than_srgb_and_inverted_exactly():
    x = torch.linspace(0, 1, 1001, dtype=F64)
    y = col.reverse_tone(x)
    assert bool((y[1:] > y[:-1]).all())
    srgb = torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)  # IEC 61966-2-1 decoding
    assert bool((y[1:-1] < srgb[1:-1]).all())
    torch.testing.assert_close(col.forward_tone(y), x, atol=1e-12, rtol=0)


def test_tone_toe_joins_the_power_branch_smoothly():
    # Value and slope match at the knee, so the curve has no kink and the forward
    # curve has a finite slope (1 / TONE_TOE_SLOPE) at black.
    k, eps = col.TONE_KNEE, 1e-7
    x = torch.tensor([k - eps, k, k + eps], dtype=F64)
    y = col.reverse_tone(x)
    assert (y[2] - y[1]).item() / eps == pytest.approx(col.TONE_TOE_SLOPE, rel=1e-4)
    assert (y[1] - y[0]).item() / eps == pytest.approx(col.TONE_TOE_SLOPE, rel=1e-9)
    tiny = torch.tensor([1e-16], dtype=F64)
    assert col.forward_tone(tiny).item() < 1e-12


def _colour_cube(levels=(0.0, 0.003, 0.05, 0.2, 0.5, 0.9, 1.0)) -> torch.Tensor:
    """Every RGB combination of `levels` (saturated and dark colours included), [1,3,7,49]."""
    g = torch.tensor(levels)
    r, gg, b = torch.meshgrid(g, g, g, indexing="ij")
    return torch.stack([r, gg, b]).reshape(1, 3, len(levels), -1)


def test_c_then_rc_restores_every_colour_within_1e_5():
    # The clamp in C is inactive on all of [0,1]^3 (non-negative inv(TsTw)), so the
    # whole colour cube, saturated and near-black colours included, must come back.
    x = torch.cat([_colour_cube(), torch.rand(1, 3, 7, 49, generator=torch.Generator().manual_seed(0))])
    restored = apply_variant(x, "C+RC")
    assert (restored - x).abs().max().item() < 1e-5


def test_c_gives_dark_greenish_raw():
    grey = torch.full((1, 3, 4, 4), 127 / 255)
    raw = apply_variant(grey, "C")[0, :, 0, 0]
    assert raw.max().item() < 0.1  # mid grey becomes ~0.094 * row sums of inv(TsTw)
    assert raw[1] > raw[0] and raw[1] > raw[2]  # green dominates: raw looks greenish
    white = apply_variant(torch.ones(1, 3, 2, 2), "C")
    assert white.max().item() < 0.97


def test_sqrt_stage_is_monotone_and_keeps_zero():
    x = torch.linspace(0, 1, 64).repeat(1, 3, 64, 1)  # [1,3,64,64], a ramp along W
    y = apply_variant(x, "C+S")
    assert bool((y[..., 1:] >= y[..., :-1]).all())
    assert bool((y[..., 1:] > y[..., :-1]).any())
    assert apply_variant(torch.zeros(1, 3, 2, 2), "S").abs().max().item() == 0.0
    torch.testing.assert_close(apply_variant(x, "C+S") ** 2, apply_variant(x, "C"), atol=1e-6, rtol=0)


def test_sensor_noise_follows_crip_model():
    raw = torch.full((1, 3, 200, 200), 0.5, dtype=F64)
    gen = torch.Generator().manual_seed(1)
    diff = (col.add_sensor_noise(raw, gen) - raw) * col.NOISE_SCALE
    v = 0.5 * col.NOISE_SCALE
    for ch in range(3):
        expected = math.sqrt(col.NOISE_A[ch] * v + col.NOISE_B[ch])
        assert diff[0, ch].std().item() == pytest.approx(expected, rel=0.03)
        assert abs(diff[0, ch].mean().item()) < 0.1 * expected


def test_sensor_noise_is_reproducible_by_generator():
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))

    def noisy(seed):
        return apply_variant(x, "C", sensor_noise=True, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(noisy(3), noisy(3))
    assert not torch.equal(noisy(3), noisy(4))
    assert noisy(3).min().item() >= 0 and noisy(3).max().item() <= 1


def test_adc_bits_quantize_the_raw_readout():
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    y = apply_variant(x, "C", adc_bits=2)
    assert set(torch.round(y * 3).unique().tolist()) <= {0.0, 1.0, 2.0, 3.0}
    torch.testing.assert_close(y * 3, torch.round(y * 3), atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(sensor_noise=True), "need C"),
        (dict(adc_bits=12), "need C"),
    ],
)
def test_sensor_options_need_c(kw, match):
    with pytest.raises(AisnasError, match=match):
        apply_variant(torch.zeros(1, 3, 2, 2), "M+RM", **kw)


@pytest.mark.parametrize("bits", [0, 17, True, 2.5])
def test_bad_adc_bits_rejected(bits):
    with pytest.raises(AisnasError, match="adc_bits"):
        apply_variant(torch.zeros(1, 3, 2, 2), "C", adc_bits=bits)
