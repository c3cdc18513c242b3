"""Clean per-site output RMS, the reference that relative noise is a fraction of."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aisnas.errors import AisnasError
from aisnas.noise._sites import Site, resolve_sites

__all__ = ["calibrate_rms", "site_rms"]


def _as_sites(model: nn.Module, sites: str | Sequence) -> list[Site]:
    if isinstance(sites, str):
        return resolve_sites(model, sites)
    # (name, module) pairs as returned by find_noise_sites, or internal Site records.
    out = []
    for item in sites:
        if isinstance(item, Site):
            out.append(item)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], nn.Module):
            out.append(Site(str(item[0]), item[1], item[1]))
        else:
            raise AisnasError(f"sites: got {item!r}, expected 'all', 'in_sensor' or (name, module) pairs")
    return out


@torch.no_grad()
def site_rms(model: nn.Module, x: torch.Tensor, sites: Sequence[Site], batch_size: int = 256) -> dict[str, float]:
    """RMS of each site's clean output over `x`, measured in eval mode."""
    if not isinstance(x, torch.Tensor) or x.dim() == 0 or x.shape[0] == 0:
        raise AisnasError("calibration: expected a non-empty batch tensor of model inputs")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise AisnasError(f"batch_size: got {batch_size!r}, expected a positive integer")
    # Sums of squares in float64 so a large calibration set does not lose precision;
    # a module used twice in one forward contributes both outputs.
    sums: dict[str, list] = {s.name: [None, 0] for s in sites}

    def make_hook(name: str):
        def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
            acc = sums[name]
            sq = out.detach().double().square().sum()
            acc[0] = sq if acc[0] is None else acc[0] + sq
            acc[1] += out.numel()

        return hook

    # Eval mode: the RMS is the reference for eval-mode noise, and a train-mode
    # forward would also update BN running statistics. Every module's own flag is put
    # back afterwards, not just the root's.
    modes = [(m, m.training) for m in model.modules()]
    # Chunks go to the model's device one at a time, so a large calibration set can
    # stay in host memory.
    device = next((p.device for p in model.parameters()), x.device)
    handles = [s.module.register_forward_hook(make_hook(s.name)) for s in sites]
    try:
        model.eval()
        for chunk in x.split(batch_size):
            model(chunk.to(device, non_blocking=True))
    finally:
        for h in handles:
            h.remove()
        for m, training in modes:
            m.training = training
    # One host sync per site, once per calibration: never in the noise hooks.
    return {name: float(sq.div(n).sqrt()) for name, (sq, n) in sums.items() if sq is not None}


def calibrate_rms(
    model: nn.Module, x: torch.Tensor, sites: str | Sequence = "all", *, batch_size: int = 256
) -> dict[str, float]:
    """Clean RMS of each site's output on the calibration batch `x`, by site name.

    `sites` is a scope ("all", "in_sensor") or the (name, module) pairs from
    `find_noise_sites`. Runs a no-grad forward in eval mode (training flags restored
    afterwards) in chunks of `batch_size`, each moved to the model's device; a site
    that never ran is left out.
    Call it with no noise active: it measures whatever the model computes.
    """
    return site_rms(model, x, _as_sites(model, sites), batch_size)
