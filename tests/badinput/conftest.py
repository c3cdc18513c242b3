"""A stored study to keep intact and the study file that made it (tiny_data: tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tiny_studies import write_tiny_study



@pytest.fixture(scope="session")
def _stored(tmp_path_factory) -> Path:
    """The study as `aisnas search` creates it, with one complete trial and one point waiting.

    The trial is recorded rather than trained: what the tests check is that a failing
    command leaves every stored byte of it alone, not what training gives.
    """
    import optuna
    from optuna.distributions import CategoricalDistribution

    from aisnas.search import load_study, open_storage, open_study

    folder = tmp_path_factory.mktemp("stored")
    url = f"sqlite:///{folder / 'study.db'}"
    study = open_study(load_study(str(write_tiny_study(folder))), open_storage(url), storage_url=url)
    dist = {"variant": CategoricalDistribution(["k3", "k5"]), "seed": CategoricalDistribution([0])}
    study.add_trial(optuna.trial.create_trial(params={"variant": "k3", "seed": 0}, distributions=dist,
                                              values=[0.3, 0.4], user_attrs={"label": "k3", "clean_accuracy": 0.4}))
    study.enqueue_trial({"variant": "k5", "seed": 0})
    return folder / "study.db"


@pytest.fixture
def stored_db(_stored, tmp_path) -> Path:
    """This test's own copy of the stored study."""
    return Path(shutil.copy(_stored, tmp_path / "study.db"))


@pytest.fixture
def study_file(tmp_path) -> Path:
    return write_tiny_study(tmp_path)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AISNAS_CACHE", str(tmp_path / "cache"))
