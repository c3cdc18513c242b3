"""Where data and caches live: explicit argument, then environment, then per-user cache."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from aisnas.errors import AisnasError

ENV_CACHE = "AISNAS_CACHE"
ENV_DATA = "AISNAS_DATA"
# The folder name inside the official archive; a download into the cache ends up here.
CIFAR10_DIRNAME = "cifar-10-batches-py"


def cache_root() -> Path:
    """The cache directory, without creating it (so that merely comparing paths has no side effects)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    # appauthor=False: on Windows this avoids a redundant "aisnas/aisnas" nesting.
    return Path(platformdirs.user_cache_dir("aisnas", appauthor=False))


def default_cache_dir() -> Path:
    """$AISNAS_CACHE if set, else the per-user cache directory; created on demand."""
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AisnasError(
            f"{root}: cannot create the cache directory ({e.strerror or e}); set {ENV_CACHE} to a writable folder"
        ) from None
    return root


def default_data_path() -> Path:
    """Where `load_dataset` looks (and downloads to) when neither a path nor $AISNAS_DATA is given."""
    return cache_root() / CIFAR10_DIRNAME


def resolve_data_path(path: str | Path | None) -> Path:
    """The path to load: `path` if given, else $AISNAS_DATA, else the default download location."""
    # An empty string is what an unset CLI option or env var often looks like; treating
    # it as "." (the working directory) would be a surprising reading.
    if path is not None and str(path) != "":
        return Path(path).expanduser()
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    return default_cache_dir() / CIFAR10_DIRNAME
