"""Run the accelerator lane on a Ray cluster: one GPU actor per GPU, placed by model affinity.

The daemon stays the only owner of the queue, the database and the media store: it claims a job only when an
actor is free, streams the actor's events into the job's events, and records the outcome. CPU-lane jobs stay
on this host's local lane; interactive calls go to one GPU worker (`RayCalls`). An actor that dies (its process,
its node) interrupts its job, which goes back to the queue under the usual attempt and quarantine rules, and a
replacement actor takes its GPU.

Media: an actor whose node sees the daemon's data directory at the same path reads inputs and writes results
there; any other gets them in chunks from the daemon and sends its results back (`ray_media`, `JobTransfer`).

Nodes come and go: every `NODE_POLL_S` the executor counts the cluster's GPUs, starts an actor for each GPU that
joined, checks that its idle actors still live, and retires the slots whose replacement cannot be placed because
their GPUs left the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import threading
import time
from typing import Any

import ray
from ray.exceptions import RayActorError

from milimo.daemon.executors.placement import choose
from milimo.daemon.executors.ray_calls import RayCalls
from milimo.daemon.executors.ray_media import JobTransfer, TransferCancelled, TransferError
from milimo.daemon.executors.ray_slots import READY, REFUSED, STARTING, TRANSFER, GpuSlot, media_mode, probe_file
from milimo.daemon.executors.ray_worker import GpuWorkerActor
from milimo.daemon.jobs import protocol
from milimo.daemon.jobs.dispatcher import Dispatcher, LocalExecutor, merged_model_states, relay_event, settle_finished
from milimo.daemon.jobs.model import JobRecord
from milimo.errors import FailedPrecondition
from milimo.tasks.registry import ACCELERATOR_LANE, CPU_LANE
from milimo.v1 import jobs_pb2

log = logging.getLogger(__name__)
NAMESPACE = "milimo"
NODE_POLL_S = 3.0  # how often the cluster's GPUs are counted and idle actors checked
PING_TIMEOUT_S = 10.0  # an idle actor that answers nothing this long is left alone, not replaced


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
        self._media_setting = media  # DaemonConfig.ray_media
        self._local = LocalExecutor({CPU_LANE: dispatcher.lanes[CPU_LANE]})
        self.calls = RayCalls(lambda: self._slots, dispatcher.lanes[ACCELERATOR_LANE])
        try:
            ray.init(address=address, namespace=NAMESPACE)
        except (ConnectionError, RuntimeError) as error:
            raise FailedPrecondition(f"cannot reach the Ray cluster at {address}: {error}") from error
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if gpus < 1:
            ray.shutdown()
            raise FailedPrecondition(f"the Ray cluster at {address} has no GPUs; start its workers with --num-gpus")
        self._indices = itertools.count()
        self._slots = [self._new_slot() for _ in range(gpus)]
        self._start_first_actors(address)
        self._wake = asyncio.Event()
        self._slots_lock = asyncio.Lock()  # claiming a free slot vs. the node watcher replacing or retiring one
        self._tasks: set[asyncio.Task] = set()
        self._ray_lock = threading.Lock()
        log.info("Ray executor: %d GPU workers on the cluster at %s", gpus, address)

    def _new_slot(self) -> GpuSlot:
        slot = GpuSlot(next(self._indices))
        slot.take(self._new_actor())
        return slot

    def _new_actor(self) -> Any:
        return GpuWorkerActor.options(num_gpus=1).remote(self._dispatcher.settings)

    def _start_first_actors(self, address: str) -> None:
        """Wait for the first actors and probe them; with ray_media = "shared", refuse to start if one is blind."""
        try:
            nodes = ray.get([slot.actor.node.remote() for slot in self._slots])
            with probe_file(self._media.root) as (path, token):
                reached = ray.get([slot.actor.reaches.remote(str(path), token) for slot in self._slots])
        except RayActorError as error:
            self._kill_actors()
            ray.shutdown()
            raise FailedPrecondition(
                f"the GPU workers could not start on the Ray cluster at {address}: {error}"
            ) from error
        for slot, node, reaches in zip(self._slots, nodes, reached, strict=True):
            self._take_probe(slot, node, reaches)
        refused = [slot.index for slot in self._slots if slot.state == REFUSED]
        if refused:
            self._kill_actors()
            ray.shutdown()
            raise FailedPrecondition(
                f"GPU workers {refused} cannot read the data directory {self._media.root}; mount it at the same "
                'path on every GPU host, or set ray_media = "auto" (--ray-media auto) to send them the files '
                "(see docs/ray.md)"
            )

    def _take_probe(self, slot: GpuSlot, node: str, reaches_data_dir: bool) -> None:
        slot.node = node
        mode = media_mode(self._media_setting, reaches_data_dir)
        if mode is None:
            slot.state = REFUSED
            log.error(
                "%s on node %s cannot read the data directory %s; it stays idle (ray_media = shared)",
                slot.name,
                node[:8],
                self._media.root,
            )
            return
        slot.state, slot.media = READY, mode
        log.info("%s ready on node %s (media: %s)", slot.name, node[:8], mode)

    # ---- Executor ----------------------------------------------------------------------------

    def start(self, prestart: tuple[str, ...] = ()) -> None:
        self._local.start(prestart)
        self._spawn(self._claim_loop(), "ray-accelerator")
        self._spawn(self._watch_nodes(), "ray-nodes")

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
        """Each GPU worker's model states, in the order of its slot (what affinity placement sees)."""
        return [dict(slot.model_states) for slot in self._slots]

    def worker_nodes(self) -> list[str]:
        """The Ray node of each GPU worker that takes jobs now."""
        return [slot.node for slot in self._slots if slot.state == READY]

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
        await asyncio.to_thread(self._disconnect)

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
            async with self._slots_lock:
                claimed = await self._claim()
            if not claimed:
                await self._wake.wait()  # set when a job is queued or a slot frees

    async def _claim(self) -> bool:
        """Claim the next job if a slot is free, and start it there."""
        free = [slot for slot in self._slots if slot.free]
        if not free:
            return False
        job = await self._service.claim_next(ACCELERATOR_LANE)
        if job is None:
            return False
        slot = choose(free, model_of(job))
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
        record = functools.partial(relay_event, self._service)
        how = "inputs sent to it" if slot.media == TRANSFER else "media shared"
        await record(protocol.Log(job.id, "info", f"running on {slot.name} (node {slot.node[:8]}, {how})"))
        scratch = self._media.scratch_dir(job.id, job.attempts)
        transfer = JobTransfer(slot.actor, slot.name, job.id, job.attempts, record) if slot.media == TRANSFER else None
        try:
            if transfer is None:
                run = protocol.RunJob(job.id, job.kind, job.request, scratch, files, facts)
            else:
                there, worker_scratch = await transfer.send_inputs(
                    files, lambda: self._dispatcher.cancel_pending(job.id)
                )
                run = protocol.RunJob(job.id, job.kind, job.request, worker_scratch, there, facts)
            finished = await self._follow(slot, run)
            if transfer is not None and finished.outcome == "succeeded":
                finished = await transfer.fetch_outputs(finished, run.scratch_dir, scratch)
        except RayActorError as error:
            await self._replace(slot, error)
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
            if transfer is not None:
                await transfer.drop_job()
        await settle_finished(self._service, job, finished)

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

    # ---- actors coming and going -------------------------------------------------------------

    async def _replace(self, slot: GpuSlot, error: Exception) -> None:
        log.warning("Ray %s died (%s); starting a replacement", slot.name, error)
        slot.model_states, slot.state, slot.node, slot.media = {}, STARTING, "", ""
        slot.take(await asyncio.to_thread(self._new_actor))
        slot.bring_up = self._spawn(self._bring_up(slot), f"ray-start-{slot.index}")

    async def _bring_up(self, slot: GpuSlot) -> None:
        """Wait until the slot's new actor is placed, probe it, and let it take jobs; an actor that dies while
        starting is started again after a pause (the node watcher retires the slot if its GPU left)."""
        while True:
            try:
                node = await slot.actor.node.remote()
                with probe_file(self._media.root) as (path, token):
                    reaches = await slot.actor.reaches.remote(str(path), token)
            except RayActorError as error:
                log.warning("Ray %s died while starting (%s); trying again in %.0f s", slot.name, error, NODE_POLL_S)
                await asyncio.sleep(NODE_POLL_S)
                slot.take(await asyncio.to_thread(self._new_actor))
                continue
            self._take_probe(slot, node, reaches)
            slot.bring_up = None
            self._wake.set()
            return

    async def _watch_nodes(self) -> None:
        while True:
            await asyncio.sleep(NODE_POLL_S)
            try:
                gpus = await asyncio.to_thread(self._count_gpus)
                await self._replace_dead_idle_actors()
                async with self._slots_lock:
                    self._match_gpus(gpus)
            except Exception:  # the watcher must outlive a failed look at the cluster
                log.exception("could not check the Ray cluster's GPUs")

    def _count_gpus(self) -> int:
        with self._ray_lock:  # a count still running when the executor stops must not meet `ray.shutdown`
            return int(ray.cluster_resources().get("GPU", 0))

    def _disconnect(self) -> None:
        with self._ray_lock:
            ray.shutdown()

    async def _replace_dead_idle_actors(self) -> None:
        """An idle actor whose process or node died is replaced before a job is sent to it."""
        idle = [(slot, slot.actor) for slot in self._slots if slot.free]
        deaths = await asyncio.gather(*(_death_of(actor) for _, actor in idle))
        async with self._slots_lock:
            for (slot, actor), death in zip(idle, deaths, strict=True):
                if death is not None and slot.actor is actor and slot.free and slot in self._slots:
                    await self._replace(slot, death)

    def _match_gpus(self, gpus: int) -> None:
        """One slot per GPU of the cluster: start slots for GPUs that joined; retire, for GPUs that left, idle
        slots that cannot work (their actor is not placed, or cannot read the data directory)."""
        for _ in range(gpus - len(self._slots)):
            slot = self._new_slot()
            self._slots.append(slot)
            log.info("a GPU joined the Ray cluster; starting %s", slot.name)
            slot.bring_up = self._spawn(self._bring_up(slot), f"ray-start-{slot.index}")
        unusable = [slot for slot in self._slots if slot.state != READY and not slot.busy]
        for slot in unusable[: max(len(self._slots) - gpus, 0)]:
            why = "its actor could not be placed" if slot.state == STARTING else "it cannot read the data directory"
            log.warning("retiring Ray %s: the cluster has %d GPU(s) now and %s", slot.name, gpus, why)
            if slot.bring_up is not None:
                slot.bring_up.cancel()
            _kill(slot.actor)
            self._slots.remove(slot)

    def _kill_actors(self) -> None:
        for slot in self._slots:
            _kill(slot.actor)


def _kill(actor: Any) -> None:
    """Kill `actor` for good; one already gone is fine."""
    with contextlib.suppress(Exception):
        ray.kill(actor, no_restart=True)


async def _death_of(actor: Any) -> RayActorError | None:
    """Why `actor` is dead, or None: it answered, or did not answer in time (it may just be slow)."""
    try:
        await asyncio.wait_for(asyncio.wrap_future(actor.node.remote().future()), PING_TIMEOUT_S)
    except RayActorError as error:
        return error
    except TimeoutError:
        pass
    return None
