"""Architecture files: `arch.toml` written by export, read by `--arch FILE`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from aisnas.arch._spec import ArchSpec
from aisnas.configs import from_dict, load_toml, to_dict

__all__ = ["arch_from_dict", "load_arch", "save_arch"]


@dataclass(frozen=True)
class _ArchFile:
    arch: dict[str, Any]


def _drop_none(d):
    # TOML has no null: an absent key means "use the default" (None for the optional knobs).
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    if isinstance(d, list):
        return [_drop_none(v) for v in d]
    return d


def arch_from_dict(data: dict, source: str = "<arch>") -> ArchSpec:
    return from_dict(ArchSpec, data, source=source)


def load_arch(path: str | Path) -> ArchSpec:
    """Read an architecture file; its top-level table `[arch]` holds the ArchSpec keys."""
    data = load_toml(path)
    from_dict(_ArchFile, data, source=str(path))  # reject stray top-level tables
    return arch_from_dict(data["arch"], source=str(path))


def save_arch(spec: ArchSpec, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(tomli_w.dumps({"arch": _drop_none(to_dict(spec))}))
    return path
