"""The NAS-Bench-101 cell space as a search space, and the nasbench101 study end to end."""

import optuna
import pytest

from aisnas.cli import main
from aisnas.nasbench import CellSpec, cell_at, nasbench101_space
from aisnas.search import builtin_path, load_space, load_study, run_search, space_builders


def test_builder_by_index_and_by_graph():
    assert "nasbench101" in space_builders()
    assert nasbench101_space({"cell": 3, "stacks": 2}) == cell_at(3, 0, stacks=2)
    assert nasbench101_space({"cell": 3, "pool_seed": 5}).graph_hash == cell_at(3, 5).graph_hash
    assert nasbench101_space({"cell": 0, "stem_channels": 32}, width=0.25).stem_channels == 8
    ops = {f"op{t}": "maxpool3x3" for t in range(1, 6)}
    cell = nasbench101_space({"e0_1": 1, "e1_6": 1, "e0_6": 1, **ops, "op1": "conv3x3-bn-relu"})
    assert cell.ops == ("input", "conv3x3-bn-relu", "output") and cell.matrix == ((0, 1, 1), (0, 0, 1), (0, 0, 0))
    with pytest.raises(ValueError, match="not reachable"):
        nasbench101_space({"e0_1": 1, **ops})
    with pytest.raises(ValueError, match="missing op2, op3, op4, op5"):
        nasbench101_space({"e0_6": 1, "op1": "maxpool3x3"})
    with pytest.raises(ValueError, match="unknown key 'kernel'"):
        nasbench101_space({"cell": 1, "kernel": 3})


def test_shipped_spaces_build_cells():
    knobs = load_space(builtin_path("search_spaces", "nasbench101"))
    assert isinstance(knobs.build({"cell": 10}), CellSpec) and knobs.build({"cell": 10}).stacks == 3
    grid = load_study("nasbench101").space
    assert grid.labels[:2] == ["cell 0", "cell 1"] and len(grid.labels) == 24
    assert grid.build(grid.variant("cell 5").args) == cell_at(5, 0, stem_channels=16, stacks=3)
    smoke = load_study("nasbench101", "smoke")
    assert len(smoke.space.labels) == 4 and smoke.config.data.train_size == 1000


def test_nasbench101_smoke_study_runs_and_is_analyzed(shrink_study, tiny_data, tmp_path, capsys):
    study = shrink_study("nasbench101", tmp_path, smoke={"train_size": 100, "val_size": 40, "epochs": 1,
                                                         "repeats": 2}, train={"batch_size": 25})
    url = f"sqlite:///{tmp_path / 'nb.db'}"
    s = run_search(str(study), budget="smoke", storage=url, data=str(tiny_data), quiet=True)
    assert (s.complete, s.failed) == (4, 0)
    trials = optuna.load_study(study_name="nasbench101-smoke", storage=url).trials
    assert sorted(t.params["variant"] for t in trials) == ["cell 0", "cell 1", "cell 2", "cell 3"]
    for t in trials:
        a = t.user_attrs
        assert a["arch"]["stem_channels"] == 8 and a["counts"]["conv_layers"] >= 2
        assert CellSpec(**{k: tuple(map(tuple, v)) if k == "matrix" else tuple(v) if k == "ops" else v
                           for k, v in a["arch"].items()}).arch_id == a["arch_id"]
    capsys.readouterr()
    assert main(["analyze", "--study", str(study), "--budget", "smoke", "--storage", url, "--bootstrap", "200",
                 "--json", str(tmp_path / "nb.json")]) == 0
    out = capsys.readouterr().out
    assert "4 trained, 4 selected" in out and "clean vs noisy, selected cells, spearman" in out
    assert (tmp_path / "nb.json").is_file()
