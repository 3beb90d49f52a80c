"""Shared fixtures: a real daemon over loopback gRPC, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import postgres
from tests.daemon_process import DaemonProcess

IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with postgres.cluster() as url:
        if url is None:
            if IN_CI:
                pytest.fail("PostgreSQL is not installed; .ci/run must install it (the tests never skip it in CI)")
            pytest.skip("no PostgreSQL server here (install postgresql or set MILIMO_TEST_POSTGRES_URL)")
        yield url


def _database_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return ""
    admin = request.getfixturevalue("postgres_admin_url")
    return postgres.new_database(admin)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, backend: str, request: pytest.FixtureRequest
) -> Iterator[DaemonProcess]:
    """One daemon per database backend, shared by the tests that do not restart it."""
    process = DaemonProcess(tmp_path_factory.mktemp(f"daemon-{backend}") / "data", _database_url(backend, request))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def client(daemon: DaemonProcess):
    return daemon.client()


@pytest.fixture
def fresh_daemon(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[DaemonProcess]:
    """A daemon of the test's own, for tests that kill, restart or pause it."""
    process = DaemonProcess(tmp_path / "data", _database_url(backend, request))
    yield process
    process.stop()


@pytest.fixture
def sqlite_daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(tmp_path / "data")
    yield process
    process.stop()
