"""`load_dataset`: find the source, recognise its layout, and decode it at most once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aisnas.data import _cache, _cifar, _folder
from aisnas.data._dataset import Decoded, ImageDataset
from aisnas.data._download import download_cifar10
from aisnas.data._paths import CIFAR10_DIRNAME, ENV_DATA, default_cache_dir, default_data_path, resolve_data_path
from aisnas.errors import AisnasError

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
ACCEPTED = (
    f"expected a {CIFAR10_DIRNAME} folder (data_batch_1..5, test_batch, batches.meta), "
    "the cifar-10-python.tar.gz archive, or an image folder with ROOT/train/<class>/*.jpg|png|bmp "
    "and ROOT/test/<class>/*"
)


@dataclass(frozen=True)
class _Source:
    root: Path  # the folder or archive actually read
    kind: str
    fingerprint: tuple[str, ...]
    decode: Callable[[bool], Decoded]  # progress -> arrays; only called on a cache miss


def _stat_line(path: Path) -> str:
    st = path.stat()
    return f"{path.name} {st.st_size} {st.st_mtime_ns}"


def _cifar_folder(folder: Path) -> _Source:
    missing = _cifar.missing_files(folder)
    if missing:
        raise AisnasError(f"{folder}: missing {', '.join(missing)}; {_cifar.LAYOUT}")
    return _Source(
        folder,
        "cifar10-python",
        tuple(_stat_line(folder / name) for name in _cifar.FILES),
        lambda progress: _cifar.read_folder(folder, progress=progress),
    )


def _identify(path: Path) -> _Source:
    if path.is_file():
        if path.name.lower().endswith(_ARCHIVE_SUFFIXES):
            return _Source(
                path,
                "cifar10-archive",
                (_stat_line(path),),
                lambda progress: _cifar.read_archive(path, progress=progress),
            )
        raise AisnasError(f"{path}: not a recognized dataset; {ACCEPTED}")
    if (path / _cifar.META).exists() or (path / _cifar.TRAIN_BATCHES[0]).exists():
        return _cifar_folder(path)
    if (path / CIFAR10_DIRNAME).is_dir():
        # The folder a download or a manual extraction went into.
        return _cifar_folder(path / CIFAR10_DIRNAME)
    if any((path / split).exists() for split in _folder.SPLITS):
        scan = _folder.scan(path)
        # Looked up through the module so tests can count decodes.
        return _Source(
            path, "image-folder", scan.fingerprint, lambda progress: _folder.decode_images(scan, progress=progress)
        )
    raise AisnasError(f"{path}: not a recognized dataset; {ACCEPTED}")


def _missing(path: Path, download: bool, progress: bool) -> Path:
    if path == default_data_path().resolve():
        if download:
            return download_cifar10(path.parent, progress=progress).resolve()
        raise AisnasError(
            f"{path}: CIFAR-10 is not downloaded yet; allow the download, "
            f"or pass --data PATH to a local copy or set {ENV_DATA}"
        )
    raise AisnasError(f"{path}: no such file or directory; {ACCEPTED}")


def load_dataset(
    path: str | Path | None = None,
    *,
    download: bool = False,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> ImageDataset:
    """Load a dataset, decoding it only if no cache matches its current files.

    `path` falls back to $AISNAS_DATA, then to the default download location, which is
    the only place `download=True` downloads to. Decoded arrays are cached under
    `cache_dir` (default: the user cache dir + "/datasets").
    """
    resolved = resolve_data_path(path).resolve()
    if not resolved.exists():
        resolved = _missing(resolved, download, progress)
    source = _identify(resolved)
    key = _cache.source_key(source.kind, source.root, source.fingerprint)
    cache_root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir() / "datasets"
    file = _cache.cache_file(cache_root, source.root, key)
    decoded = _cache.load(file)
    if decoded is None:
        decoded = source.decode(progress)
        _cache.store(file, decoded)
    return ImageDataset.from_decoded(decoded, source=str(source.root), key=key)
