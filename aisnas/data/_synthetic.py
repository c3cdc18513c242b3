"""A small synthetic image-folder dataset: try the tool, or test it, without CIFAR-10."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["write_synthetic_image_folder"]


def write_synthetic_image_folder(root: str | Path, *, classes: int = 10, train: int = 14, test: int = 4,
                                 size: int = 32, seed: int = 0) -> Path:
    """Write ROOT/{train,test}/class<k>/*.png; class k is noise around brightness k/classes.

    The classes are separable by mean brightness, so a network learns them in a few
    steps, which is what tests of the search, report and export paths need.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, n in (("train", train), ("test", test)):
        for k in range(classes):
            d = root / split / f"class{k}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                base = np.full((size, size, 3), 255 * k / classes)
                img = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(d / f"{i:03d}.png")
    return root
