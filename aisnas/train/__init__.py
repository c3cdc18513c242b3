"""Training: one loop for SGD, SAM and ASAM, with optional noise-aware training."""

from aisnas.train._config import DEFAULT_RHO, TrainConfig
from aisnas.train._loop import TrainingDiverged, TrainResult, recalibrate_bn, train
from aisnas.train._sam import SAM

__all__ = ["DEFAULT_RHO", "SAM", "TrainConfig", "TrainResult", "TrainingDiverged", "recalibrate_bn", "train"]
