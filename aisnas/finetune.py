"""Fine-tuning arms on a shared SGD baseline (Horton et al., Fig. 7: SAM vs SGD).

Protocol: per seed, train a baseline with the study's `[train]` recipe; then, for each
arm (SGD, SAM, ASAM, noise-aware training, ...), start from those exact weights and
fine-tune for the same extra budget with the arm's recipe; evaluate every arm clean,
under analog noise and after post-training weight quantization.

The baseline is trained once per (architecture, seed, recipe, training data) and kept
on disk (`<cache>/baselines/<key>.pt`, a state_dict read back with
`weights_only=True`), so all arms of a seed and a resumed study share it. Every arm
starts from the loaded copy, whether the baseline was just trained or cached, so a
resumed study gives the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import statistics
from pathlib import Path

import torch

from aisnas.configs import to_dict
from aisnas.experiment import EvalConfig, ExperimentResult
from aisnas.train import TrainConfig, train

__all__ = ["baseline_key", "finetune_experiment", "format_arms", "summarize_arms", "train_baseline"]

_FORMAT = 1  # bump when the baseline recipe's meaning changes, to retire old cache files


def baseline_key(spec, splits, cfg: TrainConfig, seed: int) -> str:
    """Content key of a baseline: architecture, seed, recipe and the exact training tensors."""
    h = hashlib.sha256(json.dumps({"format": _FORMAT, "arch_id": spec.arch_id, "seed": seed,
                                   "train": to_dict(cfg)}, sort_keys=True).encode())
    for t in (splits.x_train, splits.y_train):
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def _default_cache() -> Path:
    from aisnas.data import default_cache_dir

    return default_cache_dir() / "baselines"


def _write_atomic(path: Path, write) -> None:
    # Another worker may train the same baseline at the same time: each writes its own
    # temporary file and renames it, so a reader sees a whole file or none.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def train_baseline(spec, splits, cfg: TrainConfig, *, seed: int, cache_dir: str | Path | None = None,
                   progress: bool = False, desc: str = "baseline") -> tuple[dict, dict]:
    """The baseline's state_dict (trained now or read from the cache) and its record."""
    from aisnas.evaluation import accuracy

    cache = Path(cache_dir) if cache_dir is not None else _default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    key = baseline_key(spec, splits, cfg, seed)
    weights, meta = cache / f"{key}.pt", cache / f"{key}.json"
    device = splits.x_train.device
    if weights.is_file() and meta.is_file():
        try:
            state = torch.load(weights, map_location=device, weights_only=True)
            record = json.loads(meta.read_text())
            return state, {**record, "cached": True}
        except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError):
            pass  # a damaged cache entry: train again and overwrite it
    torch.manual_seed(seed)  # the initial weights, as run_experiment seeds them
    model = spec.build().to(device)
    tr = train(model, splits, cfg, seed=seed, progress=progress, desc=desc)
    record = {"key": key, "arch_id": spec.arch_id, "seed": seed, "recipe": to_dict(cfg),
              "train": {k: v for k, v in tr.as_dict().items() if k != "device"},
              "val_accuracy": accuracy(model, splits.x_val, splits.y_val) if len(splits.y_val) else None,
              "seconds": tr.seconds}
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    _write_atomic(weights, lambda p: torch.save(state, p))
    _write_atomic(meta, lambda p: p.write_text(json.dumps(record)))
    return state, {**record, "cached": False}


def finetune_experiment(spec, splits, baseline_cfg: TrainConfig, arm_cfg: TrainConfig, eval_cfg: EvalConfig, *,
                        seed: int, cache_dir: str | Path | None = None, progress: bool = False,
                        desc: str = "finetune") -> tuple[torch.nn.Module, ExperimentResult, dict]:
    """Baseline (shared, cached) -> fine-tune with `arm_cfg` -> clean, noisy and quantized accuracy.

    Returns the fine-tuned model, the record (its `train` is the fine-tuning run) and
    a dict saying which arm ran (optimizer, rho, noise) and which baseline it started from.
    """
    from aisnas.experiment import evaluate_trained

    state, base = train_baseline(spec, splits, baseline_cfg, seed=seed, cache_dir=cache_dir, progress=progress,
                                 desc=f"{desc} baseline")
    device = splits.x_train.device
    torch.manual_seed(seed)
    model = spec.build().to(device)
    model.load_state_dict(state)
    # Same seed for every arm: the same batches in the same order, so arms differ only
    # in how they step.
    tr = train(model, splits, arm_cfg, seed=seed, progress=progress, desc=desc)

    res = evaluate_trained(model, spec, splits, eval_cfg, seed=seed, train_result=tr)
    info = {"optimizer": arm_cfg.optimizer, "rho": arm_cfg.effective_rho,
            "adaptive": arm_cfg.optimizer == "asam", "noise_kind": arm_cfg.noise_kind if arm_cfg.noise_sigma else None,
            "noise_sigma": arm_cfg.noise_sigma, "epochs": tr.epochs, "steps": tr.steps, "lr": arm_cfg.lr,
            "schedule": arm_cfg.schedule, "baseline": base}
    return model, res, info


# ---- summary over a study's arms ----------------------------------------------------


def _stat(values: list[float]) -> dict:
    n = len(values)
    return {"mean": statistics.fmean(values) if n else math.nan,
            "std": statistics.stdev(values) if n > 1 else 0.0, "n": n}


def _metrics(attrs: dict) -> dict[str, float]:
    """Flat metric name -> value of one arm trial: clean, noisy per (kind, sigma), bits."""
    out = {"clean": attrs["clean_accuracy"]}
    for r in attrs.get("noisy", []):
        if r["sigma"] > 0:
            out[f"{r['kind']}@{r['sigma']:g}"] = r["mean"]
    for b, acc in attrs.get("quantized", {}).items():
        out[f"{b}bit"] = acc
    return out


def summarize_arms(study, *, reference: str | None = None) -> dict:
    """Mean and std over seeds of every arm's metrics, and paired differences to `reference`.

    `study`: an optuna Study (or its trials) run with the finetune protocol. The
    reference arm defaults to the one whose optimizer is plain SGD without noise.
    Differences are per seed (arm minus reference on the same baseline), so baseline
    luck cancels; `wins` counts the seeds where the arm was better.
    """
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if hasattr(study, "get_trials") \
        else [t for t in study if t.state == TrialState.COMPLETE]
    runs: dict[str, dict[int, dict]] = {}
    arms: dict[str, dict] = {}
    for t in trials:
        a = t.user_attrs
        if "finetune" not in a or "clean_accuracy" not in a:
            continue
        runs.setdefault(a["label"], {})[a["seed"]] = _metrics(a)
        f = a["finetune"]
        arms[a["label"]] = {k: f.get(k) for k in ("optimizer", "rho", "adaptive", "noise_kind", "noise_sigma")}
    if not runs:
        from aisnas.errors import AisnasError

        raise AisnasError("summarize_arms: no completed fine-tuning trials in this study")
    if reference is None:
        plain = [lab for lab, f in arms.items() if f["optimizer"] == "sgd" and not f["noise_sigma"]]
        reference = plain[0] if plain else sorted(runs)[0]
    ref = runs.get(reference, {})
    out = {"reference": reference, "arms": {}}
    for label, by_seed in runs.items():
        names = sorted({m for r in by_seed.values() for m in r}, key=_metric_order)
        stats = {m: _stat([r[m] for r in by_seed.values() if m in r]) for m in names}
        diffs = {}
        if label != reference:
            for m in names:
                d = [r[m] - ref[s][m] for s, r in by_seed.items() if s in ref and m in ref[s] and m in r]
                if d:
                    diffs[m] = {**_stat(d), "wins": sum(v > 0 for v in d)}
        out["arms"][label] = {**arms[label], "seeds": sorted(by_seed), "metrics": stats, "vs_reference": diffs}
    return out


def _metric_order(name: str):
    if name == "clean":
        return (0, "", 0.0)
    if name.endswith("bit"):
        return (2, "", -float(name[:-3]))
    kind, sigma = name.split("@")
    return (1, kind, float(sigma))


def format_arms(summary: dict, metrics: tuple[str, ...] | None = None) -> str:
    """The arm summary as text: mean +- std (n seeds), then arm minus reference per seed."""
    arms = summary["arms"]
    names = metrics or sorted({m for a in arms.values() for m in a["metrics"]}, key=_metric_order)
    lines = []
    for label, a in arms.items():
        rho = f", rho {a['rho']:g}" if a.get("rho") is not None else ""
        noise = f", trained with {a['noise_kind']} noise sigma {a['noise_sigma']:g}" if a.get("noise_sigma") else ""
        lines.append(f"arm {label}: {a['optimizer']}{rho}{noise}; seeds {a['seeds']}")
    lines.append("")
    lines.append(f"{'metric':<22}" + "".join(f"{lab:>18}" for lab in arms))
    for m in names:
        cells = []
        for a in arms.values():
            s = a["metrics"].get(m)
            cells.append("-" if not s else f"{s['mean']:.3f}+-{s['std']:.3f}" if s["n"] > 1 else f"{s['mean']:.3f}")
        lines.append(f"{m:<22}" + "".join(f"{c:>18}" for c in cells))
    lines.append("")
    lines.append(f"paired difference to {summary['reference']} (same seed and baseline): mean +- std over seeds, "
                 "seeds where the arm is better / seeds")
    for m in names:
        cells = []
        for lab, a in arms.items():
            d = a["vs_reference"].get(m)
            spread = f"+-{d['std']:.3f}" if d and d["n"] > 1 else ""
            cells.append(f"{d['mean']:+.3f}{spread} {d['wins']}/{d['n']}" if d else "-")
        lines.append(f"{m:<22}" + "".join(f"{c:>18}" for c in cells))
    return "\n".join(lines)
