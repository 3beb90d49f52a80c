"""A GPU worker's own files when it cannot see the daemon's data directory: an input cache and job scratch dirs.

The daemon sends each input in chunks (`write_input`, then `finish_input`, which checks the sha256 and renames the
part into the cache) and reads each result back in chunks (`read_output`). Inputs are kept by content hash, so a
conditioning image used by many jobs crosses once. The cache holds at most `INPUT_CACHE_BYTES` (8 GiB), least
recently used first out, never evicting what the next job needs. Everything lives under one directory per worker
process in the host's temp dir; a worker removes the directories of workers on its host that are gone (killed, or
their node died), so nothing outlives its worker for long.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from milimo.daemon.media_store import SHA256_PATTERN, sha256_of

INPUT_CACHE_BYTES = 8 * 1024**3
ROOT_PREFIX = "milimo-ray-"


@dataclass(frozen=True)
class JobPlace:
    """Where a job's files are on the worker: its inputs by sha256 under `inputs`, its results under `scratch`."""

    inputs: Path
    scratch: Path
    missing: tuple[str, ...]  # the inputs the daemon must send


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_orphans(parent: Path) -> None:
    """Remove the file roots of worker processes on this host that no longer run."""
    for entry in parent.glob(f"{ROOT_PREFIX}*"):
        pid = entry.name.removeprefix(ROOT_PREFIX)
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


class WorkerFiles:
    """Actor methods for the chunked media transfer (mixed into the GPU worker actor); the root is made on first use."""

    def __init__(self, parent: Path | None = None, cache_bytes: int = INPUT_CACHE_BYTES) -> None:
        self._files_parent = parent or Path(tempfile.gettempdir())
        self._cache_bytes = cache_bytes
        self._files_root: Path | None = None
        self._files_lock = threading.Lock()

    @property
    def files_root(self) -> Path:
        with self._files_lock:
            if self._files_root is None:
                remove_orphans(self._files_parent)
                root = self._files_parent / f"{ROOT_PREFIX}{os.getpid()}"
                for sub in ("inputs", "scratch"):
                    (root / sub).mkdir(parents=True, exist_ok=True)
                self._files_root = root.resolve()  # as `read_output` compares it with resolved paths
            return self._files_root

    def _input(self, sha256: str) -> Path:
        if not SHA256_PATTERN.match(sha256):
            raise ValueError(f"sha256: {sha256!r} is not a lowercase hex sha256")
        return self.files_root / "inputs" / sha256

    def _part(self, sha256: str) -> Path:
        return self._input(sha256).with_name(f".{sha256}.part")

    def new_job(self, name: str, sizes: dict[str, int]) -> JobPlace:
        """A fresh scratch dir for the job (one job at a time: older ones are leftovers), and which of its inputs
        (sha256 -> size) the daemon must send; cached ones count as just used, and room is made for the rest."""
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"name: {name!r} must be a plain directory name")
        scratch_root, inputs = self.files_root / "scratch", self.files_root / "inputs"
        for leftover in scratch_root.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)
        for part in inputs.glob(".*.part"):  # sends that were cut off
            part.unlink(missing_ok=True)
        scratch = scratch_root / name
        scratch.mkdir()
        missing = []
        for sha256 in sizes:
            path = self._input(sha256)
            if path.is_file():
                os.utime(path)
            else:
                missing.append(sha256)
        self._make_room(sum(sizes[sha256] for sha256 in missing), keep=set(sizes))
        return JobPlace(inputs, scratch, tuple(missing))

    def _make_room(self, incoming: int, keep: set[str]) -> None:
        """Evict least recently used inputs (not in `keep`) until `incoming` more bytes fit in the cache."""
        cached = [
            (path.stat(), path) for path in (self.files_root / "inputs").iterdir() if SHA256_PATTERN.match(path.name)
        ]
        total = sum(stat.st_size for stat, _ in cached) + incoming
        for stat, path in sorted(cached, key=lambda each: each[0].st_mtime):
            if total <= self._cache_bytes:
                return
            if path.name not in keep:
                path.unlink(missing_ok=True)
                total -= stat.st_size

    def write_input(self, sha256: str, offset: int, data: bytes) -> None:
        """Write one chunk of an input at `offset` (chunks may arrive in any order)."""
        fd = os.open(self._part(sha256), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, data, offset)
        finally:
            os.close(fd)

    def finish_input(self, sha256: str, size: int) -> None:
        """Check the received bytes and move them into the cache; a mismatch discards them."""
        part = self._part(sha256)
        part.touch()  # an empty file sends no chunk
        received, actual = part.stat().st_size, sha256_of(part)
        if received != size or actual != sha256:
            part.unlink(missing_ok=True)
            raise ValueError(f"input {sha256[:12]}… arrived as {received} bytes hashing to {actual[:12]}…, not {size}")
        os.replace(part, self._input(sha256))

    def read_output(self, path: str, offset: int, length: int) -> bytes:
        """Up to `length` bytes of a result file in a job's scratch dir, from `offset`."""
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.files_root / "scratch"):
            raise PermissionError(f"{path} is not in a job's scratch dir on this worker")
        with resolved.open("rb") as f:
            f.seek(offset)
            return f.read(length)

    def drop_scratch(self, name: str) -> None:
        shutil.rmtree(self.files_root / "scratch" / name, ignore_errors=True)
