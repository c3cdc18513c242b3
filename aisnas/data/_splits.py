"""Deterministic, class-balanced train/val/test subsets, normalized and on the device.

Image folders list files class by class, so taking "the first n" would take one class;
every subset here is drawn per class from a seeded permutation. The validation set is
carved from the training split (the test split stays untouched for final numbers), and
normalization statistics come from the training subset only, so nothing about val or
test leaks into training.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aisnas.data._dataset import ImageDataset
from aisnas.errors import AisnasError


@dataclass(frozen=True, eq=False, repr=False)
class Splits:
    """Float32 normalized images (channels_last) and int64 labels, all on one device.

    `indices` maps "train"/"val"/"test" to the positions in the ImageDataset's train
    (train, val) or test (test) tensors, for provenance. Train indices are in a seeded
    random order; val and test indices are ascending.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...]
    indices: dict

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self.x_train.shape[1:])
        return (
            f"Splits(train={len(self.y_train)}, val={len(self.y_val)}, test={len(self.y_test)}, "
            f"shape={shape}, classes={self.num_classes}, device={self.x_train.device})"
        )


def _per_class(name: str, size: int | None, num_classes: int) -> int | None:
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise AisnasError(f"{name}={size!r}: must be a non-negative integer")
    if 0 < size < num_classes:
        raise AisnasError(
            f"{name}={size}: smaller than the {num_classes} classes; class-balanced subsets need 0 or >= {num_classes}"
        )
    return size // num_classes


def _class_pools(labels: torch.Tensor, num_classes: int, generator: torch.Generator) -> list[torch.Tensor]:
    pools = []
    for c in range(num_classes):
        members = torch.nonzero(labels == c).flatten()
        pools.append(members[torch.randperm(len(members), generator=generator)])
    return pools


def _too_few(ds: ImageDataset, split: str, request: str, per_class: int, pools: list[torch.Tensor]) -> AisnasError:
    counts = [len(p) for p in pools]
    worst = min(range(len(counts)), key=counts.__getitem__)
    return AisnasError(
        f"{ds.source}: {request} needs {per_class} {split} images per class, but class "
        f"'{ds.classes[worst]}' has {counts[worst]}; {ds.num_classes * counts[worst]} class-balanced "
        f"{split} images are available ({sum(counts)} in all)"
    )


def _channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exact per-channel mean/std in [0, 1] units, from 256-bin histograms of uint8 pixels."""
    values = torch.arange(256, dtype=torch.float64) / 255
    means, stds = [], []
    for c in range(x.shape[1]):
        counts = torch.bincount(x[:, c].reshape(-1), minlength=256).to(torch.float64)
        total = counts.sum()
        mean = (counts * values).sum() / total
        std = ((counts * (values - mean) ** 2).sum() / total).sqrt()
        means.append(float(mean))
        # A constant channel has std 0; dividing by it would turn the channel into NaN.
        stds.append(float(std) if std > 0 else 1.0)
    return tuple(means), tuple(stds)


def _normalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...], device: torch.device) -> torch.Tensor:
    # Move uint8 (4x fewer bytes than float32) and convert on the device.
    x = x.to(device).contiguous(memory_format=torch.channels_last).to(torch.float32)
    scale = torch.tensor([1 / (255 * s) for s in std], dtype=torch.float32, device=device).view(1, -1, 1, 1)
    shift = torch.tensor([-m / s for m, s in zip(mean, std)], dtype=torch.float32, device=device).view(1, -1, 1, 1)
    return x.mul_(scale).add_(shift)


def make_splits(
    ds: ImageDataset,
    *,
    train_size: int | None,
    val_size: int,
    test_size: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> Splits:
    """Class-balanced subsets: sizes are per class `size // num_classes`.

    `train_size=None` takes everything in the training split that is not validation;
    `test_size=None` takes the whole test split. The same seed always yields the same
    indices, and for one seed the validation set does not depend on `train_size`.
    """
    k = ds.num_classes
    if val_size is None:
        raise AisnasError("val_size=None: must be a non-negative integer (0 for no validation set)")
    train_per = _per_class("train_size", train_size, k)
    val_per = _per_class("val_size", val_size, k) or 0
    test_per = _per_class("test_size", test_size, k)
    if train_per == 0:
        raise AisnasError("train_size=0: the training subset cannot be empty")

    generator = torch.Generator().manual_seed(seed)
    pools = _class_pools(ds.y_train, k, generator)
    test_pools = _class_pools(ds.y_test, k, generator)

    # None means "the rest", which still needs at least one training image per class.
    needed = val_per + (1 if train_per is None else train_per)
    if any(len(p) < needed for p in pools):
        request = (
            f"val_size={val_size} plus a non-empty rest for training"
            if train_per is None
            else f"train_size={train_size} + val_size={val_size}"
        )
        raise _too_few(ds, "training", request, needed, pools)
    val_idx = torch.cat([p[:val_per] for p in pools]).sort().values
    train_idx = torch.cat([p[val_per:] if train_per is None else p[val_per : val_per + train_per] for p in pools])
    # Shuffled so that even a trainer iterating in order does not see one class at a time.
    train_idx = train_idx[torch.randperm(len(train_idx), generator=generator)]

    if test_per is None:
        test_idx = torch.arange(len(ds.y_test))
    else:
        if any(len(p) < test_per for p in test_pools):
            raise _too_few(ds, "test", f"test_size={test_size}", test_per, test_pools)
        test_idx = torch.cat([p[:test_per] for p in test_pools]).sort().values

    x_train_u8 = ds.x_train[train_idx]
    mean, std = _channel_stats(x_train_u8)
    device = torch.device(device)
    return Splits(
        x_train=_normalize(x_train_u8, mean, std, device),
        y_train=ds.y_train[train_idx].to(device),
        x_val=_normalize(ds.x_train[val_idx], mean, std, device),
        y_val=ds.y_train[val_idx].to(device),
        x_test=_normalize(ds.x_test[test_idx], mean, std, device),
        y_test=ds.y_test[test_idx].to(device),
        mean=mean,
        std=std,
        classes=ds.classes,
        indices={"train": train_idx.tolist(), "val": val_idx.tolist(), "test": test_idx.tolist()},
    )
