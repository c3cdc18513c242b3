"""The NAS-Bench-101 cell space as an aisnas search space (builder "nasbench101").

Two ways to name a cell, for any study (`search_spaces/*.toml` with
`builder = "nasbench101"`):

- by index: knob or grid value `cell` = n picks cell n of the seeded sequence of
  valid, distinct cells (`sample_cells`, seed `pool_seed`, default 0). Every value is
  a valid cell; grids over `cell` are what the `nasbench101` study runs.
- by graph: knobs `e<i>_<j>` (0/1, the edge i -> j of a 7-vertex matrix, 0 <= i < j
  <= 6) and `op1`..`op5` (one of OPS). Edges not given are off. A draw outside the
  space (disconnected, more than 9 edges after pruning) is rejected before training
  with the reason, as any invalid knob combination is.

Network scale: `stem_channels` (default 16, times the study's `width` when set),
`stacks` (1), `modules_per_stack` (1), and `activation` ("softplus").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aisnas.nasbench._cell import MAX_VERTICES, CellSpec
from aisnas.nasbench._sample import cell_at
from aisnas.search import register_space_builder

__all__ = ["nasbench101_space"]

_NETWORK = ("stem_channels", "stacks", "modules_per_stack", "activation")
_EDGES = tuple(f"e{i}_{j}" for j in range(MAX_VERTICES) for i in range(j))
_OPS = tuple(f"op{t}" for t in range(1, MAX_VERTICES - 1))


@register_space_builder("nasbench101")
def nasbench101_space(values: dict[str, Any], width: float | None = None) -> CellSpec:
    """The CellSpec for knob (or grid) values; ValueError for unknown keys or invalid cells."""
    values = dict(values)
    network = {k: values.pop(k) for k in _NETWORK if k in values}
    network.setdefault("stem_channels", 16)
    if width is not None:
        network["stem_channels"] = max(1, round(network["stem_channels"] * width))
    if "cell" in values:
        index = values.pop("cell")
        seed = values.pop("pool_seed", 0)
        _no_more(values, ("cell", "pool_seed", *_NETWORK))
        return cell_at(int(index), int(seed), **network)
    values.pop("pool_seed", None)
    given = {k: values.pop(k) for k in (*_EDGES, *_OPS) if k in values}
    _no_more(values, ("cell", "pool_seed", "e<i>_<j>", "op1..op5", *_NETWORK))
    missing = [k for k in _OPS if k not in given]
    if missing:
        raise ValueError(f"nasbench101: give 'cell', or the ops {', '.join(_OPS)} (missing {', '.join(missing)})")
    m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
    for key in _EDGES:
        if key in given:
            i, j = map(int, key[1:].split("_"))
            m[i, j] = int(bool(given[key]))
    ops = ["input", *(given[k] for k in _OPS), "output"]
    return CellSpec(matrix=m, ops=ops, name="nasbench101", **network)


def _no_more(values: dict, allowed: tuple[str, ...]) -> None:
    if values:
        raise ValueError(f"nasbench101: unknown key {sorted(values)[0]!r}; allowed: {', '.join(allowed)}")
