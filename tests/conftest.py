"""Fixtures every test folder shares: a tiny dataset, an isolated cache, shrunk studies."""

import sys
from pathlib import Path

import pytest
import tomli_w

from aisnas.data import write_synthetic_image_folder
from aisnas.search import builtin_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _shrink_study(name: str, dest: Path, *, smoke: dict, train: dict | None = None, eval: dict | None = None) -> Path:
    """The shipped study `name` with its smoke budget replaced by `smoke`; spaces stay the shipped ones."""
    data = tomllib.loads(builtin_path("studies", name).read_text())
    data["space"] = str(builtin_path("search_spaces", data["space"]))
    # A budget may name its own space (nasbench101's smoke cells): keep it.
    kept = {k: v for k, v in data["budgets"]["smoke"].items() if k == "space"}
    data["budgets"]["smoke"] = {**kept, **smoke}
    data["train"] = {**data["train"], **(train or {})}
    data["eval"] = {**data["eval"], **(eval or {})}
    path = dest / f"{name}.toml"
    path.write_text(tomli_w.dumps(data))
    return path


@pytest.fixture
def shrink_study():
    """The study-shrinking helper as a fixture (conftest modules cannot be imported by name)."""
    return _shrink_study


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """10 classes separable by brightness, 14 train and 4 test images each, 32x32."""
    return write_synthetic_image_folder(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    # Decoded datasets, variants and baselines go to a per-test cache, never the user's.
    monkeypatch.setenv("AISNAS_CACHE", str(tmp_path / "cache"))
