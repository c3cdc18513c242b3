"""variant_dataset: converts once, caches atomically, keys per variant and option."""

import dataclasses
import sys
import types

import pytest
import torch

import aisnas.raw._dataset as rds
from aisnas.errors import AisnasError
from aisnas.raw import PAPER_VARIANTS, apply_variant_uint8, variant_dataset, variant_key


@dataclasses.dataclass(frozen=True)
class StandIn:
    """Same fields as aisnas.data.ImageDataset, so these tests do not depend on it."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple
    source: str
    key: str


def _ds(n_train=10, n_test=4, h=8, w=8):
    g = torch.Generator().manual_seed(0)
    return StandIn(
        x_train=torch.randint(0, 256, (n_train, 3, h, w), dtype=torch.uint8, generator=g),
        y_train=torch.arange(n_train) % 3,
        x_test=torch.randint(0, 256, (n_test, 3, h, w), dtype=torch.uint8, generator=g),
        y_test=torch.arange(n_test) % 3,
        classes=("a", "b", "c"),
        source="synthetic",
        key="synthetic-8px",
    )


@pytest.fixture
def counter(monkeypatch):
    """Counts calls to the batch converter variant_dataset uses."""
    calls = []

    def counting(x, variant, **kw):
        calls.append(len(x))
        return apply_variant_uint8(x, variant, **kw)

    monkeypatch.setattr(rds, "apply_variant_uint8", counting)
    return calls


def test_converts_in_batches_and_second_call_uses_the_cache(tmp_path, counter):
    ds = _ds()
    out = variant_dataset(ds, "U+M+RM", cache_dir=tmp_path, batch_size=3)
    assert counter == [3, 3, 3, 1, 3, 1]  # train 10 in batches of 3, then test 4
    assert torch.equal(out.x_train, apply_variant_uint8(ds.x_train, "U+M+RM"))
    assert torch.equal(out.x_test, apply_variant_uint8(ds.x_test, "U+M+RM"))
    assert out.y_train is ds.y_train and out.classes == ds.classes and out.source == ds.source
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"  # no temp file left behind

    n_calls = len(counter)
    again = variant_dataset(ds, "U+M+RM", cache_dir=tmp_path, batch_size=3)
    assert len(counter) == n_calls  # loaded, not recomputed
    assert torch.equal(again.x_train, out.x_train) and again.key == out.key


def test_keys_differ_per_variant_and_pixel_changing_option(tmp_path):
    ds = _ds()
    names = [n for n in PAPER_VARIANTS if n != "N/A"]
    keys = {variant_dataset(ds, n, cache_dir=tmp_path).key for n in names}
    assert len(keys) == len(names)
    assert all(k.startswith(ds.key) for k in keys)
    assert variant_key(ds.key, "M", mosaic="bayer1") != variant_key(ds.key, "M")
    assert variant_key(ds.key, "C", mosaic="bayer1") == variant_key(ds.key, "C")  # no M: mosaic irrelevant
    assert variant_key(ds.key, "C", sensor_noise=True, seed=1) != variant_key(ds.key, "C", sensor_noise=True)
    assert variant_key(ds.key, "C", adc_bits=10) != variant_key(ds.key, "C")
    assert len(list(tmp_path.glob("*.pt"))) == len(names)


def test_identity_returns_the_dataset_itself(tmp_path, counter):
    ds = _ds()
    assert variant_dataset(ds, "N/A", cache_dir=tmp_path) is ds
    assert counter == [] and not list(tmp_path.iterdir())


def test_bayer_mosaic_gives_one_channel(tmp_path):
    out = variant_dataset(_ds(), "C+M", cache_dir=tmp_path, mosaic="bayer1")
    assert out.x_train.shape == (10, 1, 8, 8) and out.x_train.dtype == torch.uint8


def test_noisy_variant_is_reproducible_per_seed(tmp_path):
    ds = _ds()
    a = variant_dataset(ds, "C", cache_dir=tmp_path / "a", sensor_noise=True, seed=5)
    b = variant_dataset(ds, "C", cache_dir=tmp_path / "b", sensor_noise=True, seed=5)
    c = variant_dataset(ds, "C", cache_dir=tmp_path / "c", sensor_noise=True, seed=6)
    assert torch.equal(a.x_train, b.x_train)
    assert not torch.equal(a.x_train, c.x_train)


def test_corrupt_cache_file_is_rebuilt(tmp_path, counter):
    ds = _ds()
    first = variant_dataset(ds, "M", cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.pt")
    path.write_bytes(b"not a torch file")
    n_calls = len(counter)
    again = variant_dataset(ds, "M", cache_dir=tmp_path)
    assert len(counter) > n_calls
    assert torch.equal(again.x_train, first.x_train)


def test_default_cache_dir_comes_from_aisnas_data(tmp_path, monkeypatch):
    fake = types.ModuleType("aisnas.data")
    fake.default_cache_dir = lambda: tmp_path / "cache"
    monkeypatch.setitem(sys.modules, "aisnas.data", fake)
    variant_dataset(_ds(), "C", batch_size=4)
    assert len(list((tmp_path / "cache" / "variants").glob("*.pt"))) == 1


@pytest.mark.parametrize(
    "change, kw, match",
    [
        (dict(x_train=torch.zeros(2, 3, 4, 4)), {}, "uint8"),
        (dict(x_test=torch.zeros(2, 1, 4, 4, dtype=torch.uint8)), {}, "x_test"),
        ({}, dict(batch_size=0), "batch_size"),
        ({}, dict(seed=-1), "seed"),
        ({}, dict(mosaic="x"), "mosaic"),
        ({}, dict(adc_bits=4), "need C"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, change, kw, match):
    ds = dataclasses.replace(_ds(), **change)
    with pytest.raises(AisnasError, match=match):
        variant_dataset(ds, "M", cache_dir=tmp_path, **kw)


def test_works_with_the_real_image_dataset(tmp_path):
    data = pytest.importorskip("aisnas.data")
    s = _ds()
    ds = data.ImageDataset(s.x_train, s.y_train, s.x_test, s.y_test, s.classes, s.source, "/some/path#abc")
    out = variant_dataset(ds, "U+M", cache_dir=tmp_path, mosaic="bayer1")
    assert isinstance(out, data.ImageDataset) and out.x_train.shape == (10, 1, 8, 8)
    assert out.key.startswith("/some/path#abc_raw-U+M")
    (path,) = tmp_path.glob("*.pt")
    assert "/" not in path.name
