"""`aisnas report`: a study's offline HTML report plus trials.csv and trials.json."""

from __future__ import annotations

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("report", help="write a study's HTML report, trials.csv and trials.json",
                       description="Write reports/<study>/index.html (offline, one page), trials.csv and "
                                   "trials.json for a stored study.")
    p.add_argument("--study", required=True, help="study name as given to `aisnas search` (with --budget), or "
                                                  "the exact stored name, e.g. fanin-smoke")
    p.add_argument("--budget", choices=("smoke", "default", "full"), default=None,
                   help="budget level the study ran at (default: the exact name, then the default level)")
    p.add_argument("--storage", default=None, help="sqlite:///FILE (default sqlite:///aisnas.db), journal:PATH "
                                                   "or postgresql://USER:PASS@HOST/DB")
    p.add_argument("--out", default=None, help="output folder (default reports/<stored study name>)")
    p.add_argument("--data", default=None, help="dataset for the input-variant pictures of raw studies "
                                                "(default: the study's data path)")
    p.set_defaults(func=run)


def run(args) -> int:
    import optuna

    from aisnas.errors import AisnasError
    from aisnas.report import open_report_storage, resolve_study_name, write_report
    from aisnas.search import DEFAULT_STORAGE, redact

    # A study with no trial at all is a mistake on the command line (wrong name, storage
    # or budget), so the command says so; write_report itself still renders such a
    # study as a page with a notice, for library callers and the dashboard.
    url = args.storage or DEFAULT_STORAGE
    storage = open_report_storage(url)
    name = resolve_study_name(args.study, storage, args.budget)
    if not optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False):
        raise AisnasError(f"study {name!r} in {redact(url)} has no trials yet; run `aisnas search` on it first")
    out = write_report(args.study, args.storage, args.out, budget=args.budget, data=args.data)
    print(f"report: {out / 'index.html'}\ntables: {out / 'trials.csv'}, {out / 'trials.json'}")
    return 0
