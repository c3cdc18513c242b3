"""aisnas.evaluation: accuracy, noise grids on shared draws, and the stacked injector.

The stacked path's contract is exact: level k of a stacked forward is what a
single-level NoiseInjector with the same seed gives on the un-stacked batch.
"""

import pytest
import torch
from torch import nn

from aisnas.arch import ArchSpec, StageSpec
from aisnas.errors import AisnasError
from aisnas.evaluation import (
    accuracy,
    eval_batch_size,
    noise_sweep,
    noisy_accuracy,
    stacked_noisy_accuracy,
)
from aisnas.noise import NoiseInjector, NoiseSpec


def small_net(seed=0):
    torch.manual_seed(seed)
    spec = ArchSpec(stages=(StageSpec(depth=2, channels=8), StageSpec(depth=1, channels=16)), input_size=16)
    return spec.build().eval()


def identity_conv(channels=2):
    conv = nn.Conv2d(channels, channels, 1, bias=False, groups=channels)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    return conv.eval()


class FixedLogits(nn.Module):
    """Predicts class (sum of the image's pixels) mod 3: accuracy is countable by hand."""

    def forward(self, x):
        return nn.functional.one_hot(x.flatten(1).sum(1).long() % 3, 3).float()


def test_accuracy_counts_top1_matches_across_batches():
    x = torch.arange(10, dtype=torch.float32).view(10, 1, 1, 1)  # predictions 0 1 2 0 1 2 0 1 2 0
    y = torch.tensor([0, 1, 2, 0, 0, 0, 0, 0, 0, 0])  # right at indices 0-3, 6 and 9
    assert accuracy(FixedLogits(), x, y, batch_size=3) == pytest.approx(0.6)
    assert accuracy(FixedLogits(), x, y) == pytest.approx(0.6)


def test_eval_batch_is_small_on_cpu():
    assert eval_batch_size(torch.device("cpu")) == 128


@pytest.mark.parametrize("kind", ["additive", "multiplicative", "correlated"])
def test_stacked_levels_equal_single_level_runs_with_the_same_seed(kind):
    model = small_net()
    x = torch.randn(6, 3, 16, 16)
    cal = torch.randn(16, 3, 16, 16)
    spec = NoiseSpec(kind, 0.3)
    with torch.no_grad():
        with NoiseInjector(model, spec, seed=11, calibration=cal, sigmas=(0.1, 0.5, 0.9)):
            stacked = model(x.repeat(3, 1, 1, 1))
        for k, sigma in enumerate((0.1, 0.5, 0.9)):
            with NoiseInjector(model, NoiseSpec(kind, sigma), seed=11, calibration=cal):
                single = model(x)
            torch.testing.assert_close(stacked[6 * k:6 * (k + 1)], single, rtol=0, atol=1e-5)
    clean = model(x)
    assert not torch.allclose(stacked[12:], clean, atol=1e-3)  # the noise is really there


def test_stacked_noise_is_one_draw_scaled_per_level():
    conv = identity_conv()
    x = torch.full((4, 2, 8, 8), 2.0)  # RMS 2: relative scale = 2 * sigma
    with torch.no_grad():
        with NoiseInjector(conv, NoiseSpec("additive", 0.0), seed=3, calibration=x, sigmas=(0.1, 0.3)):
            out = conv(x.repeat(2, 1, 1, 1))
    low, high = out[:4] - 2.0, out[4:] - 2.0
    torch.testing.assert_close(high, 3.0 * low, rtol=1e-4, atol=1e-6)  # same eps, 3x the level
    assert low.std().item() == pytest.approx(0.2, rel=0.15)  # 512 draws of std 0.1 * RMS 2


def test_stacked_accuracy_equals_noisy_accuracy_per_level():
    model = small_net(1)
    x, y = torch.randn(40, 3, 16, 16), torch.randint(0, 10, (40,))
    cal = x[:16]
    specs = [NoiseSpec("additive", s) for s in (0.2, 0.6)]
    stacked = stacked_noisy_accuracy(model, x, y, specs, repeats=3, seed=4, calibration=cal, batch_size=20)
    for spec, got in zip(specs, stacked):
        ref = noisy_accuracy(model, x, y, spec, repeats=3, seed=4, calibration=cal, batch_size=10)
        assert got.values == ref.values
        assert got.repeats == 3 and got.shared_draws_with == (0.2, 0.6)
        assert got.mean == pytest.approx(sum(ref.values) / 3)


def test_noise_sweep_keeps_order_groups_kinds_and_keeps_weight_noise_separate():
    model = small_net(2)
    x, y = torch.randn(30, 3, 16, 16), torch.randint(0, 10, (30,))
    specs = [NoiseSpec("additive", 0.0), NoiseSpec("additive", 0.4), NoiseSpec("weight", 0.1),
             NoiseSpec("multiplicative", 0.3), NoiseSpec("additive", 0.2)]
    out = noise_sweep(model, x, y, specs, repeats=2, seed=1, calibration=x[:8])
    assert [(r.kind, r.sigma) for r in out] == [(s.kind, s.sigma) for s in specs]
    assert out[0].values == (accuracy(model, x, y),) * 2 and out[0].std == 0.0
    given = noise_sweep(model, x, y, specs[:1], repeats=2, seed=1, clean=0.123)  # measured elsewhere
    assert given[0].values == (0.123, 0.123)
    assert out[1].shared_draws_with == (0.4, 0.2) and out[4].shared_draws_with == (0.4, 0.2)
    assert out[2].shared_draws_with == () and out[3].shared_draws_with == ()  # weight; a group of one
    # The additive group's seed comes from its first position (1): as if run alone.
    alone = stacked_noisy_accuracy(model, x, y, [specs[1], specs[4]], repeats=2, seed=1 * 1000 + 1,
                                   calibration=x[:8])
    assert (out[1].values, out[4].values) == (alone[0].values, alone[1].values)


@pytest.mark.parametrize("sigmas", [(), (0.1, 0.0), (0.2, -1.0), (True, 0.2), ("a",), (float("nan"),)])
def test_bad_stacked_levels_are_one_line_errors(sigmas):
    with pytest.raises(AisnasError, match="sigmas"):
        NoiseInjector(identity_conv(), NoiseSpec("additive", 0.1, mode="absolute"), seed=0, sigmas=sigmas)


def test_stacked_levels_refuse_weight_noise_training_and_unstacked_batches():
    conv = identity_conv()
    with pytest.raises(AisnasError, match="activation noise"):
        NoiseInjector(conv, NoiseSpec("weight", 0.1), seed=0, sigmas=(0.1, 0.2))
    spec = NoiseSpec("additive", 0.1, mode="absolute")
    x = torch.randn(3, 2, 4, 4)
    with NoiseInjector(conv, spec, seed=0, sigmas=(0.1, 0.2)), torch.no_grad():
        with pytest.raises(AisnasError, match="not 2 stacked copies"):
            conv(x)
    conv.train()
    with NoiseInjector(conv, spec, seed=0, sigmas=(0.1, 0.2)):
        with pytest.raises(AisnasError, match="for evaluation"):
            conv(x[:2])


def test_stacked_accuracy_refuses_settings_that_differ_beyond_sigma():
    x, y = torch.randn(4, 3, 16, 16), torch.randint(0, 10, (4,))
    mixed = [NoiseSpec("additive", 0.2), NoiseSpec("additive", 0.4, mode="absolute")]
    with pytest.raises(AisnasError, match="differs only in sigma"):
        stacked_noisy_accuracy(small_net(), x, y, mixed, repeats=1, seed=0, calibration=x)
