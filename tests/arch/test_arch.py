"""Architecture counts against hand-computed values, and the built models against them."""

import dataclasses

import pytest
import torch

from aisnas.arch import (
    ArchSpec,
    StageSpec,
    arch_from_dict,
    build_model,
    create_arch,
    list_archs,
    load_arch,
    resolve_arch,
    save_arch,
)
from aisnas.errors import AisnasError


def test_cnn3_counts_match_the_paper_fig4():
    layers = {layer.name: layer for layer in create_arch("cnn3").layers()}
    keep = [layers["s1.c2"], layers["s2.c2"], layers["s3.c2"]]
    # 16384 * 144 = 2,359,296 MACs for every channel-keeping 3x3 conv.
    assert [layer.macs for layer in keep] == [2_359_296] * 3
    assert [layer.activations for layer in keep] == [16384, 8192, 4096]
    assert [layer.params for layer in keep] == [2304, 9216, 36864]
    assert [layer.out_hw for layer in keep] == [(32, 32), (16, 16), (8, 8)]
    # Spatial-bound early, channel-bound late.
    assert keep[0].act_per_param > keep[1].act_per_param > keep[2].act_per_param
    # The channel-setting convs: 3->16 at 32x32 is 32*32*16*27 MACs.
    assert layers["s1.c1"].macs == 32 * 32 * 16 * 27
    assert layers["fc"].macs == 64 * 10


@pytest.mark.parametrize("name", list_archs())
def test_every_registered_arch_builds_and_matches_its_counts(name):
    spec = create_arch(name, width=0.25) if name.startswith("vgg") else create_arch(name)
    model = build_model(spec)
    convs = model.convs()
    conv_layers = [layer for layer in spec.layers() if layer.kind != "linear"]
    assert len(convs) == len(conv_layers)
    for conv, layer in zip(convs, conv_layers):
        assert conv.weight.numel() == layer.params
        assert conv.groups == layer.groups and conv.kernel_size == (layer.kernel, layer.kernel)
    # MACs measured by hooks on the real forward pass equal the analytical ones.
    measured = []
    hooks = [c.register_forward_hook(lambda m, i, o: measured.append(o.shape[2] * o.shape[3] * m.weight.numel()))
             for c in convs]
    out = model(torch.randn(2, 3, 32, 32))
    for h in hooks:
        h.remove()
    assert out.shape == (2, 10)
    assert measured == [layer.macs for layer in conv_layers]


@pytest.mark.parametrize("variant", ["vgg13_fanin2", "vgg13_fanin4"])
def test_fanin_variants_match_full_model_cost_within_10_percent(variant):
    base = create_arch("vgg13", width=0.25).totals()
    var = create_arch(variant, width=0.25).totals()
    assert abs(var["macs"] / base["macs"] - 1) < 0.10
    assert abs(var["params"] / base["params"] - 1) < 0.10


def test_fanin_quarter_conv_output_depends_on_exactly_a_quarter_of_inputs():
    spec = ArchSpec(stages=(StageSpec(depth=2, channels=16, fan_in="1/4"),))
    model = build_model(spec).eval()
    conv = model.convs()[1]  # the first conv has full fan-in by design
    assert conv.groups == 4
    x = torch.randn(1, 16, 8, 8, requires_grad=True)
    y = conv(x)
    for c_out in range(16):
        (grad,) = torch.autograd.grad(y[0, c_out].sum(), x, retain_graph=True)
        touched = (grad.abs().sum(dim=(0, 2, 3)) > 0).sum().item()
        assert touched == 4  # 16 inputs / 4 groups
    assert spec.layers()[1].fan_in == 9 * 16 // 4


def test_channel_shuffle_mixes_groups_across_consecutive_grouped_convs():
    spec = ArchSpec(stages=(StageSpec(depth=3, channels=16, fan_in="1/4"),))
    model = build_model(spec).eval()
    x = torch.randn(1, 3, 8, 8)
    units = list(model.body)
    h = units[0](x).detach().requires_grad_(True)
    y = units[2](units[1](h))
    (grad,) = torch.autograd.grad(y[0, 0].sum(), h)
    # Two grouped convs with a shuffle between: one output sees every input channel.
    assert (grad.abs().sum(dim=(0, 2, 3)) > 0).all()


def test_channel_shuffle_interleaves_groups_and_keeps_channels_last():
    from aisnas.arch._build import _channel_shuffle

    x = torch.arange(2 * 6 * 2 * 3, dtype=torch.float32).reshape(2, 6, 2, 3)
    # 3 groups of 2 channels (0 1 | 2 3 | 4 5) interleave to 0 2 4 1 3 5.
    expected = x[:, [0, 2, 4, 1, 3, 5]]
    assert torch.equal(_channel_shuffle(x, 3), expected)
    cl = _channel_shuffle(x.to(memory_format=torch.channels_last), 3)
    assert torch.equal(cl, expected)
    assert cl.is_contiguous(memory_format=torch.channels_last)


def test_depthwise_is_separable_and_counted_per_conv():
    spec = ArchSpec(stages=(StageSpec(depth=1, channels=8), StageSpec(depth=1, channels=16, fan_in="depthwise")))
    names = [(layer.name, layer.kind, layer.groups, layer.fan_in) for layer in spec.layers()]
    assert names[1] == ("s2.c1.dw", "dwconv", 8, 9)
    assert names[2] == ("s2.c1.pw", "pwconv", 1, 8)
    assert build_model(spec)(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_skip_only_where_shapes_match_and_residual_is_used():
    spec = ArchSpec(stages=(StageSpec(depth=2, channels=8, skip=True),))
    layers = spec.layers()
    assert [layer.skip for layer in layers[:2]] == [False, True]
    model = build_model(spec).eval()
    unit = model.body[1].unit
    x = torch.randn(1, 8, 4, 4)
    with torch.no_grad():
        unit.conv.weight.zero_()  # conv contributes BN's bias only (0): out = act(x)
        assert torch.allclose(model.body[1](x), torch.nn.functional.softplus(x))


def test_early_global_pool_makes_later_layers_1x1():
    spec = create_arch("cnn3_early_pool")
    last = [layer for layer in spec.layers() if layer.name.startswith("s3")]
    assert all(layer.kernel == 1 and layer.out_hw == (1, 1) for layer in last)
    assert build_model(spec)(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_in_sensor_marking_and_adc_boundary():
    spec = create_arch("cnn3", in_sensor_layers=2, adc_bits=4)
    assert [layer.in_sensor for layer in spec.layers()] == [True, True, False, False, False, False, False]
    model = build_model(spec)
    assert model.aisnas_in_sensor_layers == 2
    kinds = [type(m).__name__ for m in model.body]
    assert kinds.index("ADCQuantizer") == 2  # right after the second conv unit


def test_weight_bits_fake_quantize_the_conv_weights():
    spec = dataclasses.replace(create_arch("cnn3"), stages=tuple(
        dataclasses.replace(s, weight_bits=2) for s in create_arch("cnn3").stages))
    model = build_model(spec)
    w = model.convs()[1].weight  # parametrized: 2 bits -> values in {-s, 0, s} per channel
    per_channel = [torch.unique(w[c]).numel() for c in range(w.shape[0])]
    assert max(per_channel) <= 3


def test_arch_id_ignores_name_and_tracks_content():
    a = create_arch("cnn3")
    assert dataclasses.replace(a, name="x").arch_id == a.arch_id
    assert create_arch("cnn3", kernel=5).arch_id != a.arch_id


def test_arch_file_round_trip(tmp_path):
    spec = create_arch("vgg13_fanin4", width=0.25, in_sensor_layers=3, adc_bits=6)
    path = save_arch(spec, tmp_path / "arch.toml")
    assert load_arch(path) == spec
    assert resolve_arch(str(tmp_path)) == spec


@pytest.mark.parametrize(
    "stage, message",
    [
        (dict(kernel=4), "kernel"),
        (dict(fan_in="1/3"), "fan_in"),
        (dict(weight_bits=1), "weight_bits"),
        (dict(depth=0), "depth"),
    ],
)
def test_bad_stage_values_are_rejected_by_name(tmp_path, stage, message):
    body = "[arch]\n[[arch.stages]]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in stage.items())
    path = tmp_path / "a.toml"
    path.write_text(body)
    with pytest.raises(AisnasError, match=message):
        load_arch(path)


def test_unknown_key_and_bad_grouping_name_the_culprit(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text("[arch]\nwidht = 2\n")
    with pytest.raises(AisnasError, match=r"a\.toml.*unknown key 'widht'"):
        load_arch(path)
    with pytest.raises(AisnasError, match="divisible by 4"):
        arch_from_dict({"stages": [{"depth": 2, "channels": 6, "fan_in": "1/4"}]})
    with pytest.raises(AisnasError, match="unknown architecture 'vgg99'"):
        create_arch("vgg99")
