"""Trial cost, measured side by side in one run (not a test: it prints figures).

    python benchmarks/bench_trial.py --data PATH [--arch vgg13 --width 0.25] [--quick] [--compile]

One figure per line as `name: value`. Throughput figures alternate the contenders
(A B A B ...) and keep the best of the rounds, because these machines are noisy;
ratios are taken between figures measured in the same run. On CUDA the same script
exercises the GPU paths (data resident on the device, bf16 autocast).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from aisnas.arch import create_arch
from aisnas.data import load_dataset, make_splits
from aisnas.evaluation import accuracy, noise_sweep
from aisnas.experiment import EvalConfig, noise_specs
from aisnas.noise import NoiseInjector, NoiseSpec
from aisnas.runtime import select_device, tune_allocator
from aisnas.train import TrainConfig, train


def reference_sgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, bs: int) -> float:
    """A plain hand-written PyTorch SGD loop: the yardstick for aisnas's own loop."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if x.device.type == "cuda"
                else contextlib.nullcontext())
    n = x.shape[0]
    t0 = time.perf_counter()
    for s in range(steps):
        i = (s * bs) % (n - bs + 1)
        with autocast:
            loss = loss_fn(model(x[i:i + bs]).float(), y[i:i + bs])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return steps * bs / (time.perf_counter() - t0)


def aisnas_train(spec, splits, cfg: TrainConfig, hooks: bool) -> float:
    torch.manual_seed(0)
    model = spec.build()
    ctx = NoiseInjector(model, NoiseSpec(kind="additive", sigma=0.0), seed=0) if hooks else contextlib.nullcontext()
    with ctx:
        result = train(model, splits, cfg, seed=0)
    return result.images_per_s


def throughput(spec, splits, steps: int, bs: int, rounds: int, channels_last: bool) -> dict[str, float]:
    base = dict(steps=steps, batch_size=bs, augment=False, channels_last=channels_last, bn_recalibration=0,
                schedule="constant", lr=0.05)
    sgd = TrainConfig(optimizer="sgd", **base)
    sam = TrainConfig(optimizer="sam", **base)
    empty = dataclasses.replace(splits, x_val=splits.x_val[:0], y_val=splits.y_val[:0])
    best: dict[str, float] = {}
    for _ in range(rounds):
        torch.manual_seed(0)
        model = spec.build().to(splits.x_train.device)
        x, y = splits.x_train, splits.y_train
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        figures = {
            "reference": reference_sgd(model, x, y, steps, bs),
            "sgd": aisnas_train(spec, empty, sgd, hooks=False),
            "sgd_hooks": aisnas_train(spec, empty, sgd, hooks=True),
            "sam": aisnas_train(spec, empty, sam, hooks=False),
        }
        for k, v in figures.items():
            best[k] = max(best.get(k, 0.0), v)
    return best


def eval_cost(spec, splits, sigmas, repeats: int) -> tuple[float, float, int]:
    torch.manual_seed(0)
    # channels_last, as a trained model leaves aisnas.train.
    model = spec.build().to(splits.x_train.device, memory_format=torch.channels_last).eval()
    x, y = splits.x_val, splits.y_val
    accuracy(model, x[:256], y[:256])  # warm-up
    t0 = time.perf_counter()
    accuracy(model, x, y)
    clean = time.perf_counter() - t0
    cfg = EvalConfig(sigmas=tuple(sigmas), repeats=repeats, objective_sigma=sigmas[-1])
    t0 = time.perf_counter()
    noise_sweep(model, x, y, noise_specs(cfg), repeats=repeats, seed=0, calibration=splits.x_train[:256])
    grid = time.perf_counter() - t0
    k = sum(1 for s in sigmas if s > 0)
    return clean, grid, k * repeats


def compile_figures(spec, splits, steps: int, bs: int) -> dict[str, float]:
    """torch.compile on this device: its one-off cost and what it buys per step, train and eval."""
    dev = splits.x_train.device
    x, y = splits.x_train, splits.y_train
    torch.manual_seed(0)
    model = spec.build().to(dev, memory_format=torch.channels_last)
    out = {"train_img_s_eager": reference_sgd(model, x, y, steps, bs)}
    compiled = torch.compile(model)
    t0 = time.perf_counter()
    reference_sgd(compiled, x, y, 1, bs)  # first call compiles forward and backward
    out["compile_train_seconds"] = time.perf_counter() - t0
    out["train_img_s_compiled"] = reference_sgd(compiled, x, y, steps, bs)
    xv = splits.x_val[:1024]
    model.eval()

    def eval_img_s(m) -> float:
        with torch.inference_mode():
            t = time.perf_counter()
            for i in range(0, xv.shape[0], 128):
                m(xv[i:i + 128])
            if dev.type == "cuda":
                torch.cuda.synchronize()
            return xv.shape[0] / (time.perf_counter() - t)

    out["eval_img_s_eager"] = max(eval_img_s(model), eval_img_s(model))
    t0 = time.perf_counter()
    with torch.inference_mode():
        compiled(xv[:128])  # eval mode and inference tensors: a second graph
    out["compile_eval_seconds"] = time.perf_counter() - t0
    out["eval_img_s_compiled"] = max(eval_img_s(compiled), eval_img_s(compiled))
    return out


def trial_split(budget: str, data: str) -> dict[str, float]:
    """One real fanin trial at `budget`, timed by phase from its own records."""
    import optuna

    from aisnas.search import run_search

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        t0 = time.perf_counter()
        run_search("fanin", budget=budget, storage=url, data=data, trials=1, quiet=True, out=open("/dev/null", "w"))
        wall = time.perf_counter() - t0
        t = [t for t in optuna.load_study(study_name=f"fanin-{budget}" if budget != "default" else "fanin",
                                          storage=url).trials if t.state.name == "COMPLETE"][0]
        s = t.user_attrs["seconds"]
        t1 = time.perf_counter()
        from aisnas.arch import arch_from_dict
        from aisnas.ppa import estimate_ppa, load_profile

        estimate_ppa(arch_from_dict(t.user_attrs["arch"]), load_profile("p2m"))
        ppa = time.perf_counter() - t1
    # Storage and bookkeeping: what the trial's own phases do not account for.
    other = wall - s["total"]
    return {"data": s["data"], "train": s["train"], "eval": s["eval"], "ppa": ppa,
            "storage_and_setup": other + (s["total"] - s["data"] - s["train"] - s["eval"]), "total": wall}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--arch", default="vgg13")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true", help="skip the whole-trial timings")
    p.add_argument("--trial-budgets", default="smoke,default")
    p.add_argument("--compile", action="store_true", help="also measure torch.compile (slow to compile on a CPU)")
    p.add_argument("--default-allocator", action="store_true",
                   help="skip aisnas.runtime.tune_allocator (the CLI applies it), to measure its effect")
    args = p.parse_args(argv)
    if not args.default_allocator:
        print(f"allocator_tuned: {tune_allocator()}")

    dev = select_device(args.device)
    print(f"device: {dev}{' ' + torch.cuda.get_device_name(dev) if dev.type == 'cuda' else ''}")
    print(f"torch_threads: {torch.get_num_threads()}")
    t0 = time.perf_counter()
    ds = load_dataset(args.data, progress=False)
    print(f"cifar10_load_seconds: {time.perf_counter() - t0:.3f}")
    t0 = time.perf_counter()
    ds = load_dataset(args.data, progress=False)
    print(f"cifar10_reload_seconds: {time.perf_counter() - t0:.3f}")

    spec = create_arch(args.arch, width=args.width)
    splits = make_splits(ds, train_size=4000, val_size=2000, test_size=0, seed=0, device=dev)
    print(f"arch: {spec.name} width {args.width} ({spec.totals()['macs']:,} MACs)")
    for cl in ([True, False] if dev.type == "cpu" else [True]):
        tag = "" if cl else "_nchw"
        f = throughput(spec, splits, args.steps, args.batch_size, args.rounds, channels_last=cl)
        print(f"reference_sgd_img_s{tag}: {f['reference']:.0f}")
        print(f"sgd_img_s{tag}: {f['sgd']:.0f}")
        print(f"sam_img_s{tag}: {f['sam']:.0f}")
        print(f"sgd_hooks_sigma0_img_s{tag}: {f['sgd_hooks']:.0f}")
        print(f"sgd_vs_reference{tag}: {f['sgd'] / f['reference']:.3f}")
        print(f"sam_vs_reference{tag}: {f['sam'] / f['reference']:.3f}")
        print(f"noise_hook_overhead{tag}: {f['sgd'] / f['sgd_hooks'] - 1:.3f}")
    sigmas = [0.0, 0.1, 0.2, 0.4, 0.6, 0.8]
    clean, grid, kr = eval_cost(spec, splits, sigmas, repeats=3)
    print(f"eval_clean_seconds: {clean:.3f}")
    print(f"eval_noise_grid_seconds: {grid:.3f} (K*R = {kr})")
    print(f"noise_grid_vs_clean: {grid / clean:.2f} (goal <= {kr})")
    if args.compile:
        c = compile_figures(spec, splits, args.steps, args.batch_size)
        for k, v in c.items():
            print(f"{k}: {v:.1f}")
        print(f"compile_train_speedup: {c['train_img_s_compiled'] / c['train_img_s_eager']:.3f}")
        print(f"compile_eval_speedup: {c['eval_img_s_compiled'] / c['eval_img_s_eager']:.3f}")
    if not args.quick:
        for budget in args.trial_budgets.split(","):
            for k, v in trial_split(budget, args.data).items():
                print(f"trial_{budget}_{k}_seconds: {v:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
