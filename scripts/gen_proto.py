"""Regenerate the Python stubs in milimo/v1 from proto/milimo/v1; `--check` fails if they are stale."""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
STUBS = Path("milimo") / "v1"


def generate(out: Path) -> None:
    sources = sorted(str(p.relative_to(PROTO_DIR)) for p in (PROTO_DIR / "milimo" / "v1").glob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"]
    if protoc.main([*args, f"--pyi_out={out}", *sources]) != 0:
        sys.exit("protoc failed")
    (out / STUBS / "__init__.py").write_text('"""Generated gRPC stubs of the milimo.v1 contract: `make proto`."""\n')


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        names = sorted(p.name for p in (fresh / STUBS).iterdir())
        if "--check" in sys.argv:
            committed = sorted(p.name for p in (ROOT / STUBS).iterdir() if p.suffix in (".py", ".pyi"))
            _, mismatch, errors = filecmp.cmpfiles(fresh / STUBS, ROOT / STUBS, names, shallow=False)
            if mismatch or errors or committed != names:
                sys.exit(
                    f"stubs in {STUBS} are stale ({', '.join(mismatch + errors) or 'file set differs'}): make proto"
                )
            print(f"stubs in {STUBS} are fresh")
            return
        target = ROOT / STUBS
        for stale in target.glob("*_pb2*.py*"):
            stale.unlink()
        for name in names:
            shutil.copy2(fresh / STUBS / name, target / name)
        print(f"regenerated {len(names)} files in {STUBS}")


if __name__ == "__main__":
    main()
