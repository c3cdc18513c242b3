"""GRBG mosaic layout, green halving, kornia CFA pinning, bilinear demosaic."""

import pytest
import torch
import torch.nn.functional as F
from kornia.color import CFA, raw_to_rgb, raw_to_rgb_2x2_downscaled, rgb_to_raw

from aisnas.raw import apply_variant
from aisnas.raw._mosaic import KORNIA_GRBG, POOL_GAIN, sparse3_cell

# GRBG: row 0 is G R, row 1 is B G. Channel index of each site of a 2x2 cell.
GRBG = ((1, 0), (2, 1))


def _rand(n=2, h=8, w=10, seed=0):
    # Strictly positive, so a zero in the mosaic can only come from the CFA.
    return 0.05 + 0.9 * torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_sparse3_keeps_exactly_one_colour_per_pixel_in_grbg_layout():
    x = _rand()
    m = apply_variant(x, "M")
    assert m.shape == x.shape
    nonzero = m != 0
    assert bool((nonzero.sum(dim=1) == 1).all())  # one colour per pixel
    for r in range(2):
        for c in range(2):
            site = nonzero[:, :, r::2, c::2]
            ch = GRBG[r][c]
            assert bool(site[:, ch].all()), (r, c)
            assert not bool(site[:, [k for k in range(3) if k != ch]].any()), (r, c)


def test_sparse3_values_red_blue_full_green_halved():
    x = _rand()
    m = apply_variant(x, "M")
    torch.testing.assert_close(m[:, 0, 0::2, 1::2], x[:, 0, 0::2, 1::2])  # R at (0,1)
    torch.testing.assert_close(m[:, 2, 1::2, 0::2], x[:, 2, 1::2, 0::2])  # B at (1,0)
    torch.testing.assert_close(m[:, 1, 0::2, 0::2], x[:, 1, 0::2, 0::2] / 2)  # G/2 at (0,0)
    torch.testing.assert_close(m[:, 1, 1::2, 1::2], x[:, 1, 1::2, 1::2] / 2)  # G/2 at (1,1)
    assert sparse3_cell().sum(dim=(1, 2)).tolist() == [1.0, 1.0, 1.0]  # weight 1 per colour per cell


def test_pooling_the_sparse_mosaic_gives_quarter_scale_full_colour():
    x = _rand()
    pooled = F.avg_pool2d(apply_variant(x, "M"), 2)
    r = x[:, 0, 0::2, 1::2]
    g = (x[:, 1, 0::2, 0::2] + x[:, 1, 1::2, 1::2]) / 2
    b = x[:, 2, 1::2, 0::2]
    torch.testing.assert_close(pooled, torch.stack([r, g, b], dim=1) / 4)
    # ... and times the pool gain it is kornia's superpixel demosaic of the Bayer image.
    bayer = apply_variant(x, "M", mosaic="bayer1")
    torch.testing.assert_close(pooled * POOL_GAIN["sparse3"], raw_to_rgb_2x2_downscaled(bayer, KORNIA_GRBG))


@pytest.mark.parametrize("cfa", list(CFA))
def test_kornia_cfa_gb_is_grbg_and_no_other_is(cfa):
    # kornia names CFAs after OpenCV, read from pixel (1,1): pin which one is GRBG.
    colour = torch.tensor([0.2, 0.5, 0.8]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    cell = rgb_to_raw(colour, cfa)[0, 0, :2, :2]
    grbg = torch.tensor([[0.5, 0.2], [0.8, 0.5]])
    assert torch.equal(cell, grbg) == (cfa == CFA.GB)
    assert KORNIA_GRBG == CFA.GB


def test_kornia_demosaic_reads_the_same_grbg_layout():
    x = _rand()
    bayer = rgb_to_raw(x, KORNIA_GRBG)
    rgb = raw_to_rgb(bayer, KORNIA_GRBG)
    for r in range(2):
        for c in range(2):
            ch = GRBG[r][c]
            torch.testing.assert_close(rgb[:, ch, r::2, c::2], x[:, ch, r::2, c::2])  # known samples kept


def test_bayer1_is_the_sparse_mosaic_with_green_restored_summed():
    x = _rand()
    sparse = apply_variant(x, "M")
    bayer = apply_variant(x, "M", mosaic="bayer1")
    assert bayer.shape == (2, 1, 8, 10)
    torch.testing.assert_close(bayer[:, 0], sparse[:, 0] + 2 * sparse[:, 1] + sparse[:, 2])


@pytest.mark.parametrize("layout", ["sparse3", "bayer1"])
def test_demosaic_of_constant_colour_returns_that_colour_everywhere(layout):
    colour = torch.tensor([0.3, 0.6, 0.9])
    x = colour.view(1, 3, 1, 1).expand(2, 3, 8, 6).clone()
    y = apply_variant(x, "M+RM", mosaic=layout)
    torch.testing.assert_close(y, x, atol=1e-6, rtol=0)  # borders included


@pytest.mark.parametrize("layout", ["sparse3", "bayer1"])
def test_bilinear_demosaic_is_exact_on_linear_ramps_in_the_interior(layout):
    h, w = 12, 12
    yy, xx = torch.meshgrid(torch.arange(h) / h, torch.arange(w) / w, indexing="ij")
    x = torch.stack([0.1 + 0.5 * xx, 0.2 + 0.3 * yy, 0.1 + 0.4 * (xx + yy) / 2]).unsqueeze(0)
    y = apply_variant(x, "M+RM", mosaic=layout)
    torch.testing.assert_close(y[..., 2:-2, 2:-2], x[..., 2:-2, 2:-2], atol=1e-6, rtol=0)


def test_mosaic_loses_information_demosaic_cannot_restore():
    x = _rand(h=16, w=16)
    assert (apply_variant(x, "M+RM") - x).abs().mean().item() > 0.05
