"""Sampler comparison on the `ais` search: hypervolume after N trials, mean and std over seeds.

    python benchmarks/bench_samplers.py --trials 60 --seeds 5
    python benchmarks/bench_samplers.py --samplers random,tpe,nsga2,gp --trials 200 --json out.json

Everything but training is the real search: the `ais` study's space, builder, baselines
(enqueued first), hardware profile, PPA objectives and hard budgets, and the samplers
exactly as `aisnas search` makes them (aisnas.search.make_sampler). Training is replaced
by a cheap, deterministic SURROGATE of noisy accuracy, so a run takes seconds:

    clean = clip(0.40 + 0.08 * log2(MACs / 1e6), 0.10, 0.85)
            - 0.04 per 2-bit stage - input-variant loss (Horton et al. Fig. 5 order)
    noisy = clean * (1 - 0.5 * exp(-min conv fan-in / 64))

It rewards capacity (MACs), which costs energy, and fan-in (the paper's robustness
finding), so the objectives conflict as in the real study; its numbers are not
accuracies and say nothing about architectures, only about how fast each sampler
covers the front. Hypervolume is over the feasible trials in (1 - noisy accuracy,
log10 energy_pj, sensor_area_mm2), all minimized, against the reference point
(1, 8, the area budget): 100 uJ per frame is above every baseline.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import time
import warnings

import numpy as np
import optuna
from optuna._hypervolume import compute_hypervolume  # no public API yet (GUIDE.md section 8)
from optuna.trial import TrialState

from aisnas.ppa import constraint_values, estimate_ppa, load_profile
from aisnas.raw import isp_stages, parse_variant
from aisnas.search import load_study, make_sampler

# Accuracy lost to each raw input variant, in the paper's order (Fig. 5): C is
# reversible, S recovers part of it, M loses much, U+M little.
VARIANT_LOSS = {"N/A": 0.0, "C": 0.02, "C+S": 0.01, "M": 0.08, "U+M": 0.02}


def surrogate_noisy(spec, variant: str) -> float:
    convs = [layer for layer in spec.layers() if layer.kind != "linear"]
    macs = spec.totals()["macs"]
    clean = min(max(0.40 + 0.08 * math.log2(macs / 1e6), 0.10), 0.85)
    clean -= 0.04 * sum(1 for st in spec.stages if st.weight_bits == 2)
    clean -= VARIANT_LOSS.get(variant, 0.05)
    min_fan_in = min(layer.fan_in for layer in convs)
    return max(clean, 0.0) * (1 - 0.5 * math.exp(-min_fan_in / 64))


class SurrogateObjective:
    """TrialRunner's cheap path (build, PPA, budgets) with the surrogate for training."""

    def __init__(self, rs):
        self.rs = rs
        self.profile = load_profile(rs.config.ppa.hardware)
        self.budgets = dict(rs.config.constraints.budgets)
        self.metrics = [o.metric for o in rs.config.objectives]

    def __call__(self, trial: optuna.Trial) -> list[float]:
        values = self.rs.space.suggest(trial)
        variant = values.pop("input_variant", "N/A")
        spec = self.rs.space.build(values, self.rs.config.width)  # ValueError: rejected, as in the search
        ppa = estimate_ppa(spec, self.profile, isp_stages=isp_stages(parse_variant(variant)))
        cons = constraint_values(ppa, self.budgets)
        over = any(v > 0 for v in cons.values())
        noisy = 0.0 if over else surrogate_noisy(spec, variant)  # over budget: not trained
        for k, v in cons.items():
            trial.set_constraint(k, v)
        metrics = {"noisy_accuracy": noisy, **ppa.totals}
        return [float(metrics[m]) for m in self.metrics]


def hypervolume(study: optuna.Study, area_budget: float) -> float:
    points = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        cons = t.system_attrs.get("constraints") or []
        if any(c > 0 for c in cons):
            continue
        noisy, energy, area = t.values
        points.append([1.0 - noisy, math.log10(energy), area])
    ref = np.array([1.0, 8.0, area_budget])
    points = [pt for pt in points if all(np.array(pt) <= ref)]  # beyond the reference: no volume
    if not points:
        return 0.0
    return float(compute_hypervolume(np.array(points), ref))


def run_one(rs, sampler: str, seed: int, trials: int, checkpoints: list[int]) -> dict:
    """`sampler` is a study-file sampler name, optionally ":population" for NSGA-II/III."""
    name, _, pop = sampler.partition(":")
    cfg = dataclasses.replace(rs.config.sampler, name=name, population_size=int(pop) if pop else None)
    rs_s = dataclasses.replace(rs, config=dataclasses.replace(rs.config, sampler=cfg))
    study = optuna.create_study(directions=[o.resolved_direction for o in rs.config.objectives],
                                sampler=make_sampler(rs_s, seed))
    for e in rs.config.enqueue:
        study.enqueue_trial(dict(e.params), user_attrs={"baseline": e.label})
    objective = SurrogateObjective(rs)
    area_budget = rs.config.constraints.budgets.get("sensor_area_mm2", 10.0)
    hv, t0, done = {}, time.perf_counter(), 0
    for n in checkpoints:
        study.optimize(objective, n_trials=n - done, catch=(ValueError,))
        done = n
        hv[n] = hypervolume(study, area_budget)
    states = [t.state for t in study.trials]
    return {"sampler": sampler, "seed": seed, "hv": hv, "seconds": time.perf_counter() - t0,
            "rejected": states.count(TrialState.FAIL)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", default="ais")
    p.add_argument("--budget", default="default")
    p.add_argument("--samplers", default="random,tpe,nsga2")
    p.add_argument("--trials", type=int, default=60, help="trials per run, baselines included")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--json", default=None, help="also write the per-run records here")
    args = p.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")  # experimental-feature warnings of GP/constraints
    rs = load_study(args.study, args.budget)
    checkpoints = sorted({max(len(rs.config.enqueue) + 1, args.trials // 4), args.trials // 2, args.trials})
    records = []
    for name in args.samplers.split(","):
        for seed in range(args.seeds):
            records.append(run_one(rs, name, seed, args.trials, checkpoints))
    print(f"study {args.study} ({args.budget}), {rs.config.ppa.hardware}, surrogate accuracy; "
          f"hypervolume of the feasible front, mean +- std over {args.seeds} seeds")
    print(f"{'sampler':<10}" + "".join(f"{'HV@' + str(n):>18}" for n in checkpoints) + f"{'rejected':>10}{'s/run':>8}")
    for name in args.samplers.split(","):
        rows = [r for r in records if r["sampler"] == name]
        cells = ""
        for n in checkpoints:
            v = [r["hv"][n] for r in rows]
            cells += f"{statistics.mean(v):>11.4f} +- {statistics.stdev(v) if len(v) > 1 else 0:<4.3f}"
        rej = statistics.mean(r["rejected"] for r in rows)
        sec = statistics.mean(r["seconds"] for r in rows)
        print(f"{name:<10}{cells}{rej:>10.1f}{sec:>8.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
