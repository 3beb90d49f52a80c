"""The `inpaint` job kind on images and clips, with masks uploaded, segmented, tracked or saved; tiny checkpoints."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import grpc
import numpy as np
import pytest
from PIL import Image

from milimo.config import ModelConfig
from milimo.errors import InvalidArgument
from milimo.media import ops
from milimo.media.tracks import Track, write_track
from milimo.tasks import inpaint_job
from milimo.tasks.context import TaskCancelled
from milimo.tasks.inputs import TRACK_MIME, InputFile
from milimo.tasks.masks import grow, load_mask
from milimo.tasks.resources import WorkerResources, WorkerSettings
from milimo.v1 import jobs_pb2
from tests.task_context import RecordingContext

SUCCEEDED = jobs_pb2.JOB_STATUS_SUCCEEDED
ENCODING_NOISE = 3.0  # mean absolute difference on 0..255 that one H.264 round trip may add


def inpaint(asset_id: str, model: str = "tiny-flux", **fields: object) -> jobs_pb2.JobRequest:
    values = dict(model=model, asset_id=asset_id, prompt="a red door", steps=2, seed=7)
    values.update(fields)
    return jobs_pb2.JobRequest(inpaint=jobs_pb2.InpaintRequest(**values))


def picture(seed: int, width: int = 32, height: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def box_mask(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def smooth_clip(frames: int = 5, size: int = 64) -> np.ndarray:
    """Gradients with a square sliding across: content that survives H.264 nearly unchanged."""
    y, x = np.mgrid[:size, :size]
    clip = np.zeros((frames, size, size, 3), dtype=np.uint8)
    for index in range(frames):
        clip[index, ..., 0] = x * 3
        clip[index, ..., 1] = y * 3
        clip[index, ..., 2] = 90
        clip[index, 20:36, 8 + 6 * index : 24 + 6 * index] = (230, 220, 40)
    return clip


def tone(frames: int, fps: int, rate: int = 48_000) -> np.ndarray:
    t = np.arange(round(frames / fps * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]


def run_job(client, request: jobs_pb2.JobRequest, target: Path) -> Path:
    job = client.wait(client.submit(request).id)
    assert job.status == SUCCEEDED, job.reason
    assert job.kind == "inpaint"
    return client.download(job.result_asset_ids[0], target)


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def refused(client, request: jobs_pb2.JobRequest) -> str:
    with pytest.raises(grpc.RpcError) as error:
        client.jobs.Submit(jobs_pb2.SubmitJobRequest(request=request))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return error.value.details()


# ---- images, through the daemon -------------------------------------------------------------


def test_an_uploaded_mask_grown_by_grow_pixels_is_all_that_is_repainted(generation_daemon, tmp_path):
    client = generation_daemon.client()
    source = picture(1)
    mask = box_mask(32, 48, (6, 10, 22, 30))
    source_id = client.upload(ops.write_png(tmp_path / "source.png", source)).id
    mask_id = client.upload(ops.write_png(tmp_path / "mask.png", np.where(mask, 255, 0).astype(np.uint8))).id
    request = inpaint(source_id, mask_asset_id=mask_id, grow_pixels=3)
    result = read_png(run_job(client, request, tmp_path / "out.png"))
    assert result.shape == source.shape
    grown = grow(mask, 3)
    assert np.array_equal(result[~grown], source[~grown])
    assert (result[grown] != source[grown]).any(axis=-1).mean() > 0.9
    assert (result[grown & ~mask] != source[grown & ~mask]).any(axis=-1).mean() > 0.9


@pytest.mark.parametrize(
    ("model", "prompt"),
    [
        ("tiny-flux", {"points": [jobs_pb2.PointPrompt(x=16, y=24, label=1)]}),
        ("tiny-klein", {"box": jobs_pb2.Box(x0=4, y0=8, x1=28, y1=40)}),
    ],
)
def test_a_segmentation_prompt_makes_the_mask(generation_daemon, tmp_path, model, prompt):
    client = generation_daemon.client()
    source = picture(3)
    source_id = client.upload(ops.write_png(tmp_path / "source.png", source)).id
    segment = jobs_pb2.SegmentationPrompt(model="tiny-sam2", **prompt)
    result = read_png(run_job(client, inpaint(source_id, model, segment=segment), tmp_path / "out.png"))
    assert result.shape == source.shape and not np.array_equal(result, source)


def test_bad_requests_are_refused_naming_the_field(generation_daemon, tmp_path):
    client = generation_daemon.client()
    source_id = client.upload(ops.write_png(tmp_path / "source.png", picture(4))).id
    small_mask = client.upload(ops.write_png(tmp_path / "mask.png", np.full((16, 16), 255, np.uint8))).id
    by_text = jobs_pb2.SegmentationPrompt(model="tiny-sam2", text="the door")
    assert refused(client, inpaint(source_id, mask_asset_id=small_mask)).startswith("inpaint.mask_asset_id: ")
    assert refused(client, inpaint(source_id, "nope", mask_asset_id=small_mask)).startswith("inpaint.model: ")
    assert refused(client, inpaint(source_id, segment=by_text)).startswith("inpaint.segment.text: ")


def test_a_point_outside_the_image_fails_the_job_naming_it(generation_daemon, tmp_path):
    client = generation_daemon.client()
    source_id = client.upload(ops.write_png(tmp_path / "source.png", picture(5))).id
    segment = jobs_pb2.SegmentationPrompt(model="tiny-sam2", points=[jobs_pb2.PointPrompt(x=40, y=10, label=1)])
    job = client.wait(client.submit(inpaint(source_id, segment=segment)).id)
    assert job.status == jobs_pb2.JOB_STATUS_FAILED and "inpaint.segment.points[0]: " in job.reason
    assert "outside the 32x48 image" in job.reason


# ---- clips, through the daemon --------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = smooth_clip()
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    ops.encode_frames(frames, path, Fraction(24), audio=tone(len(frames), 24))
    return path


def test_a_clip_is_filled_where_the_segment_is_tracked(generation_daemon, clip, tmp_path):
    client = generation_daemon.client()
    clip_id = client.upload(clip).id
    segment = jobs_pb2.SegmentationPrompt(model="tiny-sam2", points=[jobs_pb2.PointPrompt(x=30, y=28, label=1)])
    job = client.submit(inpaint(clip_id, segment=segment, segment_frame=2))
    events = []
    done = client.wait(job.id, on_event=events.append)
    assert done.status == SUCCEEDED, done.reason
    result = client.download(done.result_asset_ids[0], tmp_path / "out.mp4")
    info = ops.probe(result)
    assert (info.frames, info.width, info.height, info.fps, info.has_audio) == (5, 64, 64, Fraction(24), True)
    assert not np.array_equal(ops.read_frames(result), ops.read_frames(clip))
    bars = [(e.progress.step, e.progress.total, e.progress.message) for e in events if e.HasField("progress")]
    filling = [bar for bar in bars if bar[2].startswith("frame ")]
    assert filling[-1][0] == filling[-1][1] and filling[-1][1] % 2 == 0  # one bar: frames × 2 steps


def test_pixels_outside_a_clips_mask_keep_their_values(generation_daemon, clip, tmp_path):
    client = generation_daemon.client()
    mask = box_mask(64, 64, (16, 16, 40, 48))
    clip_id = client.upload(clip).id
    mask_id = client.upload(ops.write_png(tmp_path / "mask.png", np.where(mask, 255, 0).astype(np.uint8))).id
    result = run_job(client, inpaint(clip_id, mask_asset_id=mask_id), tmp_path / "out.mp4")
    before, after = ops.read_frames(clip).astype(np.int16), ops.read_frames(result).astype(np.int16)
    assert after.shape == before.shape
    difference = np.abs(after - before)
    assert difference[:, ~mask].mean() < ENCODING_NOISE
    assert difference[:, mask].mean() > 4 * ENCODING_NOISE


# ---- in process: saved tracks, cancelling, the recorded parameters ---------------------------


@pytest.fixture(scope="module")
def flux_resources(tiny_models: Path) -> WorkerResources:
    flux = ModelConfig(name="tiny-flux", family="flux", path=tiny_models.parent / "tiny-flux", device="cpu")
    return WorkerResources(WorkerSettings(models=(flux,)))


def track_inputs(folder: Path) -> tuple[dict[str, InputFile], np.ndarray]:
    """A 3-frame clip and a saved track of it: object 1 on frames 0 and 2, object 2 on frame 1."""
    clip_path = folder / "clip.mp4"
    ops.encode_frames(smooth_clip(3), clip_path, 24)
    masks = {0: {1: box_mask(64, 64, (8, 8, 32, 32))}, 1: {2: box_mask(64, 64, (0, 0, 8, 8))}}
    masks[2] = {1: box_mask(64, 64, (30, 30, 60, 60))}
    track = Track("a-clip", "tiny-sam2", 64, 64, 3, [1, 2], masks)
    track_path = write_track(track, folder / "track.zip")
    inputs = {
        "a-clip": InputFile("a-clip", "video/mp4", "clip.mp4", path=clip_path),
        "a-track": InputFile("a-track", TRACK_MIME, "track.zip", path=track_path),
    }
    return inputs, ops.read_frames(clip_path)


def test_a_saved_track_fills_its_chosen_objects_and_copies_other_frames(flux_resources, tmp_path):
    inputs, before = track_inputs(tmp_path)
    ctx = RecordingContext(tmp_path, inputs=inputs)
    request = inpaint("a-clip", track_asset_id="a-track", object_ids=[1], grow_pixels=2)
    (output,) = inpaint_job.run(request, ctx, flux_resources)
    after = ops.read_frames(output.path)
    assert after.shape == before.shape
    assert np.abs(after[1].astype(np.int16) - before[1]).mean() < ENCODING_NOISE  # object 2 was not chosen
    assert [step for step in ctx.steps if step[1] == 4] == [(1, 4), (2, 4), (3, 4), (4, 4)]  # 2 frames × 2 steps
    assert output.media["frames"] == 3 and output.media["frames_filled"] == 2
    assert {k: output.media[k] for k in ("track_asset_id", "object_ids", "grow_pixels", "seed", "guidance")} == {
        "track_asset_id": "a-track",
        "object_ids": [1],
        "grow_pixels": 2,
        "seed": 7,
        "guidance": 30.0,  # FLUX.1 Fill's own default
    }


def test_cancel_stops_within_a_frame_and_leaves_no_file(flux_resources, tmp_path):
    inputs, _ = track_inputs(tmp_path)
    ctx = RecordingContext(tmp_path, inputs=inputs, cancel_after_reports=3)  # during the second frame
    with pytest.raises(TaskCancelled):
        inpaint_job.run(inpaint("a-clip", track_asset_id="a-track", object_ids=[1]), ctx, flux_resources)
    assert ctx.steps == [(1, 4), (2, 4), (3, 4)]
    assert not [p for p in tmp_path.iterdir() if "inpainted" in p.name]


# ---- masks ----------------------------------------------------------------------------------


def test_a_mask_png_repaints_what_is_at_least_128(tmp_path):
    gray = np.array([[0, 127, 128, 255]], dtype=np.uint8)
    path = ops.write_png(tmp_path / "mask.png", gray)
    assert load_mask(path, "inpaint.mask_asset_id", (4, 1)).tolist() == [[False, False, True, True]]
    with pytest.raises(InvalidArgument, match=r"^inpaint.mask_asset_id: the mask is 4x1, the source 4x2"):
        load_mask(path, "inpaint.mask_asset_id", (4, 2))


@pytest.mark.parametrize("pixels", [0, 1, 3, 7])
def test_grow_adds_every_pixel_within_the_distance(pixels):
    mask = np.random.default_rng(pixels).random((23, 31)) < 0.02
    rows, cols = np.mgrid[:23, :31]
    expected = np.zeros_like(mask)
    for y, x in zip(*np.nonzero(mask), strict=True):
        expected |= (rows - y) ** 2 + (cols - x) ** 2 <= pixels**2
    assert np.array_equal(grow(mask, pixels), expected)
