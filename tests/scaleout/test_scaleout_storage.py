"""Which storages take many workers, the per-worker settings, and passwords kept out of errors."""

from __future__ import annotations

import optuna
import pytest
from scaleout_helpers import PASSWORD, write_study

from aisnas.cli import main
from aisnas.errors import AisnasError
from aisnas.search import open_storage, redact
from aisnas.search._storage import _scrub, _with_driver
from aisnas.search._workers import threads_per_worker, worker_device, worker_seed


def test_sqlite_is_refused_for_parallel_workers_and_the_study_is_untouched(tiny_data, tmp_path, capsys):
    db = tmp_path / "study.db"
    url = f"sqlite:///{db}"
    optuna.create_study(study_name="tiny", storage=url, directions=["maximize", "maximize"]).enqueue_trial({"seed": 0})
    study = write_study(tmp_path)
    code = main(["search", "--study", str(study), "--storage", url, "--data", str(tiny_data), "--workers", "2"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "SQLite cannot be shared by 2 parallel workers" in err
    assert "journal:PATH" in err and "postgresql://" in err
    kept = optuna.load_study(study_name="tiny", storage=url)
    assert [t.state.name for t in kept.trials] == ["WAITING"] and kept.user_attrs == {}


@pytest.mark.parametrize("bad, message", [("0", "workers 0: must be at least 1"),
                                          ("-3", "workers -3: must be at least 1")])
def test_worker_count_below_one_is_refused(tiny_data, tmp_path, capsys, bad, message):
    study = write_study(tmp_path)
    code = main(["search", "--study", str(study), "--storage", f"journal:{tmp_path / 'j'}", "--data",
                 str(tiny_data), "--workers", bad])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "j").exists()  # refused before the storage was touched


def test_each_worker_gets_its_share_of_cores_its_seed_and_a_gpu_in_turn():
    assert [threads_per_worker(n, cores=16) for n in (1, 2, 3, 4, 16, 32)] == [16, 8, 5, 4, 1, 1]
    assert [worker_seed(7, i) for i in range(4)] == [7, 8, 9, 10]
    assert [worker_device("auto", i, gpus=2) for i in range(5)] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0"]
    assert worker_device("cuda", 3, gpus=4) == "cuda:3"
    assert worker_device("cuda:1", 0, gpus=4) == "cuda:1"  # an explicit GPU is kept
    assert worker_device("auto", 1, gpus=0) == "auto" and worker_device("cpu", 1, gpus=2) == "cpu"


def test_passwords_are_redacted_and_scrubbed_from_driver_errors():
    url = "postgresql://ais:p%40ss-w0rd@db.example:5432/nas"
    assert redact(url) == "postgresql://ais:***@db.example:5432/nas"
    assert redact("journal:./x.journal") == "journal:./x.journal"
    msg = 'FATAL: password "p@ss-w0rd" rejected for postgresql://ais:p%40ss-w0rd@db.example/nas'
    assert _scrub(msg, url) == 'FATAL: password "***" rejected for postgresql://ais:***@db.example/nas'


def test_plain_postgresql_urls_use_the_installed_driver():
    pytest.importorskip("psycopg2")
    url = _with_driver("postgresql://u:pw@h/db")
    assert url.startswith(("postgresql://", "postgresql+psycopg2://")) and url.endswith("u:pw@h/db")
    assert _with_driver("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"  # an explicit driver is kept


def test_unreachable_postgres_names_the_host_without_the_password():
    pytest.importorskip("psycopg2")
    with pytest.raises(AisnasError) as e:
        open_storage("postgresql://ais:Sekr1t-pw@127.0.0.1:1/nas")
    text = str(e.value)
    assert "Sekr1t-pw" not in text and "postgresql://ais:***@127.0.0.1:1/nas" in text and "cannot open" in text
    with pytest.raises(AisnasError, match="at least 1 second"):
        open_storage("postgresql://ais@127.0.0.1:1/nas", heartbeat=0)


def test_the_password_can_stay_out_of_the_url(postgres, monkeypatch):
    """Command lines are visible to every user of a machine (ps); PGPASSWORD is not."""
    url = postgres.new_database()
    bare = url.replace(f":{PASSWORD}@", "@")
    monkeypatch.setenv("PGPASSWORD", "wrong")
    with pytest.raises(AisnasError, match="password authentication failed"):
        open_storage(bare)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    study = optuna.create_study(study_name="s", storage=open_storage(bare))
    assert optuna.load_study(study_name="s", storage=open_storage(url))._study_id == study._study_id


def test_a_resumed_journal_study_fails_only_trials_whose_worker_is_gone(tmp_path):
    import os
    import subprocess
    import sys

    from aisnas.search._run import _fail_stale_running
    from aisnas.search._workers import _record, worker_alive

    me = _record("run-a", 0, 2, 0, "cpu")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = {**me, "pid": int(gone.stdout)}  # a process that has exited
    reborn = {**me, "started": "another-boot:1"}  # this pid, but not the process that ran the trial
    assert worker_alive(me) and not worker_alive(dead) and not worker_alive(reborn)
    assert not worker_alive({**me, "host": "elsewhere"}) and not worker_alive(None)
    study = optuna.create_study(study_name="s", storage=open_storage(f"journal:{tmp_path / 's.journal'}"))
    for w in (me, dead, reborn, None):
        t = study.ask()
        if w:
            t.set_user_attr("worker", w)
    assert _fail_stale_running(study) == 3
    assert [t.state.name for t in study.trials] == ["RUNNING", "FAIL", "FAIL", "FAIL"]
    assert os.getpid() == study.trials[0].user_attrs["worker"]["pid"]
