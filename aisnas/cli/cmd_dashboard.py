"""`aisnas dashboard`: optuna-dashboard on the study storage, with the search's artifacts."""

from __future__ import annotations

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("dashboard", help="serve optuna-dashboard on the study storage",
                       description="Serve optuna-dashboard on a study storage (localhost by default) with the "
                                   "artifact folder the search publishes to.")
    p.add_argument("--storage", default=None, help="sqlite:///FILE (default sqlite:///aisnas.db), journal:PATH "
                                                   "or postgresql://USER:PASS@HOST/DB")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                                                       "only)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--artifact-dir", default=None, help="artifact folder (default: aisnas-artifacts beside a "
                                                        "SQLite or journal file, else ./aisnas-artifacts)")
    p.set_defaults(func=run)


def run(args) -> int:
    from aisnas.report import serve_dashboard

    serve_dashboard(args.storage, host=args.host, port=args.port, artifact_dir=args.artifact_dir)
    return 0
