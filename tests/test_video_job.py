"""The `video` job kind end to end, on the shared daemon with every tiny model: conditions, LoRAs, any frame count,
chained shots with their audio, cancel mid-chunk, the checks at submit, and the recipe a result records."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import grpc
import numpy as np
import pytest
from PIL import Image

from milimo.config import ModelConfig
from milimo.media.ops import encode_frames, probe
from milimo.tasks import video_job
from milimo.tasks.inputs import InputFile
from milimo.tasks.resources import WorkerResources, WorkerSettings
from milimo.v1 import common_pb2, jobs_pb2, media_pb2, models_pb2
from tests.helpers import wait_for, wait_status
from tests.models.lora import random_lora
from tests.task_context import RecordingContext

SUCCEEDED, CANCELLED = jobs_pb2.JOB_STATUS_SUCCEEDED, jobs_pb2.JOB_STATUS_CANCELLED


@pytest.fixture
def client(generation_daemon):
    return generation_daemon.client()


def shot(model: str = "tiny-ltx", **fields: object) -> jobs_pb2.JobRequest:
    values = dict(model=model, prompt="a paper boat on a rain puddle", width=64, height=64, frames=9, steps=2, seed=3)
    values.update(fields)
    values.setdefault("fps", common_pb2.Rational(num=24))
    return jobs_pb2.JobRequest(video=jobs_pb2.VideoShotRequest(**values))


def render(client, request: jobs_pb2.JobRequest, target: Path) -> tuple[jobs_pb2.Job, list[jobs_pb2.JobEvent]]:
    """Submit, follow every event to the end, and download the result to `target`."""
    job = client.submit(request)
    events = list(client.watch(job.id))
    done = client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job.id))
    assert done.status == SUCCEEDED, done.reason
    client.download(done.result_asset_ids[0], target)
    return done, events


def logs(events: list[jobs_pb2.JobEvent]) -> list[str]:
    return [e.log.message for e in events if e.HasField("log")]


def decoded(path: Path) -> tuple[int, int, int, Fraction, bool]:
    """Frames counted by decoding, size, frame rate, and whether there is sound."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        has_audio = bool(container.streams.audio)
        return frames, stream.codec_context.width, stream.codec_context.height, Fraction(stream.average_rate), has_audio


def assert_sound_fits_pictures(path: Path) -> None:
    info = probe(path)
    assert info.audio_duration is not None
    assert abs(info.audio_duration - info.frames / info.fps) <= 1 / info.fps


def test_a_shot_has_the_size_frames_and_fps_asked_for(client, tmp_path):
    """Any frame count: 12 is not 8k+1, so the model makes 17 and the last 5 go."""
    _, events = render(client, shot(frames=12, width=96, fps=common_pb2.Rational(num=25)), tmp_path / "shot.mp4")
    assert decoded(tmp_path / "shot.mp4") == (12, 96, 64, Fraction(25), False)
    steps = [e.progress for e in events if e.HasField("progress")]
    assert steps[-1].step == steps[-1].total and any(p.message.startswith("step 2/2") for p in steps)


def test_the_same_seed_gives_the_same_shot(client):
    first, second = (client.wait(client.submit(shot(seed=11)).id) for _ in range(2))
    sha = [client.media.Stat(media_pb2.StatRequest(asset_id=j.result_asset_ids[0])).sha256 for j in (first, second)]
    assert sha[0] == sha[1]


# ---- conditions and LoRAs -----------------------------------------------------------------------------


def png(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> Path:
    Image.new("RGB", size, color).save(path)
    return path


def clip(path: Path, frames: int = 12) -> Path:
    """A small clip of another size than the shot's, so the job must fit it."""
    ramp = np.linspace(0, 255, frames).astype(np.uint8)
    encode_frames((np.full((48, 80, 3), v, np.uint8) for v in ramp), path, 24)
    return path


@pytest.mark.parametrize("case", ["image", "clip", "keyframes"])
def test_conditions_from_uploaded_assets(client, tmp_path, case):
    if case == "image":  # a PNG of another size, at the first frame: image to video
        asset = client.upload(png(tmp_path / "start.png", (100, 60), (200, 40, 40)))
        conditions, frames, pipeline = [jobs_pb2.Conditioning(asset_id=asset.id)], 9, "image to video"
    elif case == "clip":  # nine frames of a clip, from its third, at frame 8, at half strength
        asset = client.upload(clip(tmp_path / "clip.mp4"))
        conditions = [
            jobs_pb2.Conditioning(asset_id=asset.id, frame_index=8, strength=0.5, source_start_frame=2, source_frames=9)
        ]
        frames, pipeline = 17, "condition"
    else:  # first and last keyframes of a 12-frame shot: interpolation
        first = client.upload(png(tmp_path / "first.png", (64, 64), (0, 0, 255)))
        last = client.upload(png(tmp_path / "last.png", (64, 64), (255, 255, 0)))
        conditions = [
            jobs_pb2.Conditioning(asset_id=first.id, frame_index=0),
            jobs_pb2.Conditioning(asset_id=last.id, frame_index=11),
        ]
        frames, pipeline = 12, "condition"
    _, events = render(client, shot(frames=frames, conditions=conditions), tmp_path / "shot.mp4")
    assert decoded(tmp_path / "shot.mp4") == (frames, 64, 64, Fraction(24), False)
    assert f"tiny-ltx: {pipeline}" in logs(events)


def test_a_lora_asset_changes_the_shot(client, tiny_models, tmp_path):
    from diffusers import LTXPipeline, LTXVideoTransformer3DModel

    transformer = LTXVideoTransformer3DModel.from_pretrained(tiny_models.parent / "tiny-ltx" / "transformer")
    lora = client.upload(random_lora(LTXPipeline, transformer, tmp_path))
    plain, _ = render(client, shot(seed=5), tmp_path / "plain.mp4")
    styled, _ = render(client, shot(seed=5, loras=[jobs_pb2.LoraRef(asset_id=lora.id)]), tmp_path / "lora.mp4")
    assert decoded(tmp_path / "lora.mp4") == (9, 64, 64, Fraction(24), False)
    shas = [client.media.Stat(media_pb2.StatRequest(asset_id=j.result_asset_ids[0])).sha256 for j in (plain, styled)]
    assert shas[0] != shas[1]


def test_a_control_video_drives_an_ltx2_shot(client, tmp_path):
    """IC-LoRA control: the clip's 12 frames at the shot's size, cut to the 9 the VAE encodes (8k+1)."""
    control = client.upload(clip(tmp_path / "depth.mp4"))
    request = shot("tiny-ltx2", frames=12, control_asset_id=control.id, control_strength=0.8)
    _, events = render(client, request, tmp_path / "shot.mp4")
    assert decoded(tmp_path / "shot.mp4") == (12, 64, 64, Fraction(24), True)
    assert_sound_fits_pictures(tmp_path / "shot.mp4")
    assert "tiny-ltx2: in context" in logs(events)


# ---- chained shots ----------------------------------------------------------------------------------------


def chained(model: str = "tiny-ltx", frames: int = 33, steps: int = 2, **fields: object) -> jobs_pb2.JobRequest:
    """In chunks of 17 overlapping by 9; 33 frames: frames 0-16, then 17-24, then 25-32."""
    fields.setdefault("chain", jobs_pb2.ChainOptions(chunk_frames=17, overlap_frames=9))
    return shot(model, frames=frames, steps=steps, **fields)


def test_a_chained_shot_has_exactly_its_frames_and_sound_in_step(client, tmp_path):
    """30 frames: chunks make frames 0-16, 17-24 and 25-29 (the last one's 3 extra frames dropped at the tail)."""
    _, events = render(client, chained("tiny-ltx2", frames=30), tmp_path / "long.mp4")
    assert decoded(tmp_path / "long.mp4") == (30, 64, 64, Fraction(24), True)
    assert_sound_fits_pictures(tmp_path / "long.mp4")
    done = [line for line in logs(events) if line.startswith("chunk ")]
    assert done == ["chunk 1/3: frames 0-16 done", "chunk 2/3: frames 17-24 done", "chunk 3/3: frames 25-29 done"]
    bar = [e.progress for e in events if e.HasField("progress") and e.progress.message.startswith("chunk")]
    assert {p.total for p in bar} == {6} and bar[-1].step == 6 and bar[-1].message == "chunk 3/3 · step 2/2"


def test_cancel_in_the_middle_of_chunk_two(client, generation_daemon):
    job = client.submit(chained(steps=20))
    for event in client.watch(job.id):
        if event.HasField("progress") and event.progress.message.startswith("chunk 2/3"):
            client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.id))
            break
    done = wait_status(client, job.id, CANCELLED, timeout=60)
    assert not done.result_asset_ids and done.progress.step < 40  # chunk 2 did not finish
    scratch = generation_daemon.data_dir / "scratch"
    wait_for(lambda: not any(p.name.startswith(job.id) for p in scratch.iterdir()), 10, "the scratch files to go")


# ---- checks at submit -------------------------------------------------------------------------------------


def test_bad_requests_name_the_field(client, tmp_path):
    still = client.upload(png(tmp_path / "still.png", (64, 64), (9, 9, 9)))
    moving = client.upload(clip(tmp_path / "moving.mp4"))
    for request, field in [
        (shot("nope"), "video.model"),
        (shot("tiny-flux"), "video.model"),
        (shot(frames=1001), "video.frames"),
        (shot(frames=0), "video.frames"),
        (shot(width=100), "video.width"),
        (shot(steps=500), "video.steps"),
        (shot(conditions=[jobs_pb2.Conditioning(asset_id=still.id, frame_index=9)]), "video.conditions[0].frame_index"),
        (
            shot(conditions=[jobs_pb2.Conditioning(asset_id=moving.id, frame_index=4)]),
            "video.conditions[0].frame_index",
        ),
        (shot(conditions=[jobs_pb2.Conditioning(asset_id="a-0123456789abcdef")]), "video.conditions[0].asset_id"),
        (
            shot(frames=33, chain=jobs_pb2.ChainOptions(chunk_frames=17, overlap_frames=17)),
            "video.chain.overlap_frames",
        ),
    ]:
        with pytest.raises(grpc.RpcError) as error:
            client.jobs.Submit(jobs_pb2.SubmitJobRequest(request=request))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert error.value.details().startswith(field), error.value.details()
    listed = {m.name: m for m in client.models.ListModels(models_pb2.ListModelsRequest()).models}
    assert list(listed["tiny-ltx2"].job_kinds) == ["video"]


def test_the_cli_submits_a_shot(client, generation_daemon):
    import os
    import subprocess
    import sys

    env = {**os.environ, "MILIMO_ADDRESS": generation_daemon.address}
    args = ["submit", "video", "--model", "tiny-ltx", "--prompt", "a kite", "--frames", "9", "--width", "64"]
    args += ["--height", "64", "--steps", "2"]
    submitted = subprocess.run(
        [sys.executable, "-m", "milimo", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert submitted.returncode == 0, submitted.stderr
    job = client.wait(submitted.stdout.strip())
    assert job.status == SUCCEEDED, job.reason


# ---- the recipe a result records ----------------------------------------------------------------------------


def test_the_result_records_how_to_make_it_again(tiny_models, storyteller, tmp_path):
    """Run in-process (the recipe is stored with the asset, not served over gRPC), with the story continued by a
    local server speaking Ollama's API: each chunk gets a prompt of its own, and the recipe keeps them."""
    host, _ = storyteller
    config = ModelConfig(name="tiny-ltx", family="ltx-video", path=tiny_models.parent / "tiny-ltx", device="cpu")
    worker = WorkerResources(WorkerSettings(models=(config,), enhancer="ollama:llama3.2:3b", ollama_host=host))
    start = png(tmp_path / "start.png", (64, 64), (10, 200, 10))
    inputs = {"a-00000000000000aa": InputFile("a-00000000000000aa", "image/png", "start.png", {"width": 64}, start)}
    request = chained(
        seed=7,
        guidance=2.5,
        chain=jobs_pb2.ChainOptions(chunk_frames=17, overlap_frames=9, continue_story=True),
        conditions=[jobs_pb2.Conditioning(asset_id="a-00000000000000aa", frame_index=20, strength=0.75)],
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    [output] = video_job.run(request, RecordingContext(scratch, inputs=inputs), worker)

    recipe = output.media
    assert (recipe["model"], recipe["seed"], recipe["steps"], recipe["guidance"]) == ("tiny-ltx", 7, 2, 2.5)
    assert recipe["prompt"] == recipe["prompt_used"] == "a paper boat on a rain puddle"  # enhance_prompt was off
    assert recipe["chunk_prompts"][1:] == [f"The fox walks on across the cracking ice, part {n} of 3." for n in (2, 3)]
    assert recipe["conditions"] == [
        {
            "asset_id": "a-00000000000000aa",
            "frame_index": 20,
            "strength": 0.75,
            "source_start_frame": 0,
            "source_frames": 1,
        }
    ]
    assert recipe["chain"] == {
        "chunk_frames": 17,
        "overlap_frames": 9,
        "chunks": [
            {"start": 0, "frames": 17, "overlap": 0, "keep": 17, "seed": 7},
            {"start": 8, "frames": 17, "overlap": 9, "keep": 8, "seed": 8},
            {"start": 16, "frames": 17, "overlap": 9, "keep": 8, "seed": 9},
        ],
    }
    assert (recipe["frames"], recipe["width"], recipe["has_audio"]) == (33, 64, False)
