"""Run the accelerator lane on a Ray cluster: one GPU actor per GPU, placed by model affinity.

The daemon stays the only owner of the queue, the database and the media store: it claims a job only when an
actor is free, streams the actor's events into the job's events, and records the outcome. CPU-lane jobs stay
on this host's local lane. An actor that dies (its process, its node) interrupts its job, which goes back to the
queue under the usual attempt and quarantine rules, and a replacement actor takes its GPU.

Media: actors read inputs and write outputs in the daemon's data directory, which must be the same path on
every GPU host (a shared filesystem, or one host): checked when the executor starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import ray
from ray.exceptions import RayActorError

from milimo.daemon.executors.placement import Slot, choose
from milimo.daemon.executors.ray_worker import GpuWorkerActor
from milimo.daemon.jobs import protocol
from milimo.daemon.jobs.dispatcher import Dispatcher, LocalExecutor, merged_model_states, relay_event, settle_finished
from milimo.daemon.jobs.model import JobRecord
from milimo.errors import FailedPrecondition
from milimo.tasks.registry import ACCELERATOR_LANE, CPU_LANE
from milimo.v1 import jobs_pb2

log = logging.getLogger(__name__)
NAMESPACE = "milimo"


@dataclass
class _GpuSlot(Slot):
    actor: Any = None  # the live actor's handle
    job_id: str | None = None
    killed_for_cancel: bool = False


def model_of(job: JobRecord) -> str:
    """The model a job names ("" for none): what affinity places it by."""
    request = jobs_pb2.JobRequest.FromString(job.request)
    which = request.WhichOneof("kind")
    return getattr(getattr(request, which), "model", "") if which else ""


class RayExecutor:
    def __init__(self, dispatcher: Dispatcher, address: str) -> None:
        self._dispatcher = dispatcher
        self._service = dispatcher.service
        self._media = dispatcher.media
        self._local = LocalExecutor({CPU_LANE: dispatcher.lanes[CPU_LANE]})
        try:
            ray.init(address=address, namespace=NAMESPACE)
        except (ConnectionError, RuntimeError) as error:
            raise FailedPrecondition(f"cannot reach the Ray cluster at {address}: {error}") from error
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if gpus < 1:
            ray.shutdown()
            raise FailedPrecondition(f"the Ray cluster at {address} has no GPUs; start its workers with --num-gpus")
        self._slots = [_GpuSlot(index) for index in range(gpus)]
        for slot in self._slots:
            slot.actor = self._new_actor()
        self._check_shared_data_dir()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        log.info("Ray executor: %d GPU workers on the cluster at %s", gpus, address)

    def _new_actor(self) -> Any:
        return GpuWorkerActor.options(num_gpus=1).remote(self._dispatcher.settings)

    def _check_shared_data_dir(self) -> None:
        """Every actor must see the daemon's data directory at the same path (the chunked transfer is not built)."""
        token = secrets.token_hex(16)
        probe = self._media.root / f".ray-probe-{token}"
        probe.write_text(token)
        try:
            reached = ray.get([slot.actor.reaches.remote(str(probe), token) for slot in self._slots])
        finally:
            probe.unlink(missing_ok=True)
        if not all(reached):
            missing = [slot.index for slot, ok in zip(self._slots, reached, strict=True) if not ok]
            self._kill_actors()
            ray.shutdown()
            raise FailedPrecondition(
                f"GPU workers {missing} cannot read the data directory {self._media.root}; mount it at the same "
                "path on every GPU host (see docs/ray.md)"
            )

    # ---- Executor ----------------------------------------------------------------------------

    def start(self, prestart: tuple[str, ...] = ()) -> None:
        self._local.start(prestart)
        self._tasks.add(asyncio.create_task(self._claim_loop(), name="ray-accelerator"))

    def wake(self, lane: str) -> None:
        if lane == ACCELERATOR_LANE:
            self._wake.set()
        else:
            self._local.wake(lane)

    def cancel(self, job_id: str) -> None:
        self._local.cancel(job_id)
        for slot in self._slots:
            if slot.job_id == job_id:
                slot.actor.cancel.remote(job_id)
                grace = self._dispatcher.cancel_grace_s
                asyncio.get_running_loop().call_later(grace, self._kill_for_cancel, slot, job_id)

    def model_states(self) -> dict[str, str]:
        return merged_model_states([self._local.model_states(), *(slot.model_states for slot in self._slots)])

    def worker_states(self) -> list[dict[str, str]]:
        """Each GPU worker's model states, by GPU index (what affinity placement sees)."""
        return [dict(slot.model_states) for slot in self._slots]

    def actor_running(self, job_id: str) -> Any:
        """The handle of the actor running `job_id` (None: none is), e.g. to kill it."""
        return next((slot.actor for slot in self._slots if slot.job_id == job_id), None)

    async def stop(self) -> None:
        await self._local.stop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._kill_actors()
        await asyncio.to_thread(ray.shutdown)

    # ---- running jobs ------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while True:
            await self._dispatcher.resumed.wait()
            self._wake.clear()
            if all(slot.busy for slot in self._slots):
                await self._wake.wait()  # set when a slot frees
                continue
            job = await self._service.claim_next(ACCELERATOR_LANE)
            if job is None:
                await self._wake.wait()
                continue
            slot = choose(self._slots, model_of(job))
            assert slot is not None  # only this loop takes slots, and one was free
            slot.busy, slot.job_id, slot.killed_for_cancel = True, job.id, False
            task = asyncio.create_task(self._execute(slot, job), name=f"ray-job-{job.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _execute(self, slot: _GpuSlot, job: JobRecord) -> None:
        try:
            await self._run_on(slot, job)
        except Exception:  # the executor must outlive any one job's bookkeeping failure
            log.exception("GPU worker %d: job %s could not be finished", slot.index, job.id)
            with contextlib.suppress(Exception):
                await self._service.interrupt(job.id, "the daemon hit an internal error")
        finally:
            slot.busy, slot.job_id, slot.last_used = False, None, time.monotonic()
            self._dispatcher.forget_cancel(job.id)
            await asyncio.to_thread(self._media.remove_scratch, job.id, job.attempts)
            self._wake.set()

    async def _run_on(self, slot: _GpuSlot, job: JobRecord) -> None:
        try:
            files, facts = await self._service.gather_inputs(job)
        except FailedPrecondition as error:
            await self._service.fail(job, str(error))
            return
        scratch = self._media.scratch_dir(job.id, job.attempts)
        run = protocol.RunJob(job.id, job.kind, job.request, scratch, files, facts)
        events = slot.actor.run.options(num_returns="streaming").remote(run)
        if self._dispatcher.cancel_pending(job.id):
            self.cancel(job.id)
        try:
            async for ref in events:
                message = await ref
                if isinstance(message, protocol.ModelStates):
                    slot.model_states = message.states
                elif isinstance(message, protocol.JobFinished):
                    await settle_finished(self._service, job, message)
                    return
                else:
                    await relay_event(self._service, message)
        except RayActorError as error:
            await self._replace(slot, error)
            if slot.killed_for_cancel:
                await self._service.cancelled(job, "cancelled; the GPU worker did not stop in time and was restarted")
            else:
                await self._service.interrupt(job.id, f"the Ray GPU worker {slot.index} died ({type(error).__name__})")
            return
        raise RuntimeError(f"GPU worker {slot.index} ended job {job.id}'s stream without finishing it")

    async def _replace(self, slot: _GpuSlot, error: Exception) -> None:
        log.warning("Ray GPU worker %d died (%s); starting a replacement", slot.index, error)
        slot.model_states = {}
        slot.actor = await asyncio.to_thread(self._new_actor)

    def _kill_for_cancel(self, slot: _GpuSlot, job_id: str) -> None:
        if slot.job_id == job_id:
            log.warning("job %s ignored its cancel; killing Ray GPU worker %d", job_id, slot.index)
            slot.killed_for_cancel = True
            ray.kill(slot.actor, no_restart=True)

    def _kill_actors(self) -> None:
        for slot in self._slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor, no_restart=True)
