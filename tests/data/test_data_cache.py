"""The decoded-dataset cache: hit on reload, keyed by source, atomic, self-healing."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from aisnas.data import _cache, _cifar, _folder, load_dataset


@pytest.fixture
def decode_calls(monkeypatch):
    """Counts real decodes of image folders and CIFAR folders."""
    calls = []
    real_folder, real_cifar = _folder.decode_images, _cifar.read_folder

    def counting_folder(scan, **kw):
        calls.append(scan.root)
        return real_folder(scan, **kw)

    def counting_cifar(folder, **kw):
        calls.append(folder)
        return real_cifar(folder, **kw)

    monkeypatch.setattr(_folder, "decode_images", counting_folder)
    monkeypatch.setattr(_cifar, "read_folder", counting_cifar)
    return calls


def _npz_files(cache_dir):
    return sorted(p.name for p in cache_dir.glob("*.npz"))


def test_second_load_hits_the_cache(make_image_folder, cache_dir, decode_calls):
    root = make_image_folder()
    first = load_dataset(root, cache_dir=cache_dir, progress=False)
    second = load_dataset(root, cache_dir=cache_dir, progress=False)
    assert len(decode_calls) == 1
    assert len(_npz_files(cache_dir)) == 1
    assert first.key == second.key and first.classes == second.classes
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(first, name), getattr(second, name))
    assert second.x_train.is_contiguous() and second.y_train.dtype == torch.int64


def test_cifar_folder_is_cached_too(make_cifar, cache_dir, decode_calls):
    folder, _ = make_cifar()
    load_dataset(folder, cache_dir=cache_dir, progress=False)
    load_dataset(folder, cache_dir=cache_dir, progress=False)
    assert len(decode_calls) == 1


def test_default_cache_location(make_image_folder, tmp_path):
    load_dataset(make_image_folder(), progress=False)
    assert len(_npz_files(tmp_path / "user-cache" / "datasets")) == 1


def test_different_folders_do_not_collide(make_image_folder, cache_dir, decode_calls):
    a = load_dataset(make_image_folder("a", classes=("p", "q")), cache_dir=cache_dir, progress=False)
    b = load_dataset(make_image_folder("b", classes=("r", "s", "t")), cache_dir=cache_dir, progress=False)
    assert a.key != b.key
    assert len(_npz_files(cache_dir)) == 2
    again_a = load_dataset(a.source, cache_dir=cache_dir, progress=False)
    again_b = load_dataset(b.source, cache_dir=cache_dir, progress=False)
    assert len(decode_calls) == 2
    assert (again_a.classes, again_b.classes) == (("p", "q"), ("r", "s", "t"))


def test_changing_a_file_changes_the_key(make_image_folder, cache_dir, decode_calls):
    root = make_image_folder(classes=("p", "q"))
    before = load_dataset(root, cache_dir=cache_dir, progress=False)
    image = root / "train" / "q" / "001.png"
    Image.new("RGB", (6, 5), (1, 2, 3)).save(image)
    st = image.stat()
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # coarse-mtime filesystems
    after = load_dataset(root, cache_dir=cache_dir, progress=False)
    assert after.key != before.key and len(decode_calls) == 2
    assert after.x_train[5, :, 0, 0].tolist() == [1, 2, 3]
    # The superseded cache of the same folder is removed, not left to pile up.
    assert len(_npz_files(cache_dir)) == 1


def test_adding_a_file_changes_the_key(make_image_folder, cache_dir):
    root = make_image_folder(classes=("p", "q"))
    before = load_dataset(root, cache_dir=cache_dir, progress=False)
    Image.new("RGB", (6, 5)).save(root / "test" / "p" / "new.png")
    after = load_dataset(root, cache_dir=cache_dir, progress=False)
    assert after.key != before.key and len(after.y_test) == len(before.y_test) + 1


def test_corrupt_cache_is_rebuilt(make_image_folder, cache_dir, decode_calls):
    root = make_image_folder()
    good = load_dataset(root, cache_dir=cache_dir, progress=False)
    (cached,) = cache_dir.glob("*.npz")
    cached.write_bytes(cached.read_bytes()[:200])  # as if truncated by a crash or a full disk
    rebuilt = load_dataset(root, cache_dir=cache_dir, progress=False)
    assert len(decode_calls) == 2
    assert torch.equal(rebuilt.x_train, good.x_train)
    assert load_dataset(root, cache_dir=cache_dir, progress=False).key == good.key
    assert len(decode_calls) == 2


def test_cache_with_wrong_contents_is_rebuilt(make_image_folder, cache_dir, decode_calls):
    root = make_image_folder()
    load_dataset(root, cache_dir=cache_dir, progress=False)
    (cached,) = cache_dir.glob("*.npz")
    np.savez(cached, x_train=np.zeros(3), y_train=np.zeros(3))
    load_dataset(root, cache_dir=cache_dir, progress=False)
    assert len(decode_calls) == 2


def test_interrupted_write_leaves_no_cache(make_image_folder, cache_dir, monkeypatch, decode_calls):
    root = make_image_folder()
    real_savez = np.savez

    def dies_midway(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(_cache.np, "savez", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        load_dataset(root, cache_dir=cache_dir, progress=False)
    assert list(cache_dir.iterdir()) == []
    monkeypatch.setattr(_cache.np, "savez", real_savez)
    load_dataset(root, cache_dir=cache_dir, progress=False)
    assert len(_npz_files(cache_dir)) == 1


def test_unwritable_cache_warns_and_still_loads(make_image_folder, cache_dir, monkeypatch):
    root = make_image_folder()

    def disk_full(file, **arrays):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_cache.np, "savez", disk_full)
    with pytest.warns(UserWarning, match="could not write the dataset cache"):
        ds = load_dataset(root, cache_dir=cache_dir, progress=False)
    assert ds.x_train.shape[0] == 12
    assert list(cache_dir.iterdir()) == []


def test_cache_is_not_a_pickle(make_image_folder, cache_dir):
    load_dataset(make_image_folder(), cache_dir=cache_dir, progress=False)
    (cached,) = cache_dir.glob("*.npz")
    with np.load(cached, allow_pickle=False) as z:
        assert {"x_train", "y_train", "x_test", "y_test", "classes"} <= set(z.files)
        assert z["classes"].dtype.kind == "U"
