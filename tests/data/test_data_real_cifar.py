"""The real CIFAR-10 JPEG folder shipped with the project, when it is present."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aisnas.data import load_dataset

# The checkout's sibling ../shared (see GUIDE.md), else the machine-wide copy.
_CANDIDATES = (
    Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cifar10-jpg",
    Path("/work/shared/datasets/cifar10-jpg"),
)
CIFAR10_JPG = next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0])


@pytest.mark.skipif(not CIFAR10_JPG.is_dir(), reason=f"{CIFAR10_JPG} not present")
def test_real_cifar10_jpg(tmp_path):
    ds = load_dataset(CIFAR10_JPG, cache_dir=tmp_path, progress=False)
    assert (len(ds.y_train), len(ds.y_test)) == (50_000, 10_000)
    assert ds.classes == (
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    )  # fmt: skip
    assert (ds.channels, ds.image_size) == (3, (32, 32))
    assert torch.bincount(ds.y_train).tolist() == [5000] * 10
    assert torch.bincount(ds.y_test).tolist() == [1000] * 10
    mean = torch.stack([ds.x_train[:, c].double().mean() / 255 for c in range(3)])
    assert torch.allclose(mean, torch.tensor([0.4913, 0.4821, 0.4465], dtype=torch.float64), atol=0.01)
