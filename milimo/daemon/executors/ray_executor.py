"""Run the accelerator lane on a Ray cluster: one GPU actor per GPU, placed by model affinity.

The daemon stays the only owner of the queue, the database and the media store: it claims a job only when an
actor is free, streams the actor's events into the job's events, and records the outcome. CPU-lane jobs stay
on this host's local lane; interactive calls are spread over the GPU workers (`RayCalls`). An actor that dies
(its process, its node) interrupts its job, which goes back to the queue under the usual attempt and quarantine
rules, and a replacement actor takes its GPU.

Media: an actor whose node sees the daemon's data directory at the same path reads inputs and writes results
there; any other gets them in chunks from the daemon and sends its results back (`ray_media`, `JobTransfer`).
The actors themselves (started, probed, replaced, retired as nodes come and go) are the pool's (`GpuPool`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayActorError

from milimo.daemon.executors.placement import choose
from milimo.daemon.executors.ray_calls import RayCalls
from milimo.daemon.executors.ray_media import JobTransfer, Report, TransferCancelled, TransferError, job_dir_name
from milimo.daemon.executors.ray_pool import GpuPool
from milimo.daemon.executors.ray_slots import READY, TRANSFER, GpuSlot
from milimo.daemon.executors.ray_worker_files import KEEP_RESULTS_S
from milimo.daemon.jobs import protocol
from milimo.daemon.jobs.dispatcher import Dispatcher, LocalExecutor, merged_model_states, relay_event, settle_finished
from milimo.daemon.jobs.model import JobRecord
from milimo.errors import FailedPrecondition
from milimo.tasks.inputs import InputFile
from milimo.tasks.registry import ACCELERATOR_LANE, CPU_LANE
from milimo.v1 import jobs_pb2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeftResults:
    """A succeeded job attempt's results on a worker that died while the daemon fetched them: still on the disk of
    its host (`ray_worker_files.KEEP_RESULTS_S`), where a worker on that node can adopt them."""

    node: str
    attempt: int
    finished: protocol.JobFinished  # its outputs at their paths under `scratch`
    scratch: Path  # the attempt's scratch dir on the worker
    since: float  # monotonic

    @property
    def name(self) -> str:
        """The attempt's job dir on the worker."""
        return job_dir_name(self.finished.job_id, self.attempt)

    def moved_to(self, scratch: Path) -> LeftResults:
        """The same results in another scratch dir: where a worker that adopted them keeps them."""
        outputs = tuple(
            dataclasses.replace(output, path=scratch / output.path.relative_to(self.scratch))
            for output in self.finished.outputs
        )
        return dataclasses.replace(self, finished=dataclasses.replace(self.finished, outputs=outputs), scratch=scratch)


@dataclass
class _Attempt:
    """What one run of a job on a GPU worker leaves to clean up or remember, whatever stops it."""

    record: Report  # records one event of the job
    transfer: JobTransfer | None = None  # its files on the worker, dropped when it ends
    left: LeftResults | None = None  # succeeded results on the worker's host, should the worker die


def model_of(job: JobRecord) -> str:
    """The model a job names ("" for none): what affinity places it by."""
    request = jobs_pb2.JobRequest.FromString(job.request)
    which = request.WhichOneof("kind")
    return getattr(getattr(request, which), "model", "") if which else ""


class RayExecutor:
    def __init__(self, dispatcher: Dispatcher, address: str, media: str = "auto") -> None:
        self._dispatcher = dispatcher
        self._service = dispatcher.service
        self._media = dispatcher.media
        self._local = LocalExecutor({CPU_LANE: dispatcher.lanes[CPU_LANE]})
        self._wake = asyncio.Event()  # set when a job is queued or a slot frees or comes up
        self._tasks: set[asyncio.Task] = set()
        self._pool = GpuPool(address, dispatcher.settings, self._media.root, media, self._wake.set)
        self.calls = RayCalls(lambda: self.slots, dispatcher.lanes[ACCELERATOR_LANE])
        self._left: dict[str, LeftResults] = {}  # by job id

    @property
    def slots(self) -> list[GpuSlot]:
        """The GPU workers, one per GPU of the cluster."""
        return self._pool.slots

    # ---- Executor ----------------------------------------------------------------------------

    def start(self, prestart: tuple[str, ...] = ()) -> None:
        self._local.start(prestart)
        self._spawn(self._claim_loop(), "ray-accelerator")
        self._spawn(self._pool.watch_nodes(self._spawn), "ray-nodes")

    def wake(self, lane: str) -> None:
        if lane == ACCELERATOR_LANE:
            self._wake.set()
        else:
            self._local.wake(lane)

    def cancel(self, job_id: str) -> None:
        self._local.cancel(job_id)
        for slot in self.slots:
            if slot.job_id == job_id:
                slot.actor.cancel.remote(job_id)
                grace = self._dispatcher.cancel_grace_s
                asyncio.get_running_loop().call_later(grace, self._kill_for_cancel, slot, job_id)

    def model_states(self) -> dict[str, str]:
        return merged_model_states([self._local.model_states(), *(slot.model_states for slot in self.slots)])

    def worker_states(self) -> list[dict[str, str]]:
        """Each GPU worker's model states, in the order of its slot (what affinity placement sees)."""
        return [dict(slot.model_states) for slot in self.slots]

    def worker_nodes(self) -> list[str]:
        """The Ray node of each GPU worker that takes jobs now."""
        return [slot.node for slot in self.slots if slot.state == READY]

    def actor_running(self, job_id: str) -> Any:
        """The handle of the actor running `job_id` (None: none is), e.g. to kill it."""
        return next((slot.actor for slot in self.slots if slot.job_id == job_id), None)

    async def stop(self) -> None:
        await self._local.stop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pool.kill_all()
        await asyncio.to_thread(self._pool.disconnect)

    def _spawn(self, coroutine: Any, name: str) -> asyncio.Task:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- running jobs ------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while True:
            await self._dispatcher.resumed.wait()
            self._wake.clear()
            async with self._pool.lock:
                claimed = await self._claim()
            if not claimed:
                await self._wake.wait()  # set when a job is queued or a slot frees

    async def _claim(self) -> bool:
        """Claim the next job if a slot is free, and start it there."""
        free = [slot for slot in self.slots if slot.free]
        if not free:
            return False
        job = await self._service.claim_next(ACCELERATOR_LANE)
        if job is None:
            return False
        left = self._left.get(job.id)
        by_results = [slot for slot in free if left and slot.node == left.node and slot.media == TRANSFER]
        slot = choose(by_results or free, model_of(job))  # a worker beside results left by a dead one fetches them
        assert slot is not None  # the lock kept every slot in `free` free
        slot.busy, slot.job_id, slot.killed_for_cancel = True, job.id, False
        self._spawn(self._execute(slot, job), f"ray-job-{job.id}")
        return True

    async def _execute(self, slot: GpuSlot, job: JobRecord) -> None:
        try:
            await self._run_on(slot, job)
        except Exception:  # the executor must outlive any one job's bookkeeping failure
            log.exception("%s: job %s could not be finished", slot.name, job.id)
            with contextlib.suppress(Exception):
                await self._service.interrupt(job.id, "the daemon hit an internal error")
        finally:
            slot.busy, slot.job_id, slot.last_used = False, None, time.monotonic()
            self._dispatcher.forget_cancel(job.id)
            await asyncio.to_thread(self._media.remove_scratch, job.id, job.attempts)
            self._wake.set()

    async def _run_on(self, slot: GpuSlot, job: JobRecord) -> None:
        try:
            files, facts = await self._service.gather_inputs(job)
        except FailedPrecondition as error:
            await self._service.fail(job, str(error))
            return
        scratch = self._media.scratch_dir(job.id, job.attempts)
        attempt = _Attempt(functools.partial(relay_event, self._service), left=self._left.pop(job.id, None))
        try:
            finished = None
            if attempt.left is not None and slot.node == attempt.left.node and slot.media == TRANSFER:
                finished = await self._fetch_again(slot, job, scratch, attempt)
            if finished is None:
                finished = await self._render(slot, job, files, facts, scratch, attempt)
        except RayActorError as error:
            await self._pool.replace(slot, error, self._spawn)
            if attempt.left is not None:  # the results are still on the host's disk: the next attempt fetches them
                self._leave(job.id, attempt.left)
            if slot.killed_for_cancel:
                await self._service.cancelled(job, "cancelled; the GPU worker did not stop in time and was restarted")
            else:
                await self._service.interrupt(job.id, f"the Ray {slot.name} died ({type(error).__name__})")
            return
        except TransferCancelled:
            await self._service.cancelled(job, "cancelled while its inputs were sent to the GPU worker")
            return
        except TransferError as error:
            await self._service.interrupt(job.id, str(error))
            return
        finally:
            if attempt.transfer is not None:
                await attempt.transfer.drop_job()
        await settle_finished(self._service, job, finished)

    async def _fetch_again(
        self, slot: GpuSlot, job: JobRecord, scratch: Path, attempt: _Attempt
    ) -> protocol.JobFinished | None:
        """The results a dead worker on the slot's node left, adopted by the slot's worker and fetched into
        `scratch`; None when they are gone."""
        left = attempt.left
        assert left is not None
        there = await slot.actor.adopt_results.remote(left.name)
        if there is None:
            attempt.left = None  # gone (or never kept): render the job again
            return None
        attempt.left = left.moved_to(Path(there))
        attempt.transfer = JobTransfer(slot.actor, slot.name, job.id, left.attempt, attempt.record)
        message = f"fetching the results of attempt {left.attempt} again from {slot.name}: they outlived the worker"
        await attempt.record(protocol.Log(job.id, "info", f"{message} that made them"))
        return await attempt.transfer.fetch_outputs(attempt.left.finished, attempt.left.scratch, scratch)

    async def _render(
        self,
        slot: GpuSlot,
        job: JobRecord,
        files: dict[str, InputFile],
        facts: dict[str, Any],
        scratch: Path,
        attempt: _Attempt,
    ) -> protocol.JobFinished:
        """Run the job on the slot's worker, its inputs sent there and its results fetched when it lacks the data
        directory."""
        how = "inputs sent to it" if slot.media == TRANSFER else "media shared"
        await attempt.record(protocol.Log(job.id, "info", f"running on {slot.name} (node {slot.node[:8]}, {how})"))
        if slot.media != TRANSFER:
            return await self._follow(slot, protocol.RunJob(job.id, job.kind, job.request, scratch, files, facts))
        attempt.transfer = transfer = JobTransfer(slot.actor, slot.name, job.id, job.attempts, attempt.record)
        there, worker_scratch = await transfer.send_inputs(files, lambda: self._dispatcher.cancel_pending(job.id))
        run = protocol.RunJob(job.id, job.kind, job.request, worker_scratch, there, facts)
        finished = await self._follow(slot, run)
        if finished.outcome != "succeeded":
            return finished
        attempt.left = LeftResults(slot.node, job.attempts, finished, worker_scratch, time.monotonic())
        return await transfer.fetch_outputs(finished, worker_scratch, scratch)

    def _leave(self, job_id: str, results: LeftResults) -> None:
        """Remember results left on a dead worker's host, for as long as hosts keep them."""
        now = time.monotonic()
        for stale in [key for key, left in self._left.items() if now - left.since > KEEP_RESULTS_S]:
            del self._left[stale]
        self._left[job_id] = results

    async def _follow(self, slot: GpuSlot, run: protocol.RunJob) -> protocol.JobFinished:
        """Run the job on the slot's actor, relaying its events, until it finishes."""
        events = slot.actor.run.options(num_returns="streaming").remote(run)
        if self._dispatcher.cancel_pending(run.job_id):
            self.cancel(run.job_id)
        async for ref in events:
            message = await ref
            if isinstance(message, protocol.ModelStates):
                slot.model_states = message.states
            elif isinstance(message, protocol.JobFinished):
                return message
            else:
                await relay_event(self._service, message)
        raise RuntimeError(f"{slot.name} ended job {run.job_id}'s stream without finishing it")

    def _kill_for_cancel(self, slot: GpuSlot, job_id: str) -> None:
        if slot.job_id == job_id:
            log.warning("job %s ignored its cancel; killing Ray %s", job_id, slot.name)
            slot.killed_for_cancel = True
            ray.kill(slot.actor, no_restart=True)
