"""A tiny image-folder dataset and a tiny study, so searches run in seconds."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TINY_SPACE = """
description = "two tiny variants"
kind = "variants"

[[variants]]
label = "k3"
arch = "cnn3"
args = { kernel = 3 }

[[variants]]
label = "k5"
arch = "cnn3"
args = { kernel = 5 }
"""

TINY_STUDY = """
description = "tiny test study"
space = "./space.toml"
seeds = 1
width = 0.25

[data]
train_size = 100
val_size = 40

[train]
optimizer = "sam"
epochs = 1
batch_size = 25

[eval]
sigmas = [0.0, 0.4]
repeats = 2
objective_sigma = 0.4

[[objectives]]
metric = "noisy_accuracy"

[[objectives]]
metric = "clean_accuracy"

[sampler]
name = "grid"
"""


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


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture
def tiny_study(tmp_path) -> Path:
    (tmp_path / "space.toml").write_text(TINY_SPACE)
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_STUDY)
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AISNAS_CACHE", str(tmp_path / "cache"))
