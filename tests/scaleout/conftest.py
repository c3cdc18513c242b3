"""Fixtures for multi-worker searches: one decode cache, a real PostgreSQL (tiny_data: tests/conftest.py).

The server is the Debian `postgresql` package's, started once per session on a free
port in a temporary directory (as the `postgres` user when the tests run as root,
since initdb refuses root). Every test gets its own database; the login role has a
password so that tests can check it never leaks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from scaleout_helpers import Postgres, server_bindir, start_postgres, stop_postgres


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One decode cache for the session: the workers of every test read the tiny data from it."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_cache(shared_cache, monkeypatch):
    monkeypatch.setenv("AISNAS_CACHE", str(shared_cache))


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    pytest.importorskip("psycopg2", reason="psycopg2 (the test extra) is needed to reach PostgreSQL")
    if server_bindir() is None:
        pytest.skip("PostgreSQL server not installed (initdb missing): apt-get install postgresql")
    pg, as_user = start_postgres(Path(tempfile.mkdtemp(prefix="aisnas-pg-")))
    try:
        yield pg
    finally:
        stop_postgres(pg, as_user)
