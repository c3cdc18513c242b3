"""make_splits: class-balanced, disjoint, seeded subsets, normalized by the train subset."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from aisnas.data import ImageDataset, Splits, make_splits
from aisnas.errors import AisnasError


def _dataset(per_class_train=(30, 30, 30, 30), per_class_test=(10, 10, 10, 10), channels=3, seed=0) -> ImageDataset:
    """Labels sorted by class, like an image folder; pixels random but class-shifted."""
    g = torch.Generator().manual_seed(seed)

    def part(counts):
        y = torch.cat([torch.full((n,), c, dtype=torch.int64) for c, n in enumerate(counts)])
        x = torch.randint(0, 200, (len(y), channels, 4, 5), generator=g, dtype=torch.uint8) + 10 * y.view(-1, 1, 1, 1)
        return x.to(torch.uint8), y

    x_train, y_train = part(per_class_train)
    x_test, y_test = part(per_class_test)
    classes = tuple(f"c{i}" for i in range(len(per_class_train)))
    return ImageDataset(x_train, y_train, x_test, y_test, classes, source="synthetic", key="0" * 32)


def test_sizes_balance_and_types():
    ds = _dataset()
    s = make_splits(ds, train_size=40, val_size=20, test_size=20, seed=1)
    assert isinstance(s, Splits) and s.classes == ds.classes and s.num_classes == 4
    assert s.x_train.shape == (40, 3, 4, 5) and s.x_val.shape == (20, 3, 4, 5) and s.x_test.shape == (20, 3, 4, 5)
    for x in (s.x_train, s.x_val, s.x_test):
        assert x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last)
    for y, per_class in ((s.y_train, 10), (s.y_val, 5), (s.y_test, 5)):
        assert y.dtype == torch.int64 and Counter(y.tolist()) == {c: per_class for c in range(4)}
    assert s.y_train.tolist() == ds.y_train[s.indices["train"]].tolist()
    assert s.y_test.tolist() == ds.y_test[s.indices["test"]].tolist()
    assert "train=40" in repr(s)


def test_train_order_is_shuffled_not_grouped_by_class():
    s = make_splits(_dataset(), train_size=80, val_size=0, seed=0)
    labels = s.y_train.tolist()
    assert labels != sorted(labels)


def test_val_is_disjoint_from_train_and_comes_from_the_train_split():
    ds = _dataset()
    s = make_splits(ds, train_size=None, val_size=40, seed=3)
    train, val = set(s.indices["train"]), set(s.indices["val"])
    assert not train & val
    # None means "all the rest": together they cover the training split exactly.
    assert train | val == set(range(len(ds.y_train))) and len(s.indices["train"]) == 80
    assert s.indices["test"] == list(range(len(ds.y_test)))


def test_same_seed_same_indices_other_seed_other_subsets():
    ds = _dataset()
    a = make_splits(ds, train_size=40, val_size=20, test_size=20, seed=7)
    b = make_splits(ds, train_size=40, val_size=20, test_size=20, seed=7)
    c = make_splits(ds, train_size=40, val_size=20, test_size=20, seed=8)
    assert a.indices == b.indices and torch.equal(a.x_train, b.x_train)
    for split in ("train", "val", "test"):
        assert set(a.indices[split]) != set(c.indices[split])


def test_val_does_not_depend_on_train_size():
    ds = _dataset()
    small = make_splits(ds, train_size=20, val_size=20, seed=5)
    large = make_splits(ds, train_size=60, val_size=20, seed=5)
    assert small.indices["val"] == large.indices["val"]
    assert set(small.indices["train"]) < set(large.indices["train"])


def test_normalization_uses_the_train_subset():
    ds = _dataset()
    s = make_splits(ds, train_size=80, val_size=20, seed=0)
    mean = s.x_train.mean(dim=(0, 2, 3))
    std = s.x_train.std(dim=(0, 2, 3), unbiased=False)
    assert torch.allclose(mean, torch.zeros(3), atol=1e-5)
    assert torch.allclose(std, torch.ones(3), atol=1e-4)
    raw = ds.x_train[s.indices["train"]].double() / 255
    expected_mean = raw.mean(dim=(0, 2, 3))
    assert torch.allclose(torch.tensor(s.mean, dtype=torch.float64), expected_mean, atol=1e-9)
    assert torch.allclose(torch.tensor(s.std, dtype=torch.float64), raw.std(dim=(0, 2, 3), unbiased=False), atol=1e-9)
    # Val and test use the same statistics rather than their own.
    val_raw = ds.x_train[s.indices["val"]].double() / 255
    expected_val = (val_raw - expected_mean.view(1, -1, 1, 1)) / torch.tensor(s.std).view(1, -1, 1, 1)
    assert torch.allclose(s.x_val.double(), expected_val, atol=1e-5)


def test_constant_channel_does_not_produce_nan():
    ds = _dataset(channels=1)
    flat = ImageDataset(torch.full_like(ds.x_train, 7), ds.y_train, ds.x_test, ds.y_test, ds.classes, "flat", "1" * 32)
    s = make_splits(flat, train_size=40, val_size=0)
    assert s.std == (1.0,) and torch.isfinite(s.x_train).all() and s.x_val.shape == (0, 1, 4, 5)


def test_sizes_round_down_to_a_multiple_of_the_classes():
    s = make_splits(_dataset(), train_size=43, val_size=9, seed=0)
    assert len(s.y_train) == 40 and len(s.y_val) == 8


def test_unbalanced_classes_limit_the_balanced_size(check_error):
    ds = _dataset(per_class_train=(30, 30, 12, 30))
    with pytest.raises(AisnasError) as excinfo:
        make_splits(ds, train_size=40, val_size=20)
    check_error(excinfo, "synthetic", "'c2' has 12", "48 class-balanced training images are available")


def test_test_size_too_big(check_error):
    with pytest.raises(AisnasError) as excinfo:
        make_splits(_dataset(), train_size=40, val_size=0, test_size=80)
    check_error(excinfo, "test_size=80", "40 class-balanced test images are available")


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"train_size": -4, "val_size": 0}, "train_size=-4"),
        ({"train_size": 40, "val_size": 2}, "val_size=2: smaller than the 4 classes"),
        ({"train_size": 40, "val_size": 1.5}, "val_size=1.5"),
        ({"train_size": 0, "val_size": 4}, "train_size=0"),
        ({"train_size": None, "val_size": 120}, "val_size=120"),
    ],
)
def test_bad_sizes(kwargs, fragment, check_error):
    with pytest.raises(AisnasError) as excinfo:
        make_splits(_dataset(), **kwargs)
    check_error(excinfo, fragment)


def test_device_placement():
    s = make_splits(_dataset(), train_size=40, val_size=4, device=torch.device("cpu"))
    assert {t.device.type for t in (s.x_train, s.y_train, s.x_val, s.y_val, s.x_test, s.y_test)} == {"cpu"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    ds = _dataset()
    cpu = make_splits(ds, train_size=40, val_size=20, seed=2)
    gpu = make_splits(ds, train_size=40, val_size=20, seed=2, device="cuda")
    assert gpu.x_train.is_cuda and gpu.x_train.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(gpu.x_train.cpu(), cpu.x_train, atol=1e-6) and gpu.indices == cpu.indices
