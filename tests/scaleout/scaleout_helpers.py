"""Helpers for the scale-out tests: tiny data, tiny studies, a PostgreSQL server.

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

import numpy as np
from PIL import Image

PASSWORD = "Pw-7c1f-sekrit"

GRID_SPACE = """
description = "two tiny variants"
kind = "variants"

[[variants]]
label = "k3"
arch = "cnn3"
args = { kernel = 3 }

[[variants]]
label = "k5"
arch = "cnn3"
args = { kernel = 5 }
"""

# A knob space on the shipped ais_cnn builder, pinned down to two small stages.
KNOB_SPACE = """
description = "kernel sizes of a two-stage net"
kind = "knobs"
builder = "ais_cnn"

[fixed]
num_stages = 2
stem_width = 8
growth = 2.0
depth_1 = 1
depth_2 = 1
fan_in_1 = "full"
fan_in_2 = "full"
bits_1 = 0
bits_2 = 0

[knobs.kernel_1]
choices = [3, 5, 7]

[knobs.kernel_2]
choices = [3, 5, 7]
"""

STUDY = """
description = "tiny test study"
space = "./{space}.toml"
seeds = {seeds}
width = 0.25
{trials}

[data]
train_size = 100
val_size = 40

[train]
optimizer = "sgd"
epochs = {epochs}
batch_size = 25

[eval]
sigmas = [0.0, 0.4]
repeats = 1
objective_sigma = 0.4

[[objectives]]
metric = "noisy_accuracy"

[[objectives]]
metric = "clean_accuracy"

[sampler]
name = "{sampler}"
"""


def make_image_folder(root: Path, classes: int = 10, train: int = 14, test: int = 4, size: int = 32) -> Path:
    """Class k is a noisy image of mean brightness k/classes: learnable in a few steps."""
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("test", test)):
        for k in range(classes):
            d = root / split / f"class{k}"
            d.mkdir(parents=True)
            for i in range(n):
                base = np.full((size, size, 3), 255 * k / classes)
                img = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(d / f"{i:03d}.png")
    return root


def write_study(folder: Path, *, name: str = "tiny", knobs: bool = False, seeds: int = 1, epochs: float = 1,
                trials: int | None = None) -> Path:
    """A study file (and its space) in `folder`; grid over (k3, k5) x seeds, or kernel knobs."""
    space = "knobs" if knobs else "grid"
    (folder / f"{space}.toml").write_text(KNOB_SPACE if knobs else GRID_SPACE)
    path = folder / f"{name}.toml"
    path.write_text(STUDY.format(space=space, seeds=seeds, epochs=epochs, sampler="random" if knobs else "grid",
                                 trials=f"trials = {trials}" if trials else ""))
    return path


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
