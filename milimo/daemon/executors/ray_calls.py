"""Interactive calls (segmentation, tracking sessions) on a Ray cluster, spread over the ready GPU workers.

Each new call, or new tracking session, goes to the ready worker with the fewest calls in flight (a worker answers
its calls one at a time, beside its jobs); among equals, to one that holds the call's model, then one without a
job, then one that shares the daemon's data directory. A tracking session lives in the memory of the worker that
started it, so its later calls go to that worker (the segmentation service keeps the `SlotCalls` it was given);
once the slot's actor dies or the slot is retired, the session is gone. With no worker ready, calls run in the
daemon's own accelerator lane, as without Ray.

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
from milimo.daemon.jobs.calls import CallTarget, CallWorker
from milimo.errors import Unavailable
from milimo.tasks.interactive import FILES_READ, FILES_WRITTEN

Reply = protocol.CallProgress | protocol.CallResult


class RayCalls(CallTarget):
    def __init__(self, slots: Callable[[], list[GpuSlot]], local: CallWorker) -> None:
        self._slots = slots  # the executor's slots as they are now
        self._local = local

    def pick(self, model: str) -> CallWorker:
        ready = [slot for slot in self._slots() if slot.state == READY]
        if not ready:
            return self._local

        def preference(slot: GpuSlot) -> tuple[int, bool, bool, bool, int]:
            return slot.calls, not slot.holds(model), slot.busy, slot.media != SHARED, slot.index

        return SlotCalls(min(ready, key=preference), self._slots)


class SlotCalls(CallWorker):
    """Calls to one GPU worker: the actor its slot has now."""

    def __init__(self, slot: GpuSlot, slots: Callable[[], list[GpuSlot]]) -> None:
        self.slot = slot
        self._slots = slots

    @property
    def generation(self) -> Hashable | None:
        slot = self.slot
        return slot.incarnation if slot.state == READY and slot in self._slots() else None

    async def exchange(self, method: str, args: dict[str, Any], wait_s: float) -> AsyncIterator[Reply]:
        slot = self.slot
        if self.generation is None:
            raise Unavailable(f"the Ray {slot.name} stopped; try again")
        call_id = uuid.uuid4().hex
        transfer = _quiet_transfer(slot, call_id) if slot.media == TRANSFER else None
        slot.calls += 1
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
            slot.calls -= 1
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
