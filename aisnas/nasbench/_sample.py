"""Seeded sampling of valid, distinct NAS-Bench-101 cells.

Sampling follows nasbench's own `random_spec`: every upper-triangular edge of a 7x7
matrix is on with probability 1/2 and every interior vertex gets a uniformly drawn op;
a draw is kept if it is valid (after pruning the output is reachable from the input,
and at most 9 edges remain) and its graph hash is new. The sequence for a seed is
fixed, so "the first n cells of seed s" is a well-defined set and a prefix of the
first n+1.
"""

from __future__ import annotations

import functools

import numpy as np

from aisnas.nasbench._cell import MAX_EDGES, MAX_VERTICES, OPS, CellSpec, prune

__all__ = ["cell_at", "check_cell", "random_graph", "sample_cells"]

# Roughly a quarter of random draws are valid; this bounds a runaway loop on a bug.
_MAX_DRAWS_PER_CELL = 1000


def check_cell(matrix, ops) -> str | None:
    """Why (matrix, ops) is outside the NAS-Bench-101 space, or None if it is a valid cell."""
    try:
        CellSpec(matrix=matrix, ops=ops)
    except ValueError as e:
        return str(e)
    return None


def random_graph(rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """One unconditioned draw, as nasbench's `random_spec` makes it (may be invalid)."""
    m = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), 1)
    ops = ["input"] + [OPS[i] for i in rng.integers(0, len(OPS), size=MAX_VERTICES - 2)] + ["output"]
    return m, ops


@functools.lru_cache(maxsize=16)
def _sequence(seed: int, n: int) -> tuple[tuple[tuple[tuple[int, ...], ...], tuple[str, ...]], ...]:
    # Pure function of (seed, n), memoized: a search builds cells one index at a time.
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out = []
    draws = 0
    while len(out) < n:
        draws += 1
        if draws > _MAX_DRAWS_PER_CELL * n:
            raise RuntimeError(f"sampled {draws} graphs for {n} valid cells; the sampler is broken")
        m, ops = random_graph(rng)
        pruned = prune(m, ops)
        if pruned is None or pruned[0].sum() > MAX_EDGES:
            continue
        cell = CellSpec(matrix=pruned[0], ops=pruned[1])
        h = cell.graph_hash
        if h not in seen:
            seen.add(h)
            out.append((cell.matrix, cell.ops))
    return tuple(out)


def _chunk(n: int) -> int:
    # Round up so that nearby requests share one memoized sequence.
    size = 64
    while size < n:
        size *= 2
    return size


def sample_cells(n: int, seed: int = 0, **network) -> list[CellSpec]:
    """The first `n` valid cells of distinct graph hash drawn with `seed`.

    `network` sets the scale of every cell's network (stem_channels, stacks,
    modules_per_stack, ...).
    """
    if n < 0:
        raise ValueError(f"n: {n} must be >= 0")
    graphs = _sequence(int(seed), _chunk(n))[:n]
    return [CellSpec(matrix=m, ops=ops, name=_name(i, seed), **network)
            for i, (m, ops) in enumerate(graphs)]


def cell_at(index: int, seed: int = 0, **network) -> CellSpec:
    """Cell number `index` (from 0) of the seeded sequence."""
    if index < 0:
        raise ValueError(f"cell: {index} must be >= 0")
    m, ops = _sequence(int(seed), _chunk(index + 1))[index]
    return CellSpec(matrix=m, ops=ops, name=_name(index, seed), **network)


def _name(index: int, seed: int) -> str:
    return f"cell{index}" if seed == 0 else f"cell{index}.s{seed}"
