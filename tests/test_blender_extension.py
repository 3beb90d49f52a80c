"""The Blender extension's own tests (plugins/blender/tests), run inside environments that hold only `bpy` from
PyPI (5.0 and 4.2 LTS): the extension zip is built here, installed by Blender's extension installer (which installs
its bundled wheels), and driven against a live daemon with every tiny model (`generation_daemon`). `make test`
creates the environments (.venv-bpy50, .venv-bpy42)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon_process import DaemonProcess
from tests.shared_data import SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_TESTS = ROOT / "plugins" / "blender" / "tests"
BLENDERS = {"5.0": ROOT / ".venv-bpy50", "4.2": ROOT / ".venv-bpy42"}
MODULES = sorted(path.stem for path in PLUGIN_TESTS.glob("test_*.py"))


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("blender-dist")
    build = [
        sys.executable,
        str(ROOT / "plugins" / "blender" / "build.py"),
        "--platform",
        "linux-x64",
        "--out",
        str(out),
    ]
    subprocess.run(build, check=True, capture_output=True, text=True)
    return next(out.glob("milimo-*-linux-x64.zip"))


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("blender", sorted(BLENDERS))
def test_extension(
    blender: str, module: str, extension_zip: Path, generation_daemon: DaemonProcess, tmp_path: Path
) -> None:
    python = BLENDERS[blender] / "bin" / "python"
    if not python.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{python} is missing: `make test` creates it")
        pytest.skip(f"no bpy {blender} environment at {python.parent.parent} (`make test` creates it)")
    env = {
        **os.environ,
        "MILIMO_EXTENSION_ZIP": str(extension_zip),
        "MILIMO_DAEMON": generation_daemon.address,
        "MILIMO_SHARED_DATA": str(SHARED_DATA),
        "BLENDER_USER_RESOURCES": str(tmp_path / "blender-user"),
        "HOME": str(tmp_path),  # nothing of the user's own Blender set-up leaks in
    }
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(python), str(PLUGIN_TESTS / "run.py"), module],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"bpy {blender}, {module}:\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
