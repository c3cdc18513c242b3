"""Datasets as in-memory tensors: loading, caching, splits and batch augmentation.

`load_dataset` reads the official CIFAR-10 python release (folder or .tar.gz) or any
image-folder tree (ROOT/train/<class>/*, ROOT/test/<class>/*), decodes it once into a
cache keyed by the source's path and file fingerprint, and returns an `ImageDataset`
of uint8 tensors. `make_splits` draws deterministic class-balanced subsets and
normalizes them on the device; `augment_batch` flips and crops whole batches.
"""

from aisnas.data._augment import augment_batch
from aisnas.data._dataset import ImageDataset
from aisnas.data._download import CIFAR10_MD5, CIFAR10_URL, download_cifar10
from aisnas.data._load import load_dataset
from aisnas.data._paths import default_cache_dir, resolve_data_path
from aisnas.data._splits import Splits, make_splits
from aisnas.data._synthetic import write_synthetic_image_folder

__all__ = [
    "CIFAR10_MD5",
    "CIFAR10_URL",
    "ImageDataset",
    "Splits",
    "augment_batch",
    "default_cache_dir",
    "download_cifar10",
    "load_dataset",
    "make_splits",
    "resolve_data_path",
    "write_synthetic_image_folder",
]
