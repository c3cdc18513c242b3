"""Study storage: SQLite by default, a journal file or PostgreSQL to scale out.

- `sqlite:///aisnas.db` (default): one process. SQLite must not be shared by parallel
  processes or put on NFS (GUIDE.md section 8), so parallel runs are refused on it.
- `journal:PATH`: several processes on one machine (Optuna's JournalFileBackend).
- `postgresql://...`: several machines. RDB storage gets heartbeats so a trial whose
  worker died is failed and retried (`RetryHeartbeatStaleTrialCallback`). A plain
  `postgresql://` URL uses whichever driver is installed (SQLAlchemy 2.1 would insist
  on psycopg 3; the `postgres` extra installs psycopg2).
Passwords never leave this module: every URL shown to a user goes through `redact`,
and error text from the driver is scrubbed of the password too.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path
from urllib.parse import unquote

import optuna

from aisnas.errors import AisnasError

__all__ = ["DEFAULT_STORAGE", "has_heartbeat", "open_storage", "redact"]

DEFAULT_STORAGE = "sqlite:///aisnas.db"
HEARTBEAT_S = 30  # a worker silent for GRACE_FACTOR heartbeats is taken for dead
GRACE_FACTOR = 3
MAX_RETRY = 2  # a trial whose worker died is run at most this many more times
_PASSWORD = re.compile(r"(://[^:/@]*:)([^@]*)@")


def redact(url: str) -> str:
    """The URL with any password replaced by ***."""
    return _PASSWORD.sub(r"\1***@", url)


def has_heartbeat(url: str | None) -> bool:
    """Whether the storage at `url` fails the trials of silent workers by itself."""
    return bool(url) and url.startswith(("postgresql", "mysql"))


def _scrub(text: str, url: str) -> str:
    """`text` (a driver's error) with the URL's password removed, in any spelling."""
    text = redact(text)
    m = _PASSWORD.search(url)
    for pw in {m.group(2), unquote(m.group(2))} if m and m.group(2) else ():
        text = text.replace(pw, "***")
    return text


def _with_driver(url: str) -> str:
    """A plain postgresql:// URL made to use the driver that is installed."""
    if not url.startswith("postgresql://") or importlib.util.find_spec("psycopg"):
        return url
    if importlib.util.find_spec("psycopg2"):
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
    raise AisnasError(f"storage {redact(url)}: no PostgreSQL driver installed; pip install 'aisnas[postgres]'")


def _check_sqlite_path(url: str) -> None:
    path = url[len("sqlite:///"):]
    if path and path != ":memory:":
        parent = Path(path).expanduser().resolve().parent
        if not parent.is_dir():
            raise AisnasError(f"storage {url}: directory {parent} does not exist")


def open_storage(url: str | None = None, *, workers: int = 1,
                 heartbeat: int = HEARTBEAT_S) -> optuna.storages.BaseStorage:
    """An Optuna storage for `url`, checked to be reachable; errors are one line, redacted.

    `heartbeat` (RDB only): seconds between a running trial's heartbeats; a trial silent
    for GRACE_FACTOR heartbeats is failed and queued again by the next worker to look.
    """
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
        if heartbeat < 1:
            raise AisnasError(f"heartbeat {heartbeat}: must be at least 1 second")
        url = _with_driver(url)
        kwargs = dict(heartbeat_interval=heartbeat, grace_period=GRACE_FACTOR * heartbeat)
    else:
        raise AisnasError(f"storage {shown}: expected sqlite:///FILE, journal:PATH or postgresql://USER@HOST/DB")
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in optuna 5; we rely on them
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if "heartbeat_interval" in kwargs:
                kwargs["heartbeat_stale_trial_callback"] = optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=MAX_RETRY)
            return optuna.storages.RDBStorage(url, **kwargs)
    except Exception as e:  # sqlalchemy raises many kinds; all mean "cannot use this storage"
        reason = _scrub(str(e).splitlines()[0], url) if str(e) else type(e).__name__
        raise AisnasError(f"storage {shown}: cannot open: {reason}") from None
