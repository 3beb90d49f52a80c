"""Build the Milimo client library as a wheel of its own, for the editors' Pythons.

Blender and Resolve cannot install the whole `milimo` package (the daemon's dependencies are heavy and
partly native). The plugins need only the gRPC client, the generated stubs, the error types, the
client configuration and the OTIO placeholder conventions; this wheel holds exactly those modules,
under their usual names, so `from milimo.client import connect` works the same in every Python.

    python scripts/client_wheel.py OUT_DIR     # prints the wheel's path
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "milimo_client"
# The client library's modules, relative to the repository root. Nothing here may import beyond
# this set and the requirements below (tests/test_client_wheel.py checks it in a bare venv).
MODULES = (
    "milimo/__init__.py",
    "milimo/py.typed",
    "milimo/errors.py",
    "milimo/config.py",
    "milimo/scene_place.py",
    "milimo/client/*.py",
    "milimo/v1/*.py",
    "milimo/v1/*.pyi",
    "milimo/otio/__init__.py",
    "milimo/otio/conventions.py",
    # `milimo fill`'s own code, which the Resolve script runs for its whole-timeline round trip.
    "milimo/otio/fill.py",
    "milimo/otio/fill_jobs.py",
    "milimo/otio/formats.py",
    "milimo/otio/carriers.py",
    "milimo/otio/compare.py",
    "milimo/otio/tree.py",
)
REQUIREMENTS = ("grpcio>=1.85.1", "grpcio-health-checking>=1.85.1", "protobuf>=7.35.1,<8", "opentimelineio>=0.17")
WHEEL_FILE = b"Wheel-Version: 1.0\nGenerator: scripts/client_wheel.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
# A fixed date keeps the wheel byte-for-byte reproducible from the same sources.
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def version() -> str:
    text = (ROOT / "milimo" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if match is None:
        raise RuntimeError("milimo/__init__.py has no __version__")
    return match.group(1)


def client_files() -> list[Path]:
    files = sorted({path for pattern in MODULES for path in ROOT.glob(pattern)})
    if not files:
        raise RuntimeError(f"no client modules found under {ROOT}")
    return files


def wheel_name() -> str:
    return f"{DISTRIBUTION}-{version()}-py3-none-any.whl"


def build_client_wheel(out_dir: Path) -> Path:
    """Write the wheel into `out_dir` (created if needed) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dist_info = f"{DISTRIBUTION}-{version()}.dist-info"
    entries: list[tuple[str, bytes]] = [
        (path.relative_to(ROOT).as_posix(), path.read_bytes()) for path in client_files()
    ]
    entries += [
        (f"{dist_info}/METADATA", _metadata().encode()),
        (f"{dist_info}/WHEEL", WHEEL_FILE),
        (f"{dist_info}/top_level.txt", b"milimo\n"),
    ]
    record = "".join(f"{name},sha256={_digest(data)},{len(data)}\n" for name, data in entries)
    record += f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))

    target = out_dir / wheel_name()
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            wheel.writestr(info, data)
    partial.replace(target)
    return target


def _metadata() -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {DISTRIBUTION.replace('_', '-')}",
        f"Version: {version()}",
        "Summary: The Milimo client library (gRPC stubs, client, OTIO conventions) for editor plugins",
        "License: Apache-2.0",
        "Requires-Python: >=3.11",
        *(f"Requires-Dist: {requirement}" for requirement in REQUIREMENTS),
    ]
    return "\n".join(lines) + "\n"


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/client_wheel.py OUT_DIR")
    print(build_client_wheel(Path(sys.argv[1])))
