"""One training loop, top to bottom: SGD or SAM/ASAM, brief budgets, seeded.

Data are tensors already on the device (aisnas.data.Splits); batches are index
gathers, augmentation is done on the batch tensor. No DataLoader in the hot path.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn

from aisnas.errors import AisnasError
from aisnas.train._config import TrainConfig
from aisnas.train._sam import SAM

__all__ = ["TrainResult", "TrainingDiverged", "recalibrate_bn", "train"]


class TrainingDiverged(AisnasError):
    """The loss became NaN or infinite: the run stops with the reason."""


@dataclass(frozen=True)
class TrainResult:
    optimizer: str
    rho: float | None
    steps: int
    epochs: float
    seconds: float
    images_per_s: float
    loss_curve: tuple[float, ...]  # mean training loss per epoch
    train_acc_curve: tuple[float, ...]
    val_acc_curve: tuple[float, ...]
    device: str

    def as_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def _frozen_bn_stats(model: nn.Module):
    """SAM's second pass must not update BN running statistics (GUIDE.md section 5)."""
    saved = [(m, m.momentum) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m, _ in saved:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, mom in saved:
            m.momentum = mom


@torch.no_grad()
def recalibrate_bn(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> None:
    """Recompute BN running statistics as exact averages over `x` with the final weights.

    After a brief run the exponential running averages still remember early weights
    (and SAM's steps), so eval-mode accuracy lags far behind; one clean pass over a few
    thousand training images fixes that at the cost of a fraction of an epoch.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch weighs the same
    model.train()
    for i in range(0, x.shape[0], batch_size):
        model(x[i:i + batch_size])
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, total: int):
    if cfg.schedule == "onecycle" and total >= 4:
        # Warm-up must span at least two steps or OneCycleLR divides by zero on tiny budgets.
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total,
                                                   pct_start=max(0.25, 2.5 / total))
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


def _noise_context(model: nn.Module, cfg: TrainConfig, seed: int):
    if cfg.noise_sigma <= 0:
        return contextlib.nullcontext()
    from aisnas.noise import NoiseInjector, NoiseSpec

    # In training mode the injector scales noise by each batch's own output RMS, so
    # the network cannot escape relative noise by growing its weights.
    return NoiseInjector(model, NoiseSpec(kind=cfg.noise_kind, sigma=cfg.noise_sigma), seed=seed)


def train(model: nn.Module, splits, cfg: TrainConfig, *, seed: int = 0, progress: bool = False,
          desc: str = "train") -> TrainResult:
    """Train `model` in place on `splits.x_train`; returns curves and wall time."""
    from aisnas.evaluation import accuracy

    if cfg.augment:
        from aisnas.data import augment_batch

    x, y = splits.x_train, splits.y_train
    device = x.device
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    gen = torch.Generator(device=device).manual_seed(seed)
    n = x.shape[0]
    bs = min(cfg.batch_size, n)
    steps_per_epoch = max(1, n // bs)  # drop the ragged last batch: BN dislikes tiny batches
    total = cfg.steps or max(1, round(cfg.epochs * steps_per_epoch))
    base = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                           weight_decay=cfg.weight_decay)
    sched = _scheduler(base, cfg, total)
    sam = None
    if cfg.optimizer != "sgd":
        sam = SAM(model, base, rho=cfg.effective_rho, adaptive=cfg.optimizer == "asam", eta=cfg.asam_eta)
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    # bf16 on CUDA: fp16 with a GradScaler gives NaN SAM norms (GUIDE.md section 5).
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
                else contextlib.nullcontext())
    check_every = 1 if device.type == "cpu" else 50  # each check syncs the GPU

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit="step", leave=False, dynamic_ncols=True)
    losses, train_accs, val_accs = [], [], []
    model.train()
    t0 = time.perf_counter()
    step = 0
    eval_seconds = 0.0  # per-epoch validation, kept out of the throughput figure
    while step < total:
        perm = torch.randperm(n, generator=gen, device=device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        # Noise only while stepping: validation below measures the clean network.
        with _noise_context(model, cfg, seed + 7919 + len(losses)):
            for b in range(steps_per_epoch):
                if step >= total:
                    break
                idx = perm[b * bs:(b + 1) * bs]
                xb, yb = x[idx], y[idx]
                if cfg.augment:
                    xb = augment_batch(xb, gen)
                with autocast:
                    out = model(xb)
                    loss = criterion(out.float(), yb)
                if step % check_every == 0 and not torch.isfinite(loss):
                    raise TrainingDiverged(
                        f"training diverged: non-finite loss at step {step + 1} of {total} "
                        f"(lr {sched.get_last_lr()[0]:.3g}, optimizer {cfg.optimizer})")
                loss.backward()
                if sam is not None:
                    sam.perturb()
                    # The step must use the gradient at w + e alone, not added to the one at w.
                    base.zero_grad(set_to_none=True)
                    with _frozen_bn_stats(model), autocast:
                        criterion(model(xb).float(), yb).backward()
                    sam.step()
                else:
                    base.step()
                base.zero_grad(set_to_none=True)
                sched.step()
                loss_sum += loss.detach()
                correct += (out.detach().argmax(1) == yb).sum()
                seen += len(yb)
                step += 1
                if bar is not None:
                    bar.update(1)
        epoch_loss = (loss_sum / max(1, seen // bs)).item()
        if not math.isfinite(epoch_loss):
            raise TrainingDiverged(f"training diverged: non-finite loss in epoch {len(losses) + 1}")
        losses.append(epoch_loss)
        train_accs.append(correct.item() / max(1, seen))
        if splits.x_val.shape[0]:
            t_eval = time.perf_counter()
            val_accs.append(accuracy(model, splits.x_val, splits.y_val))
            model.train()
            eval_seconds += time.perf_counter() - t_eval
        if bar is not None:
            bar.set_postfix(loss=f"{epoch_loss:.3f}", val=f"{val_accs[-1]:.3f}" if val_accs else "-")
    if cfg.bn_recalibration:
        recalibrate_bn(model, x[: cfg.bn_recalibration])
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    model.eval()
    return TrainResult(
        optimizer=cfg.optimizer, rho=cfg.effective_rho, steps=step, epochs=step / steps_per_epoch,
        seconds=seconds, images_per_s=step * bs / max(seconds - eval_seconds, 1e-9), loss_curve=tuple(losses),
        train_acc_curve=tuple(train_accs), val_acc_curve=tuple(val_accs), device=str(device),
    )
