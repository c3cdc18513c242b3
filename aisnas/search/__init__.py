"""Search: declarative studies and spaces run as Optuna multi-objective studies."""

from aisnas.search._config import (
    BUDGETS,
    METRICS,
    ResolvedStudy,
    StudyConfig,
    builtin_path,
    list_studies,
    load_study,
)
from aisnas.search._objective import TrialRunner
from aisnas.search._run import SearchSummary, make_sampler, open_study, run_search
from aisnas.search._space import SearchSpace, load_space, register_space_builder, space_builders
from aisnas.search._storage import DEFAULT_STORAGE, open_storage, redact

__all__ = [
    "BUDGETS",
    "DEFAULT_STORAGE",
    "METRICS",
    "ResolvedStudy",
    "SearchSpace",
    "SearchSummary",
    "StudyConfig",
    "TrialRunner",
    "builtin_path",
    "list_studies",
    "load_space",
    "load_study",
    "make_sampler",
    "open_storage",
    "open_study",
    "redact",
    "register_space_builder",
    "run_search",
    "space_builders",
]
