"""The `video` job kind end to end: a daemon configured with tiny LTX-Video and LTX-2 checkpoints."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import grpc
import pytest

from milimo.models.families import family
from milimo.v1 import common_pb2, jobs_pb2, media_pb2, models_pb2
from tests.daemon_process import DaemonProcess
from tests.helpers import wait_progress, wait_status

SUCCEEDED, FAILED, CANCELLED = jobs_pb2.JOB_STATUS_SUCCEEDED, jobs_pb2.JOB_STATUS_FAILED, jobs_pb2.JOB_STATUS_CANCELLED
MODELS = {"tiny-ltx": "ltx-video", "tiny-ltx2": "ltx2"}


@pytest.fixture(scope="module")
def video_daemon(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("video-daemon")
    lines = []
    for name, family_name in MODELS.items():
        family(family_name).make_tiny(root / name)
        lines.append(f'[[models]]\nname = "{name}"\nfamily = "{family_name}"\npath = "{root / name}"\ndevice = "cpu"\n')
    config = root / "milimo.toml"
    config.write_text("\n".join(lines))
    daemon = DaemonProcess(root / "data", extra_args=("--config", str(config)))
    daemon.start()
    yield daemon
    daemon.stop()


def shot(model: str = "tiny-ltx", **fields: object) -> jobs_pb2.JobRequest:
    values = dict(model=model, prompt="a paper boat on a rain puddle", width=64, height=64, frames=9, steps=2, seed=3)
    values.update(fields)
    return jobs_pb2.JobRequest(video=jobs_pb2.VideoShotRequest(fps=common_pb2.Rational(num=24), **values))


def probe(path: Path) -> tuple[int, int, int, Fraction, bool]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        has_audio = bool(container.streams.audio)
        return frames, stream.codec_context.width, stream.codec_context.height, Fraction(stream.average_rate), has_audio


@pytest.mark.parametrize(("model", "audio"), [("tiny-ltx", False), ("tiny-ltx2", True)])
def test_a_shot_is_generated_through_the_daemon(video_daemon, tmp_path, model, audio):
    client = video_daemon.client()
    job = client.submit(shot(model))
    events = list(client.watch(job.id))
    steps = [e.progress for e in events if e.HasField("progress")]
    assert steps and steps[-1].step == steps[-1].total
    done = client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job.id))
    assert done.status == SUCCEEDED, done.reason
    asset = client.media.Stat(media_pb2.StatRequest(asset_id=done.result_asset_ids[0]))
    assert probe(client.download(asset.id, tmp_path / "shot.mp4")) == (9, 64, 64, Fraction(24), audio)


def test_the_same_seed_gives_the_same_shot(video_daemon):
    client = video_daemon.client()
    first, second = (client.wait(client.submit(shot(seed=11)).id) for _ in range(2))
    sha = [client.media.Stat(media_pb2.StatRequest(asset_id=j.result_asset_ids[0])).sha256 for j in (first, second)]
    assert sha[0] == sha[1]


def test_cancel_stops_a_shot_within_a_step(video_daemon):
    client = video_daemon.client()
    job = client.submit(shot(steps=200, width=128, height=128, frames=17))
    wait_progress(client, job.id, step=1, timeout=120)
    client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.id))
    done = wait_status(client, job.id, CANCELLED, timeout=60)
    assert done.progress.step < 200 and not done.result_asset_ids


def test_requests_are_checked_against_the_configured_models(video_daemon):
    client = video_daemon.client()
    for request, field in [
        (shot("nope"), "video.model"),
        (shot(width=100), "video.width"),
        (shot(steps=500), "video.steps"),
    ]:
        with pytest.raises(grpc.RpcError) as error:
            client.jobs.Submit(jobs_pb2.SubmitJobRequest(request=request))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and error.value.details().startswith(field)
    # The family's own rule (LTX takes 8k+1 frames) fails the job with a reason that names the field.
    failed = client.wait(client.submit(shot(frames=10)).id)
    assert failed.status == FAILED and "frames" in failed.reason
    listed = {m.name: m for m in client.models.ListModels(models_pb2.ListModelsRequest()).models}
    assert list(listed["tiny-ltx2"].job_kinds) == ["video"]


def test_the_cli_submits_a_shot(video_daemon):
    import os
    import subprocess
    import sys

    env = {**os.environ, "MILIMO_ADDRESS": video_daemon.address}
    args = ["submit", "video", "--model", "tiny-ltx", "--prompt", "a kite", "--frames", "9", "--width", "64"]
    args += ["--height", "64", "--steps", "2"]
    submitted = subprocess.run(
        [sys.executable, "-m", "milimo", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert submitted.returncode == 0, submitted.stderr
    job = video_daemon.client().wait(submitted.stdout.strip())
    assert job.status == SUCCEEDED, job.reason
