"""`aisnas search`: create or resume a study and run its trials."""

from __future__ import annotations

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("search", help="run (or continue) a study",
                       description="Create or resume a study in its storage and run its trials.")
    p.add_argument("--study", required=True, help="built-in study name (see `aisnas studies`) or a .toml path")
    p.add_argument("--budget", choices=("smoke", "default", "full"), default="default")
    p.add_argument("--trials", type=int, default=None, help="run at most this many trials now")
    p.add_argument("--storage", default=None, help="sqlite:///FILE (default sqlite:///aisnas.db), journal:PATH "
                                                   "or postgresql://USER:PASS@HOST/DB")
    p.add_argument("--data", default=None, help="dataset path (default: study's, $AISNAS_DATA, download cache)")
    p.add_argument("--seed", type=int, default=None,
                   help="sampler seed (default: the study file's); worker i uses seed + i, so give each machine "
                        "that joins a study its own seed")
    p.add_argument("--study-name", default=None, help="store under this name instead of the study's own")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--quiet", action="store_true", help="plain log lines instead of progress bars")
    p.add_argument("--workers", type=int, default=1,
                   help="local worker processes on the study (needs --storage journal:PATH or postgresql://...); "
                        "run the same command on other machines with a postgresql:// URL to join in (leave the "
                        "password out of the URL: PostgreSQL reads it from PGPASSWORD or ~/.pgpass)")
    p.add_argument("--heartbeat", type=int, default=30, metavar="SECONDS",
                   help="PostgreSQL: seconds between a trial's heartbeats; a trial silent for 3 is failed "
                        "and queued again (default 30)")
    p.set_defaults(func=run)


def run(args) -> int:
    from aisnas.search import run_search

    summary = run_search(args.study, budget=args.budget, storage=args.storage, data=args.data, seed=args.seed,
                         trials=args.trials, device=args.device, quiet=args.quiet, study_name=args.study_name,
                         workers=args.workers, heartbeat=args.heartbeat)
    return 130 if summary.interrupted else 0
