"""Build the Blender extension: one zip per platform in dist/, each with the unmodified wheels it needs.

    python plugins/blender/build.py                      # every platform
    python plugins/blender/build.py --platform linux-x64 # one

Each zip holds the add-on (milimo_blender/), the Milimo client library as a wheel (scripts/client_wheel.py) and the
PyPI wheels of grpcio, grpcio-health-checking, protobuf and opentimelineio for Python 3.11 (Blender 4.2 to 5.0) and
3.13 (5.1 and later). Blender installs the wheels that match its own Python and platform. Wheels are downloaded
once into build/blender-wheels/.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path(__file__).resolve().parent / "milimo_blender"
sys.path.insert(0, str(ROOT / "scripts"))
from client_wheel import build_client_wheel  # noqa: E402

# Pinned so every zip is reproducible; protobuf must be at least the release that generated milimo/v1.
# typing-extensions is what grpcio itself requires.
BUNDLED = (
    "grpcio==1.85.1",
    "grpcio-health-checking==1.85.1",
    "protobuf==7.36.2",
    "opentimelineio==0.18.1",
    "typing-extensions==4.16.0",
)
PYTHONS = ("3.11", "3.13")
# Blender's platform names -> pip's platform tags. No Intel macOS: opentimelineio 0.18 ships no wheel for it.
PLATFORMS = {
    "linux-x64": ("manylinux2014_x86_64",),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx_11_0_arm64", "macosx_11_0_universal2", "macosx_10_9_universal2"),
}
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def download_wheels(platform: str, cache: Path) -> list[Path]:
    """The bundled wheels for `platform` and every supported Python (pip download; cached)."""
    wheels: dict[str, Path] = {}  # by name: a pure or abi3 wheel serves both Pythons once
    for python in PYTHONS:
        folder = cache / platform / python
        if not (folder / ".complete").exists():
            folder.mkdir(parents=True, exist_ok=True)
            tags = [arg for tag in PLATFORMS[platform] for arg in ("--platform", tag)]
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--no-deps"]
            command += [*tags, "--python-version", python, "--implementation", "cp", "-d", str(folder), *BUNDLED]
            subprocess.run(command, check=True)
            (folder / ".complete").touch()
        wheels.update((path.name, path) for path in folder.glob("*.whl"))
    return [wheels[name] for name in sorted(wheels)]


def manifest(platform: str, wheel_names: list[str]) -> str:
    text = (SOURCE / "blender_manifest.toml").read_text()
    tomllib.loads(text)  # fail here, not in Blender, if the source manifest is malformed
    listed = ",\n".join(f'  "./wheels/{name}"' for name in wheel_names)
    added = f'platforms = ["{platform}"]\nwheels = [\n{listed},\n]\n\n'
    # Top-level keys must come before the first [table], or TOML files them under it.
    head, table, rest = text.partition("\n[")
    return f"{head}\n{added}{table.lstrip()}{rest}"


def build(platform: str, out_dir: Path, cache: Path) -> Path:
    client = build_client_wheel(cache / "client")
    wheels = [*download_wheels(platform, cache), client]
    version = tomllib.loads((SOURCE / "blender_manifest.toml").read_text())["version"]
    target = out_dir / f"milimo-{version}-{platform}.zip"
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(SOURCE.rglob("*.py")):
            _add(archive, path.relative_to(SOURCE).as_posix(), path.read_bytes())
        _add(archive, "blender_manifest.toml", manifest(platform, [wheel.name for wheel in wheels]).encode())
        for wheel in wheels:
            _add(archive, f"wheels/{wheel.name}", wheel.read_bytes())
    partial.replace(target)
    return target


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", action="append", choices=sorted(PLATFORMS), help="default: every platform")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "blender-wheels")
    args = parser.parse_args()
    for platform in args.platform or sorted(PLATFORMS):
        print(build(platform, args.out, args.cache))


if __name__ == "__main__":
    main()
