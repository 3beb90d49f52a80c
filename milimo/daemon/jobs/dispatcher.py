"""The dispatcher runs queued jobs through an executor; the local executor's lanes hand them to worker processes.

The dispatcher keeps what every executor shares: pause and resume, and the cancels asked for before a job
reached its worker. An `Executor` claims jobs and runs them: `LocalExecutor` (the default) through one worker
process per lane, `milimo.daemon.executors.ray_executor.RayExecutor` on a Ray cluster's GPUs.

Local lanes: one job at a time per lane.

The accelerator lane serialises every job that needs the GPU; the CPU lane runs light kinds
(animatic, media operations) beside it. A lane relays its worker's events into the queue, kills a
worker that ignores a cancel, and restarts one that died, marking its job interrupted.

A lane also carries calls to its worker (interactive segmentation): their replies go straight to the
awaiting caller, beside the job relay, and a worker that dies fails its pending calls with UNAVAILABLE.
Each worker's latest model states are kept for the Models service.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from milimo.daemon.jobs import protocol
from milimo.daemon.jobs.calls import CallTarget, CallWorker
from milimo.daemon.jobs.model import EventType, JobRecord
from milimo.daemon.jobs.service import JobService
from milimo.daemon.jobs.worker import WorkerExited, WorkerProcess
from milimo.daemon.media_store import MediaStore
from milimo.errors import FailedPrecondition, Unavailable
from milimo.tasks.registry import ACCELERATOR_LANE, LANES
from milimo.tasks.resources import WorkerSettings

log = logging.getLogger(__name__)
STATE_RANK = {"on_disk": 0, "in_ram": 1, "on_accelerator": 2}  # where a model is, when lanes disagree


class Executor(Protocol):
    """Claims queued jobs and runs them to a terminal state (or back to the queue when cut off)."""

    def start(self, prestart: tuple[str, ...]) -> None:
        """Begin claiming jobs; `prestart` names lanes whose workers should start now."""

    def wake(self, lane: str) -> None:
        """A job was queued on `lane`."""

    def cancel(self, job_id: str) -> None:
        """Stop `job_id` if it runs here (its cancel is recorded in the dispatcher either way)."""

    def model_states(self) -> dict[str, str]:
        """Where each model is, as the workers last said."""

    @property
    def calls(self) -> CallTarget:
        """Where interactive calls (segmentation, tracking sessions) go."""

    async def stop(self) -> None:
        """Stop claiming and stop the workers; running jobs are left for `release_running`."""


ExecutorFactory = Callable[["Dispatcher"], Executor]


async def relay_event(service: JobService, message: protocol.Progress | protocol.PreviewFrame | protocol.Log) -> None:
    """Record one event a worker sent about its running job."""
    if isinstance(message, protocol.Progress):
        await service.progress(message.job_id, message.step, message.total, message.message)
    elif isinstance(message, protocol.PreviewFrame):
        await service.add_event(message.job_id, EventType.PREVIEW, {"step": message.step}, message.jpeg)
    else:
        await service.add_event(message.job_id, EventType.LOG, {"level": message.level, "message": message.message})


async def settle_finished(service: JobService, job: JobRecord, finished: protocol.JobFinished) -> None:
    """Record how a job the worker finished ended."""
    if finished.outcome == "succeeded":
        await service.succeed(job, finished.outputs)
    elif finished.outcome == "cancelled":
        await service.cancelled(job, "cancelled while it ran")
    else:
        await service.fail(job, finished.error)


def merged_model_states(states: list[dict[str, str]]) -> dict[str, str]:
    """One state per model: the most loaded any worker reports."""
    merged: dict[str, str] = {}
    for each in states:
        for name, state in each.items():
            if STATE_RANK.get(state, 0) >= STATE_RANK.get(merged.get(name, ""), 0):
                merged[name] = state
    return merged


@dataclass(frozen=True)
class _PendingCall:
    generation: int  # of the worker it was sent to
    replies: asyncio.Queue[protocol.CallProgress | protocol.CallResult]


class Lane(CallWorker, CallTarget):
    def __init__(self, name: str, service: JobService, media: MediaStore, dispatcher: Dispatcher) -> None:
        self.name = name
        self._service = service
        self._media = media
        self._dispatcher = dispatcher
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._inbox: asyncio.Queue[protocol.JobMessage | WorkerExited] = asyncio.Queue()
        self._worker: WorkerProcess | None = None
        self._worker_lock = threading.Lock()
        self._generations = itertools.count(1)
        self._generation = 0  # of the latest worker started
        self._calls: dict[str, _PendingCall] = {}
        self.model_states: dict[str, str] = {}  # what the live worker last said
        self.current: JobRecord | None = None
        self._cancel_timer: asyncio.TimerHandle | None = None
        self._killed_for_cancel = False

    def wake(self) -> None:
        self._wake.set()

    def ensure_worker(self) -> WorkerProcess:
        """Start the worker if there is none (called in a thread: spawning takes a moment)."""
        with self._worker_lock:
            if self._worker is None or not self._worker.alive:
                generation = next(self._generations)

                def deliver(message: protocol.WorkerMessage | WorkerExited) -> None:  # in the listening thread
                    self._loop.call_soon_threadsafe(self._route, generation, message)

                self._worker = WorkerProcess(self.name, deliver, self._dispatcher.settings)
                self._worker.start()
                self._generation = generation
            return self._worker

    @property
    def generation(self) -> int | None:
        """Which start of this lane's worker is alive now (None: none is); a restart changes it."""
        return self._generation if self._worker is not None and self._worker.alive else None

    def pick(self, model: str) -> CallWorker:
        return self  # one worker answers every call beside the lane's jobs

    def _route(self, generation: int, message: protocol.WorkerMessage | WorkerExited) -> None:
        """Replies to calls go to their callers and model states are kept; job events and exits go to the relay."""
        if isinstance(message, protocol.CallProgress | protocol.CallResult):
            pending = self._calls.get(message.call_id)
            if pending is not None:  # else its caller went away
                pending.replies.put_nowait(message)
            return
        if isinstance(message, protocol.ModelStates):
            if generation == self._generation:
                self.model_states = message.states
            return
        if isinstance(message, WorkerExited):
            self._fail_calls(generation, message)
        self._inbox.put_nowait(message)

    def _fail_calls(self, generation: int, exited: WorkerExited) -> None:
        if generation == self._generation:
            self.model_states = {}
        error = protocol.CallError(
            Unavailable.__name__,
            f"the {self.name} worker stopped (exit code {exited.exitcode}) before answering; try again",
        )
        for call_id, pending in self._calls.items():
            if pending.generation == generation:
                pending.replies.put_nowait(protocol.CallResult(call_id, error=error))

    async def exchange(
        self, method: str, args: dict[str, Any], wait_s: float
    ) -> AsyncIterator[protocol.CallProgress | protocol.CallResult]:
        worker = await asyncio.to_thread(self.ensure_worker)
        call_id = uuid.uuid4().hex
        pending = _PendingCall(self._generation, asyncio.Queue())
        self._calls[call_id] = pending
        answered = False
        try:
            worker.send(protocol.Call(call_id, method, args, wait_s))
            while True:
                reply = await pending.replies.get()
                answered = isinstance(reply, protocol.CallResult)
                if answered and reply.error is not None:
                    raise protocol.raised(reply.error)
                yield reply
                if answered:
                    return
        finally:
            del self._calls[call_id]
            if not answered:  # the caller went away: free the worker (and the accelerator) for others
                worker.send(protocol.CancelCall(call_id))

    async def run(self) -> None:
        while True:
            await self._dispatcher.resumed.wait()
            self._wake.clear()
            job = await self._service.claim_next(self.name)
            if job is None:
                await self._wake.wait()
                continue
            try:
                await self._execute(job)
            except Exception:  # the lane must outlive any one job's bookkeeping failure
                log.exception("lane %s: job %s could not be finished", self.name, job.id)
                with contextlib.suppress(Exception):
                    await self._service.interrupt(job.id, "the daemon hit an internal error")

    def cancel(self, job_id: str) -> None:
        """Ask the worker to stop at its next step; kill it if it has not stopped within the grace."""
        if self.current is None or self.current.id != job_id or self._worker is None:
            return
        self._worker.send(protocol.CancelJob(job_id))
        if self._cancel_timer is None:
            grace = self._dispatcher.cancel_grace_s
            self._cancel_timer = asyncio.get_running_loop().call_later(grace, self._kill_for_cancel, job_id)

    def _kill_for_cancel(self, job_id: str) -> None:
        if self.current is not None and self.current.id == job_id and self._worker is not None:
            log.warning("job %s ignored its cancel; killing the %s worker", job_id, self.name)
            self._killed_for_cancel = True
            self._worker.kill()

    async def _execute(self, job: JobRecord) -> None:
        worker = await asyncio.to_thread(self.ensure_worker)
        self.current, self._killed_for_cancel = job, False
        scratch = self._media.scratch_dir(job.id, job.attempts)
        try:
            try:
                files, facts = await self._service.gather_inputs(job)
            except FailedPrecondition as error:
                await self._service.fail(job, str(error))
                return
            worker.send(protocol.RunJob(job.id, job.kind, job.request, scratch, files, facts))
            if self._dispatcher.cancel_pending(job.id):
                self.cancel(job.id)
            outcome = await self._relay_until_finished(job)
            await self._settle(job, outcome)
        finally:
            if self._cancel_timer is not None:
                self._cancel_timer.cancel()
                self._cancel_timer = None
            self.current = None
            self._dispatcher.forget_cancel(job.id)
            await asyncio.to_thread(self._media.remove_scratch, job.id, job.attempts)

    async def _relay_until_finished(self, job: JobRecord) -> protocol.JobFinished | WorkerExited:
        while True:
            message = await self._inbox.get()
            if isinstance(message, WorkerExited):
                if self._worker is not None and message.pid == self._worker.pid:
                    return message
                continue  # an earlier worker's exit, already dealt with
            if message.job_id != job.id:
                continue  # a straggler from a job that already ended
            if isinstance(message, protocol.JobFinished):
                return message
            await relay_event(self._service, message)

    async def _settle(self, job: JobRecord, outcome: protocol.JobFinished | WorkerExited) -> None:
        if isinstance(outcome, WorkerExited):
            self._worker = None
            if self._killed_for_cancel:
                await self._service.cancelled(job, "cancelled; the worker did not stop in time and was restarted")
            else:
                await self._service.interrupt(
                    job.id, f"the {self.name} worker process exited (code {outcome.exitcode})"
                )
        else:
            await settle_finished(self._service, job, outcome)

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()


class LocalExecutor:
    """Runs `lanes` in this host's worker processes, one job at a time per lane (the dispatcher stops the lanes)."""

    def __init__(self, lanes: dict[str, Lane]) -> None:
        self.lanes = lanes
        self._tasks: list[asyncio.Task] = []

    def start(self, prestart: tuple[str, ...] = ()) -> None:
        self._tasks = [asyncio.create_task(lane.run(), name=f"lane-{lane.name}") for lane in self.lanes.values()]
        for name in prestart:
            if name in self.lanes:
                self._tasks.append(asyncio.create_task(asyncio.to_thread(self.lanes[name].ensure_worker)))

    def wake(self, lane: str) -> None:
        if lane in self.lanes:
            self.lanes[lane].wake()

    def cancel(self, job_id: str) -> None:
        for lane in self.lanes.values():
            lane.cancel(job_id)

    def model_states(self) -> dict[str, str]:
        return merged_model_states([lane.model_states for lane in self.lanes.values()])

    @property
    def calls(self) -> CallTarget:
        return self.lanes[ACCELERATOR_LANE]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Dispatcher:
    def __init__(
        self,
        service: JobService,
        media: MediaStore,
        *,
        paused: bool,
        cancel_grace_s: float,
        settings: WorkerSettings,
        executor: ExecutorFactory | None = None,
    ) -> None:
        self.settings = settings  # what the workers need of the config: models, the prompt enhancer
        self.service = service
        self.media = media
        self.resumed = asyncio.Event()
        if not paused:
            self.resumed.set()
        self.cancel_grace_s = cancel_grace_s
        self._cancels: set[str] = set()
        # Local lanes exist whatever the executor: a Ray executor runs the CPU lane here, and interactive calls here
        # when no GPU worker can take them.
        self.lanes = {name: Lane(name, service, media, self) for name in LANES}
        self.executor: Executor = LocalExecutor(self.lanes) if executor is None else executor(self)
        service.dispatcher = self

    @property
    def paused(self) -> bool:
        return not self.resumed.is_set()

    def start(self, prestart: tuple[str, ...] = ()) -> None:
        """Start claiming jobs; `prestart` lanes spawn their worker now so the first job does not wait."""
        self.executor.start(prestart)

    def wake(self, lane: str) -> None:
        self.executor.wake(lane)

    @property
    def calls(self) -> CallTarget:
        """Where interactive calls (segmentation, tracking sessions) go: the executor's choice."""
        return self.executor.calls

    def model_states(self) -> dict[str, str]:
        """Where each model is, as the workers last said; it never waits for a busy worker."""
        return merged_model_states([self.executor.model_states(), *(lane.model_states for lane in self.lanes.values())])

    def pause(self) -> None:
        self.resumed.clear()

    def resume(self) -> None:
        self.resumed.set()

    def cancel(self, job_id: str) -> None:
        self._cancels.add(job_id)
        self.executor.cancel(job_id)

    def cancel_pending(self, job_id: str) -> bool:
        return job_id in self._cancels

    def forget_cancel(self, job_id: str) -> None:
        self._cancels.discard(job_id)

    async def stop(self) -> None:
        await self.executor.stop()
        for lane in self.lanes.values():
            await asyncio.to_thread(lane.stop)
