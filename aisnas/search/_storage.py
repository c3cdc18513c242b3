"""Study storage: SQLite by default, a journal file or PostgreSQL to scale out.

- `sqlite:///aisnas.db` (default): one process. SQLite must not be shared by parallel
  processes or put on NFS (GUIDE.md section 8), so parallel runs are refused on it.
- `journal:PATH`: several processes on one machine (Optuna's JournalFileBackend).
- `postgresql://...`: several machines. RDB storage gets heartbeats so a trial whose
  worker died is failed and retried (`RetryHeartbeatStaleTrialCallback`).
Passwords never leave this module: every URL shown to a user goes through `redact`.
"""

from __future__ import annotations

import re
from pathlib import Path

import optuna

from aisnas.errors import AisnasError

__all__ = ["DEFAULT_STORAGE", "open_storage", "redact"]

DEFAULT_STORAGE = "sqlite:///aisnas.db"
HEARTBEAT_S = 30
GRACE_S = 90
MAX_RETRY = 2


def redact(url: str) -> str:
    """The URL with any password replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _check_sqlite_path(url: str) -> None:
    path = url[len("sqlite:///"):]
    if path and path != ":memory:":
        parent = Path(path).expanduser().resolve().parent
        if not parent.is_dir():
            raise AisnasError(f"storage {url}: directory {parent} does not exist")


def open_storage(url: str | None = None, *, workers: int = 1) -> optuna.storages.BaseStorage:
    """An Optuna storage for `url`, checked to be reachable; errors are one line, redacted."""
    url = url or DEFAULT_STORAGE
    shown = redact(url)
    if url.startswith("journal:"):
        path = url[len("journal:"):]
        if not path:
            raise AisnasError("storage 'journal:': give a file path, e.g. journal:./aisnas.journal")
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        if not Path(path).expanduser().resolve().parent.is_dir():
            raise AisnasError(f"storage {shown}: directory {Path(path).parent} does not exist")
        return JournalStorage(JournalFileBackend(str(Path(path).expanduser())))
    if url.startswith("sqlite:"):
        if workers > 1:
            raise AisnasError(
                f"storage {shown}: SQLite cannot be shared by {workers} parallel workers; use "
                "--storage journal:PATH (one machine) or a postgresql:// URL (several machines)")
        _check_sqlite_path(url)
        kwargs = {}
    elif url.startswith(("postgresql", "mysql")):
        kwargs = dict(heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                      failed_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))
    else:
        raise AisnasError(f"storage {shown}: expected sqlite:///FILE, journal:PATH or postgresql://USER@HOST/DB")
    try:
        return optuna.storages.RDBStorage(url, **kwargs)
    except Exception as e:  # sqlalchemy raises many kinds; all mean "cannot use this storage"
        reason = redact(str(e).splitlines()[0]) if str(e) else type(e).__name__
        raise AisnasError(f"storage {shown}: cannot open: {reason}") from None
