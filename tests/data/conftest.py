"""Tiny synthetic datasets written to tmp_path: image folders, fake CIFAR-10 releases."""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


def pixel_value(split: str, label: int, index: int) -> int:
    """A distinct grey level per image, so tests can check which image landed where."""
    return (100 * (split == "test") + 30 * label + 3 * index) % 256


@pytest.fixture
def make_image_folder(tmp_path):
    """Write ROOT/{train,test}/<class>/NNN.<ext>; returns ROOT.

    Pixel (y, x) of channel c holds pixel_value(...) + c + x, so layout and channel
    order can be checked exactly (PNG is lossless).
    """

    def make(
        name: str = "imgs",
        classes=("cat", "dog", "emu"),
        n_train: int = 4,
        n_test: int = 2,
        size: tuple[int, int] = (6, 5),  # (width, height), as Pillow counts
        mode: str = "RGB",
        ext: str = "png",
    ) -> Path:
        root = tmp_path / name
        width, height = size
        for split, n in (("train", n_train), ("test", n_test)):
            for label, cls in enumerate(classes):
                folder = root / split / cls
                folder.mkdir(parents=True)
                for i in range(n):
                    base = pixel_value(split, label, i)
                    ramp = np.arange(width, dtype=np.int64)[None, :] + np.zeros((height, 1), np.int64)
                    if mode == "L":
                        arr = (base + ramp).astype(np.uint8)
                    else:
                        arr = np.stack([(base + c + ramp) for c in range(3)], axis=-1).astype(np.uint8)
                    Image.fromarray(arr).save(folder / f"{i:03d}.{ext}")
        return root

    return make


def expected_folder_pixels(split: str, label: int, index: int, channels: int, size=(6, 5)) -> np.ndarray:
    width, height = size
    ramp = np.arange(width)[None, :] + np.zeros((height, 1), np.int64)
    return np.stack([pixel_value(split, label, index) + c + ramp for c in range(channels)]).astype(np.uint8)


@pytest.fixture
def expected_pixels():
    return expected_folder_pixels


@pytest.fixture
def make_cifar(tmp_path):
    """Write a fake cifar-10-batches-py/ in the official dict format; returns (dir, arrays).

    Keys are bytes and the pickle protocol is 2, as in the Python 2 original.
    """

    def make(parent: Path | None = None, per_batch: int = 6, classes=(b"plane", b"car", b"bird")):
        folder = (parent or tmp_path) / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        rng = np.random.default_rng(0)
        arrays = {"x_train": [], "y_train": []}
        for name in CIFAR_FILES[:-1]:
            data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
            labels = [i % len(classes) for i in range(per_batch)]
            batch = {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                     b"filenames": [f"{name}_{i}.png".encode() for i in range(per_batch)]}
            with open(folder / name, "wb") as f:
                pickle.dump(batch, f, protocol=2)
            if name == "test_batch":
                arrays["x_test"], arrays["y_test"] = data.reshape(-1, 3, 32, 32), np.array(labels)
            else:
                arrays["x_train"].append(data.reshape(-1, 3, 32, 32))
                arrays["y_train"].append(np.array(labels))
        with open(folder / "batches.meta", "wb") as f:
            pickle.dump({b"label_names": list(classes), b"num_cases_per_batch": per_batch}, f, protocol=2)
        arrays["x_train"] = np.concatenate(arrays["x_train"])
        arrays["y_train"] = np.concatenate(arrays["y_train"])
        arrays["classes"] = tuple(c.decode() for c in classes)
        return folder, arrays

    return make


@pytest.fixture
def make_cifar_archive(tmp_path, make_cifar):
    """A cifar-10-python.tar.gz holding a fake cifar-10-batches-py/; returns (archive, arrays)."""

    def make(name: str = "cifar-10-python.tar.gz"):
        folder, arrays = make_cifar(parent=tmp_path / "archive-src")
        archive = tmp_path / name
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(folder, arcname="cifar-10-batches-py")
        return archive, arrays

    return make


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    # No test may read or write the real user cache or pick up a developer's data path.
    monkeypatch.setenv("AISNAS_CACHE", str(tmp_path / "user-cache"))
    monkeypatch.delenv("AISNAS_DATA", raising=False)


@pytest.fixture
def check_error():
    """Assert that an AisnasError message is one line and names every given fragment."""

    def check(excinfo, *fragments) -> str:
        message = str(excinfo.value)
        print(message)  # visible with -s: a quick way to review the wording
        assert "\n" not in message and message.strip() == message
        for fragment in fragments:
            assert str(fragment) in message, f"{fragment!r} not in {message!r}"
        return message

    return check
