"""`aisnas analyze`: a study's own analysis, printed (and optionally saved as JSON).

- studies with `protocol = "finetune"` (e.g. `sam`): each arm's accuracy clean, under
  every noise setting and at every weight bit width, mean +- std over seeds, and the
  per-seed difference to the plain-SGD arm (`aisnas.finetune.summarize_arms`);
- studies over NAS-Bench-101 cells (e.g. `nasbench101`): N cells of similar clean
  accuracy and MACs, clean vs noisy correlations with bootstrap intervals, fan-in
  statistics (`aisnas.nasbench.analyze`).
"""

from __future__ import annotations

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("analyze", help="print a study's own analysis (fine-tuning arms, NAS-Bench-101 cells)",
                       description="Analyse the completed trials of a fine-tuning study (arms vs the SGD arm) or "
                                   "of a study over NAS-Bench-101 cells (clean vs noisy correlation).")
    p.add_argument("--study", required=True, help="built-in study name or a .toml path")
    p.add_argument("--budget", choices=("smoke", "default", "full"), default="default")
    p.add_argument("--storage", default=None, help="the storage the study ran in (default sqlite:///aisnas.db)")
    p.add_argument("--study-name", default=None, help="the name it was stored under, if not the study's own")
    p.add_argument("--select", type=int, default=10, help="NAS-Bench-101: how many similar cells to correlate")
    p.add_argument("--kind", default=None, help="NAS-Bench-101: noise kind (default: the study's objective kind)")
    p.add_argument("--sigma", type=float, default=None,
                   help="NAS-Bench-101: noise sigma (default: the study's objective sigma)")
    p.add_argument("--bootstrap", type=int, default=10_000, help="NAS-Bench-101: bootstrap resamples")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the analysis as JSON here")
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    from pathlib import Path

    import optuna

    from aisnas.errors import AisnasError
    from aisnas.search import DEFAULT_STORAGE, load_study, open_storage, redact

    rs = load_study(args.study, args.budget)
    url = args.storage or DEFAULT_STORAGE
    name = args.study_name or rs.name
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=name, storage=open_storage(url))
    except KeyError:
        raise AisnasError(f"no study {name!r} in {redact(url)}; run `aisnas search --study {args.study}"
                          f"{'' if args.budget == 'default' else ' --budget ' + args.budget}` first") from None
    if rs.config.protocol == "finetune":
        from aisnas.finetune import format_arms, summarize_arms

        result = summarize_arms(study)
        text = format_arms(result)
    elif rs.space.builder == "nasbench101":
        from aisnas.nasbench import analyze, format_analysis

        if args.select < 2:
            raise AisnasError(f"--select {args.select}: a correlation needs at least 2 cells")
        ev = rs.config.eval
        result = analyze(study, select=args.select, kind=args.kind or ev.objective_kind,
                         sigma=ev.objective_sigma if args.sigma is None else args.sigma, n_boot=args.bootstrap)
        text = format_analysis(result)
    else:
        raise AisnasError(f"study {rs.study!r} has no analysis here: `aisnas analyze` covers studies with "
                          "protocol = 'finetune' and studies over the nasbench101 space; see `aisnas report`")
    print(f"study {name!r} in {redact(url)}\n{text}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
        print(f"written: {args.json}")
    return 0
