"""Both source layouts load with the right shapes, labels, classes and pixels."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from aisnas.data import ImageDataset, default_cache_dir, load_dataset, resolve_data_path
from aisnas.errors import AisnasError


def test_image_folder_shapes_labels_and_pixels(make_image_folder, expected_pixels, cache_dir):
    root = make_image_folder(classes=("cat", "dog", "emu"), n_train=4, n_test=2)
    ds = load_dataset(root, cache_dir=cache_dir, progress=False)
    assert isinstance(ds, ImageDataset)
    assert ds.classes == ("cat", "dog", "emu") and ds.num_classes == 3
    assert ds.x_train.shape == (12, 3, 5, 6) and ds.x_test.shape == (6, 3, 5, 6)
    assert (ds.channels, ds.image_size) == (3, (5, 6))
    assert ds.x_train.dtype == torch.uint8 and ds.y_train.dtype == torch.int64
    assert ds.x_train.is_contiguous() and ds.x_train.device.type == "cpu"
    assert ds.y_train.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert ds.y_test.tolist() == [0, 0, 1, 1, 2, 2]
    # Files are read in name order within each class, channels in RGB order.
    np.testing.assert_array_equal(ds.x_train[5].numpy(), expected_pixels("train", 1, 1, 3))
    np.testing.assert_array_equal(ds.x_test[4].numpy(), expected_pixels("test", 2, 0, 3))
    assert ds.source == str(root.resolve()) and len(ds.key) == 32 and int(ds.key, 16) >= 0
    assert "train=12" in repr(ds)


def test_jpeg_and_mixed_extensions(make_image_folder, cache_dir):
    root = make_image_folder(ext="jpg", classes=("a", "b"))
    Image.new("RGB", (6, 5), (10, 20, 30)).save(root / "train" / "a" / "extra.JPEG")
    (root / "train" / "a" / "notes.txt").write_text("not an image, ignored")
    ds = load_dataset(root, cache_dir=cache_dir, progress=False)
    assert ds.x_train.shape == (9, 3, 5, 6)


def test_all_grayscale_keeps_one_channel(make_image_folder, expected_pixels, cache_dir):
    root = make_image_folder(mode="L", classes=("x", "y"))
    ds = load_dataset(root, cache_dir=cache_dir, progress=False)
    assert ds.x_train.shape == (8, 1, 5, 6) and ds.channels == 1
    ramp = expected_pixels("train", 1, 2, 1)
    np.testing.assert_array_equal(ds.x_train[6].numpy(), ramp)


def test_mixed_grayscale_and_color_becomes_rgb(make_image_folder, cache_dir):
    root = make_image_folder(mode="L", classes=("x", "y"))
    Image.new("RGB", (6, 5), (200, 100, 50)).save(root / "test" / "y" / "zz.png")
    ds = load_dataset(root, cache_dir=cache_dir, progress=False)
    assert ds.channels == 3
    gray = ds.x_train[0]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    assert ds.x_test[-1, :, 0, 0].tolist() == [200, 100, 50]


def test_cifar_folder(make_cifar, cache_dir):
    folder, arrays = make_cifar(per_batch=6)
    ds = load_dataset(folder, cache_dir=cache_dir, progress=False)
    assert ds.classes == arrays["classes"]
    assert ds.x_train.shape == (30, 3, 32, 32) and ds.x_test.shape == (6, 3, 32, 32)
    np.testing.assert_array_equal(ds.x_train.numpy(), arrays["x_train"])
    np.testing.assert_array_equal(ds.y_train.numpy(), arrays["y_train"])
    np.testing.assert_array_equal(ds.x_test.numpy(), arrays["x_test"])
    np.testing.assert_array_equal(ds.y_test.numpy(), arrays["y_test"])


def test_cifar_parent_folder_is_accepted(make_cifar, tmp_path, cache_dir):
    folder, _ = make_cifar(parent=tmp_path / "extracted")
    ds = load_dataset(folder.parent, cache_dir=cache_dir, progress=False)
    assert ds.source == str(folder.resolve())


def test_cifar_archive_read_without_extracting(make_cifar_archive, cache_dir):
    archive, arrays = make_cifar_archive()
    before = set(os.listdir(archive.parent))
    ds = load_dataset(archive, cache_dir=cache_dir, progress=False)
    np.testing.assert_array_equal(ds.x_train.numpy(), arrays["x_train"])
    np.testing.assert_array_equal(ds.y_test.numpy(), arrays["y_test"])
    assert ds.classes == arrays["classes"]
    assert set(os.listdir(archive.parent)) - before == {cache_dir.name}


def test_cifar_str_keys_from_python3_pickles(make_cifar, cache_dir):
    folder, arrays = make_cifar()
    batch = folder / "data_batch_1"
    with open(batch, "rb") as f:
        d = pickle.load(f)
    with open(batch, "wb") as f:
        pickle.dump({k.decode(): v for k, v in d.items()}, f, protocol=5)
    ds = load_dataset(folder, cache_dir=cache_dir, progress=False)
    np.testing.assert_array_equal(ds.x_train.numpy(), arrays["x_train"])


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_pickle_cannot_run_code(make_cifar, tmp_path, cache_dir, check_error):
    folder, _ = make_cifar()
    marker = tmp_path / "pwned"
    with open(folder / "data_batch_3", "wb") as f:
        pickle.dump({b"data": _RunsCode(marker), b"labels": []}, f, protocol=2)
    with pytest.raises(AisnasError) as excinfo:
        load_dataset(folder, cache_dir=cache_dir, progress=False)
    check_error(excinfo, folder / "data_batch_3", "refused")
    assert not marker.exists()


def test_resolve_data_path_precedence(tmp_path, monkeypatch):
    assert resolve_data_path(tmp_path / "x") == tmp_path / "x"
    assert resolve_data_path(str(tmp_path / "y")) == tmp_path / "y"
    monkeypatch.setenv("AISNAS_DATA", str(tmp_path / "env"))
    assert resolve_data_path(None) == tmp_path / "env"
    assert resolve_data_path(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("AISNAS_DATA")
    assert resolve_data_path(None) == tmp_path / "user-cache" / "cifar-10-batches-py"


def test_default_cache_dir_from_env_is_created(tmp_path, monkeypatch):
    monkeypatch.setenv("AISNAS_CACHE", str(tmp_path / "c" / "d"))
    assert default_cache_dir() == tmp_path / "c" / "d"
    assert (tmp_path / "c" / "d").is_dir()


def test_default_cache_dir_without_env_uses_platformdirs(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv("AISNAS_CACHE")
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda app, **kw: str(tmp_path / "pd" / app))
    assert default_cache_dir() == tmp_path / "pd" / "aisnas"


def test_load_from_aisnas_data_env(make_image_folder, monkeypatch):
    root = make_image_folder()
    monkeypatch.setenv("AISNAS_DATA", str(root))
    ds = load_dataset(progress=False)
    assert ds.source == str(root.resolve())
