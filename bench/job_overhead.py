"""A video job through the daemon vs the same diffusers pipeline called directly (goal: ratio <= 1.05).

Same weights, size, steps and seed, warm on both sides (one run first loads the model). Direct: the
family's `generate` in this process. Through the daemon: Submit, the queue, the accelerator worker
and its arbiter, the same `generate`, the mp4 encode, the asset, until Watch reports success. Measured
with a tiny LTX-Video transformer and a mid-size one (width 1024, 8 layers, about 1 s a step on 2 cores).
Run it with `.venv/bin/python -m bench job_overhead`.
"""

from __future__ import annotations

import statistics
import time
from fractions import Fraction
from pathlib import Path

from bench.common import Daemon, Result, Suite
from milimo.v1 import common_pb2, jobs_pb2

NAME = "job_overhead"
TITLE = "A video job through the daemon vs the pipeline called directly"
GOAL = 1.05
RUNS = 3
# (label, transformer width, layers, frame size, frames, steps)
SIZES = (("tiny", 32, 2, 64, 9, 4), ("mid-size", 1024, 8, 256, 33, 4))


def _direct(path: Path, size: int, frames: int, steps: int) -> float:
    import torch

    from milimo.config import ModelConfig
    from milimo.models.base import Placement
    from milimo.models.ltx_video import LTXVideoFamily
    from milimo.models.requests import VideoRequest
    from tests.task_context import RecordingContext

    family = LTXVideoFamily()
    model = family.load(
        ModelConfig(name="m", family="ltx-video", path=path), Placement(torch.device("cpu"), torch.float32)
    )
    request = VideoRequest(prompt="a lighthouse", width=size, height=size, frames=frames, fps=Fraction(24), steps=steps)
    family.generate(model, request, RecordingContext())  # warm-up
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        family.generate(model, request, RecordingContext())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _through_daemon(suite: Suite, path: Path, size: int, frames: int, steps: int) -> float:
    config = path.parent / f"{path.name}.toml"
    config.write_text(f'[[models]]\nname = "m"\nfamily = "ltx-video"\npath = "{path}"\ndevice = "cpu"\n')
    shot = jobs_pb2.VideoShotRequest(
        model="m",
        prompt="a lighthouse",
        width=size,
        height=size,
        frames=frames,
        fps=common_pb2.Rational(num=24),
        steps=steps,
    )
    with Daemon(suite.new_store(f"overhead-{path.name}"), "--config", str(config)) as daemon:
        client = daemon.client()
        client.wait(client.submit(jobs_pb2.JobRequest(video=shot)).id)  # warm-up: loads the model
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            job = client.wait(client.submit(jobs_pb2.JobRequest(video=shot)).id)
            times.append(time.perf_counter() - start)
            assert job.status == jobs_pb2.JOB_STATUS_SUCCEEDED, job.reason
    return statistics.median(times)


def run(suite: Suite) -> Result:
    import tempfile

    from milimo.models.ltx_video import LTXVideoFamily

    rows = []
    with tempfile.TemporaryDirectory(prefix="milimo-overhead-") as tmp:
        for label, width, layers, size, frames, steps in SIZES:
            path = Path(tmp) / label
            LTXVideoFamily().make_tiny(path, width=width, layers=layers)
            direct = _direct(path, size, frames, steps)
            daemon = _through_daemon(suite, path, size, frames, steps)
            rows.append((label, size, frames, steps, direct, daemon))
    mid = rows[-1]
    details = [
        f"{label}: {size}x{size}x{frames}, {steps} steps: direct {direct:.3f} s, through the daemon {daemon:.3f} s, "
        f"ratio {daemon / direct:.2f} (median of {RUNS})"
        for label, size, frames, steps, direct, daemon in rows
    ]
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"mid-size {mid[5]:.2f} s through the daemon; tiny {rows[0][5]:.3f} s",
        goal=f"ratio ≤ {GOAL}",
        met=all(daemon / direct <= GOAL for *_, direct, daemon in rows),
        baseline=f"the pipeline called directly: mid-size {mid[4]:.2f} s; tiny {rows[0][4]:.3f} s",
        ratio=", ".join(f"{label} {daemon / direct:.2f}" for label, *_, direct, daemon in rows),
        details=details,
    )
