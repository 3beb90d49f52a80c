"""A private, throwaway PostgreSQL cluster for the queue tests (real server, loopback only)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user() -> list[str]:
    """initdb refuses to run as root; run the cluster as the `postgres` user then."""
    if os.geteuid() != 0:
        return []
    with contextlib.suppress(KeyError):
        pwd.getpwnam("postgres")
        return ["runuser", "-u", "postgres", "--"]
    raise RuntimeError("running as root and there is no 'postgres' user to run the cluster")


@contextlib.contextmanager
def cluster() -> Iterator[str | None]:
    """Yield an admin URL of a running server, or None when PostgreSQL is not installed.

    MILIMO_TEST_POSTGRES_URL points at an existing server instead.
    """
    if os.environ.get("MILIMO_TEST_POSTGRES_URL"):
        yield os.environ["MILIMO_TEST_POSTGRES_URL"]
        return
    bin_dir = _binaries()
    if bin_dir is None:
        yield None
        return
    prefix = _as_user()
    root = Path(tempfile.mkdtemp(prefix="milimo-pg-"))
    if prefix:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()
    run = lambda *args: subprocess.run([*prefix, *args], check=True, capture_output=True)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    options = f"-p {port} -k {root} -h 127.0.0.1 -c fsync=off -c max_connections=200"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)


def new_database(admin_url: str) -> str:
    """A fresh, empty database on the server; returns its URL."""
    import sqlalchemy as sa

    name = f"milimo_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    for _ in range(50):
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
            break
        except sa.exc.OperationalError:
            time.sleep(0.1)
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"
