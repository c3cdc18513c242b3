"""aisnas.runtime: device choice, provenance record and the allocator setting."""

import platform
import sys

import pytest
import torch

from aisnas.errors import AisnasError
from aisnas.runtime import provenance, select_device, tune_allocator


def test_select_device_auto_and_cpu_and_bad_names():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(AisnasError, match="expected auto, cpu, cuda"):
        select_device("tpu")


def test_provenance_names_versions_and_device():
    record = provenance(torch.device("cpu"))
    assert record["torch"] == torch.__version__ and record["device"] == "cpu"
    assert record["torch_threads"] == torch.get_num_threads()


def test_allocator_tuning_applies_on_glibc_and_is_idempotent():
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert tune_allocator() is glibc  # mallopt accepted both settings
    assert tune_allocator() is glibc
