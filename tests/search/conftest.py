"""A tiny image-folder dataset and a tiny study, so searches run in seconds."""

from pathlib import Path

import pytest


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


@pytest.fixture
def tiny_study(tmp_path) -> Path:
    (tmp_path / "space.toml").write_text(TINY_SPACE)
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_STUDY)
    return path
