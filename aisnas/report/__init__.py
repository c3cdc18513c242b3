"""Reports of stored studies and their publication to optuna-dashboard.

    write_report("fanin", "sqlite:///aisnas.db", budget="smoke")   # -> reports/fanin-smoke/
    load_study_data(study).frame                                    # one row per trial (pandas)

A report folder holds `index.html` (one offline page: summary, feasible Pareto front in
2-D and 3-D, accuracy vs noise, per-variant and per-bits accuracy, per-layer PPA of the
front, hypervolume, importances, a sortable table), `trials.csv` and `trials.json`.

`DashboardPublisher` is the search's callback that publishes figures, a note and
per-trial artifacts to optuna-dashboard; `serve_dashboard` runs the dashboard.
"""

from aisnas.report._dashboard import (
    ARTIFACT_DIRNAME,
    SIGMA_ARTIFACT,
    DashboardPublisher,
    artifact_dir_for,
    publish_study,
    serve_dashboard,
    study_note,
    upload_trial_artifacts,
)
from aisnas.report._load import (
    StudyData,
    arch_knobs,
    load_study_data,
    open_report_storage,
    pareto_numbers,
    resolve_study_name,
    trials_frame,
)
from aisnas.report._report import write_report
from aisnas.report._study_plots import reference_point

__all__ = [
    "ARTIFACT_DIRNAME",
    "DashboardPublisher",
    "SIGMA_ARTIFACT",
    "StudyData",
    "artifact_dir_for",
    "arch_knobs",
    "load_study_data",
    "open_report_storage",
    "pareto_numbers",
    "publish_study",
    "reference_point",
    "resolve_study_name",
    "serve_dashboard",
    "study_note",
    "trials_frame",
    "upload_trial_artifacts",
    "write_report",
]
