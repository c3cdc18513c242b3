"""A tiny image-folder dataset and a copy of a shipped study shrunk to run in seconds."""

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
    data["budgets"]["smoke"] = {**{k: v for k, v in data["budgets"]["smoke"].items() if k == "space"}, **smoke}
    data["train"] = {**data["train"], **(train or {})}
    data["eval"] = {**data["eval"], **(eval or {})}
    path = dest / f"{name}.toml"
    path.write_text(tomli_w.dumps(data))
    return path


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return write_synthetic_image_folder(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AISNAS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def shrink_study():
    """The study-shrinking helper as a fixture: conftest modules share one import name, so tests
    in several folders cannot import from `conftest` without picking up another folder's."""
    return _shrink_study
