"""Shared fixtures: a real daemon over loopback gRPC, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import postgres
from tests.daemon_process import DaemonProcess

IN_CI = bool(os.environ.get("CI"))
pytest_plugins = ["tests.ollama_server"]  # the `ollama` fixture: the Ollama REST API on loopback


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


@pytest.fixture(scope="module")
def module_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """A started SQLite daemon of the test module's own (enough for the animatic kind, which needs no model)."""
    process = DaemonProcess(tmp_path_factory.mktemp("module-daemon") / "data")
    process.start()
    yield process
    process.stop()


TINY_MODELS = {
    "tiny-ltx": "ltx-video",
    "tiny-ltx2": "ltx2",
    "tiny-flux": "flux",
    "tiny-klein": "flux2-klein",
    "tiny-sam3": "sam3",
    "tiny-sam2": "sam2",
}


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config file naming a tiny random-weight checkpoint of every family, built once per run."""
    from milimo.models.families import family

    root = tmp_path_factory.mktemp("tiny-models")
    lines = []
    for name, family_name in TINY_MODELS.items():
        family(family_name).make_tiny(root / name)
        lines.append(f'[[models]]\nname = "{name}"\nfamily = "{family_name}"\npath = "{root / name}"\ndevice = "cpu"\n')
    config = root / "milimo.toml"
    config.write_text("\n".join(lines))
    return config


@pytest.fixture(scope="session")
def generation_daemon(tmp_path_factory: pytest.TempPathFactory, tiny_models: Path) -> Iterator[DaemonProcess]:
    """One SQLite daemon with every tiny model, shared by the generation and segmentation tests."""
    process = DaemonProcess(tmp_path_factory.mktemp("generation") / "data", extra_args=("--config", str(tiny_models)))
    process.start()
    yield process
    process.stop()
