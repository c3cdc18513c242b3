"""Quantization: error bound, level count, straight-through gradient, PTQ, ADC."""

import pytest
import torch
from torch import nn

from aisnas.quant import ADCQuantizer, attach_weight_quantization, post_training_quantize, quantize_weight


@pytest.mark.parametrize("bits", [8, 6, 4, 3, 2])
def test_weight_quantization_error_is_at_most_half_a_step_per_channel(bits):
    w = torch.randn(16, 8, 3, 3) * torch.linspace(0.1, 3, 16).view(-1, 1, 1, 1)
    q = quantize_weight(w, bits)
    step = w.abs().flatten(1).amax(1) / (2 ** (bits - 1) - 1)
    err = (w - q).abs().flatten(1).amax(1)
    assert torch.all(err <= step / 2 + 1e-6)
    # Per channel at most 2^b - 1 distinct symmetric levels, zero included, and the
    # largest weight is represented exactly.
    for c in range(16):
        assert torch.unique(q[c]).numel() <= 2**bits - 1
        assert q[c].abs().max() == pytest.approx(w[c].abs().max().item(), rel=1e-6)


def test_two_bit_weights_are_ternary_by_hand():
    w = torch.tensor([[1.0, 0.4, -0.6, 0.2]])
    # 2 bits: levels {-1, 0, 1} x max|w| = 1.0 -> round(w) = [1, 0, -1, 0]
    assert quantize_weight(w, 2).tolist() == [[1.0, 0.0, -1.0, 0.0]]


def test_qat_uses_a_straight_through_gradient():
    conv = nn.Conv2d(2, 3, 1, bias=False)
    attach_weight_quantization({conv: 3})
    x = torch.randn(4, 2, 5, 5)
    conv(x).sum().backward()
    w = conv.parametrizations.weight.original
    # d/dW of sum(conv(x)) is sum of x over positions, independent of rounding (STE).
    expected = x.sum(dim=(0, 2, 3)).view(1, 2, 1, 1).expand(3, 2, 1, 1)
    assert torch.allclose(w.grad, expected, atol=1e-5)
    assert torch.unique(conv.weight[0]).numel() <= 7


def test_post_training_quantization_copies_and_bakes_in():
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten(), nn.LazyLinear(3))
    model(torch.randn(1, 2, 5, 5))
    q = post_training_quantize(model, 4)
    assert not torch.equal(q[0].weight, model[0].weight)
    assert torch.equal(q[0].weight, quantize_weight(model[0].weight, 4))
    with pytest.raises(ValueError, match="outside 2..16"):
        post_training_quantize(model, 1)


def test_adc_quantizes_non_negative_activations_to_2_pow_b_levels():
    adc = ADCQuantizer(bits=3)
    adc.train()
    x = torch.linspace(0, 7, 50).view(1, 1, 5, 10)
    adc(x)  # calibrates full scale to 7.0
    adc.eval()
    y = adc(x)
    assert torch.unique(y).numel() <= 8
    assert (y - x).abs().max() <= 0.5 + 1e-6  # step 7 / 7 = 1
