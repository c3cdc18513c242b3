"""augment_batch: flips and crops whole batches, deterministically per generator."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from aisnas.data import augment_batch


def _batch(n=64, c=3, h=6, w=5, channels_last=True):
    x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(0))
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@pytest.mark.parametrize("channels_last", [True, False])
def test_shape_dtype_and_memory_format_are_kept(channels_last):
    x = _batch(channels_last=channels_last)
    y = augment_batch(x, torch.Generator().manual_seed(1))
    assert y.shape == x.shape and y.dtype == x.dtype
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    assert y.is_contiguous(memory_format=fmt)


def test_input_is_not_modified():
    x = _batch()
    before = x.clone()
    augment_batch(x, torch.Generator().manual_seed(1))
    augment_batch(x, torch.Generator().manual_seed(1), pad=0, flip=False)
    assert torch.equal(x, before)


def test_flip_only_matches_torch_flip():
    x = _batch()
    y = augment_batch(x, torch.Generator().manual_seed(2), pad=0)
    flipped = [torch.equal(y[i], torch.flip(x[i], dims=[-1])) for i in range(len(x))]
    kept = [torch.equal(y[i], x[i]) for i in range(len(x))]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 16 < sum(flipped) < 48  # about half of 64


def test_same_generator_seed_same_result_other_seed_different():
    x = _batch()
    a = augment_batch(x, torch.Generator().manual_seed(3))
    b = augment_batch(x, torch.Generator().manual_seed(3))
    c = augment_batch(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_crop_is_a_window_of_the_zero_padded_image_by_hand():
    # pad=1 on [[1, 2], [3, 4]]: the padded image is
    #   0 0 0 0
    #   0 1 2 0
    #   0 3 4 0
    #   0 0 0 0
    # and every 2x2 window of it is one of these nine crops.
    windows = {
        (0, 0, 0, 1), (0, 0, 1, 2), (0, 0, 2, 0),
        (0, 1, 0, 3), (1, 2, 3, 4), (2, 0, 4, 0),
        (0, 3, 0, 0), (3, 4, 0, 0), (4, 0, 0, 0),
    }  # fmt: skip
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2).expand(200, 1, 2, 2).contiguous()
    y = augment_batch(x, torch.Generator().manual_seed(5), pad=1, flip=False)
    seen = {tuple(int(v) for v in y[i].flatten()) for i in range(len(y))}
    assert seen == windows


def test_crop_equals_a_shifted_window_on_a_larger_image():
    x = torch.arange(2 * 5 * 7, dtype=torch.float32).view(1, 2, 5, 7).repeat(40, 1, 1, 1)
    pad = 2
    padded = F.pad(x[:1], (pad, pad, pad, pad))
    windows = {
        (dy, dx): padded[0, :, dy : dy + 5, dx : dx + 7] for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)
    }
    y = augment_batch(x, torch.Generator().manual_seed(6), pad=pad, flip=False)
    offsets = set()
    for i in range(len(y)):
        # Channels move together: one offset explains the whole image.
        matches = [k for k, win in windows.items() if torch.equal(y[i], win)]
        assert len(matches) == 1
        offsets.add(matches[0])
    assert len(offsets) > 5


def test_uint8_batches_work():
    x = torch.randint(0, 256, (8, 3, 4, 4), dtype=torch.uint8)
    y = augment_batch(x, torch.Generator().manual_seed(0), pad=2)
    assert y.dtype == torch.uint8 and y.shape == x.shape


def test_rejects_non_batch_input():
    with pytest.raises(ValueError):
        augment_batch(torch.zeros(3, 4, 4), torch.Generator())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_for_a_cpu_generator():
    x = _batch()
    cpu = augment_batch(x, torch.Generator().manual_seed(9))
    gpu = augment_batch(x.cuda(), torch.Generator().manual_seed(9))
    assert gpu.is_cuda and torch.equal(gpu.cpu(), cpu)
    on_device = augment_batch(x.cuda(), torch.Generator(device="cuda").manual_seed(9))
    assert on_device.shape == x.shape and on_device.is_contiguous(memory_format=torch.channels_last)
