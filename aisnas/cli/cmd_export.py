"""`aisnas export`: one trial's architecture, trained weights and hardware mapping."""

from __future__ import annotations

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser(
        "export", help="export a trial: arch.toml, weights.safetensors, hardware.json",
        description="Replay a finished trial (same stored configuration and seed), check that it reproduces the "
                    "recorded clean accuracy, and write arch.toml, weights.safetensors, hardware.json and "
                    "export.json. With --check DIR, score an export's weights on the trial's split instead.")
    p.add_argument("--study", help="study name or .toml path, as given to aisnas search")
    p.add_argument("--budget", choices=("smoke", "default", "full"), default="default")
    p.add_argument("--study-name", default=None, help="the stored study name, if search ran with --study-name")
    p.add_argument("--storage", default=None,
                   help="storage URL as given to aisnas search (default sqlite:///aisnas.db)")
    p.add_argument("--trial", type=int, help="trial number (see aisnas report)")
    p.add_argument("--out", help="directory to write")
    p.add_argument("--data", default=None, help="dataset path (as given to aisnas search)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--tolerance", type=float, default=0.0,
                   help="accept a replayed clean accuracy this far from the recorded one (default 0: exact)")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out directory")
    p.add_argument("--check", metavar="DIR", default=None,
                   help="score the weights of an export on the trial's split and compare with the record")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args) -> int:
    from aisnas.errors import AisnasError
    from aisnas.export import FILES, check_export, export_trial

    if args.check:
        r = check_export(args.check, data=args.data, device=args.device)
        same = "same as" if r["clean_accuracy"] == r["recorded"] else "DIFFERENT from"
        print(f"{args.check}: clean accuracy {r['clean_accuracy']:.4f} on {r['images']} images, {same} the recorded "
              f"{r['recorded']:.4f} (arch {r['arch_id']})")
        return 0 if r["clean_accuracy"] == r["recorded"] else 1
    missing = [f"--{k}" for k in ("study", "trial", "out") if getattr(args, k) is None]
    if missing:
        raise AisnasError(f"export needs {', '.join(missing)} (or --check DIR)")
    r = export_trial(args.study, trial=args.trial, out=args.out, budget=args.budget, storage=args.storage,
                     data=args.data, device=args.device, tolerance=args.tolerance, force=args.force,
                     progress=not args.quiet, study_name=args.study_name)
    print(f"exported trial {r.trial} of study {r.study!r} (arch {r.arch_id}) to {r.out} in {r.seconds:.0f} s\n"
          f"clean accuracy: recorded {r.clean_recorded:.4f}, replayed {r.clean_reproduced:.4f}\n"
          f"files: {', '.join(str(r.out / f) for f in FILES)}\n"
          f"check:   aisnas export --check {r.out}" + (f" --data {args.data}" if args.data else "") + "\n"
          f"rebuild: aisnas evaluate --arch {r.out / 'arch.toml'}")
    return 0
