"""Interactive calls (segmentation, tracking sessions) on a Ray cluster: one GPU worker answers them all.

On one host the accelerator lane's worker answers every call beside its jobs; on Ray one GPU worker does, so a
tracking session, which lives in that worker's memory, stays with it. It is the first ready worker that shares the
daemon's data directory, kept until its actor dies or its slot is retired. Calls carry paths in the data directory
(the picture, the clip, where to write a track or a matte), so a worker that gets its files by transfer cannot take
them: with none that shares the directory, calls run in the daemon's own accelerator lane, as without Ray.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any

from ray.exceptions import RayActorError

from milimo.daemon.executors.ray_slots import READY, SHARED, GpuSlot
from milimo.daemon.jobs import protocol
from milimo.daemon.jobs.calls import CallTarget
from milimo.errors import Unavailable


class RayCalls(CallTarget):
    def __init__(self, slots: Callable[[], list[GpuSlot]], local: CallTarget) -> None:
        self._slots = slots  # the executor's slots as they are now
        self._local = local
        self._chosen: GpuSlot | None = None

    def _answering(self) -> GpuSlot | None:
        """The GPU worker that answers calls now (None: the local lane does)."""
        chosen = self._chosen
        if chosen is None or chosen.state != READY or chosen.media != SHARED or chosen not in self._slots():
            usable = (slot for slot in self._slots() if slot.state == READY and slot.media == SHARED)
            self._chosen = chosen = next(usable, None)
        return chosen

    @property
    def worker_generation(self) -> Hashable | None:
        slot = self._answering()
        if slot is None:
            local = self._local.worker_generation
            return None if local is None else ("local", local)
        return ("ray", slot.index, slot.incarnation)

    async def exchange(
        self, method: str, args: dict[str, Any], wait_s: float
    ) -> AsyncIterator[protocol.CallProgress | protocol.CallResult]:
        slot = self._answering()
        if slot is None:
            async for reply in self._local.exchange(method, args, wait_s):
                yield reply
            return
        actor, call = slot.actor, protocol.Call(uuid.uuid4().hex, method, args, wait_s)
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
        except RayActorError as error:
            raise Unavailable(f"the Ray {slot.name} stopped before answering; try again") from error
        finally:
            if not answered:  # the caller went away: free the worker (and its GPU) for others
                actor.abandon_call.remote(call.call_id)
