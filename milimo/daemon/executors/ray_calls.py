"""Interactive calls (segmentation, tracking sessions) on a Ray cluster: one GPU worker answers them all.

On one host the accelerator lane's worker answers every call beside its jobs; on Ray one GPU worker does, so a
tracking session, which lives in that worker's memory, stays with it. It is the first ready worker, one that shares
the daemon's data directory if any does, kept until its actor dies or its slot is retired; with no worker ready,
calls run in the daemon's own accelerator lane, as without Ray.

Calls name files in the data directory (the picture, the clip, where to write a track or a matte:
`interactive.FILES_READ` and `FILES_WRITTEN`). A worker that shares the directory uses those paths; any other gets
the files read sent to it first and the files written fetched back after, as a job's inputs and results are
(`JobTransfer`), in a dir of the call's own on the worker, removed when the call ends.
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import AsyncIterator, Callable, Hashable
from pathlib import Path
from typing import Any

from ray.exceptions import RayActorError

from milimo.daemon.executors.ray_media import JobTransfer, TransferError
from milimo.daemon.executors.ray_slots import READY, SHARED, TRANSFER, GpuSlot
from milimo.daemon.executors.ray_worker_files import CALL_PREFIX
from milimo.daemon.jobs import protocol
from milimo.daemon.jobs.calls import CallTarget
from milimo.errors import Unavailable
from milimo.tasks.interactive import FILES_READ, FILES_WRITTEN

Reply = protocol.CallProgress | protocol.CallResult


class RayCalls(CallTarget):
    def __init__(self, slots: Callable[[], list[GpuSlot]], local: CallTarget) -> None:
        self._slots = slots  # the executor's slots as they are now
        self._local = local
        self._chosen: GpuSlot | None = None

    def _answering(self) -> GpuSlot | None:
        """The GPU worker that answers calls now (None: the local lane does)."""
        chosen = self._chosen
        if chosen is None or chosen.state != READY or chosen not in self._slots():
            ready = [slot for slot in self._slots() if slot.state == READY]
            self._chosen = chosen = next((slot for slot in ready if slot.media == SHARED), ready[0] if ready else None)
        return chosen

    @property
    def worker_generation(self) -> Hashable | None:
        slot = self._answering()
        if slot is None:
            local = self._local.worker_generation
            return None if local is None else ("local", local)
        return ("ray", slot.index, slot.incarnation)

    async def exchange(self, method: str, args: dict[str, Any], wait_s: float) -> AsyncIterator[Reply]:
        slot = self._answering()
        if slot is None:
            async with contextlib.aclosing(self._local.exchange(method, args, wait_s)) as replies:
                async for reply in replies:
                    yield reply
            return
        call_id = uuid.uuid4().hex
        transfer = _quiet_transfer(slot, call_id) if slot.media == TRANSFER else None
        try:
            written: dict[str, Path] = {}
            if transfer is not None:
                args, written = await _files_there(transfer, method, args)
            async with contextlib.aclosing(_asked(slot, protocol.Call(call_id, method, args, wait_s))) as replies:
                async for reply in replies:
                    if isinstance(reply, protocol.CallResult) and transfer is not None:
                        for key, target in written.items():
                            await transfer.fetch_file(Path(_get(args, key)), target)
                    yield reply
        except RayActorError as error:
            raise Unavailable(f"the Ray {slot.name} stopped before answering; try again") from error
        except TransferError as error:
            raise Unavailable(f"{error}; try again") from error
        finally:
            if transfer is not None:
                await transfer.drop_job()


async def _asked(slot: GpuSlot, call: protocol.Call) -> AsyncIterator[Reply]:
    """The call's replies from the slot's actor, ending with its result (an error result is raised instead)."""
    actor = slot.actor
    answered = False
    try:
        async for ref in actor.call.options(num_returns="streaming").remote(call):
            reply = await ref
            answered = isinstance(reply, protocol.CallResult)
            if answered and reply.error is not None:
                raise protocol.raised(reply.error)
            if answered:  # what the call loaded or moved counts for job placement, and shows in `models list`
                slot.model_states = await actor.model_states.remote()
            yield reply
            if answered:
                return
    finally:
        if not answered:  # the caller went away: free the worker (and its GPU) for others
            actor.abandon_call.remote(call.call_id)


def _quiet_transfer(slot: GpuSlot, call_id: str) -> JobTransfer:
    """A transfer for one call's files: a call has no job events to report its progress in."""

    async def nowhere(_: object) -> None:
        pass

    return JobTransfer(slot.actor, slot.name, f"{CALL_PREFIX}{call_id}", 0, nowhere)


async def _files_there(
    transfer: JobTransfer, method: str, args: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Path]]:
    """The call's arguments with the files it reads sent to the worker and the files it writes placed in its
    scratch dir there, and where each written file goes back to (by argument)."""
    args = copy.deepcopy(args)
    reads = {key: Path(_get(args, key)) for key in FILES_READ.get(method, ())}
    there, scratch = await transfer.send_files(reads, cancelled=lambda: False)
    for key, path in there.items():
        _set(args, key, str(path))
    written = {key: Path(_get(args, key)) for key in FILES_WRITTEN.get(method, ())}
    for key, target in written.items():
        _set(args, key, str(scratch / target.name))
    return args, written


def _get(args: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        args = args[part]
    return args


def _set(args: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        args = args[part]
    args[last] = value
