"""One Optuna trial: architecture -> PPA and budgets -> training -> evaluation -> record.

Cheap before expensive: the PPA model prices the architecture first, and a trial that
breaks a hard budget is scored without training. Everything a trial measured is stored
as user attrs, with the provenance needed to rerun it.
"""

from __future__ import annotations

import time
import traceback

import optuna
import torch

from aisnas.configs import to_dict
from aisnas.errors import AisnasError
from aisnas.search._config import ResolvedStudy

__all__ = ["TrialRunner", "seed_for_trial"]

# Objective values of a trial scored without training (it broke a hard budget): the
# worst possible accuracy, so it never enters the front even before constraints.
_UNTRAINED_ACCURACY = 0.0


def seed_for_trial(rs: ResolvedStudy, trial) -> int:
    """Grid studies pick the seed as a parameter; knob studies derive it from the trial."""
    if rs.space.kind == "variants":
        return int(trial.suggest_categorical("seed", list(range(rs.config.seeds))))
    seed = rs.config.sampler.seed * 100_003 + trial.number
    trial.set_user_attr("seed", seed)
    return seed


class TrialRunner:
    """Callable objective; holds the data splits so they load once per process."""

    def __init__(self, rs: ResolvedStudy, *, data_path: str | None, device: torch.device, provenance: dict,
                 progress: bool = True):
        self.rs = rs
        self.data_path = data_path
        self.device = device
        self.provenance = provenance
        self.progress = progress
        self._splits = None
        self.data_seconds = 0.0

    def splits(self, variant: str | None = None):
        from aisnas.data import load_dataset, make_splits

        variant = variant or self.rs.config.data.variant
        if self._splits is None or self._splits[0] != variant:
            t0 = time.perf_counter()
            d = self.rs.config.data
            path = self.data_path or d.path
            ds = load_dataset(path, download=path is None, progress=self.progress)
            if variant not in ("N/A", ""):
                from aisnas.raw import variant_dataset

                ds = variant_dataset(ds, variant)
            self._splits = (variant, make_splits(ds, train_size=d.train_size, val_size=d.val_size,
                                                 test_size=d.test_size, seed=d.subset_seed, device=self.device))
            self.data_seconds = time.perf_counter() - t0
        return self._splits[1]

    def arch(self, trial):
        """The architecture (and the input variant) this trial evaluates."""
        from aisnas.arch import create_arch

        cfg, space = self.rs.config, self.rs.space
        width = {"width": cfg.width} if cfg.width is not None else {}
        if space.kind == "variants":
            label = trial.suggest_categorical("variant", space.labels)
            v = space.variant(label)
            args = dict(v.args)
            variant = args.pop("input_variant", None)
            if space.builder:  # a grid of builder values, e.g. NAS-Bench-101 cells by index
                try:
                    return label, space.build(args, cfg.width), variant
                except ValueError as e:
                    raise AisnasError(f"invalid architecture: {e}") from None
            return label, create_arch(v.arch, **{**width, **args}), variant
        values = space.suggest(trial)
        variant = values.pop("input_variant", None)
        try:
            spec = space.build(values, cfg.width)
        except ValueError as e:  # an invalid combination: rejected before any training
            raise AisnasError(f"invalid architecture: {e}") from None
        # An enqueued baseline keeps its study-file label, so reports can find it.
        return trial.user_attrs.get("baseline", spec.name), spec, variant

    def __call__(self, trial: optuna.Trial):
        from aisnas.search._protocols import run_protocol

        cfg = self.rs.config
        t_start = time.perf_counter()
        trial.set_user_attr("provenance", self.provenance)
        trial.set_user_attr("config_hash", self.rs.config_hash)
        try:
            label, spec, variant = self.arch(trial)
            seed = seed_for_trial(self.rs, trial)
            variant = variant or cfg.data.variant
            trial.set_user_attr("label", label)
            trial.set_user_attr("seed", seed)
            trial.set_user_attr("input_variant", variant)
            trial.set_user_attr("arch", to_dict(spec))
            trial.set_user_attr("arch_id", spec.arch_id)
            counts = spec.totals()
            trial.set_user_attr("counts", counts)
            ppa = self._ppa(trial, spec, variant)
            violated = {k: v for k, v in trial.user_attrs.get("constraints", {}).items() if v > 0}
            if violated:
                # Broke a hard budget: priced, not trained.
                trial.set_user_attr("skipped_training", f"over budget: {', '.join(sorted(violated))}")
                self._constrain(trial, clean=None)
                return self._values(trial, clean=_UNTRAINED_ACCURACY, noisy=_UNTRAINED_ACCURACY, counts=counts,
                                    ppa=ppa)
            splits = self.splits(variant)
            # The study's protocol: train from scratch, or fine-tune a cached baseline.
            model, res, extra = run_protocol(self.rs, spec, splits, label=label, seed=seed,
                                             progress=self.progress, desc=f"trial {trial.number} {label}")
            for k, v in extra.items():
                trial.set_user_attr(k, v)
        except (AisnasError, ValueError, torch.OutOfMemoryError, RuntimeError) as e:
            trial.set_user_attr("failure_reason", f"{type(e).__name__}: {e}"[:2000])
            trial.set_user_attr("failure_trace", traceback.format_exc()[-4000:])
            raise
        noisy = res.noisy_mean(cfg.eval.objective_kind, cfg.eval.objective_sigma)
        trial.set_user_attr("clean_accuracy", res.clean_accuracy)
        trial.set_user_attr("noisy_accuracy", noisy)
        trial.set_user_attr("noisy", [{k: r[k] for k in ("kind", "sigma", "mode", "mean", "std", "repeats")}
                                      for r in res.noisy])
        trial.set_user_attr("noise_mode", cfg.eval.mode)
        trial.set_user_attr("quantized", {str(b): a for b, a in res.quantized.items()})
        trial.set_user_attr("train", {k: v for k, v in res.train.items() if k != "device"})
        trial.set_user_attr("seconds", {"data": round(self.data_seconds, 3), "train": round(res.train_seconds, 3),
                                        "eval": round(res.eval_seconds, 3),
                                        "total": round(time.perf_counter() - t_start, 3)})
        self.data_seconds = 0.0  # charged to the first trial that loaded the data
        self._constrain(trial, clean=res.clean_accuracy)
        self.last_model = model
        return self._values(trial, clean=res.clean_accuracy, noisy=noisy, counts=counts, ppa=ppa)

    def _ppa(self, trial, spec, variant) -> dict:
        """PPA totals (and budget constraints) before training; {} without a PPA model."""
        try:
            from aisnas.ppa import constraint_values, estimate_ppa, load_profile
        except ImportError:
            return {}
        isp = ()
        if variant:
            try:
                from aisnas.raw import isp_stages, parse_variant

                isp = tuple(isp_stages(parse_variant(variant)))
            except ImportError:
                pass
        result = estimate_ppa(spec, load_profile(self.rs.config.ppa.hardware), isp_stages=isp)
        d = result.as_dict()
        trial.set_user_attr("ppa", d["totals"])
        trial.set_user_attr("ppa_hardware", self.rs.config.ppa.hardware)
        if self.rs.config.ppa.compare:
            # The same network priced on other sensors; a profile without analog compute
            # (the conventional baseline) runs everything off-sensor.
            by_profile = {}
            for name in self.rs.config.ppa.compare:
                prof = load_profile(name)
                depth = spec.in_sensor_layers if prof.has_analog else 0
                by_profile[name] = estimate_ppa(spec, prof, in_sensor_layers=depth, isp_stages=isp).as_dict()["totals"]
            trial.set_user_attr("ppa_by_profile", by_profile)
        if self.rs.config.constraints.budgets:
            cons = constraint_values(result, dict(self.rs.config.constraints.budgets))
            trial.set_user_attr("constraints", {**trial.user_attrs.get("constraints", {}), **cons})
        return d["totals"]

    def _constrain(self, trial, clean: float | None) -> None:
        cons = dict(trial.user_attrs.get("constraints", {}))
        floor = self.rs.config.constraints.min_clean_accuracy
        if floor is not None:
            cons["min_clean_accuracy"] = floor - (clean if clean is not None else _UNTRAINED_ACCURACY)
        if cons:
            # Mirrored into a user attr: optuna-dashboard 0.21 does not read constraints.
            trial.set_user_attr("constraints", cons)
            trial.set_user_attr("feasible", all(v <= 0 for v in cons.values()))
            for k, v in cons.items():
                trial.set_constraint(k, v)

    def _values(self, trial, *, clean, noisy, counts, ppa) -> list[float]:
        metrics = {"clean_accuracy": clean, "noisy_accuracy": noisy, **counts, **ppa}
        out = []
        for o in self.rs.config.objectives:
            if o.metric not in metrics:
                raise AisnasError(f"objective {o.metric!r} needs the PPA model, which is not available")
            out.append(float(metrics[o.metric]))
        return out
