"""Interactive calls to a worker (segmentation, tracking sessions): what the segmentation service calls through.

A call target is the local accelerator lane's worker process, or a Ray GPU worker (`ray_calls.RayCalls`). Each
implements `exchange`, which sends one call and yields its replies, ending with its result; `call` and `stream`
are built on it. `worker_generation` names the worker that answers now: a tracking session lives in that worker's
memory, so a change means the session is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Hashable
from typing import Any

from milimo.daemon.jobs import protocol


class CallTarget:
    @property
    def worker_generation(self) -> Hashable | None:
        """Which worker answers calls now (None: none is running yet)."""
        raise NotImplementedError

    def exchange(
        self, method: str, args: dict[str, Any], wait_s: float
    ) -> AsyncIterator[protocol.CallProgress | protocol.CallResult]:
        """Send one call; yield its progress, then its result (an error result is raised instead)."""
        raise NotImplementedError

    async def call(self, method: str, args: dict[str, Any], *, wait_s: float) -> Any:
        """Run `method` of the worker's calls (`milimo.tasks.interactive`) and return its value."""
        async with contextlib.aclosing(self.exchange(method, args, wait_s)) as replies:
            async for reply in replies:
                if isinstance(reply, protocol.CallResult):
                    return reply.value
        raise AssertionError("a call's exchange always ends with its result")  # pragma: no cover

    async def stream(self, method: str, args: dict[str, Any], *, wait_s: float) -> AsyncIterator[Any]:
        """Run a streaming call, yielding each progress payload; it ends when the call has answered."""
        async with contextlib.aclosing(self.exchange(method, args, wait_s)) as replies:
            async for reply in replies:
                if isinstance(reply, protocol.CallProgress):
                    yield reply.payload
