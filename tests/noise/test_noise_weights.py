"""Weight (programming) noise and PCM drift: one draw per chip, exact restoration."""

import math

import pytest
import torch
from torch import nn

from aisnas.errors import AisnasError
from aisnas.noise import NoiseInjector, NoiseSpec


def model_and_input():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU()
    ).eval()
    return model, torch.randn(2, 3, 10, 10)


def weights(model):
    return [m.weight.detach().clone() for m in model.modules() if isinstance(m, nn.Conv2d)]


def test_weight_noise_once_per_chip_redraw_and_exact_restore():
    model, x = model_and_input()
    clean_w, clean_y = weights(model), model(x)
    spec = NoiseSpec("weight", 0.05)
    with NoiseInjector(model, spec, seed=0) as inj:
        y1, y2 = model(x), model(x)
        chip1 = weights(model)
        inj.redraw()
        y3 = model(x)
    assert torch.equal(y1, y2) and not torch.equal(y1, y3) and not torch.equal(y1, clean_y)
    assert all(torch.equal(a, b) for a, b in zip(weights(model), clean_w))
    assert torch.equal(model(x), clean_y)
    # Perturbation std = sigma * max|W| of each layer (64*64*9 = 36864 draws: SE ~0.4%).
    big_delta, big_w = chip1[1] - clean_w[1], clean_w[1]
    assert big_delta.std().item() == pytest.approx(0.05 * big_w.abs().max().item(), rel=0.02)
    assert abs(big_delta.mean().item()) < 5 * 0.05 * big_w.abs().max().item() / math.sqrt(big_w.numel())
    # Same seed, same chip.
    with NoiseInjector(model, spec, seed=0):
        assert torch.equal(model(x), y1)
    with NoiseInjector(model, spec, seed=1):
        assert not torch.equal(model(x), y1)


def test_weight_noise_restores_on_error_and_respects_in_sensor():
    model, x = model_and_input()
    clean_w = weights(model)
    with pytest.raises(RuntimeError, match="boom"):
        with NoiseInjector(model, NoiseSpec("weight", 0.1), seed=0):
            raise RuntimeError("boom")
    assert all(torch.equal(a, b) for a, b in zip(weights(model), clean_w))
    model.aisnas_in_sensor_layers = 1
    with NoiseInjector(model, NoiseSpec("weight", 0.1, sites="in_sensor"), seed=0):
        w = weights(model)
    assert not torch.equal(w[0], clean_w[0]) and torch.equal(w[1], clean_w[1])


def test_optimizer_step_inside_a_weight_context_is_refused():
    model, x = model_and_input()
    clean_w = weights(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(AisnasError, match="step the optimizer after"):
        with NoiseInjector(model, NoiseSpec("weight", 0.1), seed=0):
            model(x).square().mean().backward()
            opt.step()
    assert all(torch.equal(a, b) for a, b in zip(weights(model), clean_w))


def test_noise_aware_step_after_the_context_lands_on_clean_weights():
    model, x = model_and_input()
    clean_w = weights(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with NoiseInjector(model, NoiseSpec("weight", 0.1), seed=0):
        model(x).square().mean().backward()  # gradients at the noisy point
    opt.step()
    stepped = weights(model)
    w0 = model[0].weight
    # On the clean weights (up to rounding), far from the noisy ones (~0.1 * max|W| away).
    torch.testing.assert_close(stepped[0], clean_w[0] - 0.01 * w0.grad, rtol=0, atol=1e-6)


def test_drift_at_t0_is_a_no_op_and_shrinks_exactly_without_spread():
    model, x = model_and_input()
    clean_w, clean_y = weights(model), model(x)
    with NoiseInjector(model, NoiseSpec("drift", 0.5, drift_time_s=20.0), seed=0):
        assert torch.equal(model(x), clean_y)
    t, t0, nu = 3600.0, 20.0, 0.05
    with NoiseInjector(model, NoiseSpec("drift", 0.0, drift_time_s=t, drift_t0_s=t0, drift_nu=nu), seed=0):
        drifted = weights(model)
    factor = (t / t0) ** (-nu)  # 180^-0.05 = 0.7713
    assert factor == pytest.approx(0.7713, abs=1e-4)
    assert all(torch.equal(d, w * factor) for d, w in zip(drifted, clean_w))
    assert all(torch.equal(a, b) for a, b in zip(weights(model), clean_w))


def test_drift_sigma_is_the_relative_spread_of_nu():
    model, x = model_and_input()
    clean = weights(model)[1].double()
    t, t0, nu, sigma = 1e5, 20.0, 0.05, 0.2  # clipping at nu = 0 is a 5-sigma event here
    with NoiseInjector(model, NoiseSpec("drift", sigma, drift_time_s=t, drift_nu=nu), seed=0) as inj:
        drifted = weights(model)[1].double()
        inj.redraw()
        redrawn = weights(model)[1].double()
    keep = clean.abs() > 1e-6
    nus = -torch.log(drifted[keep] / clean[keep]) / math.log(t / t0)
    assert nus.mean().item() == pytest.approx(nu, rel=0.01)
    assert nus.std().item() == pytest.approx(sigma * nu, rel=0.03)
    assert (drifted[keep] / clean[keep] > 0).all()  # sign (differential pair) preserved
    assert not torch.equal(drifted, redrawn)


def test_redraw_outside_the_context_is_an_error():
    model, _ = model_and_input()
    inj = NoiseInjector(model, NoiseSpec("weight", 0.1), seed=0)
    with pytest.raises(AisnasError, match="redraw"):
        inj.redraw()
    with inj, pytest.raises(AisnasError, match="already active"):
        inj.__enter__()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"seed": 1, "generator": torch.Generator()}, "seed/generator"),
        ({"seed": "1"}, "seed:"),
        ({"generator": 3}, "generator:"),
    ],
)
def test_bad_injector_arguments(kwargs, match):
    model, _ = model_and_input()
    with pytest.raises(AisnasError, match=match):
        NoiseInjector(model, NoiseSpec("weight", 0.1), **kwargs)
    with pytest.raises(AisnasError, match="spec:"):
        NoiseInjector(model, {"kind": "weight"})


def test_nested_programming_noise_then_drift_restores_in_order():
    model, x = model_and_input()
    clean_w = weights(model)
    with NoiseInjector(model, NoiseSpec("weight", 0.05), seed=0):
        programmed = weights(model)
        with NoiseInjector(model, NoiseSpec("drift", 0.0), seed=1):
            factor = (3600.0 / 20.0) ** (-0.05)
            assert all(torch.equal(d, p * factor) for d, p in zip(weights(model), programmed))
        assert all(torch.equal(a, b) for a, b in zip(weights(model), programmed))
    assert all(torch.equal(a, b) for a, b in zip(weights(model), clean_w))
