"""The tiny study files that the search, report, bad-input and scale-out tests run.

A module with a name no other test directory uses, so test files and helpers import
it directly (pytest puts tests/ on sys.path for the root conftest.py); the benchmarks
write their own. Two cnn3 variants (3x3 and 5x5 kernels) on 100 images: a search
finishes in seconds.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

GRID_SPACE = """
description = "two tiny variants"
kind = "variants"

[[variants]]
label = "k3"
arch = "cnn3"
args = { kernel = 3 }

[[variants]]
label = "k5"
arch = "cnn3"
args = { kernel = 5 }
"""

# A knob space on the shipped ais_cnn builder, pinned down to two small stages.
KNOB_SPACE = """
description = "kernel sizes of a two-stage net"
kind = "knobs"
builder = "ais_cnn"

[fixed]
num_stages = 2
stem_width = 8
growth = 2.0
depth_1 = 1
depth_2 = 1
fan_in_1 = "full"
fan_in_2 = "full"
bits_1 = 0
bits_2 = 0

[knobs.kernel_1]
choices = [3, 5, 7]

[knobs.kernel_2]
choices = [3, 5, 7]
"""

BASE = {
    "description": "tiny test study",
    "space": "./space.toml",
    "seeds": 1,
    "width": 0.25,
    "data": {"train_size": 100, "val_size": 40},
    "train": {"optimizer": "sgd", "epochs": 1, "batch_size": 25},
    "eval": {"sigmas": [0.0, 0.4], "repeats": 1, "objective_sigma": 0.4},
    "objectives": [{"metric": "noisy_accuracy"}, {"metric": "clean_accuracy"}],
    "sampler": {"name": "grid"},
}


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _toml(data: dict, prefix: str = "") -> str:
    """Plain TOML laid out as a person writes it (one-line arrays, [[objectives]] blocks),
    so that tests can edit the text with str.replace; JSON scalars and arrays are TOML."""
    scalars = [f"{k} = {json.dumps(v)}" for k, v in data.items()
               if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict))]
    blocks = ["\n".join(scalars)] if scalars else []
    for k, v in data.items():
        if isinstance(v, dict) and any(isinstance(x, dict) for x in v.values()):
            blocks.append(_toml(v, f"{prefix}{k}."))  # only sub-tables, e.g. [budgets.smoke]
        elif isinstance(v, dict):
            blocks.append(f"[{prefix}{k}]\n" + _toml(v))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            blocks += [f"[[{prefix}{k}]]\n" + _toml(item) for item in v]
    return "\n\n".join(b.strip("\n") for b in blocks) + "\n"


def write_tiny_study(folder: Path, name: str = "tiny", *, space: str = GRID_SPACE, space_file: str = "space.toml",
                     **over) -> Path:
    """`folder/<space_file>` and `folder/<name>.toml`: BASE with `over` merged in, key by key.

        write_tiny_study(tmp_path, train={"optimizer": "sam"}, eval={"repeats": 2})
    """
    folder = Path(folder)
    (folder / space_file).write_text(space)
    path = folder / f"{name}.toml"
    path.write_text(_toml(_merge(BASE, {"space": f"./{space_file}", **over})))
    return path
