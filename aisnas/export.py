"""Export one trial of a study: architecture, trained weights and hardware mapping.

    result = export_trial("ais", trial=17, out="ais-17", storage="sqlite:///aisnas.db")
    spec, model = load_export("ais-17")            # rebuilt, weights loaded, eval mode
    check_export("ais-17")                         # clean accuracy on the trial's split

The directory holds `arch.toml` (aisnas.arch.save_arch; `aisnas evaluate --arch DIR`
rebuilds and retrains it), `weights.safetensors` (the model's state dict, a format that
cannot run code when loaded), `hardware.json` (which layers run in the sensor, their
weight bits and on-sensor storage, the ADC boundary: bits, conversions, ADC count;
from aisnas.ppa) and `export.json` (where it came from and what it scored).

The weights are made by replaying the trial, not stored by the search: the study's
own stored configuration is rebuilt (checked by its configuration hash) and the trial
runs again through the same objective (TrialRunner) with its recorded parameters and
seed. Searches then write nothing per trial (hundreds of trials, a few kept), and
export works for every finished trial of any study. Training is deterministic for a
seed on one machine, so the replay must reproduce the recorded clean accuracy; the
export checks it and refuses to write weights that do not (`tolerance` to accept a
replay on another machine). The cost is one trial's training.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import optuna
import torch
from optuna.trial import TrialState

from aisnas.arch import ArchSpec, arch_from_dict, load_arch, save_arch
from aisnas.errors import AisnasError

__all__ = ["FILES", "ExportResult", "check_export", "export_trial", "hardware_mapping", "load_export", "study_storage_name"]

FILES = ("arch.toml", "weights.safetensors", "hardware.json", "export.json")


@dataclass(frozen=True)
class ExportResult:
    out: Path
    study: str
    trial: int
    arch_id: str
    clean_recorded: float
    clean_reproduced: float
    seconds: float


def study_storage_name(study: str, budget: str = "default") -> str:
    """The Optuna study name `aisnas search --study X --budget B` stores under."""
    stem = Path(study).stem if study.endswith(".toml") or "/" in study else study
    return stem if budget == "default" else f"{stem}-{budget}"


def _resolved(study: optuna.Study, url: str):
    """The ResolvedStudy the search ran with, from the study's own stored record."""
    from aisnas.configs import from_dict
    from aisnas.search._config import ResolvedStudy, StudyConfig
    from aisnas.search._space import SearchSpace

    a = study.user_attrs
    if "config" not in a or "space" not in a:
        raise AisnasError(f"study {study.study_name!r} in {url} has no stored configuration "
                          "(not made by aisnas search)")
    where = f"study {study.study_name!r} stored configuration"
    rs = ResolvedStudy(name=study.study_name, study=a.get("study", study.study_name), budget=a.get("budget", ""),
                       source=a.get("source", ""), config=from_dict(StudyConfig, a["config"], source=where),
                       space=from_dict(SearchSpace, a["space"], source=where))
    # A different hash means this aisnas version reads the record with settings it did not
    # have (new fields at their defaults): the replay may still match; the accuracy check decides.
    note = "" if rs.config_hash == a.get("config_hash") else (
        f"; the stored configuration reads differently in this aisnas version (hash {rs.config_hash}, "
        f"recorded {a.get('config_hash')})")
    return rs, note


def _trial(study: optuna.Study, number: int) -> optuna.trial.FrozenTrial:
    trials = [t for t in study.get_trials(deepcopy=False) if t.number == number]
    if not trials:
        raise AisnasError(f"study {study.study_name!r} has no trial {number} (trials 0..{len(study.trials) - 1})")
    t = trials[0]
    if t.state != TrialState.COMPLETE:
        why = t.user_attrs.get("failure_reason", "")
        raise AisnasError(f"trial {number} is {t.state.name.lower()}, not complete" + (f": {why}" if why else ""))
    if t.user_attrs.get("skipped_training"):
        raise AisnasError(f"trial {number} was not trained ({t.user_attrs['skipped_training']}): nothing to export")
    return t


def hardware_mapping(spec: ArchSpec, hardware: str, input_variant: str = "N/A") -> dict:
    """Where each layer runs and what the sensor holds, from the PPA model."""
    from aisnas.ppa import estimate_ppa, load_profile
    from aisnas.raw import isp_stages, parse_variant

    profile = load_profile(hardware)
    isp = tuple(isp_stages(parse_variant(input_variant)))
    r = estimate_ppa(spec, profile, isp_stages=isp)
    t = r.totals
    in_sensor = [lc for lc in r.layers if lc.in_sensor]
    keys = ("name", "kind", "in_sensor", "macs", "params", "activations", "fan_in", "weight_bits", "replication",
            "onsensor_weight_bits")
    trained_bits = {layer.name: layer.weight_bits for layer in spec.layers()}
    return {
        "hardware": profile.name,
        "description": profile.description,
        "input_variant": input_variant,
        "isp_stages": list(isp),
        "in_sensor_layers": r.in_sensor_layers,
        "boundary": {
            "after_layer": in_sensor[-1].name if in_sensor else None,  # None: pixels are digitized
            "adc_bits": t["adc_bits"],
            "adc_count": profile.adc.count,
            "adc_architecture": profile.adc.architecture,
            "adc_conversions": t["adc_conversions"],
            "adc_pj_per_conversion": t["adc_pj_per_conversion"],
        },
        "onsensor_weight_bits": t["onsensor_weight_bits"],
        # weight_bits: bits the layer is deployed at; trained_weight_bits: QAT bits (null: trained in float)
        "layers": [{**{k: getattr(lc, k) for k in keys}, "output_shape": list(lc.output_shape),
                    "trained_weight_bits": trained_bits.get(lc.name), "energy_pj": lc.energy_total_pj}
                   for lc in r.layers],
        "totals": {k: t[k] for k in ("energy_pj", "sensor_area_mm2", "digital_area_mm2", "adc_conversions",
                                     "onsensor_weight_bits", "latency_us", "edp", "macs", "params")},
    }


def export_trial(study: str, *, trial: int, out: str | Path, budget: str = "default", storage: str | None = None,
                 data: str | None = None, device: str = "auto", tolerance: float = 0.0, force: bool = False,
                 progress: bool = False, study_name: str | None = None) -> ExportResult:
    """Replay `trial` of the stored study, check its clean accuracy, write the export."""
    from safetensors.torch import save_file

    from aisnas.runtime import provenance, select_device
    from aisnas.search._objective import TrialRunner
    from aisnas.search._storage import DEFAULT_STORAGE, open_storage, redact

    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise AisnasError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise AisnasError(f"--out {out}: directory is not empty (use --force to overwrite the export files)")
    url = storage or DEFAULT_STORAGE
    name = study_name or study_storage_name(study, budget)
    st = open_storage(url)
    try:
        opt = optuna.load_study(study_name=name, storage=st)
    except KeyError:
        names = ", ".join(s.study_name for s in optuna.get_all_study_summaries(st, include_best_trial=False))
        raise AisnasError(f"no study {name!r} in {redact(url)}; studies there: {names or 'none'}") from None
    frozen = _trial(opt, trial)
    rs, note = _resolved(opt, redact(url))
    dev = select_device(device)
    prov = provenance(dev)
    runner = TrialRunner(rs, data_path=data, device=dev, provenance=prov, progress=progress)
    replay = optuna.trial.FixedTrial(dict(frozen.params), number=frozen.number)
    if "baseline" in frozen.user_attrs:
        replay.set_user_attr("baseline", frozen.user_attrs["baseline"])
    runner(replay)
    got, rec = replay.user_attrs, frozen.user_attrs
    for key in ("arch_id", "seed", "input_variant"):
        if got.get(key) != rec.get(key):
            raise AisnasError(f"trial {trial}: the replay has {key} {got.get(key)!r}, the record {rec.get(key)!r}")
    clean_rec, clean_got = float(rec["clean_accuracy"]), float(got["clean_accuracy"])
    if abs(clean_got - clean_rec) > tolerance:
        then = rec.get("provenance", {})
        raise AisnasError(
            f"trial {trial}: the replay reached clean accuracy {clean_got:.4f}, the search recorded {clean_rec:.4f} "
            f"(recorded on {then.get('device')} with {then.get('code_version')}, "
            f"replayed on {prov['device']} with {prov['code_version']}{note}); nothing written. Same seed, same "
            f"machine and code reproduce it exactly; --tolerance accepts a difference")
    spec = arch_from_dict(rec["arch"], source=f"trial {trial} arch")
    model = runner.last_model
    out.mkdir(parents=True, exist_ok=True)
    save_arch(spec, out / "arch.toml")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(out / "weights.safetensors"),
              metadata={"arch_id": spec.arch_id, "study": name, "trial": str(trial),
                        "format": "aisnas AISNet state_dict"})
    hardware = hardware_mapping(spec, rs.config.ppa.hardware, rec.get("input_variant") or "N/A")
    (out / "hardware.json").write_text(json.dumps(hardware, indent=2))
    record = {
        "study": name, "budget": rs.budget, "storage": redact(url), "trial": trial, "label": rec.get("label"),
        "arch_id": spec.arch_id, "seed": rec["seed"], "input_variant": rec.get("input_variant"),
        "objectives": dict(zip(opt.metric_names or [], frozen.values)),
        "clean_accuracy": {"recorded": clean_rec, "reproduced": clean_got},
        "noisy_accuracy": {"recorded": rec.get("noisy_accuracy"), "reproduced": got.get("noisy_accuracy")},
        "split": {"name": rs.config.eval.split, **dataclasses.asdict(rs.config.data), "data": data},
        "config": opt.user_attrs["config"], "config_hash": opt.user_attrs.get("config_hash"),
        "provenance": {"search": rec.get("provenance"), "export": prov},
        "files": list(FILES),
        "rebuild": f"aisnas evaluate --arch {out / 'arch.toml'} --variant {rec.get('input_variant') or 'N/A'}",
        "check": f"aisnas export --check {out}" + (f" --data {data}" if data else ""),
    }
    (out / "export.json").write_text(json.dumps(record, indent=2, default=str))
    return ExportResult(out=out, study=name, trial=trial, arch_id=spec.arch_id, clean_recorded=clean_rec,
                        clean_reproduced=clean_got, seconds=time.perf_counter() - t0)


def load_export(path: str | Path, device: str | torch.device = "cpu") -> tuple[ArchSpec, torch.nn.Module]:
    """The exported architecture rebuilt with its trained weights, in eval mode."""
    from safetensors.torch import load_file

    path = Path(path)
    for f in ("arch.toml", "weights.safetensors"):
        if not (path / f).is_file():
            raise AisnasError(f"{path}: no {f}; expected a directory written by aisnas export")
    spec = load_arch(path / "arch.toml")
    model = spec.build()
    rec = json.loads((path / "export.json").read_text()) if (path / "export.json").is_file() else {}
    if rec.get("config", {}).get("train", {}).get("channels_last", True):
        # The memory layout it was trained and scored in: another layout sums in another
        # order, and a rounding difference can flip a borderline image.
        model = model.to(memory_format=torch.channels_last)
    state = load_file(str(path / "weights.safetensors"))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise AisnasError(f"{path / 'weights.safetensors'}: does not fit {path / 'arch.toml'}: "
                          f"{str(e).splitlines()[0]}") from None
    return spec, model.to(device).eval()


def check_export(path: str | Path, data: str | None = None, device: str = "auto") -> dict:
    """Clean accuracy of the exported weights on the split the trial was scored on."""
    from aisnas.data import load_dataset, make_splits
    from aisnas.evaluation import accuracy
    from aisnas.runtime import select_device

    path = Path(path)
    if not (path / "export.json").is_file():
        raise AisnasError(f"{path}: no export.json; expected a directory written by aisnas export")
    rec = json.loads((path / "export.json").read_text())
    dev = select_device(device)
    spec, model = load_export(path, dev)
    sp = rec["split"]
    data = data or sp.get("data") or sp.get("path")
    ds = load_dataset(data, download=data is None, progress=False)
    variant = rec.get("input_variant") or "N/A"
    if variant not in ("N/A", ""):
        from aisnas.raw import variant_dataset

        ds = variant_dataset(ds, variant)
    splits = make_splits(ds, train_size=sp["train_size"], val_size=sp["val_size"], test_size=sp["test_size"],
                         seed=sp["subset_seed"], device=dev)
    x, y = (splits.x_val, splits.y_val) if sp["name"] == "val" else (splits.x_test, splits.y_test)
    acc = accuracy(model, x, y)
    return {"clean_accuracy": acc, "recorded": rec["clean_accuracy"]["recorded"], "images": int(y.shape[0]),
            "arch_id": spec.arch_id}
