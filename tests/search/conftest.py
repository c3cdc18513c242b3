"""A tiny study (SAM, 2 noise repeats), so searches run in seconds."""

from pathlib import Path

import pytest
from tiny_studies import write_tiny_study


@pytest.fixture
def tiny_study(tmp_path) -> Path:
    return write_tiny_study(tmp_path, train={"optimizer": "sam"}, eval={"repeats": 2})
