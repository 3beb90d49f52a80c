"""The daemon's side of the chunked media transfer, for GPU workers that cannot see its data directory.

Before a job runs, each input the worker does not hold yet goes over in `CHUNK_BYTES` pieces, a few in flight at
once, and is checked against its sha256 on arrival; the job then reads worker-local copies. After it succeeds,
each result comes back the same way into the daemon's scratch dir, written to a temporary name, checked against
the sha256 the worker computed, and only then renamed, so a cut-off transfer never leaves a file that could become
an asset. Memory stays bounded by the chunks in flight: no file travels whole through Ray's object store.

A transfer that fails (the worker died, a hash did not match, the worker's disk is full) raises `TransferError`
(or Ray's `RayActorError` when the worker died); the executor interrupts the job, which goes back to the queue
under the usual attempt and quarantine rules: nothing about the job itself failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ray import ObjectRef
from ray.exceptions import RayActorError, RayError

from milimo.daemon.executors.ray_worker_files import RESUME_BLOCK_BYTES, JobPlace, block_digests
from milimo.daemon.jobs import protocol
from milimo.daemon.media_store import SHA256_PATTERN, sha256_of
from milimo.tasks.inputs import InputFile

CHUNK_BYTES = 4 * 1024 * 1024
IN_FLIGHT = 2  # chunks sent or asked for before the first is answered: overlaps the network with the disks
REPORT_AFTER_S, REPORT_EVERY_S = 1.0, 0.5  # a transfer shows as progress once it takes a second
MB = 1_000_000

Report = Callable[[protocol.Progress | protocol.Log], Awaitable[None]]  # records one event of the job


class TransferError(Exception):
    """A file did not make it across; the message says which way, to which worker and why."""


class TransferCancelled(Exception):
    """The job was cancelled while its inputs were being sent."""


def _cause(error: BaseException) -> str:
    cause = getattr(error, "cause", None) or error  # a RayTaskError carries the worker's exception
    return f"{type(cause).__name__}: {cause}"


def _inputs(count: int) -> str:
    return f"{count} input" if count == 1 else f"{count} inputs"


def _size(size: int) -> str:
    if size < MB:
        return f"{-(-size // 1000)} kB"
    return f"{size / MB:.1f} MB" if size < 10 * MB else f"{size // MB} MB"


class _Progress:
    """Counts a transfer's bytes; reports them as job progress after `REPORT_AFTER_S`, every `REPORT_EVERY_S`."""

    def __init__(self, job_id: str, what: str, total: int, report: Report) -> None:
        self._job_id, self._what, self._total, self._report = job_id, what, total, report
        self._done = 0
        self._started = self._last = time.monotonic()

    async def add(self, size: int) -> None:
        self._done += size
        now = time.monotonic()
        finished = self._done >= self._total
        if now - self._started >= REPORT_AFTER_S and (finished or now - self._last >= REPORT_EVERY_S):
            self._last = now
            message = f"{self._what}: {_size(self._done)} of {_size(self._total)}"
            await self._report(protocol.Progress(self._job_id, -(-self._done // MB), -(-self._total // MB), message))


def job_dir_name(job_id: str, attempt: int) -> str:
    """The dir of one job attempt's files on a worker."""
    return f"{job_id}-{attempt}"


@dataclasses.dataclass(frozen=True)
class JobTransfer:
    """One job attempt's files on one GPU worker (`actor`), named `worker` in messages ("GPU worker 1")."""

    actor: Any
    worker: str
    job_id: str
    attempt: int
    report: Report

    @property
    def scratch_name(self) -> str:
        return job_dir_name(self.job_id, self.attempt)

    async def send_inputs(
        self, files: dict[str, InputFile], cancelled: Callable[[], bool]
    ) -> tuple[dict[str, InputFile], Path]:
        """Send the inputs the worker lacks; the same inputs at their paths there, and the job's scratch dir there."""
        there, scratch = await self.send_files({asset_id: file.path for asset_id, file in files.items()}, cancelled)
        return {asset_id: dataclasses.replace(file, path=there[asset_id]) for asset_id, file in files.items()}, scratch

    async def send_files(self, files: dict[str, Path], cancelled: Callable[[], bool]) -> tuple[dict[str, Path], Path]:
        """Send the files (by any key) the worker lacks; their paths there by the same keys, and the scratch dir."""
        try:
            shas = {key: await asyncio.to_thread(_sha256_of_blob, path) for key, path in files.items()}
            sizes = {shas[key]: path.stat().st_size for key, path in files.items()}
            by_sha = {shas[key]: path for key, path in files.items()}
            place: JobPlace = await self.actor.new_job.remote(self.scratch_name, sizes)
            there_already = {sha: await self._resumable(by_sha[sha], sha, held) for sha, held in place.missing.items()}
            await self._say_what_crosses(sizes, there_already)
            total = sum(sizes[sha] - there_already[sha] for sha in place.missing)
            progress = _Progress(self.job_id, f"sending inputs to {self.worker}", total, self.report)
            for sha in place.missing:
                await self._send(by_sha[sha], sha, sizes[sha], there_already[sha], progress, cancelled)
        except (RayActorError, TransferCancelled):
            raise
        except (RayError, OSError) as error:
            raise TransferError(f"sending inputs to {self.worker} failed: {_cause(error)}") from error
        return {key: place.inputs / shas[key] for key in files}, place.scratch

    async def _resumable(self, source: Path, sha: str, held: int) -> int:
        """How many bytes of a cut-off send of `source` the worker holds (`held`) are right: whole blocks that
        hash the same on both sides, from the start."""
        if held < RESUME_BLOCK_BYTES:
            return 0
        theirs = await self.actor.part_blocks.remote(sha)
        ours = await asyncio.to_thread(block_digests, source, len(theirs))
        same = 0
        while same < min(len(ours), len(theirs)) and ours[same] == theirs[same]:
            same += 1
        return same * RESUME_BLOCK_BYTES

    async def _say_what_crosses(self, sizes: dict[str, int], there_already: dict[str, int]) -> None:
        missing = len(there_already)
        if missing:
            await self._log(
                f"sending {_inputs(missing)}, {_size(sum(sizes[sha] for sha in there_already))}, to {self.worker}"
            )
        if resumed := sum(there_already.values()):
            await self._log(f"{_size(resumed)} of it already on {self.worker} from a cut-off send; sending the rest")
        if missing < len(sizes):
            await self._log(f"{_inputs(len(sizes) - missing)} already on {self.worker}")

    async def _send(
        self, source: Path, sha: str, size: int, start: int, progress: _Progress, cancelled: Callable[[], bool]
    ) -> None:
        pending: deque[tuple[ObjectRef, int]] = deque()
        with source.open("rb") as f:
            f.seek(start)
            offset = start
            while chunk := await asyncio.to_thread(f.read, CHUNK_BYTES):
                if cancelled():
                    raise TransferCancelled(self.job_id)
                pending.append((write_chunk(self.actor, sha, offset, chunk), len(chunk)))
                offset += len(chunk)
                if len(pending) >= IN_FLIGHT:
                    await self._await_oldest(pending, progress)
            while pending:
                await self._await_oldest(pending, progress)
        await self.actor.finish_input.remote(sha, size, self.scratch_name)

    @staticmethod
    async def _await_oldest(pending: deque[tuple[ObjectRef, int]], progress: _Progress) -> None:
        ref, size = pending.popleft()
        await ref
        await progress.add(size)

    async def fetch_outputs(
        self, finished: protocol.JobFinished, worker_scratch: Path, into: Path
    ) -> protocol.JobFinished:
        """`finished` with its outputs copied from the worker's scratch dir into `into` (the daemon's scratch)."""
        total = sum(output.size for output in finished.outputs)
        progress = _Progress(self.job_id, f"fetching results from {self.worker}", total, self.report)
        into.mkdir(parents=True, exist_ok=True)
        fetched = []
        try:
            for output in finished.outputs:
                target = into / output.path.relative_to(worker_scratch)
                await self._fetch(output.path, output.size, output.sha256, target, progress)
                fetched.append(dataclasses.replace(output, path=target))
        except RayActorError:
            raise
        except (RayError, OSError, ValueError) as error:
            raise TransferError(f"fetching results from {self.worker} failed: {_cause(error)}") from error
        return dataclasses.replace(finished, outputs=tuple(fetched))

    async def fetch_file(self, source: Path, target: Path) -> None:
        """Copy one file the worker wrote in the scratch dir to `target`, checked against the sha256 it gives."""
        try:
            size, sha256 = await self.actor.describe_output.remote(str(source))
            progress = _Progress(self.job_id, f"fetching {source.name} from {self.worker}", size, self.report)
            await self._fetch(source, size, sha256, target, progress)
        except RayActorError:
            raise
        except (RayError, OSError, ValueError) as error:
            raise TransferError(f"fetching {source.name} from {self.worker} failed: {_cause(error)}") from error

    async def _fetch(self, source: Path, size: int, sha256: str, target: Path, progress: _Progress) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.part")
        digest = hashlib.sha256()
        pending: deque[tuple[ObjectRef, int]] = deque()
        try:
            with part.open("wb") as f:
                offset = 0
                while offset < size or pending:
                    while offset < size and len(pending) < IN_FLIGHT:
                        length = min(CHUNK_BYTES, size - offset)
                        pending.append((read_chunk(self.actor, source, offset, length), length))
                        offset += length
                    ref, length = pending.popleft()
                    data = await ref
                    if len(data) != length:
                        raise TransferError(f"{source.name} on {self.worker} is shorter than {size} bytes")
                    await asyncio.to_thread(_append, f, digest, data)
                    await progress.add(length)
                await asyncio.to_thread(os.fsync, f.fileno())
            if digest.hexdigest() != sha256:
                raise TransferError(f"{source.name} from {self.worker} does not hash to {sha256[:12]}…")
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)

    async def drop_job(self) -> None:
        """Remove the job's dir on the worker (nothing to do if the worker is gone); the input cache stays."""
        with contextlib.suppress(RayError, TimeoutError):
            await asyncio.wait_for(asyncio.wrap_future(self.actor.drop_job.remote(self.scratch_name).future()), 30)

    async def _log(self, message: str) -> None:
        await self.report(protocol.Log(self.job_id, "info", message))


def write_chunk(actor: Any, sha256: str, offset: int, data: bytes) -> ObjectRef:
    """Have the worker write `data` at `offset` of its part of input `sha256`."""
    return actor.write_input.remote(sha256, offset, data)


def read_chunk(actor: Any, path: Path, offset: int, length: int) -> ObjectRef:
    """Ask the worker for `length` bytes of `path` from `offset`."""
    return actor.read_output.remote(str(path), offset, length)


def _append(f: Any, digest: Any, data: bytes) -> None:
    digest.update(data)
    f.write(data)


def _sha256_of_blob(path: Path) -> str:
    """A media-store blob is named by its sha256; anything else is hashed."""
    return path.name if SHA256_PATTERN.match(path.name) else sha256_of(path)
