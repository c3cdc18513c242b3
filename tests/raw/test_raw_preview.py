"""preview_grid writes a labelled PNG of the expected size."""

import pytest
import torch
from PIL import Image

from aisnas.errors import AisnasError
from aisnas.raw import PAPER_VARIANTS, preview_grid
from aisnas.raw._preview import GAP, LABEL_HEIGHT


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_writes_png_of_expected_size(tmp_path, dtype):
    images = torch.randint(0, 256, (2, 3, 8, 6), dtype=torch.uint8)
    if dtype == torch.float32:
        images = images.float() / 255
    out = preview_grid(images, list(PAPER_VARIANTS), tmp_path / "sub" / "grid.png", scale=3)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        v, n = len(PAPER_VARIANTS), 2
        assert im.size == (v * 6 * 3 + (v + 1) * GAP, LABEL_HEIGHT + n * 8 * 3 + (n + 1) * GAP)


def test_cells_show_the_variant_pixels_upscaled_by_nearest(tmp_path):
    images = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    images[0, 1] = 200  # pure green: the M column must show G/2 = 100 only at green sites
    out = preview_grid(images, ["N/A", "M"], tmp_path / "g.png", scale=2)
    with Image.open(out) as im:
        x0, y0 = GAP + (2 * 2 + GAP), LABEL_HEIGHT + GAP  # top-left of the M cell
        assert im.getpixel((x0, y0)) == (0, 100, 0) and im.getpixel((x0 + 1, y0 + 1)) == (0, 100, 0)
        assert im.getpixel((x0 + 2, y0)) == (0, 0, 0)  # red site of the GRBG cell
        assert im.getpixel((GAP, y0)) == (0, 200, 0)  # the N/A column is the input


def test_bayer_columns_are_grey(tmp_path):
    out = preview_grid(torch.rand(1, 3, 4, 4), ["C+M"], tmp_path / "b.png", mosaic="bayer1")
    with Image.open(out) as im:
        r, g, b = im.getpixel((GAP, LABEL_HEIGHT + GAP))
        assert r == g == b


@pytest.mark.parametrize(
    "images, variants, scale, match",
    [
        (torch.rand(1, 3, 4, 4), [], 4, "variants"),
        (torch.rand(1, 3, 4, 4), "C", 4, "variants"),
        (torch.rand(1, 3, 4, 4), ["C"], 0, "scale"),
        (torch.rand(3, 4, 4), ["C"], 4, "images"),
        (torch.rand(1, 3, 4, 4), ["X"], 4, "unknown stage code"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, images, variants, scale, match):
    with pytest.raises(AisnasError, match=match):
        preview_grid(images, variants, tmp_path / "x.png", scale=scale)
