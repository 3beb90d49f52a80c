"""A GPU worker's own files when it cannot see the daemon's data directory: a host-wide input cache and job dirs.

The daemon sends each input in chunks (`write_input`, then `finish_input`, which checks the sha256 and renames the
part into the cache) and reads each result back in chunks (`read_output`). Everything lives in one directory per
host and user (under `MILIMO_RAY_FILES`, else the temp dir), shared by every worker on the host:

    milimo-ray-USER/inputs/SHA256                  the input cache: content-addressed, so any worker may use it
    milimo-ray-USER/inputs/.SHA256.PID.part        an input being received by worker PID, or a cut-off one
    milimo-ray-USER/workers/PID/JOB/inputs/SHA256  hard links to the cache: what the job reads
    milimo-ray-USER/workers/PID/JOB/scratch/       the job's results (JOB: a job attempt, or a call: "call-…")
    milimo-ray-USER/workers/PID/JOB/.finished      the job succeeded: its results are worth fetching

So a conditioning image used by many jobs crosses once per host, and a replacement worker starts with its dead
predecessor's cache. A send cut off (the daemon or the worker died, the job was cancelled) leaves its part, which
the next worker to need that input adopts: `part_blocks` lets the daemon check which blocks of it are right, and it
sends only the rest. The cache holds at most `INPUT_CACHE_BYTES` (8 GiB), least recently used first out; a job's
inputs are hard links, so evicting one (by any worker on the host) never pulls it from under a job. A worker removes
the job dirs of workers on its host that are gone, so nothing but the bounded cache outlives its worker, except
the results of a job that finished: a worker that dies while the daemon fetches them leaves them for
`KEEP_RESULTS_S`, and the worker that takes the job's next attempt adopts them (`adopt_results`) instead of
rendering the job again.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from milimo.daemon.media_store import SHA256_PATTERN, sha256_of

INPUT_CACHE_BYTES = 8 * 1024**3
ROOT_PREFIX = "milimo-ray-"
RESUME_BLOCK_BYTES = 4 * 1024 * 1024  # the unit in which a cut-off part is checked and kept
ABANDONED_PART_S = 600.0  # a part nobody wrote to for this long is free to adopt or evict, whatever its owner
OWNER_EXIT_WAIT_S = 2.0  # how long a part whose owner still runs is waited for: the owner may be exiting
CALL_PREFIX = "call-"  # the dirs of interactive calls' files, which live beside the job's
FINISHED = ".finished"  # in a job's dir once it succeeded
KEEP_RESULTS_S = 3600.0  # how long a finished job's results outlive their worker, for its next attempt to fetch


@dataclass(frozen=True)
class JobPlace:
    """Where a job's files are on the worker: its inputs by sha256 under `inputs`, its results under `scratch`."""

    inputs: Path
    scratch: Path
    missing: dict[str, int]  # the inputs the daemon must send -> bytes of a cut-off send of it already here


def block_digests(path: Path, blocks: int | None = None) -> list[bytes]:
    """The sha256 of each whole `RESUME_BLOCK_BYTES` block of `path` (the first `blocks` of them, when given)."""
    digests = []
    with path.open("rb") as f:
        while blocks is None or len(digests) < blocks:
            block = f.read(RESUME_BLOCK_BYTES)
            if len(block) < RESUME_BLOCK_BYTES:
                break
            digests.append(hashlib.sha256(block).digest())
    return digests


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:  # Linux: a killed worker stays a zombie until its raylet reaps it
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def host_root(parent: Path | None = None) -> Path:
    """This host's (and user's) directory for GPU workers' files: under `MILIMO_RAY_FILES` where the host's
    `ray start` set it (a temp dir in RAM is no place for an 8 GiB cache), else under the temp dir."""
    parent = parent or Path(os.environ.get("MILIMO_RAY_FILES") or tempfile.gettempdir())
    return parent / f"{ROOT_PREFIX}{getpass.getuser()}"


def remove_orphans(root: Path) -> None:
    """Remove the job dirs of worker processes on this host that no longer run, but for recent results."""
    for worker in _gone_workers(root):
        for job in worker.iterdir():
            kept = _results_kept(job)
            shutil.rmtree(job / "inputs" if kept else job, ignore_errors=True)  # kept results need no inputs
        with contextlib.suppress(OSError):
            worker.rmdir()  # once empty


def _gone_workers(root: Path) -> list[Path]:
    workers = root / "workers"
    if not workers.is_dir():
        return []
    return [
        entry
        for entry in workers.iterdir()
        if entry.name.isdigit() and int(entry.name) != os.getpid() and not _alive(int(entry.name))
    ]


def _results_kept(job: Path) -> bool:
    try:
        return time.time() - (job / FINISHED).stat().st_mtime < KEEP_RESULTS_S
    except OSError:
        return False


class WorkerFiles:
    """Actor methods for the chunked media transfer (mixed into the GPU worker actor); dirs are made on first use."""

    def __init__(self, parent: Path | None = None, cache_bytes: int = INPUT_CACHE_BYTES) -> None:
        self._root = host_root(parent)
        self._cache_bytes = cache_bytes
        self._made = False
        self._files_lock = threading.Lock()

    @property
    def cache(self) -> Path:
        return self._root / "inputs"

    @property
    def own_dir(self) -> Path:
        """This worker's job dirs."""
        with self._files_lock:
            if not self._made:
                self.cache.mkdir(parents=True, exist_ok=True)
                self._root.chmod(0o700)
                (self._root / "workers" / str(os.getpid())).mkdir(parents=True, exist_ok=True)
                self._root = self._root.resolve()  # as `read_output` compares it with resolved paths
                self._made = True
            return self._root / "workers" / str(os.getpid())

    def _input(self, sha256: str) -> Path:
        if not SHA256_PATTERN.match(sha256):
            raise ValueError(f"sha256: {sha256!r} is not a lowercase hex sha256")
        return self.cache / sha256

    def _part(self, sha256: str, pid: int | None = None) -> Path:
        return self._input(sha256).with_name(f".{sha256}.{pid or os.getpid()}.part")

    def new_job(self, name: str, sizes: dict[str, int]) -> JobPlace:
        """A fresh dir for the job holding the cached ones of its inputs (sha256 -> size), which count as just
        used; which the daemon must send, and room made for them. A worker runs one job at a time, so other job
        dirs are leftovers; an interactive call's ("call-…") may be in use beside the job."""
        job = self._job_dir(name)
        for leftover in job.parent.iterdir():
            if not (leftover.name.startswith(CALL_PREFIX) or name.startswith(CALL_PREFIX)):
                shutil.rmtree(leftover, ignore_errors=True)
        remove_orphans(self._root)
        (job / "inputs").mkdir(parents=True)
        (job / "scratch").mkdir()
        missing = {}
        for sha256 in sizes:
            if not self._take_cached(sha256, job / "inputs"):
                missing[sha256] = self._adopt_part(sha256)
        self._make_room(sum(sizes[sha256] - missing[sha256] for sha256 in missing), keep=set(sizes))
        return JobPlace(job / "inputs", job / "scratch", missing)

    def _take_cached(self, sha256: str, into: Path) -> bool:
        cached = self._input(sha256)
        try:
            os.utime(cached)
            os.link(cached, into / sha256)
        except FileNotFoundError:  # not cached, or evicted by another worker just now
            return False
        return True

    def _adopt_part(self, sha256: str) -> int:
        """The bytes of a cut-off send of `sha256` that this worker now owns: its own, or one a dead or stalled
        worker left (renamed, so two workers never adopt the same part). A worker killed a moment ago may still
        be exiting when its job's next attempt arrives, so a part whose owner lives is waited for a little."""
        mine = self._part(sha256)
        deadline = time.monotonic() + OWNER_EXIT_WAIT_S
        while not mine.exists():
            others = list(self.cache.glob(f".{sha256}.*.part"))
            for part in others:
                if self._part_abandoned(part):
                    with contextlib.suppress(FileNotFoundError):  # another worker adopted it first
                        os.rename(part, mine)
                        break
            if not others or mine.exists() or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        try:
            return mine.stat().st_size
        except FileNotFoundError:
            return 0

    @staticmethod
    def _part_abandoned(part: Path) -> bool:
        pid = part.name.split(".")[2]
        try:
            stalled = time.time() - part.stat().st_mtime > ABANDONED_PART_S
        except FileNotFoundError:
            return False
        return stalled or not pid.isdigit() or int(pid) == os.getpid() or not _alive(int(pid))

    def part_blocks(self, sha256: str) -> list[bytes]:
        """The sha256 of each whole block of this worker's part of `sha256` (see `block_digests`)."""
        try:
            return block_digests(self._part(sha256))
        except FileNotFoundError:
            return []

    def _make_room(self, incoming: int, keep: set[str]) -> None:
        """Evict least recently used inputs and abandoned parts (not of `keep`) until `incoming` more bytes fit."""
        entries = []
        for path in self.cache.iterdir():
            try:
                entries.append((path.stat(), path))
            except FileNotFoundError:
                continue
        total = sum(stat.st_size for stat, _ in entries) + incoming
        for stat, path in sorted(entries, key=lambda each: each[0].st_mtime):
            if total <= self._cache_bytes:
                return
            sha256 = path.name.lstrip(".").split(".")[0]
            evictable = SHA256_PATTERN.match(path.name) or (path.name.endswith(".part") and self._part_abandoned(path))
            if evictable and sha256 not in keep:
                path.unlink(missing_ok=True)
                total -= stat.st_size

    def write_input(self, sha256: str, offset: int, data: bytes) -> None:
        """Write one chunk of an input at `offset` (chunks may arrive in any order)."""
        fd = os.open(self._part(sha256), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, data, offset)
        finally:
            os.close(fd)

    def finish_input(self, sha256: str, size: int, job: str) -> None:
        """Check the received bytes, move them into the cache and give them to `job`; a mismatch discards them."""
        part = self._part(sha256)
        part.touch()  # an empty file sends no chunk
        received, actual = part.stat().st_size, sha256_of(part)
        if received != size or actual != sha256:
            part.unlink(missing_ok=True)
            raise ValueError(f"input {sha256[:12]}… arrived as {received} bytes hashing to {actual[:12]}…, not {size}")
        os.replace(part, self._input(sha256))
        if not self._take_cached(sha256, self._job_dir(job) / "inputs"):
            raise FileNotFoundError(f"input {sha256[:12]}… was evicted from the cache as it arrived")

    def _job_dir(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"job: {name!r} must be a plain directory name")
        return self.own_dir / name

    def read_output(self, path: str, offset: int, length: int) -> bytes:
        """Up to `length` bytes of a result file in one of this worker's job scratch dirs, from `offset`."""
        with self._result(path).open("rb") as f:
            f.seek(offset)
            return f.read(length)

    def describe_output(self, path: str) -> tuple[int, str]:
        """The size and sha256 of a result file in one of this worker's job scratch dirs."""
        result = self._result(path)
        return result.stat().st_size, sha256_of(result)

    def _result(self, path: str) -> Path:
        resolved = Path(path).resolve()
        inside = resolved.is_relative_to(self.own_dir) and resolved.relative_to(self.own_dir).parts[1:2] == ("scratch",)
        if not inside:
            raise PermissionError(f"{path} is not in a job's scratch dir on this worker")
        return resolved

    def keep_results(self, scratch: Path) -> None:
        """Mark the results in `scratch`, one of this worker's job scratch dirs, as a finished job's."""
        job = scratch.parent
        if self._made and job.parent == self.own_dir and job.is_dir():  # not made: its jobs use shared media
            with contextlib.suppress(OSError):  # a mark missing only costs a render, should the worker die
                (job / FINISHED).touch()

    def adopt_results(self, name: str) -> str | None:
        """Take over job dir `name`'s finished results from a worker on this host that is gone; their scratch dir
        here, or None when no such results are left."""
        target = self._job_dir(name)
        for worker in _gone_workers(self._root):
            job = worker / name
            if _results_kept(job):
                try:
                    job.rename(target)
                except OSError:
                    return None  # another worker adopted them first, or `target` is taken
                with contextlib.suppress(OSError):
                    worker.rmdir()  # once empty
                return str(target / "scratch")
        return None

    def drop_job(self, name: str) -> None:
        """Remove the job's dir: its results and its links to the inputs (the cache keeps them)."""
        shutil.rmtree(self._job_dir(name), ignore_errors=True)
