"""Interactive segmentation and tracking sessions with the Ray executor: spread over the GPU workers, each session
kept by the worker that started it, by the data directory's paths where its host shares it, else with the files
sent over and fetched back.

The Ray cluster (a head started by the module, two declared GPUs), the queue (real SQLite), the media store and the
tiny SAM 2 checkpoint are real; the calls go through the same SegmentationService the gRPC servicer uses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray
from PIL import Image

from milimo.daemon.executors.ray_worker_files import CALL_PREFIX, host_root
from milimo.daemon.media_service import MediaService
from milimo.daemon.media_store import sha256_of
from milimo.daemon.segmentation_service import ImageRef, Prompt, SegmentationService
from milimo.errors import SessionEnded
from milimo.media import ops
from milimo.tasks.registry import ACCELERATOR_LANE
from tests.test_ray_executor import Queue, config_for, executor, ray_executor, ray_head, wait_until, worker_files_parent

pytestmark = pytest.mark.timeout(300)
__all__ = ["ray_head"]  # the module's own Ray head (a fixture)


def square(frame: int) -> np.ndarray:
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[16:40, 8 + 4 * frame : 32 + 4 * frame] = 255
    return pixels


def add_asset(queue: Queue, name: str, mime_type: str) -> str:
    return queue.call(MediaService(queue.db, queue.media).import_path(f"incoming/{name}", "", mime_type)).id


def add_picture(queue: Queue) -> str:
    (queue.media.root / "incoming").mkdir(parents=True, exist_ok=True)
    Image.fromarray(square(0)).save(queue.media.root / "incoming" / "square.png")
    return add_asset(queue, "square.png", "image/png")


def add_clip(queue: Queue) -> str:
    (queue.media.root / "incoming").mkdir(parents=True, exist_ok=True)
    ops.encode_frames((square(n) for n in range(6)), queue.media.root / "incoming" / "clip.mp4", 24)
    return add_asset(queue, "clip.mp4", "video/mp4")


def segmentation(queue: Queue) -> SegmentationService:
    return SegmentationService(queue.db, queue.media, queue.dispatcher, {m.name: m for m in queue.config.models})


def local_lane_started(queue: Queue) -> bool:
    return queue.dispatcher.lanes[ACCELERATOR_LANE].generation is not None


CLICK = Prompt(points=[(20.0, 28.0, 1)])


def answers(queue: Queue) -> dict[str, Any]:
    """A still segmented, then a clip tracked, saved and exported as a matte: what each call gave."""
    service = segmentation(queue)
    still = queue.call(service.segment("tiny-sam2", ImageRef(add_picture(queue)), CLICK, wait_s=60))
    session = queue.call(service.start_tracking("tiny-sam2", add_clip(queue), idle_timeout_s=60, wait_s=60))
    prompted = queue.call(service.add_prompt(session.id, 0, 1, CLICK, wait_s=60))

    async def propagate() -> list[dict[str, Any]]:
        return [payload async for payload in service.propagate(session.id, wait_s=60)]

    propagated = queue.call(propagate())
    track = queue.call(service.save_track(session.id, "", wait_s=60))
    matte = queue.call(service.export_matte(track.id, [1], "", wait_s=60))
    return {
        "session": (session.frames, session.width, session.height),
        "still": [mask["png"] for mask in still["masks"]],
        "prompted": prompted["png"],
        "propagated": [[o["png"] for o in p["objects"]] for p in propagated if "objects" in p],
        "track": (track.mime_type, track.media["object_ids"], track.media["frames"]),
        "matte": (matte.mime_type, matte.media["frames"], matte.media["width"]),
    }


@pytest.fixture(scope="module")
def by_transfer(ray_head: str, tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`answers` from GPU workers that get their files by transfer (what a host without the data directory gets)."""
    data = tmp_path_factory.mktemp("transfer") / "data"
    config = config_for(tiny_models, data, executor="ray", ray_address=ray_head, ray_media="transfer")
    queue = Queue(config, ray_executor(config))
    try:
        given = answers(queue)
        given["local lane started"] = local_lane_started(queue)
        given["held by workers"] = [states.get("tiny-sam2", "") for states in executor(queue).worker_states()]
        root = host_root(worker_files_parent())
        given["call dirs left"] = list((root / "workers").glob(f"*/{CALL_PREFIX}*"))
        read = [sha256_of(queue.media.root / "incoming" / name) for name in ("square.png", "clip.mp4")]
        given["sent"] = all((root / "inputs" / sha).is_file() for sha in read)  # to the host's input cache
        given["scratch left"] = list(queue.media.scratch.iterdir())
        return given
    finally:
        queue.stop()


@pytest.fixture(scope="module")
def on_ray(
    by_transfer: dict[str, Any], ray_head: str, tiny_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Queue]:
    # After `by_transfer`, whose queue has given the cluster's GPUs back.
    data = tmp_path_factory.mktemp("calls") / "data"
    config = config_for(tiny_models, data, executor="ray", ray_address=ray_head)  # one host: media shared
    queue = Queue(config, ray_executor(config))
    yield queue
    queue.stop()


def test_calls_on_workers_without_the_data_dir_send_their_files_and_give_what_shared_media_gives(on_ray, by_transfer):
    assert not by_transfer["local lane started"]  # the daemon's host never loaded a model
    assert sorted(by_transfer["held by workers"])[-1] in ("on_accelerator", "in_ram")
    assert by_transfer["sent"] and by_transfer["call dirs left"] == [] and by_transfer["scratch left"] == []
    shared = answers(on_ray)
    assert shared == {key: by_transfer[key] for key in shared}
    assert shared["session"] == (6, 64, 64) and shared["track"][1:] == ([1], 6) and shared["matte"][1] == 6


def test_a_segment_call_runs_on_a_gpu_worker(on_ray):
    picture = add_picture(on_ray)
    masks = on_ray.call(segmentation(on_ray).segment("tiny-sam2", ImageRef(picture), CLICK, wait_s=60))
    assert (masks["width"], masks["height"]) == (64, 64) and masks["masks"]
    assert not local_lane_started(on_ray)  # the daemon's host never loaded a model
    holders = [states for states in executor(on_ray).worker_states() if "tiny-sam2" in states]
    assert len(holders) == 1 and holders[0]["tiny-sam2"] in ("on_accelerator", "in_ram")
    assert on_ray.dispatcher.model_states()["tiny-sam2"] == holders[0]["tiny-sam2"]


def test_a_tracking_session_ends_with_the_worker_that_holds_it(on_ray):
    service = segmentation(on_ray)
    session = on_ray.call(service.start_tracking("tiny-sam2", add_clip(on_ray), idle_timeout_s=60, wait_s=60))
    assert on_ray.call(service.add_prompt(session.id, 0, 1, CLICK, wait_s=60))["object_id"] == 1

    async def first_of_propagation() -> dict[str, Any]:  # then the caller goes away: the call is abandoned
        async with contextlib.aclosing(service.propagate(session.id, wait_s=60)) as payloads:
            return await anext(payloads)

    assert on_ray.call(first_of_propagation())["total"] == 6
    assert on_ray.call(service.add_prompt(session.id, 0, 1, CLICK, wait_s=60))["object_id"] == 1  # worker free
    answering = next(slot for slot in executor(on_ray).slots if "tiny-sam2" in slot.model_states)
    ray.kill(answering.actor, no_restart=True)  # its replacement holds none of its sessions
    wait_until(lambda: answering.state != "ready")
    with pytest.raises(SessionEnded, match="the worker restarted"):
        on_ray.call(service.add_prompt(session.id, 0, 2, CLICK, wait_s=60))
    again = on_ray.call(service.start_tracking("tiny-sam2", session.asset_id, idle_timeout_s=60, wait_s=60))
    assert on_ray.call(service.add_prompt(again.id, 0, 1, CLICK, wait_s=60))["object_id"] == 1
    assert not local_lane_started(on_ray)


def test_calls_are_spread_over_the_workers_and_each_session_stays_with_its_own(on_ray):
    service = segmentation(on_ray)
    wait_until(lambda: all(slot.state == "ready" for slot in executor(on_ray).slots))
    clip, picture = add_clip(on_ray), add_picture(on_ray)
    first = on_ray.call(service.start_tracking("tiny-sam2", clip, idle_timeout_s=60, wait_s=60))
    on_ray.call(service.add_prompt(first.id, 0, 1, CLICK, wait_s=60))

    async def while_propagating() -> tuple[dict[str, Any], Any]:
        """A still segmented and a second session started while the first session's propagation is in flight."""
        async with contextlib.aclosing(service.propagate(first.id, wait_s=60)) as payloads:
            await anext(payloads)
            still = await service.segment("tiny-sam2", ImageRef(picture), CLICK, wait_s=60)
            second = await service.start_tracking("tiny-sam2", clip, idle_timeout_s=60, wait_s=60)
            return still, second

    still, second = on_ray.call(while_propagating())
    assert still["masks"]
    holders = [states for states in executor(on_ray).worker_states() if "tiny-sam2" in states]
    assert len(holders) == 2  # the other worker loaded the model for the calls made meanwhile

    ray.kill(executor(on_ray).slots[0].actor, no_restart=True)  # one of the two sessions goes with it
    wait_until(lambda: executor(on_ray).slots[0].state != "ready")
    ended = []
    for session in (first, second):
        try:
            assert on_ray.call(service.add_prompt(session.id, 0, 2, CLICK, wait_s=60))["object_id"] == 2
        except SessionEnded:
            ended.append(session.id)
    assert len(ended) == 1  # the session on the other worker still answers there


def test_a_new_call_goes_to_the_least_busy_ready_worker():
    from milimo.daemon.executors.ray_calls import RayCalls, SlotCalls
    from milimo.daemon.executors.ray_slots import GpuSlot

    def slot(index: int, **state: Any) -> GpuSlot:
        return GpuSlot(index, state=state.pop("state", "ready"), media=state.pop("media", "shared"), **state)

    local = object()
    slots = [
        slot(0, calls=1, model_states={"tiny-sam2": "on_accelerator"}),
        slot(1, busy=True, model_states={"tiny-sam2": "in_ram"}),
        slot(2),
        slot(3, media="transfer"),
        slot(4, state="starting"),
    ]
    calls = RayCalls(lambda: slots, local)  # type: ignore[arg-type]

    def picked(model: str) -> int | object:
        worker = calls.pick(model)
        return worker.slot.index if isinstance(worker, SlotCalls) else worker

    assert picked("tiny-sam2") == 1  # fewest calls in flight, then holding the model, even beside a job
    assert picked("") == 2  # without a job, then sharing the data directory
    slots[2].calls = slots[3].calls = 1
    assert picked("") == 1
    for each in slots:
        each.state = "starting"
    assert picked("tiny-sam2") is local  # no worker ready: the daemon's own lane
