"""`aisnas studies`: the built-in studies with their descriptions and budgets."""

from __future__ import annotations

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("studies", help="list the built-in studies")
    p.set_defaults(func=run)


def run(args) -> int:
    from aisnas.configs import from_dict, load_toml
    from aisnas.search import StudyConfig, builtin_path, list_studies

    for name in list_studies():
        path = builtin_path("studies", name)
        cfg = from_dict(StudyConfig, load_toml(path), source=str(path))
        print(f"{name}: {cfg.description}")
        for level in ("smoke", "default", "full"):
            b = cfg.budgets.get(level)
            if b is not None:
                print(f"  --budget {level:<8} {b.description}")
    return 0
