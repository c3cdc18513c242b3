"""Downloading CIFAR-10, tested offline against file:// URLs to locally made archives."""

from __future__ import annotations

import hashlib
import io
import tarfile

import numpy as np
import pytest

from aisnas.data import _load, download_cifar10, load_dataset
from aisnas.errors import AisnasError


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_verifies_and_extracts(make_cifar_archive, tmp_path):
    archive, arrays = make_cifar_archive("served.tar.gz")
    dest = tmp_path / "dest"
    out = download_cifar10(dest, url=archive.as_uri(), md5=_md5(archive), progress=False)
    assert out == dest / "cifar-10-batches-py"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
    )
    # Only the extracted folder stays: no archive, no .part, no staging folder.
    assert [p.name for p in dest.iterdir()] == ["cifar-10-batches-py"]
    # Already there: returns at once, even with a URL that would fail.
    assert download_cifar10(dest, url=(tmp_path / "gone.tar.gz").as_uri(), progress=False) == out


def test_wrong_md5_raises_and_leaves_nothing(make_cifar_archive, tmp_path, check_error):
    archive, _ = make_cifar_archive("served.tar.gz")
    dest = tmp_path / "dest"
    with pytest.raises(AisnasError) as excinfo:
        download_cifar10(dest, url=archive.as_uri(), md5="0" * 32, progress=False)
    check_error(excinfo, dest / "cifar-10-python.tar.gz.part", "md5", "0" * 32)
    assert list(dest.iterdir()) == []


def test_network_error_says_how_to_avoid_the_download(tmp_path, check_error):
    dest = tmp_path / "dest"
    url = (tmp_path / "no-such.tar.gz").as_uri()
    with pytest.raises(AisnasError) as excinfo:
        download_cifar10(dest, url=url, progress=False)
    check_error(excinfo, url, "--data", "AISNAS_DATA")
    assert list(dest.iterdir()) == []


def _malicious_archive(path, member: tarfile.TarInfo, payload: bytes = b"x"):
    with tarfile.open(path, "w:gz") as tar:
        member.size = len(payload) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(payload) if member.isfile() else None)
    return path


@pytest.mark.parametrize(
    "member",
    [
        tarfile.TarInfo("../escaped"),
        tarfile.TarInfo("cifar-10-batches-py/../../escaped"),
        tarfile.TarInfo("/tmp/absolute-escape"),
    ],
    ids=["parent", "nested-parent", "absolute"],
)
def test_extraction_rejects_paths_escaping_dest(tmp_path, member, check_error):
    archive = _malicious_archive(tmp_path / "evil.tar.gz", member)
    dest = tmp_path / "deep" / "dest"
    with pytest.raises(AisnasError) as excinfo:
        download_cifar10(dest, url=archive.as_uri(), md5=_md5(archive), progress=False)
    check_error(excinfo, dest / "cifar-10-python.tar.gz", "refusing", member.name)
    assert not (tmp_path / "deep" / "escaped").exists() and not (tmp_path / "escaped").exists()
    assert sorted(p.name for p in dest.iterdir()) == ["cifar-10-python.tar.gz"]


def test_extraction_rejects_links(tmp_path, check_error):
    link = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive = _malicious_archive(tmp_path / "evil.tar.gz", link)
    with pytest.raises(AisnasError) as excinfo:
        download_cifar10(tmp_path / "dest", url=archive.as_uri(), md5=_md5(archive), progress=False)
    check_error(excinfo, "refusing", "data_batch_1")


def test_load_dataset_downloads_to_the_default_location(make_cifar_archive, tmp_path, monkeypatch):
    archive, arrays = make_cifar_archive("served.tar.gz")
    real = _load.download_cifar10
    monkeypatch.setattr(
        _load, "download_cifar10", lambda dest, **kw: real(dest, url=archive.as_uri(), md5=_md5(archive), **kw)
    )
    ds = load_dataset(download=True, progress=False)
    assert ds.source == str((tmp_path / "user-cache" / "cifar-10-batches-py").resolve())
    np.testing.assert_array_equal(ds.x_train.numpy(), arrays["x_train"])
    assert ds.classes == arrays["classes"]


def test_no_download_without_permission(tmp_path, check_error):
    with pytest.raises(AisnasError) as excinfo:
        load_dataset(progress=False)
    check_error(excinfo, tmp_path / "user-cache" / "cifar-10-batches-py", "download", "--data")


def test_download_only_to_the_default_location(tmp_path, check_error):
    missing = tmp_path / "elsewhere"
    with pytest.raises(AisnasError) as excinfo:
        load_dataset(missing, download=True, progress=False)
    check_error(excinfo, missing, "no such file or directory")
