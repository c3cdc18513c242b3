"""A picture grid of variants (Horton et al., Fig. 6): rows = images, columns = variants.

Pixels are shown as the network sees them (no brightening), so raw variants look dark
and greenish and mosaics show their CFA grid; upscaling is nearest-neighbour so that
the grid stays visible instead of being blurred away.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

from aisnas.errors import AisnasError
from aisnas.raw._pipeline import apply_variant
from aisnas.raw._variant import parse_variant

__all__ = ["GAP", "LABEL_HEIGHT", "preview_grid"]

GAP = 2  # white pixels between and around cells
LABEL_HEIGHT = 14  # band above the grid for the column labels (Pillow's default font is ~11 px)


def preview_grid(images: torch.Tensor, variants: list[str], out_png: Path, *, scale: int = 4, **kw) -> Path:
    """Write a PNG grid of `images` (uint8, or float in [0,1], [N,3,H,W]) under each variant.

    The PNG is (V*W*scale + (V+1)*GAP) wide and (LABEL_HEIGHT + N*H*scale + (N+1)*GAP)
    high for N images and V variants; each column is labelled with the variant's name.
    A 1-channel (mosaic="bayer1") result is shown as grey. `kw` goes to apply_variant.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise AisnasError(f"scale: {scale!r} must be an integer >= 1")
    if isinstance(variants, str) or not variants:
        raise AisnasError(f"variants: {variants!r} must be a non-empty list of variant names")
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3 or len(images) == 0:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise AisnasError(f"preview_grid: images {got} not allowed; pass a non-empty [N,3,H,W] tensor")
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images
    names = [parse_variant(v).name for v in variants]
    columns = [_to_uint8_hwc(apply_variant(x, name, **kw)) for name in names]

    n, _, h, w = x.shape
    cw, ch = w * scale, h * scale
    v = len(names)
    canvas = Image.new("RGB", (v * cw + (v + 1) * GAP, LABEL_HEIGHT + n * ch + (n + 1) * GAP), "white")
    draw = ImageDraw.Draw(canvas)
    for j, (name, col) in enumerate(zip(names, columns)):
        x0 = GAP + j * (cw + GAP)
        draw.text((x0 + 1, 1), _fit(draw, name, cw), fill="black")
        for i in range(n):
            tile = Image.fromarray(col[i], mode="RGB").resize((cw, ch), Image.Resampling.NEAREST)
            canvas.paste(tile, (x0, LABEL_HEIGHT + GAP + i * (ch + GAP)))
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out_png, format="PNG")
    return out_png


def _to_uint8_hwc(y: torch.Tensor):
    if y.shape[1] == 1:
        y = y.expand(-1, 3, -1, -1)
    return torch.round(y.clamp(0, 1) * 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int) -> str:
    # Trim long labels on small cells instead of letting them run into the next column.
    while len(text) > 1 and draw.textlength(text) > width - 2:
        text = text[:-1]
    return text
