"""Apply a variant once to a whole dataset and cache the result on disk.

Training reads the converted uint8 tensors like any other dataset (airbench style: data
held as tensors, no per-sample work), so the raw pipeline costs nothing per epoch. The
cache file is keyed by the dataset key, the variant and every option that changes the
pixels, plus a pipeline version, and is written atomically so that two processes
converting the same dataset at once never leave a half-written file behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import re
import tempfile
from pathlib import Path

import torch

from aisnas.errors import AisnasError
from aisnas.raw._pipeline import apply_variant_uint8, check_options
from aisnas.raw._variant import Variant, parse_variant

__all__ = ["variant_dataset", "variant_key"]

# Bump when the pipeline's maths change, so caches made by older code are not reused.
PIPELINE_VERSION = 1


def variant_key(
    ds_key: str,
    variant: Variant | str,
    *,
    mosaic: str = "sparse3",
    sensor_noise: bool = False,
    adc_bits: int | None = None,
    seed: int = 0,
) -> str:
    """The converted dataset's key: ds_key plus the variant and the options that matter.

    Options that cannot change the pixels are left out (mosaic without M, seed without
    noise), so equal data gets an equal key. Only [A-Za-z0-9+_.-] are added.
    """
    v = parse_variant(variant)
    parts = [f"raw-{'+'.join(v.codes) or 'NA'}"]
    if "M" in v.codes:
        parts.append(f"mosaic-{mosaic}")
    if sensor_noise:
        parts.append(f"noise-seed{seed}")
    if adc_bits is not None:
        parts.append(f"adc{adc_bits}")
    parts.append(f"v{PIPELINE_VERSION}")
    return f"{ds_key}_{'_'.join(parts)}"


def variant_dataset(
    ds,
    variant: Variant | str,
    *,
    cache_dir: Path | None = None,
    batch_size: int = 2048,
    mosaic: str = "sparse3",
    sensor_noise: bool = False,
    adc_bits: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
):
    """`ds` (an aisnas.data.ImageDataset) with x_train and x_test passed through `variant`.

    Returns dataclasses.replace(ds, x_train=..., x_test=..., key=variant_key(...)); labels
    and everything else are kept. Images stay uint8 (CRIP writes 8-bit images); a
    mosaic="bayer1" variant ending in M has 1 channel. "N/A" returns `ds` itself.
    The conversion runs in batches of `batch_size` on `device` and is cached under
    cache_dir (default: aisnas.data.default_cache_dir() / "variants"). Sensor noise is
    drawn from generators seeded with 2*seed (train) and 2*seed+1 (test), so a noisy
    variant is a fixed, reproducible dataset rather than fresh noise per epoch.
    """
    v = parse_variant(variant)
    check_options(v, mosaic=mosaic, sensor_noise=sensor_noise, adc_bits=adc_bits)
    _check_dataset(ds)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise AisnasError(f"batch_size: {batch_size!r} must be an integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise AisnasError(f"seed: {seed!r} must be an integer >= 0")
    if not v.codes:
        return ds

    key = variant_key(ds.key, v, mosaic=mosaic, sensor_noise=sensor_noise, adc_bits=adc_bits, seed=seed)
    if cache_dir is None:
        from aisnas.data import default_cache_dir  # lazy: aisnas.data imports heavier things

        cache_dir = default_cache_dir() / "variants"
    path = Path(cache_dir) / _file_name(key)

    cached = _load(path, key, len(ds.x_train), len(ds.x_test))
    if cached is None:
        opts = dict(mosaic=mosaic, sensor_noise=sensor_noise, adc_bits=adc_bits)
        cached = {
            "key": key,
            "x_train": _convert(ds.x_train, v, batch_size, device, 2 * seed, opts),
            "x_test": _convert(ds.x_test, v, batch_size, device, 2 * seed + 1, opts),
        }
        _save_atomic(path, cached)
    return dataclasses.replace(ds, x_train=cached["x_train"], x_test=cached["x_test"], key=key)


def _check_dataset(ds) -> None:
    for name in ("x_train", "x_test"):
        x = getattr(ds, name, None)
        if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8 or x.ndim != 4 or x.shape[1] != 3:
            got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise AisnasError(f"variant_dataset: ds.{name} is {got}; a uint8 [N,3,H,W] RGB tensor is required")
    if not isinstance(getattr(ds, "key", None), str) or not dataclasses.is_dataclass(ds):
        raise AisnasError("variant_dataset: ds must be an aisnas.data.ImageDataset (a dataclass with a str key)")


def _convert(x: torch.Tensor, v: Variant, batch_size: int, device, seed: int, opts: dict) -> torch.Tensor:
    generator = None
    if opts["sensor_noise"]:
        generator = torch.Generator(device=device).manual_seed(seed)
    # range(max(n, 1)) runs one (possibly empty) batch, so an empty split keeps its shape.
    out = [
        apply_variant_uint8(x[i : i + batch_size].to(device), v, generator=generator, **opts).cpu()
        for i in range(0, max(len(x), 1), batch_size)
    ]
    return torch.cat(out).contiguous()


def _file_name(key: str) -> str:
    # Readable prefix for humans browsing the cache, hash for uniqueness and length.
    safe = re.sub(r"[^A-Za-z0-9+_.-]+", "_", key)[:96]
    return f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"


def _load(path: Path, key: str, n_train: int, n_test: int) -> dict | None:
    """The cached tensors, or None when missing, unreadable or not for this key/size."""
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError):
        return None  # a corrupt file is simply rebuilt (and atomically replaced)
    ok = (
        isinstance(data, dict)
        and data.get("key") == key
        and isinstance(data.get("x_train"), torch.Tensor)
        and isinstance(data.get("x_test"), torch.Tensor)
        and len(data["x_train"]) == n_train
        and len(data["x_test"]) == n_test
    )
    return data if ok else None


def _save_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(data, f)
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see old or new file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
