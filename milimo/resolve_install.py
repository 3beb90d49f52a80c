"""Installing the Resolve script: `Milimo.py` into the per-user Scripts folder, its package beside it, and the
client library into the Python that Resolve runs.

This runs from a source checkout: it copies `plugins/resolve` and builds the client wheel with
`scripts/client_wheel.py`. Where things go (the per-user folders of Resolve's scripting README):

- the script: `<Scripts>/Utility/Milimo.py`, listed on every page as Workspace > Scripts > Utility > Milimo, with
  `<Scripts>` = macOS `~/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts`, Windows
  `%APPDATA%\\Blackmagic Design\\DaVinci Resolve\\Support\\Fusion\\Scripts` (the README writes
  `%APPDATA%\\Roaming\\…`, but %APPDATA% already is `…\\AppData\\Roaming`), Linux
  `~/.local/share/DaVinciResolve/Fusion/Scripts`;
- the `milimo_resolve` package and the downloaded results: a Milimo folder of their own (`support_dir`), since
  Resolve would list every .py under Scripts as a script; the installer writes that folder into Milimo.py;
- the client wheel and its requirements: `pip install` into the Python Resolve runs (`--user` unless it is a
  virtual environment), then a check that the script's modules import there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from milimo.errors import FailedPrecondition, InvalidArgument

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "plugins" / "resolve"
WHEEL_BUILDER = REPO / "scripts" / "client_wheel.py"
PACKAGE = "milimo_resolve"
SCRIPT = "Milimo.py"
SUPPORT_LINE = 'SUPPORT_DIR = ""'  # the line of Milimo.py the installer fills in
MINIMUM_PYTHON = (3, 11)  # as the script says it (milimo_resolve/message.py; a test keeps them equal)
PROBE = "import json, sys; print(json.dumps([list(sys.version_info[:3]), sys.prefix != sys.base_prefix]))"


def scripts_dir(platform: str, env: Mapping[str, str], home: Path) -> Path:
    """Resolve's per-user Scripts folder on `platform` (a `sys.platform` value)."""
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Blackmagic Design" / "DaVinci Resolve" / "Fusion" / "Scripts"
    if platform == "win32":
        return _appdata(env) / "Blackmagic Design" / "DaVinci Resolve" / "Support" / "Fusion" / "Scripts"
    return home / ".local" / "share" / "DaVinciResolve" / "Fusion" / "Scripts"


def support_dir(platform: str, env: Mapping[str, str], home: Path) -> Path:
    """Milimo's own per-user folder for the script's package and the results it downloads."""
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Milimo" / "Resolve"
    if platform == "win32":
        return _appdata(env) / "Milimo" / "Resolve"
    return Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "milimo-resolve"


def _appdata(env: Mapping[str, str]) -> Path:
    if not env.get("APPDATA"):
        raise InvalidArgument("APPDATA", "is not set, so Resolve's per-user folder is unknown: give --scripts-dir")
    return Path(env["APPDATA"])


@dataclass(frozen=True)
class TargetPython:
    """The Python Resolve runs, as it describes itself."""

    path: Path
    version: tuple[int, int, int]
    virtual: bool  # a virtual environment, where `pip install --user` is refused

    @property
    def version_text(self) -> str:
        return ".".join(str(part) for part in self.version)


def default_python() -> Path:
    """The `python3` on PATH: on macOS and Windows Resolve loads the python.org Python 3 that also answers there."""
    found = shutil.which("python3") or shutil.which("python")
    if found is None:
        raise InvalidArgument("--python", "no python3 on PATH: give the Python that Resolve runs")
    return Path(found)


def inspect_python(path: Path) -> TargetPython:
    """Ask the interpreter its version and whether it is a virtual environment; refuse one too old."""
    try:
        answer = subprocess.run([str(path), "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
        (major, minor, micro), virtual = json.loads(answer.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        raise InvalidArgument("--python", f"{path} does not run as a Python 3 interpreter ({error})") from None
    python = TargetPython(path, (major, minor, micro), bool(virtual))
    if python.version[:2] < MINIMUM_PYTHON:
        wanted = ".".join(str(part) for part in MINIMUM_PYTHON)
        raise InvalidArgument(
            "--python", f"{path} is Python {python.version_text}; Milimo's client library needs {wanted} or later"
        )
    return python


@dataclass(frozen=True)
class InstallPlan:
    script: Path  # <Scripts>/Utility/Milimo.py
    support: Path  # holds milimo_resolve/, media/ and the client wheel
    python: TargetPython

    @property
    def package(self) -> Path:
        return self.support / PACKAGE

    @property
    def wheel_dir(self) -> Path:
        return self.support / "wheels"

    def _pip(self) -> list[str]:
        return [str(self.python.path), "-m", "pip", "install", *([] if self.python.virtual else ["--user"])]

    def pip_commands(self, wheel: Path, requirements: tuple[str, ...]) -> list[list[str]]:
        """The client library's requirements (left alone when already satisfied), then the wheel itself, reinstalled
        even when its version did not change (a checkout's code moves between releases)."""
        return [[*self._pip(), *requirements], [*self._pip(), "--force-reinstall", "--no-deps", str(wheel)]]

    def check_command(self) -> list[str]:
        """Import the script's modules in Resolve's Python, as the script will. `-P` keeps the current folder (a
        checkout, whose `milimo` would answer instead of the installed one) off the path."""
        code = f"import sys; sys.path.insert(0, {str(self.support)!r}); import {PACKAGE}.window"
        return [str(self.python.path), "-P", "-c", code]


def plan(
    python: Path | None = None,
    scripts: Path | None = None,
    *,
    platform: str = sys.platform,
    env: Mapping[str, str] = os.environ,
    home: Path | None = None,
) -> InstallPlan:
    """Where everything goes, and which Python gets the client library (checked to run and be new enough)."""
    if not (PLUGIN / SCRIPT).is_file() or not (PLUGIN / PACKAGE).is_dir():
        raise FailedPrecondition(f"`milimo resolve install` runs from a source checkout of Milimo: no {PLUGIN}")
    home = home or Path.home()
    folder = scripts or scripts_dir(platform, env, home)
    target = inspect_python(python or default_python())
    return InstallPlan(folder / "Utility" / SCRIPT, support_dir(platform, env, home), target)


def describe(install_plan: InstallPlan) -> list[str]:
    """The steps, for the user (and all a dry run does)."""
    python = install_plan.python
    where = "its virtual environment" if python.virtual else "its per-user site-packages (--user)"
    *names, last = ["the Milimo client wheel", *requirement_names(wheel_builder().REQUIREMENTS)]
    return [
        f"script:  {install_plan.script}",
        f"package: {install_plan.package}  (results download to {install_plan.support / 'media'})",
        f"client:  {', '.join(names)} and {last} into Python {python.version_text} at {python.path}, {where}",
    ]


def requirement_names(requirements: Iterable[str]) -> list[str]:
    """The distributions that requirement strings name: "protobuf>=7.35.1,<8" → "protobuf"."""
    return [re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0] for requirement in requirements]


def copy_files(install_plan: InstallPlan) -> None:
    """The package into the support folder (replacing an older copy whole) and Milimo.py, pointing at it, into
    Scripts/Utility; each written beside its place first and renamed into it."""
    install_plan.support.mkdir(parents=True, exist_ok=True)
    (install_plan.support / "media").mkdir(exist_ok=True)
    fresh = install_plan.support / f".{PACKAGE}.new"
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(PLUGIN / PACKAGE, fresh, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    old = install_plan.support / f".{PACKAGE}.old"
    shutil.rmtree(old, ignore_errors=True)
    if install_plan.package.exists():
        install_plan.package.rename(old)
    fresh.rename(install_plan.package)
    shutil.rmtree(old, ignore_errors=True)

    text = (PLUGIN / SCRIPT).read_text(encoding="utf-8")
    if text.count(SUPPORT_LINE) != 1:
        raise FailedPrecondition(f"{PLUGIN / SCRIPT} must hold the line {SUPPORT_LINE!r} once")
    script = text.replace(SUPPORT_LINE, f"SUPPORT_DIR = {str(install_plan.support)!r}")
    install_plan.script.parent.mkdir(parents=True, exist_ok=True)
    part = install_plan.script.with_name(install_plan.script.name + ".part")
    part.write_text(script, encoding="utf-8")
    os.replace(part, install_plan.script)


def wheel_builder() -> ModuleType:
    """scripts/client_wheel.py, which is not a package module."""
    spec = importlib.util.spec_from_file_location("milimo_client_wheel", WHEEL_BUILDER)
    if spec is None or spec.loader is None or not WHEEL_BUILDER.is_file():
        raise FailedPrecondition(f"no {WHEEL_BUILDER} to build the client wheel with")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def install_client(install_plan: InstallPlan, on_step: Callable[[str], None]) -> Path:
    """Build the client wheel and pip-install it with its requirements; pip's own output shows its progress."""
    builder = wheel_builder()
    on_step(f"building the client wheel in {install_plan.wheel_dir}")
    wheel = builder.build_client_wheel(install_plan.wheel_dir)
    for command in install_plan.pip_commands(wheel, tuple(builder.REQUIREMENTS)):
        on_step(" ".join(command))
        if subprocess.run(command).returncode != 0:
            raise FailedPrecondition(
                f"pip could not install into {install_plan.python.path} (its output is above). A system Python "
                "that refuses pip (PEP 668 'externally managed') needs a python.org or pyenv Python for Resolve."
            )
    return wheel


def check(install_plan: InstallPlan) -> None:
    """The script's modules import in Resolve's Python, or the error says what is missing."""
    result = subprocess.run(install_plan.check_command(), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise FailedPrecondition(f"the Resolve script does not import in {install_plan.python.path}: {last}")


def install(install_plan: InstallPlan, on_step: Callable[[str], None]) -> None:
    on_step(f"copying the script to {install_plan.script}")
    copy_files(install_plan)
    install_client(install_plan, on_step)
    on_step(f"checking that the script imports in {install_plan.python.path}")
    check(install_plan)
