"""The `milimo` command against a real daemon: submit (every kind), jobs, watch, cancel, get, queue, models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from milimo.media import ops
from milimo.v1 import jobs_pb2, media_pb2, projects_pb2
from tests.daemon_process import DaemonProcess
from tests.helpers import slow_animatic, wait_progress, wait_status

# The CLI is a thin client; the queue's two databases are covered by test_jobs.
sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def milimo(daemon, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MILIMO_ADDRESS": daemon.address, "MILIMO_TOKEN": token or ""}
    env.pop("MILIMO_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "milimo", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@sqlite
def test_submit_watch_get(daemon, tmp_path):
    submitted = milimo(
        daemon,
        "submit",
        "animatic",
        "--text",
        "A door opens.",
        "--frames",
        "12",
        "--width",
        "128",
        "--height",
        "96",
        "--fps",
        "25",
        "--heading",
        "INT. HALL - NIGHT",
        "--character",
        "ANA",
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert job_id.startswith("j-")

    watched = milimo(daemon, "watch", job_id)
    assert watched.returncode == 0, watched.stderr
    assert "succeeded" in watched.stderr

    out = tmp_path / "clip.mp4"
    got = milimo(daemon, "get", job_id, "-o", str(out))
    assert got.returncode == 0, got.stderr
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height, stream.average_rate) == (128, 96, 25)
        assert sum(1 for _ in container.decode(stream)) == 12

    listed = milimo(daemon, "jobs", "--status", "succeeded")
    assert listed.returncode == 0 and job_id in listed.stdout


@sqlite
def test_watch_exits_non_zero_when_the_job_is_cancelled(daemon, client):
    job = client.submit(slow_animatic())
    wait_progress(client, job.id)
    cancelled = milimo(daemon, "cancel", job.id)
    assert cancelled.returncode == 0, cancelled.stderr
    wait_status(client, job.id, jobs_pb2.JOB_STATUS_CANCELLED)
    watched = milimo(daemon, "watch", job.id)
    assert watched.returncode != 0 and "cancelled" in watched.stderr


@sqlite
def test_bad_input_and_unreachable_daemon_give_clear_errors(daemon, tmp_path):
    bad = milimo(daemon, "submit", "animatic", "--width", "100")
    assert bad.returncode == 2 and "animatic.width" in bad.stderr and "Traceback" not in bad.stderr
    missing = milimo(daemon, "get", "j-0000000000000000", "-o", str(tmp_path / "x.mp4"))
    assert missing.returncode == 2 and "NOT_FOUND" in missing.stderr

    env = {**os.environ, "MILIMO_ADDRESS": "127.0.0.1:9"}
    unreachable = subprocess.run(
        [sys.executable, "-m", "milimo", "jobs"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert unreachable.returncode == 2 and "cannot reach the daemon" in unreachable.stderr


@sqlite
def test_queue_and_models(daemon):
    paused = milimo(daemon, "queue", "pause")
    resumed = milimo(daemon, "queue", "resume")
    assert "paused" in paused.stderr and "running" in resumed.stderr
    models = milimo(daemon, "models", "list")
    assert models.returncode == 0 and "animatic" in models.stdout and "builtin" in models.stdout


# ---------------------------------------------------------------------------------- the generation kinds

NAMED_MODELS = {"flux-x": "flux", "ltx2-x": "ltx2", "sam3-x": "sam3"}


@pytest.fixture(scope="module")
def paused_daemon(tmp_path_factory):
    """A daemon whose config names models without their weights and whose queue stays paused: submitted jobs keep
    the request the CLI built, and nothing ever loads a model."""
    root = tmp_path_factory.mktemp("cli-requests")
    config = root / "milimo.toml"
    config.write_text(
        "\n".join(
            f'[[models]]\nname = "{name}"\nfamily = "{family}"\npath = "{root / name}"\n'
            for name, family in NAMED_MODELS.items()
        )
    )
    process = DaemonProcess(root / "data", extra_args=("--config", str(config), "--paused"))
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Local files a user gives where an asset is expected: a still, a clip of colored frames, a LoRA."""
    folder = tmp_path_factory.mktemp("cli-files")
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(folder / "still.png")
    frames = [np.full((64, 64, 3), 40 * k, np.uint8) for k in range(5)]
    ops.encode_frames(frames, folder / "clip.mp4", 24)
    (folder / "style.safetensors").write_bytes(b"not really weights; the queue never runs the job")
    return {path.name: path for path in folder.iterdir()}


def submitted(daemon, *args: str) -> jobs_pb2.JobRequest:
    """The request the daemon stored for a job the CLI submitted."""
    result = milimo(daemon, "submit", *args)
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    return daemon.client().jobs.Get(jobs_pb2.GetJobRequest(job_id=job_id)).request


def filename(daemon, asset_id: str) -> str:
    return daemon.client().media.Stat(media_pb2.StatRequest(asset_id=asset_id)).filename


def test_submit_image_uploads_local_files_and_builds_the_request(paused_daemon, files):
    still = paused_daemon.client().upload(files["still.png"])
    request = submitted(
        paused_daemon,
        "image",
        "--model", "flux-x", "--prompt", "a lighthouse", "--width", "64", "--height", "96",
        "--steps", "2", "--seed", "7", "--true-cfg", "2",
        "--reference", str(files["still.png"]), "--reference", still.id,
        "--init", still.id, "--strength", "0.5",
        "--lora", f"{files['style.safetensors']}:0.75", "--enhance",
    )  # fmt: skip
    image = request.image
    uploaded, given = image.reference_asset_ids
    assert filename(paused_daemon, uploaded) == "still.png" and given == still.id
    assert filename(paused_daemon, image.loras[0].asset_id) == "style.safetensors"
    expected = jobs_pb2.ImageRequest(
        model="flux-x", prompt="a lighthouse", width=64, height=96, steps=2, guidance=3.5, true_cfg=2, seed=7,
        reference_asset_ids=[uploaded, still.id], init_asset_id=still.id, strength=0.5,
        loras=[jobs_pb2.LoraRef(asset_id=image.loras[0].asset_id, weight=0.75)], enhance_prompt=True,
    )  # fmt: skip
    assert image == expected


def test_submit_video_conditions_loras_control_and_chain(paused_daemon, files):
    clip = paused_daemon.client().upload(files["clip.mp4"])
    request = submitted(
        paused_daemon,
        "video",
        "--model", "ltx2-x", "--prompt", "a kite", "--frames", "33", "--width", "64", "--height", "64",
        "--condition", str(files["still.png"]), "--condition", f"{clip.id}:24:0.5",
        "--lora", str(files["style.safetensors"]), "--control", clip.id,
        "--enhance", "--upscale", "--chunk-frames", "17", "--overlap-frames", "9",
        "--chunk-prompt", "it climbs", "--chunk-prompt", "it dives",
    )  # fmt: skip
    video = request.video
    first, second = video.conditions
    assert filename(paused_daemon, first.asset_id) == "still.png" and (first.frame_index, first.strength) == (0, 0)
    assert (second.asset_id, second.frame_index, second.strength) == (clip.id, 24, 0.5)
    assert len(video.loras) == 1 and video.loras[0].weight == 0
    assert (video.control_asset_id, video.enhance_prompt, video.upscale) == (clip.id, True, True)
    assert video.chain == jobs_pb2.ChainOptions(
        chunk_frames=17, overlap_frames=9, chunk_prompts=["it climbs", "it dives"]
    )
    plain = submitted(paused_daemon, "video", "--model", "ltx2-x", "--prompt", "a kite", "--frames", "9")
    assert not plain.video.HasField("chain") and not plain.video.conditions


def test_submit_inpaint_last_frame_split_and_cut(paused_daemon, files):
    client = paused_daemon.client()
    clip = client.upload(files["clip.mp4"])
    inpaint = submitted(
        paused_daemon,
        "inpaint", str(files["still.png"]), "--model", "flux-x", "--prompt", "sea",
        "--segment-model", "sam3-x", "--point", "10,12", "--point", "30,31,0", "--box", "1,2,40,50", "--grow", "4",
    ).inpaint  # fmt: skip
    assert filename(paused_daemon, inpaint.asset_id) == "still.png"
    assert inpaint.segment == jobs_pb2.SegmentationPrompt(
        model="sam3-x",
        points=[jobs_pb2.PointPrompt(x=10, y=12, label=1), jobs_pb2.PointPrompt(x=30, y=31, label=0)],
        box=jobs_pb2.Box(x0=1, y0=2, x1=40, y1=50),
    )
    assert inpaint.grow_pixels == 4 and inpaint.WhichOneof("mask") == "segment"
    both = milimo(
        paused_daemon, "submit", "inpaint", clip.id, "--model", "flux-x", "--prompt", "x", "--mask", clip.id,
        "--text", "the boat",
    )  # fmt: skip
    assert both.returncode == 2 and "give one mask" in both.stderr

    assert submitted(paused_daemon, "last-frame", clip.id, "--from-end", "2") == jobs_pb2.JobRequest(
        last_frame=jobs_pb2.LastFrameRequest(asset_id=clip.id, frames_from_end=2)
    )
    assert submitted(paused_daemon, "split", clip.id, "--frame", "3") == jobs_pb2.JobRequest(
        split_shot=jobs_pb2.SplitShotRequest(asset_id=clip.id, frame=3)
    )
    project = client.projects.CreateProject(projects_pb2.CreateProjectRequest(project=projects_pb2.Project(name="p")))
    assert submitted(paused_daemon, "cut", project.id, "--include-missing") == jobs_pb2.JobRequest(
        render_cut=jobs_pb2.RenderCutRequest(project_id=project.id, include_missing=True)
    )
    typo = milimo(paused_daemon, "submit", "last-frame", "no-such-clip.mp4")
    assert typo.returncode == 2 and "neither a file nor an asset id" in typo.stderr


@sqlite
def test_a_local_clip_is_uploaded_followed_and_downloaded(daemon, files, tmp_path):
    last = milimo(daemon, "submit", "last-frame", str(files["clip.mp4"]), "--out", str(tmp_path / "last.png"))
    assert last.returncode == 0, last.stderr
    assert last.stdout.strip().startswith("j-") and "wrote" in last.stderr
    picture = np.asarray(Image.open(tmp_path / "last.png"))
    assert picture.shape == (64, 64, 3) and abs(int(picture.mean()) - 160) <= 3

    split = milimo(daemon, "submit", "split", str(files["clip.mp4"]), "--frame", "2", "--out", str(tmp_path / "p.mp4"))
    assert split.returncode == 0, split.stderr
    assert [ops.probe(tmp_path / f"p-{n}.mp4").frames for n in (1, 2)] == [2, 3]
