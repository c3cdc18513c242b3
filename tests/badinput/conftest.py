"""A stored study to keep intact, a tiny dataset, and the study file that made them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SPACE = """
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

STUDY = """
description = "tiny test study"
space = "./space.toml"
seeds = 1
width = 0.25

[data]
train_size = 100
val_size = 40

[train]
optimizer = "sgd"
epochs = 1
batch_size = 25

[eval]
sigmas = [0.0, 0.4]
repeats = 1
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


def write_study(folder: Path) -> Path:
    (folder / "space.toml").write_text(SPACE)
    (folder / "tiny.toml").write_text(STUDY)
    return folder / "tiny.toml"


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture(scope="session")
def _stored(tmp_path_factory) -> Path:
    """The study as `aisnas search` creates it, with one complete trial and one point waiting.

    The trial is recorded rather than trained: what the tests check is that a failing
    command leaves every stored byte of it alone, not what training gives.
    """
    import optuna
    from optuna.distributions import CategoricalDistribution

    from aisnas.search import load_study, open_storage, open_study

    folder = tmp_path_factory.mktemp("stored")
    url = f"sqlite:///{folder / 'study.db'}"
    study = open_study(load_study(str(write_study(folder))), open_storage(url), storage_url=url)
    dist = {"variant": CategoricalDistribution(["k3", "k5"]), "seed": CategoricalDistribution([0])}
    study.add_trial(optuna.trial.create_trial(params={"variant": "k3", "seed": 0}, distributions=dist,
                                              values=[0.3, 0.4], user_attrs={"label": "k3", "clean_accuracy": 0.4}))
    study.enqueue_trial({"variant": "k5", "seed": 0})
    return folder / "study.db"


@pytest.fixture
def stored_db(_stored, tmp_path) -> Path:
    """This test's own copy of the stored study."""
    return Path(shutil.copy(_stored, tmp_path / "study.db"))


@pytest.fixture
def study_file(tmp_path) -> Path:
    return write_study(tmp_path)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AISNAS_CACHE", str(tmp_path / "cache"))
