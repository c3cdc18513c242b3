"""`CellSpec`: one NAS-Bench-101 cell and the network it is stacked into.

A cell is a DAG of at most 7 vertices (input, up to 5 operations, output) and at most
9 edges; the operations are conv3x3-bn-relu, conv1x1-bn-relu and maxpool3x3 (Ying et
al. 2019). The network is nasbench-pytorch's `Network`: a 3x3 stem conv, `stacks`
stacks of `modules_per_stack` cells with 2x2 max-pooling (and channel doubling)
between stacks, global average pooling and a linear classifier. aisnas scales stem
and stacks down to fit a CPU budget and swaps every ReLU for softplus (the paper's
AIS nonlinearity).

Counts (MACs, parameters, fan-in of every conv) are computed from the description,
without building a model, so cells can be priced before training; they follow
nasbench-pytorch's own channel rule (`compute_vertex_channels`) and execution order,
which the tests check against forward hooks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import statistics
from dataclasses import dataclass

import numpy as np
from torch import nn

from aisnas.arch import LayerInfo, layer_totals

__all__ = ["CONV_KERNELS", "MAX_EDGES", "MAX_VERTICES", "OPS", "CellSpec", "prune", "swap_relu"]

# The canonical op order of NAS-Bench-101 (its config['available_ops']): the graph hash
# labels vertices by these indices, so `CellSpec.graph_hash` equals the dataset's hash.
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
CONV_KERNELS = {"conv3x3-bn-relu": 3, "conv1x1-bn-relu": 1}
MAX_VERTICES = 7
MAX_EDGES = 9
ACTIVATIONS = ("softplus", "relu")


def prune(matrix, ops) -> tuple[np.ndarray, list[str]] | None:
    """nasbench's pruning: drop vertices not on an input->output path; None if none is left.

    Raises ValueError for a malformed graph (not square, not strictly upper triangular,
    entries other than 0/1, wrong labels).
    """
    from nasbench_pytorch.model.model_spec import ModelSpec

    m = np.asarray(matrix)
    ops = list(ops)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
        raise ValueError(f"matrix: must be square and at least 2x2, got shape {tuple(m.shape)}")
    if not np.isin(m, (0, 1)).all():
        raise ValueError("matrix: entries must be 0 or 1")
    if len(ops) != m.shape[0]:
        raise ValueError(f"ops: {len(ops)} labels for a {m.shape[0]}-vertex matrix")
    if ops[0] != "input" or ops[-1] != "output":
        raise ValueError(f"ops: must start with 'input' and end with 'output', got {ops[0]!r} ... {ops[-1]!r}")
    for op in ops[1:-1]:
        if op not in OPS:
            raise ValueError(f"ops: {op!r} is not one of {', '.join(OPS)}")
    try:
        spec = ModelSpec(m.astype(np.int64), ops)
    except ValueError as e:  # "matrix must be upper triangular"
        raise ValueError(f"matrix: {e}") from None
    except RuntimeError:
        # nasbench-pytorch 1.3 marks a disconnected graph invalid (matrix None) and
        # then fails on torch.tensor(None): that failure is its "invalid" answer.
        return None
    if not spec.valid_spec:
        return None
    return np.asarray(spec.matrix, dtype=np.int64), list(spec.ops)


def swap_relu(model: nn.Module) -> int:
    """Replace every `nn.ReLU` submodule by `nn.Softplus` in place; returns how many.

    nasbench-pytorch's ConvBnRelu is Sequential(conv, bn, ReLU): the Softplus takes the
    ReLU's slot, so the noise site (the BN right after the conv) is unchanged.
    """
    n = 0
    for parent in list(model.modules()):
        for name, child in list(parent._modules.items()):
            if isinstance(child, nn.ReLU):
                parent._modules[name] = nn.Softplus()
                n += 1
    return n


@dataclass(frozen=True)
class CellSpec:
    """A NAS-Bench-101 cell plus the network scale; stored pruned, so equal cells compare equal.

    `matrix` is the adjacency matrix (row = source, column = destination, vertex 0 the
    input, the last the output) and `ops` the vertex labels including "input" and
    "output". Construction prunes the graph as nasbench does and rejects cells outside
    the NAS-Bench-101 space with a ValueError saying why.
    """

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]
    stem_channels: int = 16
    stacks: int = 1
    modules_per_stack: int = 1
    name: str = "nasbench101"
    input_channels: int = 3
    input_size: int = 32
    num_classes: int = 10
    activation: str = "softplus"
    # PyTorch's convention (weight of the new batch). nasbench-pytorch defaults to
    # 0.997, TensorFlow's decay convention, which in PyTorch would make the running
    # statistics those of the last batch alone.
    bn_momentum: float = 0.1
    # Read by the PPA model and the noise injector: 0 (all off-sensor) or 1 (the stem).
    in_sensor_layers: int = 0
    adc_bits: int | None = None

    def __post_init__(self) -> None:
        if len(self.matrix) > MAX_VERTICES:
            raise ValueError(f"matrix: {len(self.matrix)} vertices, NAS-Bench-101 allows at most {MAX_VERTICES}")
        pruned = prune(self.matrix, self.ops)
        if pruned is None:
            raise ValueError("matrix: the output is not reachable from the input")
        m, ops = pruned
        edges = int(m.sum())
        if edges > MAX_EDGES:
            raise ValueError(f"matrix: {edges} edges after pruning, NAS-Bench-101 allows at most {MAX_EDGES}")
        object.__setattr__(self, "matrix", tuple(tuple(int(v) for v in row) for row in m))
        object.__setattr__(self, "ops", tuple(ops))
        for key in ("stem_channels", "stacks", "modules_per_stack", "input_channels"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: {getattr(self, key)} must be >= 1")
        if self.num_classes < 2:
            raise ValueError(f"num_classes: {self.num_classes} must be >= 2")
        if self.input_size < 2 ** (self.stacks - 1):
            raise ValueError(f"input_size: {self.input_size} is too small for {self.stacks} stacks")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation: {self.activation!r} is not one of {', '.join(ACTIVATIONS)}")
        if self.in_sensor_layers not in (0, 1):
            # Inside a cell the noise injector's site order (registration) is not the
            # execution order, so only the stem can be marked as the analog part.
            raise ValueError(f"in_sensor_layers: {self.in_sensor_layers}; a NAS-Bench-101 network can put only "
                             "its stem conv in the sensor (0 or 1)")

    # ---- identity ---------------------------------------------------------------

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    @property
    def graph_hash(self) -> str:
        """NAS-Bench-101's isomorphism-invariant hash of the cell (its dataset key)."""
        from nasbench_pytorch.model import graph_util

        labels = [-1] + [OPS.index(op) for op in self.ops[1:-1]] + [-2]
        return graph_util.hash_module(np.array(self.matrix), labels)

    @property
    def arch_id(self) -> str:
        """Content hash of everything but the display name: equal ids, equal networks."""
        d = dataclasses.asdict(self)
        d.pop("name")
        return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    # ---- model ------------------------------------------------------------------

    def build(self) -> nn.Module:
        """nasbench-pytorch's Network for this cell, ReLU swapped for softplus unless told otherwise."""
        from nasbench_pytorch.model import ModelSpec, Network

        net = Network(ModelSpec(np.array(self.matrix), list(self.ops)), num_labels=self.num_classes,
                      in_channels=self.input_channels, stem_out_channels=self.stem_channels,
                      num_stacks=self.stacks, num_modules_per_stack=self.modules_per_stack,
                      momentum=self.bn_momentum)
        # Vertex ops are built with base_ops' own BN momentum (0.1); set every BN alike.
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = self.bn_momentum
        if self.activation == "softplus":
            swap_relu(net)
        net.aisnas_in_sensor_layers = self.in_sensor_layers  # read by noise sites="in_sensor"
        return net

    # ---- counts -----------------------------------------------------------------

    def layers(self) -> tuple[LayerInfo, ...]:
        """Every conv (and the classifier) in execution order, with exact shapes."""
        from nasbench_pytorch.model.model import compute_vertex_channels

        out: list[LayerInfo] = []

        def add(name: str, c_in: int, c_out: int, k: int, hw: int, kind: str = "conv") -> None:
            out.append(LayerInfo(index=len(out), name=name, kind=kind, in_channels=c_in, out_channels=c_out,
                                 kernel=k, groups=1, in_hw=(hw, hw), out_hw=(hw, hw), skip=False,
                                 weight_bits=None, in_sensor=len(out) < self.in_sensor_layers))

        m = np.array(self.matrix)
        v = len(self.ops)
        hw, c = self.input_size, self.stem_channels
        add("stem", self.input_channels, c, 3, hw)
        c_in = c
        for s in range(self.stacks):
            if s > 0:
                hw //= 2
                c *= 2
            for j in range(self.modules_per_stack):
                ch = compute_vertex_channels(c_in, c, m)
                p = f"s{s + 1}.m{j + 1}"
                # nasbench-pytorch's Cell.forward: for each vertex, its input projection
                # (1x1 conv of the cell input), then its op; the output projection last.
                for t in range(1, v - 1):
                    if m[0, t]:
                        add(f"{p}.proj{t}", c_in, ch[t], 1, hw)
                    if self.ops[t] in CONV_KERNELS:
                        add(f"{p}.v{t}", ch[t], ch[t], CONV_KERNELS[self.ops[t]], hw)
                if m[0, v - 1]:
                    add(f"{p}.proj{v - 1}", c_in, ch[v - 1], 1, hw)
                c_in = c
        out.append(LayerInfo(len(out), "fc", "linear", c_in, self.num_classes, 1, 1, (1, 1), (1, 1), False,
                             None, False))
        return tuple(out)

    def totals(self) -> dict[str, int]:
        return layer_totals(self.layers())

    def features(self) -> dict[str, float | int]:
        """Topology and fan-in features, the candidates for predicting noise robustness.

        Fan-in statistics are over every conv of the network (stem, vertex convs and
        1x1 input projections): fan-in = k*k*C_in, the number of products one analog
        MAC output sums.
        """
        convs = [layer for layer in self.layers() if layer.kind == "conv"]
        fan = [layer.fan_in for layer in convs]
        macs = sum(layer.macs for layer in convs)
        interior = self.ops[1:-1]
        m = np.array(self.matrix)
        return {
            "vertices": self.num_vertices,
            "edges": self.num_edges,
            "depth": _longest_path(m),
            "output_in_degree": int(m[:, -1].sum()),  # branches concatenated at the output
            "conv3x3": interior.count("conv3x3-bn-relu"),
            "conv1x1": interior.count("conv1x1-bn-relu"),
            "maxpool3x3": interior.count("maxpool3x3"),
            "projections": int(m[0, 1:].sum()),  # 1x1 convs of the cell input, one per input edge
            "conv_layers": len(convs),
            "fanin_mean": statistics.fmean(fan),
            "fanin_min": min(fan),
            "fanin_max": max(fan),
            "fanin_mac_weighted": sum(layer.fan_in * layer.macs for layer in convs) / macs,
        }


def _longest_path(m: np.ndarray) -> int:
    """Edges on the longest input->output path (vertices are topologically ordered)."""
    v = m.shape[0]
    depth = [0] * v
    for dst in range(1, v):
        srcs = [depth[s] + 1 for s in range(dst) if m[s, dst]]
        depth[dst] = max(srcs) if srcs else 0
    return depth[-1]
