"""Helpers for the scale-out tests: tiny studies, a PostgreSQL server.

A module of its own (not conftest.py) so that test files can import it by a name that
no other test directory uses.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from tiny_studies import GRID_SPACE, KNOB_SPACE, write_tiny_study

PASSWORD = "Pw-7c1f-sekrit"


def write_study(folder: Path, *, name: str = "tiny", knobs: bool = False, seeds: int = 1, epochs: float = 1,
                trials: int | None = None) -> Path:
    """A study file (and its space) in `folder`; grid over (k3, k5) x seeds, or kernel knobs."""
    over = {"trials": trials} if trials else {}
    return write_tiny_study(folder, name, space=KNOB_SPACE if knobs else GRID_SPACE,
                            space_file="knobs.toml" if knobs else "grid.toml", seeds=seeds,
                            train={"epochs": epochs}, sampler={"name": "random" if knobs else "grid"}, **over)


@dataclass(frozen=True)
class Postgres:
    port: int
    socket_dir: Path
    bindir: Path

    def admin(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(host=str(self.socket_dir), port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    def new_database(self) -> str:
        """A fresh database owned by the password role; its URL carries the password."""
        name = f"t_{uuid.uuid4().hex[:10]}"
        self.admin(f"CREATE DATABASE {name} OWNER aisnas")
        return f"postgresql://aisnas:{PASSWORD}@127.0.0.1:{self.port}/{name}"


def machine(target, *args, **kwargs):
    """`target(*args, **kwargs)` in a process of its own, as if on another machine.

    Forked from multiprocessing's fork server, which run_workers preloads with torch
    and aisnas, so that it starts in a moment rather than after seconds of imports.
    """
    import multiprocessing

    from aisnas.search._pool import _PRELOAD

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    p = ctx.Process(target=target, args=args, kwargs=kwargs, daemon=False)
    p.start()
    return p


def start_postgres(root: Path) -> tuple[Postgres, list[str]]:
    """initdb + pg_ctl start in `root` on a free port; returns the server and the runuser prefix."""
    bindir = server_bindir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        user = "postgres" if _user_exists("postgres") else "nobody"
        shutil.chown(root, user)
        as_user = ["runuser", "-u", user, "--"]
    data, port = root / "data", _free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                    "--auth-host=scram-sha-256", "-N"], check=True, capture_output=True)
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w",
                    "start"], check=True, capture_output=True)
    pg = Postgres(port=port, socket_dir=root, bindir=bindir)
    pg.admin(f"CREATE ROLE aisnas LOGIN PASSWORD '{PASSWORD}'")
    return pg, as_user


def stop_postgres(pg: Postgres, as_user: list[str]) -> None:
    subprocess.run([*as_user, str(pg.bindir / "pg_ctl"), "-D", str(pg.socket_dir / "data"), "-m", "immediate",
                    "stop"], capture_output=True)
    shutil.rmtree(pg.socket_dir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_bindir() -> Path | None:
    """Where initdb and pg_ctl are: the Debian layout, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
