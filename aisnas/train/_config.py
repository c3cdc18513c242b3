"""The training recipe, a frozen config that studies embed as `[train]`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TrainConfig"]

OPTIMIZERS = ("sgd", "sam", "asam")
SCHEDULES = ("onecycle", "cosine", "constant")
# Defaults from GUIDE.md section 5: SAM rho 0.05 (Foret et al., SGD on CIFAR-10),
# ASAM rho 0.5 (Kwon et al., CIFAR-10).
DEFAULT_RHO = {"sam": 0.05, "asam": 0.5}


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = "sam"
    rho: float | None = None  # None: 0.05 for SAM, 0.5 for ASAM
    asam_eta: float = 0.01
    epochs: float = 2.0
    steps: int | None = None  # when set, overrides epochs
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    label_smoothing: float = 0.0
    augment: bool = True
    channels_last: bool = True
    # Recompute BN statistics over this many training images after training (0: off);
    # brief budgets otherwise evaluate with stale running averages.
    bn_recalibration: int = 2048
    # Noise-aware training: inject analog noise of this kind and relative sigma while
    # training (0 disables it).
    noise_kind: str = "additive"
    noise_sigma: float = 0.0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule: {self.schedule!r} is not one of {', '.join(SCHEDULES)}")
        if self.epochs <= 0 and not self.steps:
            raise ValueError(f"epochs: {self.epochs} must be > 0")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps: {self.steps} must be >= 1")
        if self.batch_size < 1:
            raise ValueError(f"batch_size: {self.batch_size} must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"lr: {self.lr} must be > 0")
        if self.rho is not None and self.rho < 0:
            raise ValueError(f"rho: {self.rho} must be >= 0")
        if self.noise_kind not in ("additive", "correlated", "multiplicative"):
            # Weight kinds perturb weights in place for a whole chip: they cannot wrap
            # optimizer steps, so noise-aware training uses activation noise.
            raise ValueError(f"noise_kind: {self.noise_kind!r} is not one of 'additive', 'correlated', "
                             "'multiplicative' (noise-aware training)")
        if self.noise_sigma < 0:
            raise ValueError(f"noise_sigma: {self.noise_sigma} must be >= 0")
        if self.bn_recalibration < 0:
            raise ValueError(f"bn_recalibration: {self.bn_recalibration} must be >= 0")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing: {self.label_smoothing} is outside [0, 1)")

    @property
    def effective_rho(self) -> float | None:
        if self.optimizer == "sgd":
            return None
        return self.rho if self.rho is not None else DEFAULT_RHO[self.optimizer]
