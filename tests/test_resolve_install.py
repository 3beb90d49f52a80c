"""`milimo resolve install`: the per-user Scripts folders of each OS, the files it lays out, the client library in
a fresh Python; and that the script imports nothing beyond the client wheel, and explains itself without it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from milimo import resolve_install
from milimo.errors import InvalidArgument
from milimo.resolve_cli import resolve_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "resolve"))
from milimo_resolve import message

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "resolve"
FILES = sorted(path.name for path in (PLUGIN / "milimo_resolve").glob("*.py"))


def layout(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    return home, {"APPDATA": str(home / "AppData" / "Roaming")}


@pytest.mark.parametrize(
    ("platform", "scripts", "support"),
    [
        ("linux", ".local/share/DaVinciResolve/Fusion/Scripts", ".local/share/milimo-resolve"),
        (
            "darwin",
            "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts",
            "Library/Application Support/Milimo/Resolve",
        ),
        (
            "win32",
            "AppData/Roaming/Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts",
            "AppData/Roaming/Milimo/Resolve",
        ),
    ],
)
def test_install_lays_out_the_script_and_its_package_for_each_os(tmp_path, platform, scripts, support):
    home, env = layout(tmp_path)
    plan = resolve_install.plan(Path(sys.executable), platform=platform, env=env, home=home)

    assert plan.script == home / scripts / "Utility" / "Milimo.py"
    assert plan.support == home / support
    resolve_install.copy_files(plan)
    (plan.package / "stale.py").write_text("# from an older install")
    resolve_install.copy_files(plan)  # installing again replaces the package whole

    assert sorted(path.name for path in plan.package.iterdir()) == FILES
    assert (plan.support / "media").is_dir()
    script = plan.script.read_text()
    assert f"\nSUPPORT_DIR = {str(plan.support)!r}  # written by" in script
    assert (
        script.replace(f"SUPPORT_DIR = {str(plan.support)!r}", 'SUPPORT_DIR = ""') == (PLUGIN / "Milimo.py").read_text()
    )
    assert not list(plan.script.parent.glob("*.part"))
    assert not list(plan.support.glob(".milimo_resolve*"))


def test_linux_honours_xdg_data_home_and_windows_needs_appdata(tmp_path):
    home = tmp_path / "home"
    assert resolve_install.support_dir("linux", {"XDG_DATA_HOME": str(tmp_path / "data")}, home) == (
        tmp_path / "data" / "milimo-resolve"
    )
    with pytest.raises(InvalidArgument, match=r"APPDATA: is not set.*give --scripts-dir"):
        resolve_install.scripts_dir("win32", {}, home)


def test_the_python_must_run_and_be_new_enough(tmp_path):
    with pytest.raises(InvalidArgument, match=r"--python: .*nowhere does not run as a Python 3 interpreter"):
        resolve_install.inspect_python(tmp_path / "nowhere")
    old = tmp_path / "python3.8"  # answers the installer's question the way a Python 3.8 does
    old.write_text("#!/bin/sh\necho '[[3, 8, 10], false]'\n")
    old.chmod(0o755)
    with pytest.raises(InvalidArgument, match=r"python3.8 is Python 3.8.10; Milimo's client library needs 3.11"):
        resolve_install.inspect_python(old)
    this = resolve_install.inspect_python(Path(sys.executable))
    assert this.version == tuple(sys.version_info[:3]) and this.virtual


def test_a_dry_run_says_where_everything_goes_and_changes_nothing(tmp_path):
    app = typer.Typer()
    app.add_typer(resolve_app, name="resolve")
    scripts = tmp_path / "Scripts"
    result = CliRunner().invoke(
        app, ["resolve", "install", "--dry-run", "--python", sys.executable, "--scripts-dir", str(scripts)]
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"script: {scripts / 'Utility' / 'Milimo.py'}" in said
    assert "the Milimo client wheel, grpcio, grpcio-health-checking, protobuf and opentimelineio" in said
    assert "dry run: nothing was changed" in said
    assert not scripts.exists()

    refused = CliRunner().invoke(app, ["resolve", "install", "--python", str(tmp_path / "none")])
    assert refused.exit_code == 2
    assert "does not run as a Python 3 interpreter" in " ".join(refused.output.split())


def imported_by(statement: str, *flags: str, cwd: Path) -> dict:
    """Run `statement` in a fresh interpreter that can find the script's package; report the modules that were
    imported, or what the script says when the client library is missing."""
    code = f"""
import json, sys
sys.path.insert(0, {str(PLUGIN)!r})
from milimo_resolve import message
try:
    {statement}
except ImportError as error:
    print(json.dumps({{"error": message.missing_client(error)}}))
else:
    print(json.dumps({{"modules": sorted(sys.modules)}}))
"""
    out = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, cwd=cwd, check=True)
    return json.loads(out.stdout)


def top_level(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_the_script_imports_only_the_client_wheels_modules(tmp_path):
    builder = resolve_install.wheel_builder()
    in_wheel = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in builder.client_files()
        if path.suffix == ".py"
    }
    modules = imported_by("import milimo_resolve.window", cwd=tmp_path)["modules"]
    # What the wheel's requirements import by themselves (grpc also tries its optional companions).
    requirements = "import grpc, grpc_health.v1.health_pb2_grpc, google.protobuf.json_format, opentimelineio"
    baseline = imported_by(requirements, cwd=tmp_path)["modules"]

    milimo = {name for name in modules if name == "milimo" or name.startswith("milimo.")}
    extra = sorted(milimo - in_wheel)  # nothing of the daemon, the CLI, rich or typer either
    assert not extra, f"the script imports {extra}, which the client wheel (scripts/client_wheel.py) does not hold"
    assert top_level(modules) - top_level(baseline) - set(sys.stdlib_module_names) == {"milimo"}


def test_without_the_client_library_the_script_says_what_to_do(tmp_path):
    said = imported_by("import milimo_resolve.window", "-S", cwd=tmp_path)[
        "error"
    ]  # -S: no site-packages, as in a bare Python

    assert said.startswith("Milimo's client library cannot be imported in the Python Resolve runs (Python 3.")
    assert "No module named" in said
    assert re.search(rf"milimo resolve install --python /\S+/bin/python3\.{sys.version_info[1]}\n", said)


@pytest.mark.slow
def test_install_puts_the_client_library_into_a_fresh_python(tmp_path, monkeypatch):
    """A new virtual environment stands for Resolve's Python. Its dependencies are the ones this checkout already
    has (a .pth points at them, so pip needs no network); the client wheel itself is installed for real."""
    target = tmp_path / "resolve-python"
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = next(path for path in sys.path if path.endswith("site-packages") and Path(path).is_dir())
    (Path(site) / "dependencies.pth").write_text(ours + "\n")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    home, env = layout(tmp_path)
    plan = resolve_install.plan(python, tmp_path / "Scripts", platform="linux", env=env, home=home)
    steps: list[str] = []

    resolve_install.install(plan, steps.append)

    found = subprocess.run(
        [str(python), "-c", "import milimo.client, os; print(os.path.realpath(milimo.client.__file__))"],
        capture_output=True,
        text=True,
        check=True,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
        cwd=tmp_path,
    ).stdout.strip()
    assert found.startswith(str(Path(site).resolve()))  # the wheel's copy, not this checkout's
    assert (plan.wheel_dir / f"milimo_client-{resolve_install.wheel_builder().version()}-py3-none-any.whl").is_file()
    assert steps[0] == f"copying the script to {plan.script}"
    assert steps[-1] == f"checking that the script imports in {python}"


def test_the_installer_and_the_script_want_the_same_python():
    assert message.MINIMUM_PYTHON == resolve_install.MINIMUM_PYTHON
