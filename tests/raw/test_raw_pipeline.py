"""apply_variant / apply_variant_uint8: shapes, ranges, U's pooling maths, input checks."""

import pytest
import torch
import torch.nn.functional as F
from kornia.color import raw_to_rgb_2x2_downscaled, rgb_to_raw

from aisnas.errors import AisnasError
from aisnas.raw import PAPER_VARIANTS, apply_variant, apply_variant_uint8
from aisnas.raw._mosaic import KORNIA_GRBG


def _rand(n=3, h=8, w=6, seed=0, dtype=torch.float32):
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("layout", ["sparse3", "bayer1"])
@pytest.mark.parametrize("name", PAPER_VARIANTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_keeps_batch_size_dtype_and_range(name, layout, dtype):
    x = _rand(dtype=dtype)
    y = apply_variant(x, name, mosaic=layout)
    channels = 1 if layout == "bayer1" and name.split("+")[-1] == "M" else 3
    assert y.shape == (3, channels, 8, 6)
    assert y.dtype == dtype
    assert y.min().item() >= 0 and y.max().item() <= 1


@pytest.mark.parametrize("name", PAPER_VARIANTS)
def test_batched_equals_one_by_one(name):
    x = _rand()
    whole = apply_variant(x, name)
    for i in range(len(x)):
        torch.testing.assert_close(apply_variant(x[i : i + 1], name), whole[i : i + 1], atol=1e-6, rtol=0)


def test_identity_returns_a_copy():
    x = _rand()
    y = apply_variant(x, "N/A")
    assert torch.equal(x, y) and y.data_ptr() != x.data_ptr()


def test_u_then_pool_is_exactly_a_161_blur_with_replicate_borders():
    # Bilinear 2x (align_corners=False) puts output 2k at input k-1/4 and 2k+1 at k+1/4,
    # clamped at the border, so averaging each pair gives x[k-1]/8 + 3x[k]/4 + x[k+1]/8:
    # not the identity, but a separable [1,6,1]/8 blur with replicate padding.
    x = _rand(dtype=torch.float64)
    k1 = torch.tensor([1.0, 6.0, 1.0], dtype=torch.float64) / 8
    kernel = torch.outer(k1, k1).expand(3, 1, 3, 3)
    blurred = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    torch.testing.assert_close(apply_variant(x, "U"), blurred, atol=1e-12, rtol=0)


def test_u_then_pool_returns_constant_and_linear_images():
    const = torch.full((1, 3, 6, 6), 0.37)
    torch.testing.assert_close(apply_variant(const, "U"), const, atol=1e-7, rtol=0)  # everywhere
    ramp = (torch.arange(8.0) / 8).view(1, 1, 1, 8).expand(1, 3, 8, 8)
    torch.testing.assert_close(apply_variant(ramp, "U")[..., 1:-1], ramp[..., 1:-1], atol=1e-7, rtol=0)


def test_u_plus_m_is_the_superpixel_image_of_the_upsampled_scene():
    x = _rand()
    up = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    expected = raw_to_rgb_2x2_downscaled(rgb_to_raw(up, KORNIA_GRBG), KORNIA_GRBG)
    torch.testing.assert_close(apply_variant(x, "U+M"), expected, atol=1e-6, rtol=0)
    assert apply_variant(x, "U+M", mosaic="bayer1").shape == (3, 1, 8, 6)


def test_u_allows_odd_sizes_for_m_but_plain_m_does_not():
    x = _rand(h=7, w=5)
    assert apply_variant(x, "U+M+RM").shape == (3, 3, 7, 5)
    with pytest.raises(AisnasError, match="even"):
        apply_variant(x, "M")


def test_uint8_roundtrip_and_c_rc_is_exact_in_8_bits():
    x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(apply_variant_uint8(x, "N/A"), x)
    assert torch.equal(apply_variant_uint8(x, "C+RC"), x)
    y = apply_variant_uint8(x, "C+M", mosaic="bayer1")
    assert y.dtype == torch.uint8 and y.shape == (4, 1, 8, 8)
    with pytest.raises(AisnasError, match="uint8"):
        apply_variant_uint8(x.float(), "C")


@pytest.mark.parametrize(
    "x, kw, match",
    [
        (torch.zeros(1, 3, 4, 4, dtype=torch.uint8), {}, "dtype"),
        (torch.full((1, 3, 4, 4), 1.5), {}, r"\[0,1\]"),
        (torch.full((1, 3, 4, 4), float("nan")), {}, "NaN"),
        (torch.zeros(3, 4, 4), {}, "shape"),
        (torch.zeros(1, 4, 4, 4), {}, "shape"),
        ([[0.0]], {}, "torch.Tensor"),
        (torch.zeros(1, 3, 4, 4), dict(mosaic="rggb"), "sparse3, bayer1"),
        (torch.zeros(1, 3, 4, 4), dict(generator=3), "Generator"),
        (torch.zeros(1, 3, 4, 4), dict(sensor_noise="yes"), "true or false"),
    ],
)
def test_bad_input_is_a_one_line_error(x, kw, match):
    with pytest.raises(AisnasError, match=match) as err:
        apply_variant(x, "C+M", **kw)
    assert "\n" not in str(err.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", PAPER_VARIANTS)
def test_cuda_matches_cpu(name):
    x = _rand()
    torch.testing.assert_close(apply_variant(x.cuda(), name).cpu(), apply_variant(x, name), atol=1e-5, rtol=0)
    gen = torch.Generator(device="cuda").manual_seed(0)
    y = apply_variant(x.cuda(), "U+C+M+RM", sensor_noise=True, adc_bits=10, generator=gen)
    assert y.is_cuda and y.shape == x.shape
