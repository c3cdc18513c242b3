"""Every bad input is one AisnasError line that names the offending path or file."""

from __future__ import annotations

import pickle
import shutil
import tarfile

import numpy as np
import pytest
from PIL import Image

from aisnas.data import load_dataset
from aisnas.errors import AisnasError


def _load_error(path, cache_dir):
    with pytest.raises(AisnasError) as excinfo:
        load_dataset(path, cache_dir=cache_dir, progress=False)
    return excinfo


def test_missing_path(tmp_path, cache_dir, check_error):
    check_error(_load_error(tmp_path / "nope", cache_dir), tmp_path / "nope", "no such file")


def test_unrecognized_folder_lists_accepted_layouts(tmp_path, cache_dir, check_error):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "readme.txt").write_text("hi")
    check_error(
        _load_error(tmp_path / "junk", cache_dir), tmp_path / "junk", "cifar-10-batches-py", "train/<class>"
    )


def test_unrecognized_file(tmp_path, cache_dir, check_error):
    (tmp_path / "data.csv").write_text("1,2")
    check_error(_load_error(tmp_path / "data.csv", cache_dir), tmp_path / "data.csv", "not a recognized")


@pytest.mark.parametrize("split", ["train", "test"])
def test_missing_split(make_image_folder, cache_dir, check_error, split):
    root = make_image_folder()
    shutil.rmtree(root / split)
    check_error(_load_error(root, cache_dir), root, f"{split}/")


def test_empty_class_folder(make_image_folder, cache_dir, check_error):
    root = make_image_folder(classes=("a", "b"))
    (root / "test" / "c").mkdir()
    (root / "train" / "c").mkdir()
    (root / "train" / "c" / "notes.txt").write_text("not an image")
    check_error(_load_error(root, cache_dir), root / "train" / "c", "empty class folder")


def test_corrupt_image_names_the_file(make_image_folder, cache_dir, check_error):
    root = make_image_folder()
    bad = root / "train" / "dog" / "002.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated
    check_error(_load_error(root, cache_dir), bad, "corrupt")


def test_non_image_with_image_suffix(make_image_folder, cache_dir, check_error):
    root = make_image_folder()
    bad = root / "test" / "emu" / "zzz.jpg"
    bad.write_text("definitely not a JPEG")
    check_error(_load_error(root, cache_dir), bad, "unreadable")


def test_mixed_sizes_names_file_and_both_sizes(make_image_folder, cache_dir, check_error):
    root = make_image_folder(size=(6, 5))
    odd = root / "test" / "cat" / "001.png"
    Image.new("RGB", (7, 9)).save(odd)
    check_error(_load_error(root, cache_dir), odd, "7x9", "6x5")


def test_fewer_than_two_classes(make_image_folder, cache_dir, check_error):
    root = make_image_folder(classes=("only",))
    check_error(_load_error(root, cache_dir), root / "train", "at least 2")


def test_train_and_test_classes_must_match(make_image_folder, cache_dir, check_error):
    root = make_image_folder(classes=("a", "b", "c"))
    shutil.rmtree(root / "test" / "c")
    (root / "test" / "z").mkdir()
    Image.new("RGB", (6, 5)).save(root / "test" / "z" / "0.png")
    check_error(_load_error(root, cache_dir), root, "only in train/: c", "only in test/: z")


def test_cifar_folder_missing_a_batch(make_cifar, cache_dir, check_error):
    folder, _ = make_cifar()
    (folder / "data_batch_4").unlink()
    check_error(_load_error(folder, cache_dir), folder, "data_batch_4")


def test_corrupt_cifar_batch(make_cifar, cache_dir, check_error):
    folder, _ = make_cifar()
    (folder / "test_batch").write_bytes(b"\x80\x02garbage")
    check_error(_load_error(folder, cache_dir), folder / "test_batch", "not a readable CIFAR-10")


def test_cifar_batch_with_wrong_shape(make_cifar, cache_dir, check_error):
    folder, _ = make_cifar()
    with open(folder / "data_batch_2", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}, f, protocol=2)
    check_error(_load_error(folder, cache_dir), folder / "data_batch_2", "3072")


def test_corrupt_archive(tmp_path, cache_dir, check_error):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"\x1f\x8b not really gzip")
    check_error(_load_error(archive, cache_dir), archive, "archive")


def test_archive_without_batches(tmp_path, cache_dir, check_error):
    (tmp_path / "x.txt").write_text("x")
    archive = tmp_path / "other.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "x.txt", arcname="x.txt")
    check_error(_load_error(archive, cache_dir), archive, "data_batch_1")
