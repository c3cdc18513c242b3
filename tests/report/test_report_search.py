"""End to end: a real tiny search in SQLite, its dashboard publications, its report in headless Chromium."""

import json
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.artifacts import get_all_artifact_meta
from tiny_studies import write_tiny_study

from aisnas.report import SIGMA_ARTIFACT, write_report


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """The tiny study run once through `run_search` (4 trials), as `aisnas search` would."""
    import os

    from aisnas.data import write_synthetic_image_folder
    from aisnas.search import run_search

    root = tmp_path_factory.mktemp("search")
    old = os.environ.get("AISNAS_CACHE")
    os.environ["AISNAS_CACHE"] = str(root / "cache")
    try:
        data = write_synthetic_image_folder(root / "data", train=8, test=2)
        # Smaller still than the other tests' tiny study, at 2 seeds so that the curves
        # have error bars across seeds, under the smoke budget's name.
        write_tiny_study(root, description="tiny report test study", seeds=2, width=0.125,
                         data={"train_size": 20, "val_size": 10}, train={"batch_size": 20}, eval={"repeats": 2},
                         budgets={"smoke": {"description": "the same, under its smoke name"}})
        url = f"sqlite:///{root / 'study.db'}"
        summary = run_search(str(root / "tiny.toml"), budget="smoke", storage=url, data=str(data), quiet=True)
    finally:
        if old is None:
            os.environ.pop("AISNAS_CACHE")
        else:
            os.environ["AISNAS_CACHE"] = old
    assert summary.complete == 4
    return root, url


def test_search_published_note_figures_and_a_plot_per_trial(searched):
    import optuna_dashboard

    root, url = searched
    study = optuna.load_study(study_name="tiny-smoke", storage=url)
    assert "## tiny-smoke" in optuna_dashboard.get_note(study) and "complete 4" in optuna_dashboard.get_note(study)
    for t in study.trials:
        (meta,) = get_all_artifact_meta(t, storage=study._storage)
        assert meta.filename == SIGMA_ARTIFACT
        assert (root / "aisnas-artifacts" / meta.artifact_id).is_file()  # beside study.db, found by default


def test_report_of_a_real_search_renders_in_chromium(searched, browser, page_tools):
    root, url = searched
    out = write_report("tiny", url, root / "reports" / "tiny-smoke", budget="smoke")
    frame = pd.read_csv(out / "trials.csv")
    study = optuna.load_study(study_name="tiny-smoke", storage=url)
    assert list(frame["number"]) == [t.number for t in study.trials]
    assert list(frame["value_noisy_accuracy"]) == [t.values[0] for t in study.trials]
    assert list(frame["acc_additive_s0.4_repeats"]) == [2] * 4
    assert [r["seed"] for r in json.loads((out / "trials.json").read_text())] == [0, 0, 1, 1]

    page_tools.severe_errors(browser)
    browser.get(Path(out / "index.html").resolve().as_uri())
    drawn = browser.execute_script("return document.querySelectorAll('.js-plotly-plot').length")
    expected = (out / "index.html").read_text().count('class="plotly-graph-div"')
    assert drawn == expected >= 10, "every figure div became a plot"
    assert browser.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length") >= drawn
    assert browser.execute_script("return typeof Plotly") == "object"
    assert page_tools.severe_errors(browser) == [], "script errors on the page"
    # Offline: nothing but the file itself (and data: URIs) was requested.
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(("file:", "data:", "blob:")) for u in loaded), loaded
    # Clicking a header sorts the Pareto table by that column, then reverses it.
    table = browser.find_element("id", "pareto-table")
    headers = [h.text for h in table.find_elements("tag name", "th")]
    col = headers.index("noisy_accuracy")

    def column():
        rows = table.find_elements("css selector", "tbody tr")
        return [float(r.find_elements("tag name", "td")[col].text) for r in rows]

    table.find_elements("tag name", "th")[col].click()
    assert column() == sorted(column())
    table.find_elements("tag name", "th")[col].click()
    assert column() == sorted(column(), reverse=True)
    shot = page_tools.screenshot(browser, out / "screenshot.png")
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
