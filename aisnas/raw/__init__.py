"""Reversible raw sensor pipeline (after CRIP, Buckler et al., ICCV 2017).

Turns processed dataset RGB into the data an analog in-sensor network would see: the
variants of Horton et al. (Fig. 5) are strings of stage codes such as "U+M+RM"
(N/A none, U 2x upsampling, C colour transform to sensor RGB, RC its reverse, S square
root, M GRBG Bayer mosaic, RM bilinear demosaic). `apply_variant` works on float
batches, `variant_dataset` converts and caches a whole dataset once, `preview_grid`
draws the paper's Fig. 6, and `isp_stages` says which ISP operations the hardware must
still run for a variant (for the PPA model).
"""

from aisnas.raw._dataset import variant_dataset, variant_key
from aisnas.raw._mosaic import MOSAIC_LAYOUTS
from aisnas.raw._pipeline import apply_variant, apply_variant_uint8
from aisnas.raw._preview import preview_grid
from aisnas.raw._variant import ISP_STAGES, PAPER_VARIANTS, STAGE_CODES, Variant, isp_stages, parse_variant

__all__ = [
    "ISP_STAGES",
    "MOSAIC_LAYOUTS",
    "PAPER_VARIANTS",
    "STAGE_CODES",
    "Variant",
    "apply_variant",
    "apply_variant_uint8",
    "isp_stages",
    "parse_variant",
    "preview_grid",
    "variant_dataset",
    "variant_key",
]
