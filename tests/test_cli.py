"""The `milimo` command against a real daemon: submit, jobs, watch, cancel, get, queue, models."""

from __future__ import annotations

import os
import subprocess
import sys

import av
import pytest

from milimo.v1 import jobs_pb2
from tests.helpers import slow_animatic, wait_progress, wait_status

# The CLI is a thin client; the queue's two databases are covered by test_jobs.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def milimo(daemon, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MILIMO_ADDRESS": daemon.address, "MILIMO_TOKEN": token or ""}
    env.pop("MILIMO_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "milimo", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


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


def test_watch_exits_non_zero_when_the_job_is_cancelled(daemon, client):
    job = client.submit(slow_animatic())
    wait_progress(client, job.id)
    cancelled = milimo(daemon, "cancel", job.id)
    assert cancelled.returncode == 0, cancelled.stderr
    wait_status(client, job.id, jobs_pb2.JOB_STATUS_CANCELLED)
    watched = milimo(daemon, "watch", job.id)
    assert watched.returncode != 0 and "cancelled" in watched.stderr


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


def test_queue_and_models(daemon):
    paused = milimo(daemon, "queue", "pause")
    resumed = milimo(daemon, "queue", "resume")
    assert "paused" in paused.stderr and "running" in resumed.stderr
    models = milimo(daemon, "models", "list")
    assert models.returncode == 0 and "animatic" in models.stdout and "builtin" in models.stdout
