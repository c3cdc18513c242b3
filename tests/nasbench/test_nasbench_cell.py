"""NAS-Bench-101 cells: validity, exact counts (by hand and by hooks), softplus, noise sites."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from aisnas.nasbench import MAX_EDGES, MAX_VERTICES, CellSpec, cell_at, check_cell, sample_cells, swap_relu
from aisnas.noise import NoiseInjector, NoiseSpec, find_noise_sites

# input -> conv3x3 -> output, plus input -> output (a projected residual).
TINY = dict(matrix=((0, 1, 1), (0, 0, 1), (0, 0, 0)), ops=("input", "conv3x3-bn-relu", "output"))


def _conv_calls(model: nn.Module, size: int) -> list[tuple]:
    """(C_in, C_out, k, H_out, W_out) of every conv call, in execution order, via forward hooks."""
    calls = []
    hooks = [m.register_forward_hook(lambda m, a, out: calls.append(
        (m.in_channels, m.out_channels, m.kernel_size[0], out.shape[2], out.shape[3])))
        for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return calls


def test_tiny_cell_counts_equal_hand_computation():
    cell = CellSpec(**TINY, stem_channels=4, input_size=8)
    # stem 3x3 3->4 at 8x8: fan-in 27, 64*4*27 = 6912 MACs, 108 weights. The cell's single
    # interior vertex feeds the output, so it gets all 4 output channels: projection
    # 1x1 4->4 (fan-in 4, 1024 MACs, 16 weights), conv3x3 4->4 (fan-in 36, 9216 MACs,
    # 144 weights), output projection 1x1 4->4 (1024 MACs, 16 weights); fc 4->10.
    layers = cell.layers()
    assert [(l.name, l.in_channels, l.out_channels, l.kernel, l.fan_in, l.macs, l.params) for l in layers] == [
        ("stem", 3, 4, 3, 27, 6912, 108),
        ("s1.m1.proj1", 4, 4, 1, 4, 1024, 16),
        ("s1.m1.v1", 4, 4, 3, 36, 9216, 144),
        ("s1.m1.proj2", 4, 4, 1, 4, 1024, 16),
        ("fc", 4, 10, 1, 4, 40, 40),
    ]
    assert cell.totals() == {"macs": 18216, "params": 324, "activations": 4 * 256, "conv_layers": 4}
    f = cell.features()
    assert (f["fanin_mean"], f["fanin_min"], f["fanin_max"]) == (17.75, 4, 36)
    assert (f["conv3x3"], f["conv1x1"], f["maxpool3x3"], f["projections"], f["depth"]) == (1, 0, 0, 2, 2)
    assert f["fanin_mac_weighted"] == pytest.approx((27 * 6912 + 4 * 1024 + 36 * 9216 + 4 * 1024) / 18176)


def test_counts_equal_what_the_built_network_executes():
    cells = sample_cells(12, seed=1, stem_channels=6, stacks=2, modules_per_stack=2, input_size=16)
    for cell in cells:
        model = cell.build()
        convs = [l for l in cell.layers() if l.kind == "conv"]
        assert _conv_calls(model, 16) == [(l.in_channels, l.out_channels, l.kernel, *l.out_hw) for l in convs]
        weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
        assert weights == cell.totals()["params"]


def test_sampled_cells_are_valid_distinct_seeded_and_run():
    net = dict(stem_channels=4, stacks=2, input_size=8)
    cells = sample_cells(20, seed=0, **net)
    assert [c.arch_id for c in cells] == [c.arch_id for c in sample_cells(20, seed=0, **net)]
    assert [c.graph_hash for c in sample_cells(5, seed=0)] == [c.graph_hash for c in cells[:5]]  # a prefix
    assert [c.graph_hash for c in sample_cells(5, seed=1)] != [c.graph_hash for c in cells[:5]]
    assert len({c.graph_hash for c in cells}) == 20
    x = torch.randn(2, 3, 8, 8)
    for c in cells:
        m = np.array(c.matrix)
        assert check_cell(c.matrix, c.ops) is None
        assert len(c.ops) <= MAX_VERTICES and m.sum() <= MAX_EDGES
        # Pruned: every vertex but the output has an out-edge, every vertex but the input an in-edge.
        assert m[:-1].sum(axis=1).all() and m[:, 1:].sum(axis=0).all()
        assert np.array_equal(m, np.triu(m, 1))
        assert c.build()(x).shape == (2, 10)
    assert cell_at(7, 0, **net) == cells[7]


def test_cells_outside_the_space_are_refused_with_the_reason():
    full = np.triu(np.ones((7, 7), dtype=int), 1)  # 21 edges, nothing to prune
    ops = ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"]
    assert "21 edges" in check_cell(full, ops)
    assert "not reachable" in check_cell([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", "maxpool3x3", "output"])
    assert "conv5x5" in check_cell(TINY["matrix"], ["input", "conv5x5", "output"])
    assert "upper triangular" in check_cell([[0, 1], [1, 0]], ["input", "output"])
    assert "8 vertices" in check_cell(np.triu(np.ones((8, 8), dtype=int), 1), ["input"] + ["maxpool3x3"] * 6 + ["output"])
    # A dangling vertex is pruned, not refused: the stored cell is the pruned one.
    dangling = CellSpec(matrix=((0, 1, 1, 0), (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 0, 0)),
                        ops=("input", "conv1x1-bn-relu", "conv3x3-bn-relu", "output"))
    assert dangling.ops == ("input", "conv3x3-bn-relu", "output")


def test_graph_hash_ignores_vertex_order_but_not_ops():
    a = CellSpec(matrix=((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0)),
                 ops=("input", "conv3x3-bn-relu", "maxpool3x3", "output"))
    b = CellSpec(matrix=a.matrix, ops=("input", "maxpool3x3", "conv3x3-bn-relu", "output"))
    c = CellSpec(matrix=a.matrix, ops=("input", "conv1x1-bn-relu", "maxpool3x3", "output"))
    assert a.graph_hash == b.graph_hash != c.graph_hash
    assert a.arch_id != b.arch_id  # different vertex order builds a (functionally equal) different network


def test_no_relu_after_the_swap_and_noise_reaches_every_conv():
    cell = sample_cells(3, seed=0, stem_channels=4, stacks=2)[1]
    model = cell.build().eval()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    assert sum(isinstance(m, nn.Softplus) for m in model.modules()) == len(convs)
    assert swap_relu(model) == 0
    raw = CellSpec(**{**TINY, "activation": "relu"}).build()
    assert sum(isinstance(m, nn.ReLU) for m in raw.modules()) == 4 and swap_relu(raw) == 4  # stem, 2 projections, v1

    sites = find_noise_sites(model)
    assert len(sites) == len(convs) == cell.totals()["conv_layers"]
    # Count, with hooks registered after the injector's, the sites whose output differs
    # from BN applied to that same input: the noise added right there.
    reached = []

    def check(module, args, out):
        clean = F.batch_norm(args[0], module.running_mean, module.running_var, module.weight, module.bias,
                             False, 0.0, module.eps)
        reached.append(not torch.allclose(out, clean))

    with NoiseInjector(model, NoiseSpec("additive", 0.5, mode="absolute"), seed=0):
        hooks = [m.register_forward_hook(check) for _, m in sites]
        with torch.no_grad():
            model(torch.randn(2, 3, 32, 32))
    for h in hooks:
        h.remove()
    assert len(reached) == len(convs) and all(reached)
    assert all(isinstance(m, nn.BatchNorm2d) for _, m in sites)


def test_only_the_stem_can_be_in_the_sensor():
    cell = CellSpec(**TINY, in_sensor_layers=1)
    assert [n for n, _ in find_noise_sites(cell.build(), "in_sensor")] == ["layers.0.conv_bn_relu.1"]
    assert find_noise_sites(CellSpec(**TINY).build(), "in_sensor") == []
    with pytest.raises(ValueError, match="only its stem"):
        CellSpec(**TINY, in_sensor_layers=2)
