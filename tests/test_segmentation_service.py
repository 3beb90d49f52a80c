"""The Segmentation service end to end: a real daemon with tiny SAM 3 and SAM 2 checkpoints, over loopback gRPC."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import time
from fractions import Fraction
from pathlib import Path

import av
import grpc
import numpy as np
import pytest
from PIL import Image

from milimo.client import Client
from milimo.media.ops import encode_frames
from milimo.tasks.inputs import TRACK_MIME
from milimo.v1 import jobs_pb2
from milimo.v1 import segmentation_pb2 as seg
from tests.daemon_process import DaemonProcess

W, H, FRAMES = 64, 48, 9
SAM_MODELS = ["tiny-sam2", "tiny-sam3"]


@pytest.fixture(scope="module")
def client(generation_daemon: DaemonProcess) -> Client:
    return generation_daemon.client()


def scene(frame: int) -> np.ndarray:
    """A dark frame with a light square moving right and a gray disc standing still."""
    pixels = np.full((H, W, 3), 30, dtype=np.uint8)
    pixels[10:26, 8 + 2 * frame : 24 + 2 * frame] = 220
    yy, xx = np.mgrid[:H, :W]
    pixels[(yy - 34) ** 2 + (xx - 48) ** 2 < 36] = 140
    return pixels


@pytest.fixture(scope="module")
def image_id(client: Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("segmentation") / "still.png"
    Image.fromarray(scene(0)).save(path)
    return client.upload(path).id


@pytest.fixture(scope="module")
def clip_id(client: Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("segmentation") / "clip.mp4"
    encode_frames((scene(i) for i in range(FRAMES)), path, Fraction(24))
    return client.upload(path).id


def decoded(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        assert image.mode == "L"
        return np.asarray(image)


def assert_masks(masks, count_at_least: int = 1) -> None:
    assert len(masks) >= count_at_least
    for rank, found in enumerate(masks):
        pixels = decoded(found.png)
        assert pixels.shape == (H, W) and set(np.unique(pixels)) <= {0, 255}
        assert found.object_id == rank and np.isfinite(found.score)
        assert 0 <= found.box.x0 <= found.box.x1 <= W and 0 <= found.box.y0 <= found.box.y1 <= H
    scores = [m.score for m in masks]
    assert scores == sorted(scores, reverse=True)


def point(x: float, y: float, label: int = 1) -> jobs_pb2.PointPrompt:
    return jobs_pb2.PointPrompt(x=x, y=y, label=label)


def box(x0: float, y0: float, x1: float, y1: float) -> jobs_pb2.Box:
    return jobs_pb2.Box(x0=x0, y0=y0, x1=x1, y1=y1)


def rpc_error(call, request, **options) -> grpc.RpcError:
    """The error a call answers with (a streaming call's, once its stream is read)."""
    with pytest.raises(grpc.RpcError) as error:
        result = call(request, **options)
        if hasattr(result, "__next__"):
            list(result)
    return error.value


def worker_pids(daemon: DaemonProcess) -> list[int]:
    """The daemon's worker processes (spawned children; not multiprocessing's resource tracker)."""
    assert daemon.process is not None
    threads = Path(f"/proc/{daemon.process.pid}/task").iterdir()  # a worker is the child of the thread that spawned it
    children = [pid for thread in threads for pid in (thread / "children").read_text().split()]
    return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


@pytest.mark.parametrize("model", SAM_MODELS)
def test_points_and_a_box_give_masks_of_the_image_size(client: Client, image_id: str, model: str):
    source = seg.ImageSource(asset_id=image_id)
    by_point = client.segmentation.Segment(seg.SegmentRequest(model=model, image=source, points=[point(16, 18)]))
    assert (by_point.width, by_point.height) == (W, H)
    assert_masks(by_point.masks, count_at_least=2)  # one point is ambiguous: several candidates
    by_box = client.segmentation.Segment(seg.SegmentRequest(model=model, image=source, box=box(6, 8, 26, 28)))
    assert_masks(by_box.masks)


def test_text_and_detect_on_sam3(client: Client, image_id: str, clip_id: str):
    source = seg.ImageSource(asset_id=image_id)
    by_text = client.segmentation.Segment(seg.SegmentRequest(model="tiny-sam3", image=source, text="square"))
    assert_masks(by_text.masks)
    frame = seg.ImageSource(asset_id=clip_id, frame_index=FRAMES - 1)  # a video's frame stands for an image
    detected = client.segmentation.Detect(
        seg.DetectRequest(model="tiny-sam3", image=frame, text="disc", threshold=0.01)
    )
    assert (detected.width, detected.height) == (W, H)
    assert_masks(detected.masks)


@pytest.mark.parametrize("model", SAM_MODELS)
def test_a_tracking_session_runs_its_whole_lifecycle(
    client: Client, clip_id: str, model: str, tmp_path: Path, generation_daemon: DaemonProcess
):
    sam = client.segmentation
    session = sam.StartTracking(seg.StartTrackingRequest(model=model, asset_id=clip_id, idle_timeout_s=60))
    assert session.id.startswith("t-") and (session.frames, session.width, session.height) == (FRAMES, W, H)
    assert not session.object_ids and not session.propagated

    first = sam.AddTrackingPrompt(
        seg.AddTrackingPromptRequest(session_id=session.id, frame_index=2, object_id=1, box=box(10, 8, 30, 28))
    )
    second = sam.AddTrackingPrompt(
        seg.AddTrackingPromptRequest(session_id=session.id, frame_index=4, object_id=2, points=[point(48, 34)])
    )
    assert (first.object_id, second.object_id) == (1, 2) and decoded(first.png).shape == (H, W)

    def propagate() -> dict[int, dict[int, bytes]]:
        events = list(sam.Propagate(seg.PropagateRequest(session_id=session.id)))
        assert (events[0].done, events[0].total) == (0, FRAMES) and not events[0].HasField("masks")
        assert [e.done for e in events] == list(range(FRAMES + 1)) and {e.total for e in events} == {FRAMES}
        frames = [e.masks for e in events[1:]]
        assert sorted(f.frame_index for f in frames) == list(range(FRAMES))  # one FrameMasks per frame
        return {f.frame_index: {o.object_id: decoded(o.png).tobytes() for o in f.objects} for f in frames}

    both = propagate()
    assert all(set(objects) == {1, 2} for objects in both.values())
    removed = sam.RemoveTrackedObject(seg.RemoveTrackedObjectRequest(session_id=session.id, object_id=2))
    assert list(removed.object_ids) == [1] and not removed.propagated
    propagated = propagate()
    assert all(set(objects) == {1} for objects in propagated.values())

    track = sam.SaveTrack(seg.SaveTrackRequest(session_id=session.id))
    assert track.mime_type == TRACK_MIME and (track.media.width, track.media.height) == (W, H)
    assert track.media.frames == FRAMES
    with sqlite3.connect(generation_daemon.data_dir / "milimo.db") as db:  # what the inpaint job's rules read
        (media,) = db.execute("SELECT media FROM assets WHERE id = ?", (track.id,)).fetchone()
    assert json.loads(media) == {
        "width": W,
        "height": H,
        "frames": FRAMES,
        "fps_num": 24,
        "fps_den": 1,
        "source_asset_id": clip_id,
        "object_ids": [1],
        "model": model,
    }

    read = list(sam.ReadTrack(seg.ReadTrackRequest(asset_id=track.id)))
    header = read[0].header
    assert (header.source_asset_id, header.model, header.frames, header.width, header.height) == (
        clip_id,
        model,
        FRAMES,
        W,
        H,
    )
    assert list(header.object_ids) == [1] and not read[0].HasField("masks")
    back = {r.masks.frame_index: {o.object_id: decoded(o.png).tobytes() for o in r.masks.objects} for r in read[1:]}
    assert back == propagated  # the saved masks load back identically

    matte = sam.ExportMatte(seg.ExportMatteRequest(track_asset_id=track.id))
    assert matte.mime_type == "video/mp4"
    with av.open(str(client.download(matte.id, tmp_path / "matte.mp4"))) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (W, H)
        assert Fraction(stream.average_rate) == 24
        lumas = [frame.to_ndarray(format="gray") for frame in container.decode(stream)]
    assert len(lumas) == FRAMES
    for index, luma in enumerate(lumas):  # white where the object is, black elsewhere, within encoding noise
        object_pixels = np.frombuffer(propagated[index][1], dtype=np.uint8).reshape(H, W) > 0
        if 0 < object_pixels.sum() < object_pixels.size // 2:
            assert luma[object_pixels].mean() > luma[~object_pixels].mean() + 100

    sam.StopTracking(seg.StopTrackingRequest(session_id=session.id))
    ended = rpc_error(sam.Propagate, seg.PropagateRequest(session_id=session.id))
    assert ended.code() == grpc.StatusCode.NOT_FOUND
    ended = rpc_error(sam.RemoveTrackedObject, seg.RemoveTrackedObjectRequest(session_id=session.id, object_id=1))
    assert ended.code() == grpc.StatusCode.NOT_FOUND


def test_a_propagation_stops_when_its_caller_goes_away(client: Client, tmp_path: Path):
    """Cancelling Propagate stops the worker at its next frame instead of tracking to the end while holding the
    accelerator: the session is left unpropagated (calls run in order, so SaveTrack waits for it to stop)."""
    path = tmp_path / "long.mp4"
    encode_frames((scene(i % 20) for i in range(120)), path, Fraction(24))
    sam = client.segmentation
    session = sam.StartTracking(seg.StartTrackingRequest(model="tiny-sam2", asset_id=client.upload(path).id))
    sam.AddTrackingPrompt(seg.AddTrackingPromptRequest(session_id=session.id, object_id=1, points=[point(16, 18)]))
    stream = sam.Propagate(seg.PropagateRequest(session_id=session.id))
    assert [next(stream).done, next(stream).done] == [0, 1]
    stream.cancel()

    unsaved = rpc_error(sam.SaveTrack, seg.SaveTrackRequest(session_id=session.id))
    assert unsaved.code() == grpc.StatusCode.FAILED_PRECONDITION and "propagate" in unsaved.details()
    removed = sam.RemoveTrackedObject(seg.RemoveTrackedObjectRequest(session_id=session.id, object_id=1))
    assert not removed.object_ids  # the session still answers
    sam.StopTracking(seg.StopTrackingRequest(session_id=session.id))


def test_an_idle_session_times_out(client: Client, clip_id: str):
    sam = client.segmentation
    session = sam.StartTracking(seg.StartTrackingRequest(model="tiny-sam2", asset_id=clip_id, idle_timeout_s=10))
    time.sleep(11)  # the shortest idle timeout a session may ask for
    prompt = seg.AddTrackingPromptRequest(session_id=session.id, object_id=1, points=[point(16, 18)])
    error = rpc_error(sam.AddTrackingPrompt, prompt)
    assert error.code() == grpc.StatusCode.NOT_FOUND and "idle for 10 s" in error.details()
    again = rpc_error(sam.AddTrackingPrompt, prompt)  # the daemon has forgotten it too
    assert again.code() == grpc.StatusCode.NOT_FOUND


def test_bad_requests_name_the_field(client: Client, image_id: str, clip_id: str):
    sam = client.segmentation
    image = seg.ImageSource(asset_id=image_id)
    session = sam.StartTracking(seg.StartTrackingRequest(model="tiny-sam2", asset_id=clip_id, idle_timeout_s=60))
    cases = [
        (sam.Segment, seg.SegmentRequest(model="tiny-sam2", image=image, text="square"), "text"),
        (sam.Detect, seg.DetectRequest(model="tiny-sam2", image=image, text="square"), "text"),
        (sam.Segment, seg.SegmentRequest(model="tiny-sam3", image=image, points=[point(W + 5, 3)]), "points[0]"),
        (sam.Segment, seg.SegmentRequest(model="tiny-sam3", image=image, box=box(30, 8, 10, 28)), "box"),
        (sam.Segment, seg.SegmentRequest(model="nope", image=image, points=[point(3, 3)]), "model"),
        (sam.Segment, seg.SegmentRequest(model="tiny-flux", image=image, points=[point(3, 3)]), "model"),
        (sam.Segment, seg.SegmentRequest(model="tiny-sam2", image=image), "points"),
        (
            sam.Segment,
            seg.SegmentRequest(
                model="tiny-sam2", image=seg.ImageSource(asset_id=clip_id, frame_index=FRAMES), points=[point(3, 3)]
            ),
            "image.frame_index",
        ),
        (
            sam.AddTrackingPrompt,
            seg.AddTrackingPromptRequest(session_id=session.id, frame_index=FRAMES, object_id=1, box=box(1, 1, 9, 9)),
            "frame_index",
        ),
        (
            sam.AddTrackingPrompt,
            seg.AddTrackingPromptRequest(session_id=session.id, object_id=1, text="square"),
            "text",
        ),
        (sam.StartTracking, seg.StartTrackingRequest(model="tiny-sam2", asset_id=image_id), "asset_id"),
        (sam.StartTracking, seg.StartTrackingRequest(model="tiny-sam2", asset_id=clip_id, idle_timeout_s=5), "idle"),
        (sam.SaveTrack, seg.SaveTrackRequest(session_id=session.id, project_id="p-0000000000000000"), "project_id"),
        (sam.ReadTrack, seg.ReadTrackRequest(asset_id=clip_id), "asset_id"),
    ]
    for call, request, field in cases:
        error = rpc_error(call, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (field, error.details())
        assert error.details().startswith(field), (field, error.details())
    not_propagated = rpc_error(sam.SaveTrack, seg.SaveTrackRequest(session_id=session.id))
    assert not_propagated.code() == grpc.StatusCode.FAILED_PRECONDITION and "propagate" in not_propagated.details()
    unknown = rpc_error(sam.Propagate, seg.PropagateRequest(session_id="t-0000000000000000"))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    sam.StopTracking(seg.StopTrackingRequest(session_id=session.id))


def test_a_call_waits_for_the_running_job_only_until_its_deadline(client: Client, image_id: str):
    still = jobs_pb2.ImageRequest(model="tiny-flux", prompt="a long wait", width=512, height=512, steps=200, seed=1)
    job = client.submit(jobs_pb2.JobRequest(image=still))
    try:
        deadline = time.monotonic() + 120
        while client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job.id)).progress.step < 1:  # it holds the accelerator
            assert time.monotonic() < deadline, "the job never started denoising"
            time.sleep(0.05)
        request = seg.SegmentRequest(model="tiny-sam2", image=seg.ImageSource(asset_id=image_id), points=[point(9, 9)])
        busy = rpc_error(client.segmentation.Segment, request, timeout=3)
        assert busy.code() == grpc.StatusCode.UNAVAILABLE and job.id in busy.details()
    finally:
        client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.id))
        client.wait(job.id)


def test_sessions_end_when_the_worker_restarts(client: Client, clip_id: str, generation_daemon: DaemonProcess):
    sam = client.segmentation
    session = sam.StartTracking(seg.StartTrackingRequest(model="tiny-sam2", asset_id=clip_id, idle_timeout_s=60))
    workers = worker_pids(generation_daemon)
    assert len(workers) == 2  # the accelerator lane's and the CPU lane's
    for pid in workers:  # the daemon restarts its workers on demand
        os.kill(pid, signal.SIGKILL)
    prompt = seg.AddTrackingPromptRequest(session_id=session.id, object_id=1, points=[point(16, 18)])
    deadline = time.monotonic() + 30
    while True:
        error = rpc_error(sam.AddTrackingPrompt, prompt)
        if error.code() == grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # a call racing the worker's death may hear UNAVAILABLE first
    assert error.code() == grpc.StatusCode.NOT_FOUND and "the worker restarted" in error.details()
    # A fresh worker answers the next calls.
    again = sam.StartTracking(seg.StartTrackingRequest(model="tiny-sam2", asset_id=clip_id, idle_timeout_s=60))
    sam.StopTracking(seg.StopTrackingRequest(session_id=again.id))
