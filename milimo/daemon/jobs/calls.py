"""Interactive calls to a worker (segmentation, tracking sessions): what the segmentation service calls through.

A call target picks the worker for each new call or tracking session: the local accelerator lane's worker process
(the lane is its own target), or one of the Ray GPU workers (`ray_calls.RayCalls`). A worker implements
`exchange`, which sends one call and yields its replies, ending with its result; `call` and `stream` are built on
it. Its `generation` names which start of that worker is alive: a tracking session lives in the memory of the
worker that started it, so its calls go to that worker, and a change of generation means the session is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Hashable
from typing import Any

from milimo.daemon.jobs import protocol


class CallWorker:
    @property
    def generation(self) -> Hashable | None:
        """Which start of this worker is alive now (None: none is); a restart changes it."""
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


class CallTarget:
    def pick(self, model: str) -> CallWorker:
        """The worker for a new call, or a new tracking session, on `model` ("" for none)."""
        raise NotImplementedError
