"""Fixtures of the ais tests (the tiny dataset and cache come from tests/conftest.py)."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # The tiny models here run in about a second on one thread; with two OpenMP threads on
    # a shared, busy CPU each step waits for a descheduled thread (measured 0.6 s vs 28 s
    # for 8 steps of a 0.5-width cnn3_deep_early at load 9 on 2 cores).
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
