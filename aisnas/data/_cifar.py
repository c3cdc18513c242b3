"""The official CIFAR-10 python release: a `cifar-10-batches-py/` folder or its .tar.gz.

Its batches are pickles, the format Krizhevsky published. A pickle can run arbitrary
code when loaded, so `_NumpyOnlyUnpickler` resolves only the handful of globals that a
pickled numpy array needs; anything else (os.system, builtins.eval, ...) makes the load
fail with an error instead of executing.
"""

from __future__ import annotations

import codecs
import io
import pickle
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import numpy as np
from tqdm.auto import tqdm

from aisnas.data._dataset import Decoded
from aisnas.errors import AisnasError

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
FILES = (*TRAIN_BATCHES, TEST_BATCH, META)
LAYOUT = "a cifar-10-batches-py folder holds data_batch_1..5, test_batch and batches.meta"
_PIXELS = 3 * 32 * 32


def _allowed_globals() -> dict[tuple[str, str], Any]:
    try:  # numpy >= 2 moved numpy.core to numpy._core; pickles name either.
        from numpy._core import multiarray, numeric
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = multiarray._reconstruct
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(module, "_frombuffer")] = numeric._frombuffer
    # Python 3 writes bytes as _codecs.encode(str, "latin1") under pickle protocol < 3,
    # so re-pickled copies of the batches need it; it only transforms data.
    allowed[("_codecs", "encode")] = codecs.encode
    return allowed


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, allowed: dict[tuple[str, str], Any]):
        super().__init__(file, encoding="bytes")
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name}: a CIFAR-10 batch holds only numpy arrays and lists"
            ) from None


def _unpickle(stream: BinaryIO, where: str) -> dict[str, Any]:
    try:
        obj = _NumpyOnlyUnpickler(stream, _allowed_globals()).load()
    # A damaged pickle can fail with almost any exception type (EOFError, KeyError,
    # IndexError, TypeError, ...); all of them mean the same thing to the user.
    except Exception as e:
        raise AisnasError(f"{where}: not a readable CIFAR-10 python batch ({e})") from None
    if not isinstance(obj, dict):
        raise AisnasError(f"{where}: not a CIFAR-10 python batch (expected a dict, found {type(obj).__name__})")
    # encoding="bytes" keeps the Python 2 keys as bytes; re-pickled copies have str keys.
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _class_names(meta: dict[str, Any], where: str) -> tuple[str, ...]:
    names = meta.get("label_names")
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, (bytes, str)) for n in names):
        raise AisnasError(f"{where}: batches.meta has no list of 'label_names'")
    classes = tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names)
    if len(classes) < 2:
        raise AisnasError(f"{where}: batches.meta lists {len(classes)} class(es); need at least 2")
    return classes


def _batch(d: dict[str, Any], where: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    data = d.get("data")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _PIXELS:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise AisnasError(f"{where}: 'data' must be a uint8 array of shape [N, {_PIXELS}], found {got}")
    try:
        labels = np.asarray(d.get("labels"), dtype=np.int64)
    except (TypeError, ValueError):
        labels = np.empty(0, np.int64)  # reported just below as the wrong length
    if labels.shape != (len(data),):
        raise AisnasError(f"{where}: 'labels' must be a list of {len(data)} integers, one per image")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise AisnasError(f"{where}: labels must lie in 0..{num_classes - 1} (the classes in batches.meta)")
    # Rows store the red plane, then green, then blue, each 32x32 row-major.
    return data.reshape(-1, 3, 32, 32), labels


def _assemble(batches: dict[str, dict[str, Any]], where: str) -> Decoded:
    classes = _class_names(batches[META], f"{where}/{META}")
    train = [_batch(batches[n], f"{where}/{n}", len(classes)) for n in TRAIN_BATCHES]
    x_test, y_test = _batch(batches[TEST_BATCH], f"{where}/{TEST_BATCH}", len(classes))
    return Decoded(
        x_train=np.concatenate([x for x, _ in train]),
        y_train=np.concatenate([y for _, y in train]),
        x_test=np.ascontiguousarray(x_test),
        y_test=y_test,
        classes=classes,
    )


def missing_files(folder: Path) -> list[str]:
    return [name for name in FILES if not (folder / name).is_file()]


def read_folder(folder: Path, *, progress: bool = True) -> Decoded:
    """Read an extracted `cifar-10-batches-py/` folder."""
    missing = missing_files(folder)
    if missing:
        raise AisnasError(f"{folder}: missing {', '.join(missing)}; {LAYOUT}")
    batches = {}
    for name in tqdm(FILES, desc=f"reading {folder.name}", unit="file", disable=not progress):
        with (folder / name).open("rb") as f:
            batches[name] = _unpickle(f, str(folder / name))
    return _assemble(batches, str(folder))


def read_archive(archive: Path, *, progress: bool = True) -> Decoded:
    """Read the batches straight out of the .tar.gz, without extracting anything to disk."""
    batches: dict[str, dict[str, Any]] = {}
    try:
        # Stream mode ("r|*"): one sequential pass; random access into a .gz would
        # decompress from the start again for every member.
        with tarfile.open(archive, "r|*") as tar, tqdm(
            total=len(FILES), desc=f"reading {archive.name}", unit="file", disable=not progress
        ) as bar:
            for member in tar:
                name = PurePosixPath(member.name).name
                if member.isfile() and name in FILES and name not in batches:
                    f = tar.extractfile(member)
                    assert f is not None  # regular files always have content
                    batches[name] = _unpickle(io.BytesIO(f.read()), f"{archive}:{member.name}")
                    bar.update()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise AisnasError(f"{archive}: not a readable .tar.gz archive ({e})") from None
    missing = [n for n in FILES if n not in batches]
    if missing:
        raise AisnasError(f"{archive}: archive lacks {', '.join(missing)}; {LAYOUT}")
    return _assemble(batches, str(archive))
