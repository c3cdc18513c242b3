"""Studies shaped like TrialRunner's (built directly, no training) and a headless Chromium.

`make_study` runs a fake objective through `study.optimize`, so trials carry the same
user attrs, params and Optuna constraints as a real search, with values chosen by the
test. `browser` is Debian's chromium driven by Debian's chromedriver: nothing is
downloaded, and it is skipped (with the reason) only where chromium is not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import optuna
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SIGMAS = (0.0, 0.4)


def _trial_attrs(label: str, seed: int, noisy: float, clean: float, *, arch: str = "cnn3", arch_args=None,
                variant: str = "N/A", repeats: int = 2, std: float = 0.01, noisy_by_sigma=None,
                quantized=None, hardware: str = "p2m") -> dict:
    """User attrs as TrialRunner writes them, with the PPA priced by the real model."""
    from aisnas.arch import create_arch
    from aisnas.configs import to_dict
    from aisnas.ppa import estimate_ppa, load_profile

    spec = create_arch(arch, **(arch_args or {}))
    by_sigma = noisy_by_sigma or {0.0: clean, 0.4: noisy}
    return {
        "config_hash": "testhash", "label": label, "seed": seed, "input_variant": variant, "arch": to_dict(spec),
        "arch_id": spec.arch_id, "counts": spec.totals(),
        "ppa": estimate_ppa(spec, load_profile(hardware)).as_dict()["totals"], "ppa_hardware": hardware,
        "clean_accuracy": clean, "noisy_accuracy": noisy,
        "noisy": [{"kind": "additive", "sigma": s, "mode": "relative", "mean": m, "std": std, "repeats": repeats}
                  for s, m in by_sigma.items()],
        "noise_mode": "relative", "quantized": {str(b): a for b, a in (quantized or {}).items()},
        "train": {"optimizer": "sgd"}, "seconds": {"data": 0.1, "train": 1.0, "eval": 0.5, "total": 1.7},
    }


def _make_study(url: str, name: str, specs: list[dict], *, metrics=("noisy_accuracy", "energy_pj"),
               study_attrs=None) -> optuna.Study:
    """A stored study with one trial per spec dict.

    A spec holds `attrs` (from `trial_attrs`), optional `params`, `constraints`
    ({name: value}, mirrored into a user attr as TrialRunner does), or `fail` (a
    failure reason: the trial raises and is stored FAIL).
    """
    import warnings

    from aisnas.search import METRICS

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    from aisnas.search import open_storage

    study = optuna.create_study(study_name=name, storage=open_storage(url),
                                directions=[METRICS[m] for m in metrics])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(list(metrics))
    attrs = {"config_hash": "testhash", "study": name.split("-")[0], "budget": "default", "source": "test",
             "description": f"test study {name}", "created": "2026-01-01T00:00:00+00:00", "code_version": "test",
             "storage": url, "config": {"eval": {"mode": "relative", "objective_sigma": 0.4}}}
    for k, v in {**attrs, **(study_attrs or {})}.items():
        study.set_user_attr(k, v)
    params = [s.get("params", {"variant": s.get("attrs", {}).get("label", "x"),
                               "seed": s.get("attrs", {}).get("seed", 0)}) for s in specs]
    # As in a grid study: every trial's params are enqueued, and the categorical
    # choices are the same in every trial.
    choices: dict[str, list] = {}
    for p in params:
        for k, v in p.items():
            choices.setdefault(k, [])
            if v not in choices[k]:
                choices[k].append(v)
    for p in params:
        study.enqueue_trial(p)
    queue = list(specs)

    def objective(trial):
        spec = queue.pop(0)
        a = spec.get("attrs", {})
        for k in choices:
            trial.suggest_categorical(k, choices[k])
        for k, v in a.items():
            trial.set_user_attr(k, v)
        if "fail" in spec:
            trial.set_user_attr("failure_reason", spec["fail"])
            raise RuntimeError(spec["fail"])
        cons = spec.get("constraints")
        if cons:
            trial.set_user_attr("constraints", cons)
            trial.set_user_attr("feasible", all(v <= 0 for v in cons.values()))
            for k, v in cons.items():
                trial.set_constraint(k, v)
        values = {"noisy_accuracy": a.get("noisy_accuracy"), "clean_accuracy": a.get("clean_accuracy"),
                  **(a.get("counts") or {}), **{k: v for k, v in (a.get("ppa") or {}).items()
                                                 if not isinstance(v, dict)}}
        return [values[m] for m in metrics]

    study.optimize(objective, n_trials=len(specs), catch=(RuntimeError,))
    return study


# Fixtures hand the helpers over: several test folders have a conftest.py, so they
# cannot be imported by module name.
@pytest.fixture(scope="session")
def trial_attrs():
    return _trial_attrs


@pytest.fixture(scope="session")
def make_study():
    return _make_study


@pytest.fixture(scope="session")
def page_tools():
    from types import SimpleNamespace

    return SimpleNamespace(severe_errors=_severe_errors, screenshot=_full_page_screenshot)


@pytest.fixture
def storage_url(tmp_path) -> str:
    # A journal file: created and written in milliseconds, where each SQLite commit costs
    # tens of ms here. The real search test covers SQLite, the default storage.
    return f"journal:{tmp_path / 'study.journal'}"


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session: no network features, fresh profile, browser log on."""
    if not (shutil.which("chromium") or Path(CHROMIUM).exists()) or not Path(CHROMEDRIVER).exists():
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver; "
                    ".ci/run installs them)")
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="aisnas-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1300,1000"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _severe_errors(driver) -> list[str]:
    """Script errors and failed loads the page logged since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _full_page_screenshot(driver, path: Path) -> Path:
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1300, min(int(height) + 200, 16000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1300, 1000)
    return path
