"""Download and safely extract the official CIFAR-10 python archive.

The archive comes from the network, so it is trusted only after its md5 matches the
published one, and extraction refuses any member that is a link or device or whose
path would land outside the destination (the classic tar path-traversal attack).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from tqdm.auto import tqdm

from aisnas.data._cifar import missing_files
from aisnas.data._paths import CIFAR10_DIRNAME, ENV_DATA
from aisnas.errors import AisnasError

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
_CHUNK = 1 << 20
_TIMEOUT_S = 60


def _md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, archive: Path, md5: str, progress: bool) -> None:
    # Download to a side file: an interrupted or corrupt download never sits under the
    # final name where a later run would trust it.
    part = archive.with_name(archive.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response, part.open("wb") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, desc=ARCHIVE_NAME, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress
            ) as bar:
                while chunk := response.read(_CHUNK):
                    f.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except (OSError, http.client.HTTPException, ValueError) as e:
        # URLError and socket timeouts are OSErrors; ValueError is a malformed URL.
        part.unlink(missing_ok=True)
        reason = e.reason if isinstance(e, urllib.error.URLError) else (getattr(e, "strerror", None) or e)
        raise AisnasError(
            f"{url}: download failed ({reason}); pass --data PATH to a local CIFAR-10 copy or set {ENV_DATA}"
        ) from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    got = digest.hexdigest()
    if got != md5:
        part.unlink(missing_ok=True)
        raise AisnasError(
            f"{part}: md5 {got} does not match the expected {md5} for {url}; the download was deleted "
            f"(pass --data PATH to a local copy or set {ENV_DATA})"
        )
    os.replace(part, archive)


def _check_member(member: tarfile.TarInfo, staging: Path, archive: Path) -> None:
    if not (member.isfile() or member.isdir()):
        raise AisnasError(f"{archive}: refusing to extract {member.name!r}: only plain files and folders are allowed")
    target = (staging / member.name).resolve()
    if member.name.startswith(("/", "\\")) or ".." in Path(member.name).parts or not target.is_relative_to(staging):
        raise AisnasError(f"{archive}: refusing to extract {member.name!r}: its path leads outside {staging.parent}")


def extract_cifar10(archive: Path, dest_dir: Path) -> Path:
    """Extract the archive's cifar-10-batches-py/ into dest_dir, all or nothing."""
    target = dest_dir / CIFAR10_DIRNAME
    staging = Path(tempfile.mkdtemp(dir=dest_dir, prefix=".extract-")).resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, staging, archive)
            # Belt and braces: Python's own "data" filter where available (3.10.12+, 3.11.4+).
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(staging, members=members, **kwargs)
        extracted = staging / CIFAR10_DIRNAME
        missing = missing_files(extracted)
        if missing:
            raise AisnasError(f"{archive}: archive lacks {CIFAR10_DIRNAME}/{', '.join(missing)}")
        # Renaming the finished folder into place makes a half-extracted one impossible.
        os.replace(extracted, target)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise AisnasError(f"{archive}: cannot extract ({e})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def download_cifar10(
    dest_dir: Path, *, url: str = CIFAR10_URL, md5: str = CIFAR10_MD5, progress: bool = True
) -> Path:
    """Download, verify and extract CIFAR-10 into dest_dir; returns dest_dir/cifar-10-batches-py."""
    dest_dir = Path(dest_dir).expanduser()
    target = dest_dir / CIFAR10_DIRNAME
    if target.is_dir():
        missing = missing_files(target)
        if not missing:
            return target
        # Not ours to delete: it may be a user's partial copy.
        raise AisnasError(f"{target}: exists but lacks {', '.join(missing)}; remove the folder and download again")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AisnasError(f"{dest_dir}: cannot create the download folder ({e.strerror or e})") from None
    archive = dest_dir / ARCHIVE_NAME
    if not (archive.is_file() and _md5_file(archive) == md5):
        _fetch(url, archive, md5, progress)
    extract_cifar10(archive, dest_dir)
    # The extracted folder is all later loads read; the 163 MB archive is redundant.
    archive.unlink(missing_ok=True)
    return target
