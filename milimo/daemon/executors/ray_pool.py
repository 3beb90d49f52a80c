"""The Ray cluster's GPUs as the executor's slots: one actor per GPU, started, probed, replaced and retired.

Each new actor (at start, a replacement, a GPU that joined) is probed for media before it takes jobs: whether its
node reads the daemon's data directory (`ray_slots.probe_file`). At start, with `ray_media = "shared"`, a worker
that cannot refuses the daemon's start. Nodes come and go: every `NODE_POLL_S` the pool counts the cluster's GPUs,
starts an actor for each GPU that joined, checks that its idle actors still live, and retires the slots whose
replacement cannot be placed because their GPUs left the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayActorError

from milimo.daemon.executors.ray_slots import READY, REFUSED, STARTING, GpuSlot, media_mode, probe_file
from milimo.daemon.executors.ray_worker import GpuWorkerActor
from milimo.errors import FailedPrecondition
from milimo.tasks.resources import WorkerSettings

log = logging.getLogger(__name__)
NAMESPACE = "milimo"  # the Ray namespace of the daemon's actors
NODE_POLL_S = 3.0  # how often the cluster's GPUs are counted and idle actors checked
PING_TIMEOUT_S = 10.0  # an idle actor that answers nothing this long is left alone, not replaced

Spawn = Callable[[Coroutine[Any, Any, Any], str], asyncio.Task]  # runs a coroutine as one of the executor's tasks


class GpuPool:
    """Connects to the cluster at `address` and starts one probed actor per GPU, or raises FailedPrecondition."""

    def __init__(
        self, address: str, settings: WorkerSettings, data_dir: Path, media_setting: str, ready: Callable[[], None]
    ) -> None:
        self._settings = settings
        self._data_dir = data_dir
        self._media_setting = media_setting  # DaemonConfig.ray_media
        self._ready = ready  # told when a slot can take jobs
        try:
            ray.init(address=address, namespace=NAMESPACE)
        except (ConnectionError, RuntimeError) as error:
            raise FailedPrecondition(f"cannot reach the Ray cluster at {address}: {error}") from error
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if gpus < 1:
            ray.shutdown()
            raise FailedPrecondition(f"the Ray cluster at {address} has no GPUs; start its workers with --num-gpus")
        self._indices = itertools.count()
        self.slots = [self._new_slot() for _ in range(gpus)]
        self._start_first_actors(address)
        self.lock = asyncio.Lock()  # claiming a free slot vs. the node watcher replacing or retiring one
        self._ray_lock = threading.Lock()
        log.info("Ray executor: %d GPU workers on the cluster at %s", gpus, address)

    def _new_slot(self) -> GpuSlot:
        slot = GpuSlot(next(self._indices))
        slot.take(self._new_actor())
        return slot

    def _new_actor(self) -> Any:
        return GpuWorkerActor.options(num_gpus=1).remote(self._settings)

    def _start_first_actors(self, address: str) -> None:
        """Wait for the first actors and probe them; with ray_media = "shared", refuse to start if one is blind."""
        try:
            nodes = ray.get([slot.actor.node.remote() for slot in self.slots])
            with probe_file(self._data_dir) as (path, token):
                reached = ray.get([slot.actor.reaches.remote(str(path), token) for slot in self.slots])
        except RayActorError as error:
            self.kill_all()
            ray.shutdown()
            raise FailedPrecondition(
                f"the GPU workers could not start on the Ray cluster at {address}: {error}"
            ) from error
        for slot, node, reaches in zip(self.slots, nodes, reached, strict=True):
            self._take_probe(slot, node, reaches)
        refused = [slot.index for slot in self.slots if slot.state == REFUSED]
        if refused:
            self.kill_all()
            ray.shutdown()
            raise FailedPrecondition(
                f"GPU workers {refused} cannot read the data directory {self._data_dir}; mount it at the same "
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
                self._data_dir,
            )
            return
        slot.state, slot.media = READY, mode
        log.info("%s ready on node %s (media: %s)", slot.name, node[:8], mode)

    async def replace(self, slot: GpuSlot, error: Exception, spawn: Spawn) -> None:
        """Start a new actor for `slot`, whose actor died; it takes jobs once placed and probed."""
        log.warning("Ray %s died (%s); starting a replacement", slot.name, error)
        slot.model_states, slot.state, slot.node, slot.media = {}, STARTING, "", ""
        slot.take(await asyncio.to_thread(self._new_actor))
        slot.bring_up = spawn(self._bring_up(slot), f"ray-start-{slot.index}")

    async def _bring_up(self, slot: GpuSlot) -> None:
        """Wait until the slot's new actor is placed, probe it, and let it take jobs; an actor that dies while
        starting is started again after a pause (the node watcher retires the slot if its GPU left)."""
        while True:
            try:
                node = await slot.actor.node.remote()
                with probe_file(self._data_dir) as (path, token):
                    reaches = await slot.actor.reaches.remote(str(path), token)
            except RayActorError as error:
                log.warning("Ray %s died while starting (%s); trying again in %.0f s", slot.name, error, NODE_POLL_S)
                await asyncio.sleep(NODE_POLL_S)
                slot.take(await asyncio.to_thread(self._new_actor))
                continue
            self._take_probe(slot, node, reaches)
            slot.bring_up = None
            self._ready()
            return

    async def watch_nodes(self, spawn: Spawn) -> None:
        """Follow the cluster's GPUs and the idle actors' health, for as long as the executor runs."""
        while True:
            await asyncio.sleep(NODE_POLL_S)
            try:
                gpus = await asyncio.to_thread(self._count_gpus)
                await self._replace_dead_idle_actors(spawn)
                async with self.lock:
                    self._match_gpus(gpus, spawn)
            except Exception:  # the watcher must outlive a failed look at the cluster
                log.exception("could not check the Ray cluster's GPUs")

    def _count_gpus(self) -> int:
        with self._ray_lock:  # a count still running when the executor stops must not meet `ray.shutdown`
            return int(ray.cluster_resources().get("GPU", 0))

    def disconnect(self) -> None:
        with self._ray_lock:
            ray.shutdown()

    async def _replace_dead_idle_actors(self, spawn: Spawn) -> None:
        """An idle actor whose process or node died is replaced before a job is sent to it."""
        idle = [(slot, slot.actor) for slot in self.slots if slot.free]
        deaths = await asyncio.gather(*(_death_of(actor) for _, actor in idle))
        async with self.lock:
            for (slot, actor), death in zip(idle, deaths, strict=True):
                if death is not None and slot.actor is actor and slot.free and slot in self.slots:
                    await self.replace(slot, death, spawn)

    def _match_gpus(self, gpus: int, spawn: Spawn) -> None:
        """One slot per GPU of the cluster: start slots for GPUs that joined; retire, for GPUs that left, idle
        slots that cannot work (their actor is not placed, or cannot read the data directory)."""
        for _ in range(gpus - len(self.slots)):
            slot = self._new_slot()
            self.slots.append(slot)
            log.info("a GPU joined the Ray cluster; starting %s", slot.name)
            slot.bring_up = spawn(self._bring_up(slot), f"ray-start-{slot.index}")
        unusable = [slot for slot in self.slots if slot.state != READY and not slot.busy]
        for slot in unusable[: max(len(self.slots) - gpus, 0)]:
            why = "its actor could not be placed" if slot.state == STARTING else "it cannot read the data directory"
            log.warning("retiring Ray %s: the cluster has %d GPU(s) now and %s", slot.name, gpus, why)
            if slot.bring_up is not None:
                slot.bring_up.cancel()
            kill(slot.actor)
            self.slots.remove(slot)

    def kill_all(self) -> None:
        for slot in self.slots:
            kill(slot.actor)


def kill(actor: Any) -> None:
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
