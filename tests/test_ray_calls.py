"""Interactive segmentation and tracking sessions with the Ray executor: one GPU worker answers them.

The Ray cluster (a head started by the module, two declared GPUs), the queue (real SQLite), the media store and the
tiny SAM 2 checkpoint are real; the calls go through the same SegmentationService the gRPC servicer uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray
from PIL import Image

from milimo.daemon.media_service import MediaService
from milimo.daemon.segmentation_service import ImageRef, Prompt, SegmentationService
from milimo.errors import SessionEnded
from milimo.media import ops
from milimo.tasks.inputs import TRACK_MIME
from milimo.tasks.registry import ACCELERATOR_LANE
from tests.test_ray_executor import Queue, config_for, executor, ray_executor, ray_head, wait_until

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
    return queue.dispatcher.lanes[ACCELERATOR_LANE].worker_generation is not None


CLICK = Prompt(points=[(20.0, 28.0, 1)])


def test_with_workers_that_get_files_by_transfer_calls_run_on_the_daemons_host(ray_head, tiny_models, tmp_path):
    # First in the module: its queue takes both GPUs and gives them back before `on_ray`.
    config = config_for(tiny_models, tmp_path / "data", executor="ray", ray_address=ray_head, ray_media="transfer")
    queue = Queue(config, ray_executor(config))
    try:
        picture = add_picture(queue)
        masks = queue.call(segmentation(queue).segment("tiny-sam2", ImageRef(picture), CLICK, wait_s=60))
        assert (masks["width"], masks["height"]) == (64, 64) and masks["masks"]
        assert local_lane_started(queue)
        assert all("tiny-sam2" not in states for states in executor(queue).worker_states())
    finally:
        queue.stop()


@pytest.fixture(scope="module")
def on_ray(ray_head: str, tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Queue]:
    data = tmp_path_factory.mktemp("calls") / "data"
    config = config_for(tiny_models, data, executor="ray", ray_address=ray_head)  # one host: media shared
    queue = Queue(config, ray_executor(config))
    yield queue
    queue.stop()


def test_a_segment_call_runs_on_a_gpu_worker(on_ray):
    picture = add_picture(on_ray)
    masks = on_ray.call(segmentation(on_ray).segment("tiny-sam2", ImageRef(picture), CLICK, wait_s=60))
    assert (masks["width"], masks["height"]) == (64, 64) and masks["masks"]
    assert not local_lane_started(on_ray)  # the daemon's host never loaded a model
    holders = [states for states in executor(on_ray).worker_states() if "tiny-sam2" in states]
    assert len(holders) == 1 and holders[0]["tiny-sam2"] in ("on_accelerator", "in_ram")
    assert on_ray.dispatcher.model_states()["tiny-sam2"] == holders[0]["tiny-sam2"]


def test_a_tracking_session_stays_on_its_worker_and_ends_with_it(on_ray):
    service = segmentation(on_ray)
    session = on_ray.call(service.start_tracking("tiny-sam2", add_clip(on_ray), idle_timeout_s=60, wait_s=60))
    assert (session.frames, session.width, session.height) == (6, 64, 64)
    mask = on_ray.call(service.add_prompt(session.id, 0, 1, CLICK, wait_s=60))
    assert mask["object_id"] == 1 and mask["png"]

    async def propagate() -> list[dict]:
        return [payload async for payload in service.propagate(session.id, wait_s=60)]

    progress = on_ray.call(propagate())
    assert progress[-1]["done"] == progress[-1]["total"] == 6
    track = on_ray.call(service.save_track(session.id, "", wait_s=60))
    assert track.mime_type == TRACK_MIME and track.media["object_ids"] == [1]
    matte = on_ray.call(service.export_matte(track.id, [1], "", wait_s=60))
    assert matte.mime_type == "video/mp4" and matte.media["frames"] == 6
    assert not local_lane_started(on_ray)

    answering = next(slot for slot in executor(on_ray)._slots if "tiny-sam2" in slot.model_states)
    ray.kill(answering.actor, no_restart=True)  # its replacement holds none of its sessions
    wait_until(lambda: answering.state != "ready")
    with pytest.raises(SessionEnded, match="the worker restarted"):
        on_ray.call(service.add_prompt(session.id, 0, 2, CLICK, wait_s=60))
    again = on_ray.call(service.start_tracking("tiny-sam2", session.asset_id, idle_timeout_s=60, wait_s=60))
    assert on_ray.call(service.add_prompt(again.id, 0, 1, CLICK, wait_s=60))["object_id"] == 1
