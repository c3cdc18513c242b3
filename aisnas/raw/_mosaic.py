"""Bayer mosaicing (stage M) and bilinear demosaicing (stage RM), GRBG layout.

Two layouts, chosen by `mosaic=`:

- "sparse3" (default, CRIP's): 3 channels, each pixel keeps only its CFA colour and the
  other two are zero. GRBG cell (row 0: G R, row 1: B G). Green is halved: each of the
  two green sites holds G/2, so every colour has total weight 1 per 2x2 cell. Then a
  2x2 average pool of the mosaic is exactly (R, (G1+G2)/2, B) / 4, a half-resolution
  full-colour image with the same 1/4 scale on all channels (pinned in tests; times 4
  it equals kornia's raw_to_rgb_2x2_downscaled). That is what U+M relies on.
- "bayer1": 1 channel, the physically literal sensor readout (kornia's rgb_to_raw).

Demosaicing uses kornia.color.raw_to_rgb because it is a maintained, tested bilinear
demosaic that keeps the known samples and handles borders (replicate padding for R/B,
reflect padding for G, which keeps the CFA phase), so a constant-colour image comes back
constant everywhere, borders included.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
from kornia.color import CFA, raw_to_rgb, rgb_to_raw

__all__ = ["KORNIA_GRBG", "MOSAIC_LAYOUTS", "POOL_GAIN", "demosaic", "mosaic", "sparse3_cell"]

MOSAIC_LAYOUTS = ("sparse3", "bayer1")

# kornia's CFA names follow OpenCV and are read from pixel (1,1), not (0,0) (kornia
# docs, kornia.color.raw_to_rgb: "CFA.BG, GB, RG and GR are sensors whose top-left 2x2
# cell is RGGB, GRBG, BGGR and GBRG"). So GRBG is CFA.GB; a test pins it on pixels.
KORNIA_GRBG = CFA.GB

# After a 2x2 average pool, a sparse3 mosaic is its colour image / 4 (each colour has
# total weight 1 over the 4 sites of a cell); U multiplies by this gain so U+M has the
# same scale as U+M+RM and keeps all 8 bits. A 1-channel mosaic pools to full scale.
POOL_GAIN = MappingProxyType({"sparse3": 4.0, "bayer1": 1.0})

# Weights of one GRBG cell, [channel R,G,B][row][col]: R at (0,1), B at (1,0), green at
# (0,0) and (1,1), each halved (CRIP: "green halved").
_SPARSE3_CELL = (
    ((0.0, 1.0), (0.0, 0.0)),
    ((0.5, 0.0), (0.0, 0.5)),
    ((0.0, 0.0), (1.0, 0.0)),
)
# sparse3 -> 1-channel Bayer: add the channels, undoing the green halving.
_SPARSE3_TO_BAYER = (1.0, 2.0, 1.0)


def sparse3_cell(dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> torch.Tensor:
    """The [3,2,2] GRBG weight cell of the sparse3 layout (for tests and docs)."""
    return torch.tensor(_SPARSE3_CELL, dtype=dtype, device=device)


def mosaic(x: torch.Tensor, layout: str) -> torch.Tensor:
    """Stage M: [N,3,H,W] full colour -> GRBG mosaic ([N,3,H,W] sparse3 or [N,1,H,W] bayer1).

    H and W must be even (the caller checks), so the mosaic tiles with whole cells.
    """
    if layout == "bayer1":
        return rgb_to_raw(x, KORNIA_GRBG)
    n, c, h, w = x.shape
    weights = sparse3_cell(x.dtype, x.device).repeat(1, h // 2, w // 2)
    return x * weights


def demosaic(m: torch.Tensor, layout: str) -> torch.Tensor:
    """Stage RM: GRBG mosaic (either layout) -> [N,3,H,W] by bilinear interpolation."""
    if layout == "sparse3":
        gains = torch.tensor(_SPARSE3_TO_BAYER, dtype=m.dtype, device=m.device).view(1, 3, 1, 1)
        m = (m * gains).sum(dim=1, keepdim=True)
    return raw_to_rgb(m, KORNIA_GRBG)
