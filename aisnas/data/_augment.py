"""Batch augmentation on tensors: random horizontal flip and pad-and-random-crop.

Whole batches at once, on whatever device the batch lives on (airbench style): a
per-sample Python loop would cost more than the forward pass of a small net on CPU.
Flip and crop are folded into one gather: for each output pixel we compute which pixel
of the zero-padded input it comes from, so the batch is read and written only once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _is_channels_last(x: torch.Tensor) -> bool:
    # For C == 1 or 1x1 images both layouts coincide; plain NCHW is then the answer.
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def augment_batch(x: torch.Tensor, generator: torch.Generator, *, pad: int = 4, flip: bool = True) -> torch.Tensor:
    """A new batch: each image flipped left-right with probability 1/2 (if `flip`), then
    zero-padded by `pad` pixels and cropped back to its size at a uniformly random offset.

    Shape, dtype, device and memory format (NCHW or channels_last) are kept. Random
    numbers are drawn on the generator's device and then moved, so a CPU generator
    augments a batch identically on CPU and CUDA.
    """
    if x.dim() != 4:
        raise ValueError(f"augment_batch expects [N, C, H, W], got shape {tuple(x.shape)}")
    if pad < 0:
        raise ValueError(f"augment_batch: pad must be >= 0, got {pad}")
    n, c, h, w = x.shape
    padded_w = w + 2 * pad
    flips = torch.rand(n, generator=generator, device=generator.device).lt(0.5).to(x.device)
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator, device=generator.device).to(x.device)

    rows = offsets[0].view(n, 1) + torch.arange(h, device=x.device)  # [n, h]
    cols = offsets[1].view(n, 1) + torch.arange(w, device=x.device)  # [n, w]
    if flip:
        # Reading columns right to left is the flip; padding is symmetric, so this is
        # exactly "flip, then pad and crop at the same offset".
        cols = torch.where(flips.view(n, 1), padded_w - 1 - cols, cols)
    source = (rows.view(n, h, 1) * padded_w + cols.view(n, 1, w)).view(n, h * w)

    padded = F.pad(x, (pad, pad, pad, pad))
    if _is_channels_last(x):
        # Gather whole pixels (all channels at once) in the NHWC layout in memory.
        pixels = padded.permute(0, 2, 3, 1).reshape(n, -1, c)
        out = pixels.gather(1, source.view(n, h * w, 1).expand(n, h * w, c))
        return out.view(n, h, w, c).permute(0, 3, 1, 2)
    planes = padded.reshape(n, c, -1)
    return planes.gather(2, source.view(n, 1, h * w).expand(n, c, h * w)).view(n, c, h, w)
