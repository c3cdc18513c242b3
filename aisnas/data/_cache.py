"""The decoded-dataset cache: one .npz per source, keyed by path and file fingerprint.

.npz read with allow_pickle=False cannot execute code, unlike pickle or a plain
torch.load. Writes go to a temporary file that is renamed into place, so a run killed
mid-write never leaves a half-written cache; an unreadable cache is simply rebuilt.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from aisnas.data._dataset import Decoded

# Part of every key: bump it whenever decoding changes, so older caches stop matching.
FORMAT_VERSION = 1
_KEY_LEN = 32
_ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def source_key(kind: str, resolved: Path, entries: Iterable[str]) -> str:
    """Hex key of a source: its layout, resolved path and per-file fingerprint lines."""
    h = hashlib.sha256(f"aisnas.data v{FORMAT_VERSION}\n{kind}\n{resolved}\n".encode("utf-8", "surrogateescape"))
    h.update("\n".join(entries).encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:_KEY_LEN]


def _path_tag(resolved: Path) -> str:
    # Readable name plus a hash of the full path: lets a new version of the same source
    # find and delete its predecessors, without confusing same-named folders elsewhere.
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", resolved.name)[:40] or "data"
    digest = hashlib.sha256(str(resolved).encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{name}-{digest}"


def cache_file(cache_dir: Path, resolved: Path, key: str) -> Path:
    return cache_dir / f"{_path_tag(resolved)}-{key}.npz"


def load(file: Path) -> Decoded | None:
    """The cached arrays, or None when missing, unreadable or inconsistent."""
    try:
        with np.load(file, allow_pickle=False) as z:
            arrays = {name: z[name] for name in _ARRAYS}
            classes = tuple(str(c) for c in z["classes"])
    except FileNotFoundError:
        return None
    # Truncated or garbled files raise BadZipFile, ValueError, KeyError, EOFError,
    # OSError...; whatever the cause, the remedy is to decode again.
    except Exception:
        return None
    x_train, y_train, x_test, y_test = (arrays[n] for n in _ARRAYS)
    consistent = (
        x_train.dtype == np.uint8 == x_test.dtype
        and x_train.ndim == 4 == x_test.ndim
        and x_train.shape[1:] == x_test.shape[1:]
        and y_train.dtype == np.int64 == y_test.dtype
        and y_train.shape == (len(x_train),)
        and y_test.shape == (len(x_test),)
        and len(classes) >= 2
    )
    return Decoded(x_train, y_train, x_test, y_test, classes) if consistent else None


def store(file: Path, decoded: Decoded) -> None:
    """Write atomically; failure to write only costs speed, so it warns instead of failing."""
    tmp: str | None = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.stem}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **{n: getattr(decoded, n) for n in _ARRAYS}, classes=np.asarray(decoded.classes, dtype=str))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, file)
        tmp = None
    except OSError as e:
        warnings.warn(f"{file}: could not write the dataset cache ({e}); the next load decodes again", stacklevel=3)
        return
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    _remove_superseded(file)


def _remove_superseded(file: Path) -> None:
    # Caches of older contents of the same source can never match again; without this,
    # every edit of an image folder would leave another full copy behind.
    prefix = file.name[: -(_KEY_LEN + len(".npz"))]
    for old in file.parent.glob(glob.escape(prefix) + "?" * _KEY_LEN + ".npz"):
        if old != file:
            try:
                old.unlink()
            except OSError:
                pass
