"""`ImageDataset`: a whole image-classification dataset held as uint8 tensors.

Everything downstream (splits, raw-sensor variants, training) works on these tensors;
there is deliberately no per-sample Dataset/DataLoader, because on a few CPU cores the
per-sample Python overhead costs more than the network itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch


class Decoded(NamedTuple):
    """What a source reader produces and the cache stores: plain numpy arrays."""

    x_train: np.ndarray  # uint8 [N, C, H, W]
    y_train: np.ndarray  # int64 [N]
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]


@dataclass(frozen=True, eq=False, repr=False)
class ImageDataset:
    """Train and test images of one source, decoded once, as CPU uint8 tensors.

    `key` identifies the source content (resolved path plus a fingerprint of its
    files); modules that derive data from this dataset (e.g. simulated raw captures)
    key their own caches on it so they are invalidated together.
    """

    x_train: torch.Tensor  # uint8 [N, C, H, W], CPU, contiguous
    y_train: torch.Tensor  # int64 [N]
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    source: str
    key: str

    def __post_init__(self) -> None:
        # Other packages build ImageDatasets too; a wrong dtype or layout would only
        # surface much later as a confusing shape error inside training.
        for name in ("x_train", "x_test"):
            x = getattr(self, name)
            if x.dtype != torch.uint8 or x.dim() != 4:
                raise ValueError(f"ImageDataset.{name} must be uint8 [N, C, H, W], got {x.dtype} {tuple(x.shape)}")
        for name in ("y_train", "y_test"):
            y = getattr(self, name)
            if y.dtype != torch.int64 or y.dim() != 1:
                raise ValueError(f"ImageDataset.{name} must be int64 [N], got {y.dtype} {tuple(y.shape)}")
        if len(self.x_train) != len(self.y_train) or len(self.x_test) != len(self.y_test):
            raise ValueError("ImageDataset: images and labels differ in length")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"ImageDataset: train images are {tuple(self.x_train.shape[1:])}, "
                f"test images {tuple(self.x_test.shape[1:])}"
            )

    @classmethod
    def from_decoded(cls, decoded: Decoded, *, source: str, key: str) -> ImageDataset:
        return cls(
            x_train=torch.from_numpy(np.ascontiguousarray(decoded.x_train)),
            y_train=torch.from_numpy(decoded.y_train.astype(np.int64, copy=False)),
            x_test=torch.from_numpy(np.ascontiguousarray(decoded.x_test)),
            y_test=torch.from_numpy(decoded.y_test.astype(np.int64, copy=False)),
            classes=tuple(decoded.classes),
            source=source,
            key=key,
        )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.x_train.shape[2]), int(self.x_train.shape[3])

    def __repr__(self) -> str:
        # The default dataclass repr would print tensor contents.
        h, w = self.image_size
        return (
            f"ImageDataset(source={self.source!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"classes={self.num_classes}, shape={self.channels}x{h}x{w}, key={self.key!r})"
        )
