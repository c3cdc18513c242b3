"""Activation noise (additive, correlated, multiplicative) against hand-computed statistics.

The probe model is a single 1x1 conv with weight 1 and no bias, so its output (the
only site) is its input: the noise is exactly `noisy - x`.
"""

import math

import pytest
import torch
from torch import nn

from aisnas.errors import AisnasError
from aisnas.noise import NoiseInjector, NoiseSpec, calibrate_rms


def identity_conv(channels=1):
    conv = nn.Conv2d(channels, channels, 1, bias=False, groups=channels)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    return conv.eval()


def noise_of(model, x, spec, seed=0, calibration=None):
    with torch.no_grad():
        clean = model(x)
        with NoiseInjector(model, spec, seed=seed, calibration=calibration):
            noisy = model(x)
    return noisy - clean


def lag_corr(n, lag, dim=-1):
    a = n.narrow(dim, 0, n.shape[dim] - lag).flatten().double()
    b = n.narrow(dim, lag, n.shape[dim] - lag).flatten().double()
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


def test_additive_absolute_mean_zero_std_sigma():
    x = torch.full((16, 1, 64, 64), 3.0)  # n = 65536: SE(mean) = sigma/256, SE(std) ~ 0.3%
    n = noise_of(identity_conv(), x, NoiseSpec("additive", 0.2, mode="absolute"))
    assert abs(n.mean().item()) < 5 * 0.2 / 256
    assert n.std().item() == pytest.approx(0.2, rel=0.015)
    assert abs(lag_corr(n, 1)) < 0.02  # i.i.d.: no neighbour correlation


def test_additive_relative_std_is_sigma_times_calibrated_rms():
    torch.manual_seed(0)
    x = torch.randn(16, 1, 64, 64) * 2.0 + 1.0  # RMS = sqrt(4 + 1)
    rms = calibrate_rms(identity_conv(), x, "all")[""]
    assert rms == pytest.approx(math.sqrt(5.0), rel=0.01)
    n = noise_of(identity_conv(), x, NoiseSpec("additive", 0.1), calibration=x)
    assert n.std().item() == pytest.approx(0.1 * rms, rel=0.015)


def test_relative_noise_to_signal_unchanged_when_layer_rescaled():
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Softplus()).eval()
    with torch.no_grad():
        conv[1].running_mean.uniform_(-0.2, 0.2)
    x = torch.randn(8, 3, 16, 16)
    probe = nn.Sequential(conv[0], conv[1])  # the site output is the BN output
    spec = NoiseSpec("additive", 0.3)
    base = noise_of(probe, x, spec, seed=7, calibration=x) / probe(x).detach().square().mean().sqrt()
    with torch.no_grad():  # hardware-equivalent rescaling: BN gamma and beta x10
        conv[1].weight.mul_(10.0)
        conv[1].bias.mul_(10.0)
    scaled = noise_of(probe, x, spec, seed=7, calibration=x) / probe(x).detach().square().mean().sqrt()
    torch.testing.assert_close(scaled, base, rtol=1e-4, atol=1e-6)
    # In absolute mode the same rescaling buys a 10x better SNR.
    a = NoiseSpec("additive", 0.3, mode="absolute")
    assert noise_of(probe, x, a).std().item() == pytest.approx(0.3, rel=0.05)


def test_correlated_std_and_neighbour_correlation_match_gaussian_smoothing():
    length = 2.0
    x = torch.zeros(8, 4, 64, 64)
    n = noise_of(identity_conv(4), x, NoiseSpec("correlated", 0.5, mode="absolute", correlation_length=length))
    assert abs(n.mean().item()) < 0.02
    assert n.std().item() == pytest.approx(0.5, rel=0.05)  # ~2.6k independent patches
    # No padding artefacts: border rows have the same spread as the interior.
    assert n[:, :, 0, :].std().item() == pytest.approx(0.5, rel=0.1)
    for lag in (1, 2, 4):
        theory = math.exp(-(lag**2) / (4 * length**2))  # 0.939, 0.779, 0.368
        assert lag_corr(n, lag, dim=-1) == pytest.approx(theory, abs=0.04)
        assert lag_corr(n, lag, dim=-2) == pytest.approx(theory, abs=0.04)
    # Channels are independent fields.
    assert abs(lag_corr(n, 1, dim=1)) < 0.05


def test_correlated_relative_uses_calibrated_rms():
    x = torch.full((8, 1, 48, 48), -2.0)  # RMS 2
    n = noise_of(identity_conv(), x, NoiseSpec("correlated", 0.1, correlation_length=1.0), calibration=x)
    assert n.std().item() == pytest.approx(0.2, rel=0.05)


def test_multiplicative_std_scales_with_signal_and_ignores_mode():
    x = torch.ones(16, 1, 64, 64)
    x[:, :, :, 32:] = -10.0
    spec = NoiseSpec("multiplicative", 0.1)
    n = noise_of(identity_conv(), x, spec)  # relative mode yet no calibration needed
    assert n[..., :32].std().item() == pytest.approx(0.1, rel=0.02)
    assert n[..., 32:].std().item() == pytest.approx(1.0, rel=0.02)
    assert abs(n.mean().item()) < 0.02
    absolute = noise_of(identity_conv(), x, NoiseSpec("multiplicative", 0.1, mode="absolute"))
    assert torch.equal(n, absolute)
    zero = torch.zeros(1, 1, 8, 8)
    assert torch.equal(noise_of(identity_conv(), zero, spec), zero)


@pytest.mark.parametrize("kind", ["additive", "correlated", "multiplicative", "weight", "drift"])
def test_sigma_zero_is_bit_identical(kind):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 3)).eval()
    x = torch.randn(4, 3, 12, 12)
    clean = model(x)
    t = 20.0 if kind == "drift" else 3600.0  # drift's sigma is its spread: t = t0 is its no-op
    with NoiseInjector(model, NoiseSpec(kind, 0.0, drift_time_s=t)):  # no calibration needed
        assert torch.equal(model(x), clean)
    model.train()
    clean_train = model(x)
    with NoiseInjector(model, NoiseSpec(kind, 0.0, drift_time_s=t)):
        assert torch.equal(model(x), clean_train)


@pytest.mark.parametrize("kind", ["additive", "correlated", "multiplicative"])
def test_same_seed_same_noise_different_seed_different(kind):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 3)).eval()
    x = torch.randn(4, 3, 12, 12)
    spec = NoiseSpec(kind, 0.2)
    a = noise_of(model, x, spec, seed=1, calibration=x)
    b = noise_of(model, x, spec, seed=1, calibration=x)
    c = noise_of(model, x, spec, seed=2, calibration=x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    # An explicit generator with the same seed gives the same stream; the global RNG
    # is neither used nor disturbed.
    state = torch.get_rng_state()
    with torch.no_grad():
        clean = model(x)
        with NoiseInjector(model, spec, generator=torch.Generator().manual_seed(1), calibration=x):
            e = model(x) - clean
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(e, a)
    # Each forward draws afresh; re-entering with a seed restarts the stream.
    inj = NoiseInjector(model, spec, seed=3, calibration=x)
    with torch.no_grad():
        with inj:
            f1, f2 = model(x), model(x)
        with inj:
            f3 = model(x)
    assert not torch.equal(f1, f2) and torch.equal(f1, f3)


def test_eval_relative_without_calibration_is_an_error():
    model = identity_conv()
    with pytest.raises(AisnasError, match="calibration"):
        with NoiseInjector(model, NoiseSpec("additive", 0.1)):
            pass
    # Entered in training mode, then switched to eval inside: the hook says the same.
    model.train()
    with NoiseInjector(model, NoiseSpec("additive", 0.1), seed=0):
        model.eval()
        with pytest.raises(AisnasError, match="calibration"):
            model(torch.ones(1, 1, 2, 2))


def test_training_mode_uses_batch_rms_and_keeps_clean_gradients():
    conv = identity_conv()
    conv.train()
    x = torch.full((16, 1, 64, 64), 4.0, requires_grad=True)
    with NoiseInjector(conv, NoiseSpec("additive", 0.05), seed=0):  # no calibration: batch RMS
        y = conv(x)
        y.square().sum().backward()
    noise = (y - x).detach()
    assert noise.std().item() == pytest.approx(0.05 * 4.0, rel=0.015)
    # d/dx (x + s*eps)^2 = 2*y exactly: the noise and its detached scale carry no grad.
    torch.testing.assert_close(x.grad, 2 * y.detach())
    # Multiplicative: the gradient flows through the grad-free factor (1 + s*eps).
    x.grad = None
    with NoiseInjector(conv, NoiseSpec("multiplicative", 0.05), seed=0):
        y = conv(x)
        y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach() / 4.0)


def test_training_relative_noise_cannot_be_dodged_by_scale():
    conv = identity_conv()
    conv.train()
    x = torch.randn(8, 1, 32, 32)
    with torch.no_grad(), NoiseInjector(conv, NoiseSpec("additive", 0.2), seed=0):
        r1 = (conv(x) - x) / x.square().mean().sqrt()
    with torch.no_grad():
        conv.weight.mul_(10.0)
    with torch.no_grad(), NoiseInjector(conv, NoiseSpec("additive", 0.2), seed=0):
        r10 = (conv(x) - 10 * x) / (10 * x).square().mean().sqrt()
    torch.testing.assert_close(r10, r1, rtol=1e-4, atol=1e-5)


def test_calibration_leaves_training_flags_and_bn_stats_alone():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    model[1].eval()  # a frozen BN inside a training model stays frozen
    stats = model[1].running_mean.clone()
    rms = calibrate_rms(model, torch.randn(300, 3, 8, 8), "all", batch_size=128)
    assert list(rms) == ["1"] and rms["1"] > 0
    assert model.training and model[0].training and not model[1].training
    assert torch.equal(model[1].running_mean, stats)


@pytest.mark.parametrize("kind", ["additive", "correlated", "multiplicative"])
def test_channels_last_and_low_precision_are_preserved(kind):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)).eval()
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(4, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        clean = model(x)
        with NoiseInjector(model, NoiseSpec(kind, 0.2), seed=0, calibration=x):
            noisy = model(x)
    assert noisy.is_contiguous(memory_format=torch.channels_last)
    ratio = ((noisy - clean) / (clean if kind == "multiplicative" else clean.square().mean().sqrt())).std()
    assert ratio.item() == pytest.approx(0.2, rel=0.15)
    model = model.to(torch.bfloat16).train()  # relative noise from the batch RMS in bf16
    with NoiseInjector(model, NoiseSpec(kind, 0.2), seed=0):
        out = model(x.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()
