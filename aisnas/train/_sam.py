"""Sharpness-aware minimization, SAM (Foret et al. 2020) and ASAM (Kwon et al. 2021).

One step:  g = grad L(w);  e = rho * T^2 g / ||T g||_2  (global norm over all params);
w <- w + e;  g' = grad L(w + e);  w <- w;  base-optimizer step with g'.
SAM has T = 1. ASAM (the reference code, SamsungLabs/ASAM) has T_w = |w| + eta on
parameters whose name contains "weight" and T = 1 elsewhere. Weight decay, momentum and
LR schedules belong to the base optimizer, which does the real update.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SAM"]


class SAM:
    """Wraps a base optimizer; call `perturb()` after the first backward, `step()` after the second."""

    def __init__(self, model: nn.Module, base: torch.optim.Optimizer, *, rho: float, adaptive: bool = False,
                 eta: float = 0.01):
        if rho < 0:
            raise ValueError(f"rho: {rho} must be >= 0")
        self.base = base
        self.rho = rho
        self.adaptive = adaptive
        self.eta = eta
        self._params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._saved: list[torch.Tensor | None] = []  # the unperturbed weights while perturbed

    def _scale(self, name: str, p: torch.Tensor) -> torch.Tensor | None:
        if self.adaptive and "weight" in name:
            return p.detach().abs().add(self.eta)
        return None

    @torch.no_grad()
    def perturb(self) -> None:
        """Move to the worst-case neighbour w + e, remembering e."""
        scaled = []
        for name, p in self._params:
            if p.grad is None:
                scaled.append(None)
                continue
            t = self._scale(name, p)
            scaled.append(p.grad if t is None else p.grad * t)
        norms = [s.norm(2) for s in scaled if s is not None]
        if not norms:
            self._saved = [None] * len(self._params)
            return
        # 1e-12 as in Foret et al.'s reference: a zero gradient gives a zero perturbation.
        factor = self.rho / (torch.linalg.vector_norm(torch.stack(norms), 2) + 1e-12)
        self._saved = []
        for (name, p), s in zip(self._params, scaled):
            if s is None:
                self._saved.append(None)
                continue
            t = self._scale(name, p)
            e = s * factor if t is None else s * t * factor
            # Keep w itself, not e: w + e - e is not always w in floating point.
            self._saved.append(p.detach().clone())
            p.add_(e)

    @torch.no_grad()
    def step(self) -> None:
        """Return to w and take the base optimizer's step with the gradient at w + e."""
        for (_, p), w in zip(self._params, self._saved):
            if w is not None:
                p.copy_(w)
        self._saved = []
        self.base.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base.zero_grad(set_to_none=set_to_none)
