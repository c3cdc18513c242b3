"""Fine-tuning arms from a cached baseline: SAM/ASAM steps by hand, caching, determinism."""

import json
import math
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from aisnas.arch import ArchSpec, StageSpec
from aisnas.experiment import EvalConfig
from aisnas.finetune import baseline_key, finetune_experiment
from aisnas.train import TrainConfig

W0 = ((0.5, -0.3), (0.2, 0.4))
X = ((1.0, 2.0), (-1.0, 0.5))
Y = (0, 1)


@dataclass(frozen=True)
class LinearSpec:
    """A 2-input, 2-class linear classifier: small enough to differentiate by hand."""

    name: str = "linear"

    @property
    def arch_id(self) -> str:
        return "linear2x2"

    def build(self) -> nn.Module:
        return nn.Linear(2, 2, bias=False)

    def totals(self) -> dict:
        return {"macs": 4, "params": 4, "activations": 2, "conv_layers": 0}


def _grad(w):
    """d/dW of the mean cross-entropy over (X, Y) at W, by hand."""
    g = [[0.0, 0.0], [0.0, 0.0]]
    for x, y in zip(X, Y):
        z = [w[c][0] * x[0] + w[c][1] * x[1] for c in range(2)]
        p = [math.exp(v) / sum(math.exp(u) for u in z) for v in z]
        for c in range(2):
            for j in range(2):
                g[c][j] += (p[c] - (c == y)) * x[j] / len(X)
    return g


def _sam_by_hand(rho, lr, adaptive, eta=0.01):
    g = _grad(W0)
    t = [[abs(v) + eta if adaptive else 1.0 for v in row] for row in W0]
    norm = math.sqrt(sum((t[c][j] * g[c][j]) ** 2 for c in range(2) for j in range(2)))
    w_adv = [[W0[c][j] + rho * t[c][j] ** 2 * g[c][j] / norm for j in range(2)] for c in range(2)]
    g_adv = _grad(w_adv)
    return [[W0[c][j] - lr * g_adv[c][j] for j in range(2)] for c in range(2)]


def _splits():
    x, y = torch.tensor(X), torch.tensor(Y)
    return SimpleNamespace(x_train=x, y_train=y, x_val=x, y_val=y, x_test=x[:0], y_test=y[:0])


@pytest.mark.parametrize("optimizer, rho", [("sam", 0.1), ("asam", 0.5), ("sgd", None)])
def test_one_finetune_step_equals_hand_computation(tmp_path, optimizer, rho):
    spec, splits = LinearSpec(), _splits()
    base_cfg = TrainConfig(optimizer="sgd", steps=1)
    # The baseline comes from the cache: put known weights there.
    key = baseline_key(spec, splits, base_cfg, 0)
    torch.save({"weight": torch.tensor(W0)}, tmp_path / f"{key}.pt")
    (tmp_path / f"{key}.json").write_text(json.dumps({"key": key}))
    arm = TrainConfig(optimizer=optimizer, rho=rho, steps=1, batch_size=2, lr=0.5, momentum=0.0, nesterov=False,
                      weight_decay=0.0, schedule="constant", augment=False, channels_last=False)
    ev = EvalConfig(sigmas=(0.0,), objective_sigma=0.0, repeats=1)
    model, res, info = finetune_experiment(spec, splits, base_cfg, arm, ev, seed=0, cache_dir=tmp_path)
    expected = _sam_by_hand(rho, 0.5, optimizer == "asam") if rho else \
        [[W0[c][j] - 0.5 * _grad(W0)[c][j] for j in range(2)] for c in range(2)]
    got = model.weight.detach().flatten().tolist()
    assert got == pytest.approx([v for row in expected for v in row], abs=1e-6)
    assert got != pytest.approx([v for row in W0 for v in row], abs=1e-3)  # the step moved the weights
    assert info["baseline"]["cached"] is True and info["optimizer"] == optimizer and info["rho"] == rho
    assert res.train["optimizer"] == optimizer and res.train["steps"] == 1


def _conv_splits(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 8, 8, generator=g)
    y = (x[:, 0].mean(dim=(1, 2)) > 0).long()
    return SimpleNamespace(x_train=x, y_train=y, x_val=x[:16], y_val=y[:16], x_test=x[:0], y_test=y[:0])


def test_baseline_is_trained_once_shared_by_arms_and_resumes_identically(tmp_path):
    spec = ArchSpec(stages=(StageSpec(depth=1, channels=4), StageSpec(depth=1, channels=8)), input_size=8,
                    num_classes=2)
    splits = _conv_splits()
    base = TrainConfig(optimizer="sgd", steps=3, batch_size=16, augment=False, channels_last=False)
    ev = EvalConfig(sigmas=(0.0, 0.4), repeats=2, bits=(4,))

    def arm(opt, **kw):
        return TrainConfig(optimizer=opt, steps=2, batch_size=16, lr=0.01, schedule="cosine", augment=False, **kw)

    m1, r1, i1 = finetune_experiment(spec, splits, base, arm("sam"), ev, seed=1, cache_dir=tmp_path)
    m2, r2, i2 = finetune_experiment(spec, splits, base, arm("sgd", noise_sigma=0.2), ev, seed=1, cache_dir=tmp_path)
    m3, r3, i3 = finetune_experiment(spec, splits, base, arm("sam"), ev, seed=1, cache_dir=tmp_path)
    assert (i1["baseline"]["cached"], i2["baseline"]["cached"], i3["baseline"]["cached"]) == (False, True, True)
    assert i1["baseline"]["key"] == i2["baseline"]["key"] == i3["baseline"]["key"]
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".pt"]
    # Fine-tuning right after training the baseline, or from the cache: the same numbers.
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m3.state_dict().values()))
    assert (r1.clean_accuracy, r1.noisy, r1.quantized) == (r3.clean_accuracy, r3.noisy, r3.quantized)
    assert not torch.equal(m1.stages[0].conv.weight if hasattr(m1, "stages") else next(m1.parameters()),
                           next(m2.parameters()))
    assert i2["noise_sigma"] == 0.2 and i2["noise_kind"] == "additive" and i1["noise_kind"] is None
    # Another seed or recipe is another baseline.
    _, _, i4 = finetune_experiment(spec, splits, base, arm("sgd"), ev, seed=2, cache_dir=tmp_path)
    assert i4["baseline"]["key"] != i1["baseline"]["key"] and i4["baseline"]["cached"] is False


def test_a_damaged_cache_entry_is_retrained_not_trusted(tmp_path):
    spec, splits = LinearSpec(), _splits()
    base = TrainConfig(optimizer="sgd", steps=1, augment=False, channels_last=False)
    key = baseline_key(spec, splits, base, 0)
    (tmp_path / f"{key}.pt").write_bytes(b"not a checkpoint")
    (tmp_path / f"{key}.json").write_text("{}")
    arm = TrainConfig(optimizer="sgd", steps=1, augment=False, channels_last=False)
    ev = EvalConfig(sigmas=(0.0,), objective_sigma=0.0, repeats=1)
    _, _, info = finetune_experiment(spec, splits, base, arm, ev, seed=0, cache_dir=tmp_path)
    assert info["baseline"]["cached"] is False and info["baseline"]["key"] == key
    assert torch.load(tmp_path / f"{key}.pt", weights_only=True)["weight"].shape == (2, 2)
