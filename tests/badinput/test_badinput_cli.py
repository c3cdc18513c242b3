"""Bad input through the command line: one line on stderr, a non-zero exit, no traceback,
and the stored study exactly as it was."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import optuna
import pytest

from aisnas.cli import main


def _snapshot(db) -> list:
    """Everything stored: studies, their attrs, every trial's state, values, params and attrs."""
    url = f"sqlite:///{db}"
    out = []
    for summary in optuna.get_all_study_summaries(url, include_best_trial=False):
        study = optuna.load_study(study_name=summary.study_name, storage=url)
        out.append((summary.study_name, study.user_attrs, [
            (t.number, t.state, t.values, t.params, t.user_attrs, t.system_attrs, t.datetime_complete)
            for t in study.trials]))
    return out


def _fails(argv: list[str], capsys, *patterns: str) -> str:
    code = main(argv)  # an unexpected exception would escape here, traceback and all
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("aisnas: error: "), err
    assert "Traceback" not in out + err
    for p in patterns:
        assert re.search(p, lines[0]), lines[0]
    return lines[0]


def _search(study_file, db, data) -> list[str]:
    return ["search", "--study", str(study_file), "--storage", f"sqlite:///{db}", "--data", str(data), "--quiet"]


def test_the_stored_study_is_what_the_tests_protect(stored_db):
    (name, attrs, trials), = _snapshot(stored_db)
    assert name == "tiny" and attrs["config_hash"]
    assert [(t[1].name, t[3]) for t in trials] == [("COMPLETE", {"variant": "k3", "seed": 0}), ("WAITING", {})]


@pytest.mark.parametrize("edit, patterns", [
    (("seeds = 1", "seeds = [1"), [r"tiny\.toml: malformed TOML", r"line \d+"]),
    (("[eval]", "[eval]\nsigmaz = 1"), [r"tiny\.toml", r"unknown key 'eval\.sigmaz'"]),
    (("repeats = 1", 'repeats = "two"'), [r"tiny\.toml", r"eval\.repeats"]),
    (("sigmas = [0.0, 0.4]", "sigmas = [0.0, -0.4]"), [r"tiny\.toml", r"-0\.4 is negative"]),
    (("[eval]", "[eval]\nbits = [1]"), [r"tiny\.toml", r"bits: 1 is outside 2\.\.16"]),
], ids=["malformed-toml", "unknown-key", "wrong-type", "negative-sigma", "bits-out-of-range"])
def test_bad_study_file(study_file, stored_db, tiny_data, capsys, edit, patterns):
    before = _snapshot(stored_db)
    study_file.write_text(study_file.read_text().replace(*edit, 1))
    _fails(_search(study_file, stored_db, tiny_data), capsys, *patterns)
    assert _snapshot(stored_db) == before


def test_empty_search_space(study_file, stored_db, tiny_data, capsys):
    before = _snapshot(stored_db)
    (study_file.parent / "space.toml").write_text('description = "nothing"\nkind = "variants"\n')
    _fails(_search(study_file, stored_db, tiny_data), capsys, r"space\.toml", "search space is empty")
    assert _snapshot(stored_db) == before


def test_missing_dataset(study_file, stored_db, tmp_path, capsys):
    before = _snapshot(stored_db)
    _fails(_search(study_file, stored_db, tmp_path / "nope"), capsys, re.escape(str(tmp_path / "nope")),
           "no such file or directory")
    assert _snapshot(stored_db) == before  # refused before any trial, not two failed trials


def test_corrupt_dataset(study_file, stored_db, tiny_data, tmp_path, capsys):
    before = _snapshot(stored_db)
    data = shutil.copytree(tiny_data, tmp_path / "data")
    bad = data / "train" / "class3" / "005.png"
    bad.write_bytes(bad.read_bytes()[:60])  # truncated
    _fails(_search(study_file, stored_db, data), capsys, re.escape(str(bad)), "corrupt")
    assert _snapshot(stored_db) == before


def test_unreachable_storage_does_not_print_its_password(study_file, tiny_data):
    # The real entry point in a process of its own: nothing but the one line, anywhere.
    url = "postgresql://aisnas:Hush-9f3b@127.0.0.1:1/nas"
    r = subprocess.run([sys.executable, "-m", "aisnas", *_search(study_file, "x", tiny_data)[:-1], "--storage", url],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "Hush-9f3b" not in r.stdout + r.stderr
    assert "postgresql://aisnas:***@127.0.0.1:1/nas" in r.stderr and "cannot open" in r.stderr


def test_study_name_that_does_not_exist(stored_db, capsys):
    before = _snapshot(stored_db)
    _fails(["search", "--study", "nosuchstudy", "--storage", f"sqlite:///{stored_db}"], capsys,
           "unknown study 'nosuchstudy'", "fanin")
    _fails(["report", "--study", "nosuchstudy", "--storage", f"sqlite:///{stored_db}"], capsys,
           "no study 'nosuchstudy'", "stored studies: tiny")
    assert _snapshot(stored_db) == before


def test_report_on_an_empty_storage(tmp_path, capsys):
    db = tmp_path / "empty.db"
    optuna.storages.RDBStorage(f"sqlite:///{db}")  # a storage that holds no study
    _fails(["report", "--study", "tiny", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "r")], capsys,
           "no study 'tiny'", "holds no study yet")
    assert not (tmp_path / "r").exists() and _snapshot(db) == []


def test_report_on_a_study_without_trials(tmp_path, capsys):
    db = tmp_path / "study.db"
    optuna.create_study(study_name="tiny", storage=f"sqlite:///{db}", directions=["maximize", "maximize"])
    before = _snapshot(db)
    _fails(["report", "--study", "tiny", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "r")], capsys,
           "no trials")
    assert _snapshot(db) == before
