"""`aisnas evaluate`: train and evaluate one architecture, print a table or JSON."""

from __future__ import annotations

import argparse
import json
import time

__all__ = ["register"]


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _strs(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="train and evaluate one architecture (clean, noisy, quantized)",
                       description="Train one architecture briefly and evaluate it on the test split.")
    p.add_argument("--arch", required=True, help="preset name (see --list-archs), arch.toml file or export dir")
    p.add_argument("--width", type=float, default=None, help="width multiplier for presets")
    p.add_argument("--data", default=None, help="dataset path (default: $AISNAS_DATA, then the download cache)")
    p.add_argument("--variant", default="N/A", help="raw-sensor input variant, e.g. U+M (default N/A)")
    p.add_argument("--train-size", type=int, default=5000)
    p.add_argument("--val-size", type=int, default=0, help="validation images carved from train (default 0)")
    p.add_argument("--test-size", type=int, default=None, help="test images (default: all)")
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--steps", type=int, default=None, help="train for this many steps instead of epochs")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--optimizer", choices=("sgd", "sam", "asam"), default="sam")
    p.add_argument("--rho", type=float, default=None, help="SAM/ASAM radius (default 0.05 / 0.5)")
    p.add_argument("--train-noise", type=float, default=0.0, help="noise-aware training: relative sigma")
    p.add_argument("--noise", type=_strs, default=("additive",),
                   help="comma-separated noise kinds: additive, correlated, multiplicative, weight, drift")
    p.add_argument("--sigma", type=_floats, default=(0.0, 0.2, 0.4, 0.8), help="comma-separated sigmas")
    p.add_argument("--mode", choices=("relative", "absolute"), default="relative",
                   help="sigma relative to each layer's clean output RMS (default) or absolute")
    p.add_argument("--repeats", type=int, default=3, help="noise draws per sigma")
    p.add_argument("--bits", type=_ints, default=(), help="post-training weight bits grid, e.g. 8,4,2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args) -> int:
    from aisnas.arch import resolve_arch
    from aisnas.configs import from_dict
    from aisnas.data import load_dataset, make_splits
    from aisnas.experiment import EvalConfig, run_experiment
    from aisnas.runtime import provenance, select_device
    from aisnas.train import TrainConfig

    t_start = time.perf_counter()
    spec = resolve_arch(args.arch, **({"width": args.width} if args.width is not None else {}))
    train_cfg = from_dict(TrainConfig, dict(
        optimizer=args.optimizer, rho=args.rho, epochs=args.epochs, steps=args.steps, batch_size=args.batch_size,
        lr=args.lr, noise_sigma=args.train_noise), source="command line")
    sigma = args.sigma if args.sigma else (0.0,)
    eval_cfg = from_dict(EvalConfig, dict(
        noise_kinds=list(args.noise), sigmas=list(sigma), mode=args.mode, repeats=args.repeats,
        bits=list(args.bits), objective_kind=args.noise[0], objective_sigma=max(sigma), split="test"),
        source="command line")
    device = select_device(args.device)
    ds = load_dataset(args.data, download=args.data is None, progress=not args.quiet)
    if args.variant not in ("N/A", ""):
        from aisnas.raw import variant_dataset

        ds = variant_dataset(ds, args.variant)
    splits = make_splits(ds, train_size=args.train_size, val_size=args.val_size, test_size=args.test_size,
                         seed=args.seed, device=device)
    data_seconds = time.perf_counter() - t_start
    _, result = run_experiment(spec, splits, train_cfg, eval_cfg, seed=args.seed, progress=not args.quiet,
                               desc=spec.name)
    total = time.perf_counter() - t_start
    out = {
        "arch": spec.name, "arch_id": result.arch_id, "variant": args.variant, "split": "test",
        "test_images": int(splits.y_test.shape[0]), "train_images": int(splits.y_train.shape[0]),
        "clean_accuracy": result.clean_accuracy,
        "noisy": [{k: r[k] for k in ("kind", "sigma", "mode", "mean", "std", "repeats")} for r in result.noisy],
        "quantized": result.quantized,
        "macs": result.counts["macs"], "params": result.counts["params"],
        "train": {k: result.train[k] for k in ("optimizer", "rho", "steps", "epochs", "images_per_s")},
        "seconds": {"data": round(data_seconds, 2), "train": round(result.train_seconds, 2),
                    "eval": round(result.eval_seconds, 2), "total": round(total, 2)},
        "seed": args.seed, "provenance": provenance(device),
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(_table(out))
    return 0


def _table(out: dict) -> str:
    lines = [
        f"arch {out['arch']} ({out['arch_id']}), {out['macs']:,} MACs, {out['params']:,} params, "
        f"variant {out['variant']}",
        f"trained {out['train']['optimizer']} (rho {out['train']['rho']}) for {out['train']['epochs']:.2f} epochs "
        f"on {out['train_images']} images at {out['train']['images_per_s']:.0f} img/s",
        f"clean test accuracy: {out['clean_accuracy']:.4f} ({out['test_images']} images)",
        f"{'noise':<15}{'sigma':>7}{'mean':>9}{'std':>9}{'repeats':>9}",
    ]
    for r in out["noisy"]:
        lines.append(f"{r['kind']:<15}{r['sigma']:>7.3g}{r['mean']:>9.4f}{r['std']:>9.4f}{r['repeats']:>9}")
    for b, a in out["quantized"].items():
        lines.append(f"weights {b}-bit (PTQ): {a:.4f}")
    s = out["seconds"]
    lines.append(f"seconds: data {s['data']}, train {s['train']}, eval {s['eval']}, total {s['total']}")
    return "\n".join(lines)
