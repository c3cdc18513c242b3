"""Wall time of one small study run by 1, 2 and 4 local workers, and what was stored.

Each run is the real command, `python -m aisnas search --workers N`, on a fresh
storage: a journal file, or `--storage-template 'postgresql://u:pw@host/db{n}'` (one
existing, empty database per worker count). The study: cnn3 with 3x3 and 5x5 kernels
x 4 seeds = 8 trials, 1,000 training images, 1 epoch. `--kill` kills (SIGKILL) the
worker of the first trial seen training, to count the retry. Prints one line per run:
wall seconds, trials stored (asked), complete, not run, failed, retries, and the mean
time of a complete trial (its own `seconds.total`).

    python benchmarks/bench_workers.py --data /work/shared/datasets/cifar10-jpg
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The tests' tiny two-kernel study (tests/tiny_studies.py), scaled up to 8 trials.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from tiny_studies import write_tiny_study  # noqa: E402


def counts(url: str) -> dict:
    import optuna
    from optuna.trial import TrialState

    from aisnas.search import open_storage

    trials = optuna.load_study(study_name="bench", storage=open_storage(url)).trials
    reasons = [t.user_attrs.get("failure_reason", "") for t in trials if t.state == TrialState.FAIL]
    return {"asked": len(trials), "complete": sum(t.state == TrialState.COMPLETE for t in trials),
            "not_run": sum(r.startswith("not run") for r in reasons),
            "failed": sum(not r.startswith("not run") for r in reasons),
            "retries": sum("retry_of" in t.user_attrs for t in trials),
            "trial_s": sum(t.user_attrs["seconds"]["total"] for t in trials if t.state == TrialState.COMPLETE)
            / max(1, sum(t.state == TrialState.COMPLETE for t in trials))}


def kill_first_training_worker(url: str, proc, timeout: float = 600) -> int | None:
    import optuna
    from optuna.trial import TrialState

    from aisnas.search import open_storage

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            trials = optuna.load_study(study_name="bench", storage=open_storage(url)).trials
        except KeyError:
            trials = []
        for t in trials:
            if t.state == TrialState.RUNNING and "ppa_hardware" in t.user_attrs and "worker" in t.user_attrs:
                os.kill(t.user_attrs["worker"]["pid"], signal.SIGKILL)
                return t.number
        time.sleep(0.2)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--storage-template", default=None, help="a URL with {n} for the worker count")
    ap.add_argument("--kill", action="store_true", help="kill -9 one worker mid-trial (runs with >1 worker)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    write_tiny_study(folder, "bench", description="8 small trials", seeds=4, width=0.5,
                     data={"train_size": 1000, "val_size": 500}, train={"batch_size": 64}, eval={"repeats": 2})
    for n in args.workers:
        url = args.storage_template.format(n=n) if args.storage_template else f"journal:{folder / f'w{n}.journal'}"
        cmd = [sys.executable, "-m", "aisnas", "search", "--study", str(folder / "bench.toml"), "--storage", url,
               "--data", args.data, "--workers", str(n), "--quiet", "--heartbeat", "5"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder)
        killed = kill_first_training_worker(url, proc) if args.kill and n > 1 else None
        rc = proc.wait()
        wall = time.perf_counter() - t0
        c = counts(url)
        print(f"workers {n}: {wall:.1f} s wall, exit {rc}, asked {c['asked']}, complete {c['complete']}, "
              f"not run {c['not_run']}, failed {c['failed']}, retries {c['retries']}, "
              f"mean trial {c['trial_s']:.1f} s"
              + (f", killed the worker of trial {killed}" if killed is not None else "")
              + f" (load average {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
