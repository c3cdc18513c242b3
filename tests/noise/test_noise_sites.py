"""Site finding: conv -> following BN, any torch CNN, and the in-sensor scope."""

import pytest
import torch
from nasbench_pytorch.model import ModelSpec, Network
from torch import nn

from aisnas.errors import AisnasError
from aisnas.noise import NoiseInjector, NoiseSpec, find_noise_sites

NB_MATRIX = [
    [0, 1, 1, 1, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
NB_OPS = ["input", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "output"]


class Unit(nn.Module):
    """An aisnas-style unit: children conv, bn, act in that order."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.Softplus()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


def small_sequential():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),  # no BN: the conv itself is the site
        nn.ReLU(),
        Unit(8, 16),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


def test_sequential_sites_follow_the_bn_rule():
    sites = find_noise_sites(small_sequential())
    assert [(n, type(m).__name__) for n, m in sites] == [
        ("1", "BatchNorm2d"),
        ("3", "Conv2d"),
        ("5.bn", "BatchNorm2d"),
    ]


def record_site_outputs(sites):
    """Hooks around the injector's: before sees the clean site output, after the noisy one."""
    seen = {name: {"calls": 0, "changed": False} for name, _ in sites}
    before = {}
    handles = []
    for name, module in sites:

        def pre(m, a, out, name=name):
            before[name] = out.detach().clone()

        def post(m, a, out, name=name):
            seen[name]["calls"] += 1
            seen[name]["changed"] |= not torch.equal(out, before[name])

        handles.append(module.register_forward_hook(pre, prepend=True))
        handles.append(module.register_forward_hook(post))
    return seen, handles


def test_nasbench_network_every_conv_reached_at_its_bn():
    torch.manual_seed(0)
    net = Network(ModelSpec(NB_MATRIX, NB_OPS), stem_out_channels=8, num_stacks=1, num_modules_per_stack=1).eval()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    sites = find_noise_sites(net)
    assert len(sites) == len(convs) == 9  # stem + 4 vertex convs + 4 input projections
    assert all(isinstance(m, nn.BatchNorm2d) for _, m in sites)
    # Each site's BN is the sibling right after one of the convs.
    parents = [dict(p.named_children()) for p in net.modules() if isinstance(p, nn.Sequential)]
    assert sorted(id(p["1"]) for p in parents) == sorted(id(m) for _, m in sites)

    x = torch.randn(2, 3, 16, 16)
    with NoiseInjector(net, NoiseSpec("additive", 0.5, mode="absolute"), seed=0):
        seen, handles = record_site_outputs(sites)
        net(x)
    for h in handles:
        h.remove()
    assert all(v["calls"] == 1 and v["changed"] for v in seen.values()), seen


def test_in_sensor_scope_takes_the_first_n_sites():
    torch.manual_seed(0)
    model = small_sequential().eval()
    model.aisnas_in_sensor_layers = 2
    assert [n for n, _ in find_noise_sites(model, "in_sensor")] == ["1", "3"]
    all_sites = find_noise_sites(model)
    with NoiseInjector(model, NoiseSpec("additive", 0.5, mode="absolute", sites="in_sensor"), seed=0):
        seen, handles = record_site_outputs(all_sites)
        model(torch.randn(2, 3, 8, 8))
    for h in handles:
        h.remove()
    assert {n: v["changed"] for n, v in seen.items()} == {"1": True, "3": True, "5.bn": False}


def test_in_sensor_needs_a_valid_attribute():
    model = small_sequential()
    with pytest.raises(AisnasError, match="aisnas_in_sensor_layers"):
        find_noise_sites(model, "in_sensor")
    with pytest.raises(AisnasError, match="aisnas_in_sensor_layers"):
        NoiseInjector(model, NoiseSpec(sites="in_sensor"))
    model.aisnas_in_sensor_layers = 4  # only 3 convs
    with pytest.raises(AisnasError, match="aisnas_in_sensor_layers: got 4"):
        find_noise_sites(model, "in_sensor")
    model.aisnas_in_sensor_layers = 0
    assert find_noise_sites(model, "in_sensor") == []


def test_bad_scope_and_bad_model():
    with pytest.raises(AisnasError, match="sites: 'first'"):
        find_noise_sites(small_sequential(), "first")
    with pytest.raises(AisnasError, match="model:"):
        find_noise_sites("vgg")
