"""NAS-Bench-101 cells (through nasbench-pytorch) as aisnas architectures.

    cells = sample_cells(30, seed=0, stem_channels=16)   # valid, distinct by graph hash
    model = cells[0].build()                              # softplus, noise at every conv
    cells[0].totals(), cells[0].features()                # exact counts, fan-in statistics

Importing this package registers the search-space builder "nasbench101" (cells by
index into the seeded sequence, or by edges and ops), so any study can search the cell
space; `analyze(study)` is the `nasbench101` study's topology-vs-noise analysis.
"""

from aisnas.nasbench._analyze import analyze, bootstrap_correlation, format_analysis, select_similar
from aisnas.nasbench._cell import MAX_EDGES, MAX_VERTICES, OPS, CellSpec, prune, swap_relu
from aisnas.nasbench._sample import cell_at, check_cell, random_graph, sample_cells
from aisnas.nasbench._space import nasbench101_space

__all__ = [
    "MAX_EDGES",
    "MAX_VERTICES",
    "OPS",
    "CellSpec",
    "analyze",
    "bootstrap_correlation",
    "cell_at",
    "check_cell",
    "format_analysis",
    "nasbench101_space",
    "prune",
    "random_graph",
    "sample_cells",
    "select_similar",
    "swap_relu",
]
