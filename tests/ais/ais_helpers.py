"""Tiny image folders and a tiny copy of the `ais` study (imported by the ais tests)."""

from pathlib import Path

import numpy as np
from PIL import Image

from aisnas.search import builtin_path


def make_image_folder(root: Path, classes: int = 10, train: int = 14, test: int = 4, size: int = 32) -> Path:
    """Class k is a noisy image of mean brightness k/classes: learnable in a few steps."""
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("test", test)):
        for k in range(classes):
            d = root / split / f"class{k}"
            d.mkdir(parents=True)
            for i in range(n):
                base = np.full((size, size, 3), 255 * k / classes)
                img = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(d / f"{i:03d}.png")
    return root


def tiny_ais_study(dst: Path, **replace: str) -> Path:
    """studies/ais.toml with its smoke budget shrunk to the tiny dataset (and `replace`d text).

    Everything else is the shipped study: space, objectives, constraints, baselines.
    """
    text = builtin_path("studies", "ais").read_text()
    smoke = text.index("[budgets.smoke]")
    head, tail = text[:smoke], text[smoke:]
    tail = (tail.replace("train_size = 1000", "train_size = 100", 1).replace("val_size = 500", "val_size = 40", 1)
            .replace("batch_size = 32", "batch_size = 25", 1))
    text = head + tail
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    dst.mkdir(parents=True, exist_ok=True)
    path = dst / "ais.toml"
    path.write_text(text)
    return path
