"""Where and with what a run executes: the device and the provenance record.

Every trial records its code version, library versions and device, so a result can be
traced and rerun (same seed, same machine, same result).
"""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path

import torch

from aisnas import __version__
from aisnas.errors import AisnasError

__all__ = ["code_version", "provenance", "select_device"]


def select_device(name: str = "auto") -> torch.device:
    """"auto": CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise AisnasError(f"device {name!r}: CUDA is not available on this machine; use --device cpu or auto")
    if not (name == "cpu" or name.startswith("cuda")):
        raise AisnasError(f"device {name!r}: expected auto, cpu, cuda or cuda:N")
    return torch.device(name)


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The package version plus the git commit (and '+dirty') when run from a checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha, dirty = "", ""
    if not sha:
        return __version__
    return f"{__version__}+g{sha}{'.dirty' if dirty else ''}"


def provenance(device: torch.device) -> dict:
    import numpy
    import optuna

    return {
        "code_version": code_version(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "optuna": optuna.__version__,
        "numpy": numpy.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }
