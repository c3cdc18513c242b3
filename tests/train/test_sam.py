"""SAM and ASAM steps against hand computations on a two-weight linear model."""

import copy
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from aisnas.train import SAM, TrainConfig, TrainingDiverged, recalibrate_bn, train


def _toy():
    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 2.0]]))
    x = torch.tensor([[1.0, 1.0]])
    return model, x


def _loss(model, x):
    return (model(x) ** 2).sum()  # target 0: L = (w1 + w2)^2


def _sam_step(adaptive: bool, rho: float, lr: float):
    model, x = _toy()
    opt = SAM(model, torch.optim.SGD(model.parameters(), lr=lr), rho=rho, adaptive=adaptive, eta=0.01)
    _loss(model, x).backward()
    opt.perturb()
    perturbed = model.weight.detach().clone()
    opt.zero_grad()
    _loss(model, x).backward()
    opt.step()
    return perturbed[0].tolist(), model.weight.detach()[0].tolist()


def test_sam_step_equals_hand_computation():
    # L = (w1 + w2)^2 at w = (1, 2): g = 2 * 3 * (1, 1) = (6, 6), ||g|| = 6 * sqrt(2).
    rho, lr = 0.1, 0.01
    e = rho * 6 / (6 * math.sqrt(2))  # 0.0707107 on each weight
    w_adv = (1 + e, 2 + e)
    g_adv = 2 * (w_adv[0] + w_adv[1])  # gradient at w + e, same on both weights
    perturbed, updated = _sam_step(adaptive=False, rho=rho, lr=lr)
    assert perturbed == pytest.approx(list(w_adv), abs=1e-6)
    assert updated == pytest.approx([1 - lr * g_adv, 2 - lr * g_adv], abs=1e-6)
    assert updated == pytest.approx([0.9371716, 1.9371716], abs=1e-6)


def test_asam_step_equals_hand_computation():
    # T = |w| + eta = (1.01, 2.01); e = rho * T^2 g / ||T g||.
    rho, lr, g = 0.5, 0.01, 6.0
    t = (1.01, 2.01)
    norm = math.sqrt((t[0] * g) ** 2 + (t[1] * g) ** 2)
    e = (rho * t[0] ** 2 * g / norm, rho * t[1] ** 2 * g / norm)
    w_adv = (1 + e[0], 2 + e[1])
    g_adv = 2 * (w_adv[0] + w_adv[1])
    perturbed, updated = _sam_step(adaptive=True, rho=rho, lr=lr)
    assert perturbed == pytest.approx(list(w_adv), abs=1e-6)
    assert updated == pytest.approx([1 - lr * g_adv, 2 - lr * g_adv], abs=1e-6)


def test_sam_restores_weights_exactly_before_the_base_step():
    model, x = _toy()
    opt = SAM(model, torch.optim.SGD(model.parameters(), lr=0.0), rho=0.3)
    before = model.weight.detach().clone()
    _loss(model, x).backward()
    opt.perturb()
    assert not torch.equal(model.weight, before)
    _loss(model, x).backward()
    opt.step()  # lr 0: the only change would be a residue of the perturbation
    assert torch.equal(model.weight, before)


def _splits(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 8, 8, generator=g)
    y = (x[:, 0].mean(dim=(1, 2)) > 0).long()
    return SimpleNamespace(x_train=x, y_train=y, x_val=x[:16], y_val=y[:16])


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.Softplus(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


def test_sam_second_pass_does_not_update_bn_running_stats():
    splits = _splits()
    model = _net()
    ref = copy.deepcopy(model)
    with torch.no_grad():
        expected = 0.1 * ref[0](splits.x_train).mean(dim=(0, 2, 3))  # momentum 0.1, first pass only
    cfg = TrainConfig(optimizer="sam", steps=1, batch_size=64, augment=False, channels_last=False,
                      schedule="constant", lr=0.01, bn_recalibration=0)
    train(model, splits, cfg, seed=0)
    assert torch.allclose(model[1].running_mean, expected, atol=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "sam", "asam"])
def test_train_learns_a_separable_toy_task_and_is_seeded(optimizer):
    splits = _splits(256)
    cfg = TrainConfig(optimizer=optimizer, epochs=15, batch_size=32, augment=False, channels_last=False, lr=0.05)
    a, b = _net(), _net()
    ra = train(a, splits, cfg, seed=3)
    rb = train(b, splits, cfg, seed=3)
    assert ra.loss_curve == rb.loss_curve  # same seed, same machine: same result
    assert ra.loss_curve[-1] < ra.loss_curve[0]
    assert ra.train_acc_curve[-1] > 0.8
    assert ra.rho == {"sgd": None, "sam": 0.05, "asam": 0.5}[optimizer]
    assert ra.steps == 15 * 8


def test_non_finite_loss_stops_with_a_reason():
    splits = _splits()
    model = _net()
    cfg = TrainConfig(optimizer="sgd", steps=3, batch_size=64, augment=False, channels_last=False, lr=1e30,
                      schedule="constant")
    with pytest.raises(TrainingDiverged, match="non-finite loss at step"):
        train(model, splits, cfg, seed=0)


def test_bn_recalibration_sets_exact_batch_statistics():
    splits = _splits(96)
    model = _net()
    with torch.no_grad():
        model[1].running_mean.fill_(5.0)  # stale statistics from "earlier weights"
        h = model[0](splits.x_train)
    recalibrate_bn(model, splits.x_train, batch_size=32)
    # Cumulative average over three equal batches = the mean over all 96 images.
    assert torch.allclose(model[1].running_mean, h.mean(dim=(0, 2, 3)), atol=1e-5)
    assert model[1].momentum == 0.1 and not model.training


def test_noise_aware_training_validates_clean_and_differs_from_plain_training():
    splits = _splits(128)
    base = dict(optimizer="sgd", epochs=2, batch_size=32, augment=False, channels_last=False, bn_recalibration=0)
    noisy, plain = _net(), _net()
    r = train(noisy, splits, TrainConfig(noise_sigma=0.5, **base), seed=0)  # validation runs each epoch
    train(plain, splits, TrainConfig(**base), seed=0)
    assert len(r.val_acc_curve) == 2
    assert not torch.equal(noisy[0].weight, plain[0].weight)  # the injected noise changed the gradients
