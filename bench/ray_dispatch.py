"""The Ray executor's cost per job and its scaling over GPU workers (issue 8).

1. Dispatch overhead (goal: at most 100 ms a job): 20 sequential tiny FLUX images (64x64, 1 step, the model kept
   resident) through a daemon with the local executor, then through one with `--executor ray` on a local Ray head
   with 1 simulated GPU; each job timed from Submit until Watch reports success, median after a warm-up job. The
   overhead is the Ray median less the local one.
2. Throughput over workers (goal: 2 workers at least 1.8x as fast as 1): 20 jobs queued in one SubmitBatch on a
   head with 2 simulated GPUs, then on one with 1, each worker warmed first; time until all have succeeded. The
   "GPUs" are declared, not real: every actor runs its model on this machine's CPU, so on a small or busy machine
   two workers contend for the same cores, and the jobs are sized (512x512, 24 steps) so their work, not fixed
   costs, dominates.
Run it with `.venv/bin/python -m bench ray_dispatch`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import Daemon, Result, Suite, cpu_seconds, free_port, median, ms
from milimo.client import Client
from milimo.v1 import jobs_pb2

NAME = "ray_dispatch"
TITLE = "Ray executor: dispatch overhead per job, throughput on 2 GPU workers vs 1"
GOAL_OVERHEAD_S = 0.100
GOAL_SPEEDUP = 1.8
SEQUENTIAL_JOBS = 20
BATCH_JOBS = 20
MODEL = "tiny-flux"
TINY_JOB = {"width": 64, "height": 64, "steps": 1}
BATCH_JOB = {"width": 512, "height": 512, "steps": 24}  # about 1.7 s on 2 cores: work, not fixed costs, dominates
DAEMON_START_S = 120.0  # connecting to Ray and starting the actors takes a while on a busy machine


def image(seed: int, size: dict[str, int]) -> jobs_pb2.JobRequest:
    return jobs_pb2.JobRequest(image=jobs_pb2.ImageRequest(model=MODEL, prompt="a lighthouse", seed=seed, **size))


def tiny_flux_config(folder: Path) -> Path:
    """A config naming one tiny random-weight FLUX checkpoint, built here."""
    from milimo.models.families import family

    family("flux").make_tiny(folder / MODEL)
    config = folder / "milimo.toml"
    config.write_text(f'[[models]]\nname = "{MODEL}"\nfamily = "flux"\npath = "{folder / MODEL}"\ndevice = "cpu"\n')
    return config


@dataclass
class RayHead:
    address: str
    # CPU seconds of Ray processes this run never reaps (its workers outlive the raylet that started them), so
    # the suite's count of other processes' load takes them for others'; known once the head has stopped.
    unreaped_cpu_s: float = 0.0


@contextmanager
def ray_head(gpus: int, worker_files: Path | None = None) -> Iterator[RayHead]:
    """A local Ray head (`ray start --head --block`) declaring `gpus` simulated GPUs; its workers keep the files
    sent to them under `worker_files` (`MILIMO_RAY_FILES`) when given."""
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="mrb", dir="/tmp"))  # Ray's socket paths must stay short
    ray_cli = Path(sys.executable).with_name("ray")
    command = [str(ray_cli), "start", "--head", "--block", "--num-cpus", "2", "--num-gpus", str(gpus)]
    command += ["--port", str(port), "--include-dashboard", "false", "--node-ip-address", "127.0.0.1"]
    command += ["--temp-dir", str(temp)]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}  # nothing leaves the machine
    if worker_files is not None:
        env["MILIMO_RAY_FILES"] = str(worker_files)
    head = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    handle = RayHead(f"127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray head with {gpus} GPUs did not start")
            time.sleep(0.2)
        yield handle
    finally:
        used, reaped_before = cpu_seconds([head.pid, *_descendants(head.pid)]), _reaped_cpu_seconds()
        head.send_signal(signal.SIGTERM)  # `ray start --block` takes its processes down with it
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        handle.unreaped_cpu_s = max(0.0, used - (_reaped_cpu_seconds() - reaped_before))
        shutil.rmtree(temp, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _descendants(root: int) -> list[int]:
    parent_of = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent_of[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue  # it ended meanwhile
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parent_of.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _reaped_cpu_seconds() -> float:
    times = os.times()
    return times.children_user + times.children_system


@contextmanager
def daemon(suite: Suite, config: Path, ray_address: str = "", *ray_args: str) -> Iterator[Client]:
    """A daemon with the local executor, or with the Ray executor (and `ray_args`) when `ray_address` is given."""
    extra = ("--config", str(config))
    if ray_address:
        extra += ("--executor", "ray", "--ray-address", ray_address, *ray_args)
    process = Daemon(suite.new_store("ray" if ray_address else "local"), *extra)
    process.start(timeout=DAEMON_START_S)
    try:
        yield process.client()
    finally:
        process.stop()


def succeed(client: Client, job_id: str) -> None:
    job = client.wait(job_id)
    assert job.status == jobs_pb2.JOB_STATUS_SUCCEEDED, job.reason


def sequential_job_times(client: Client) -> list[float]:
    """Seconds from Submit to success of each tiny job, one at a time, after a warm-up that loads the model."""
    succeed(client, client.submit(image(0, TINY_JOB)).id)
    times = []
    for seed in range(1, SEQUENTIAL_JOBS + 1):
        start = time.perf_counter()
        succeed(client, client.submit(image(seed, TINY_JOB)).id)
        times.append(time.perf_counter() - start)
    return times


def submit_all(client: Client, requests: list[jobs_pb2.JobRequest]) -> list[str]:
    return [job.id for job in client.submit_batch([jobs_pb2.SubmitJobRequest(request=r) for r in requests])]


def batch_seconds(client: Client, workers: int) -> float:
    """Seconds until a batch of BATCH_JOBS jobs, queued at once, has succeeded; every worker loads the model first."""
    for job_id in submit_all(client, [image(seed, TINY_JOB) for seed in range(workers)]):
        succeed(client, job_id)
    start = time.perf_counter()
    job_ids = submit_all(client, [image(seed, BATCH_JOB) for seed in range(BATCH_JOBS)])
    for _ in client.watch_many(job_ids):
        pass  # ends when every job is terminal
    elapsed = time.perf_counter() - start
    for job_id in job_ids:
        succeed(client, job_id)
    return elapsed


def run(suite: Suite) -> Result:
    folder = suite.path("ray-models")
    folder.mkdir(parents=True)
    config = tiny_flux_config(folder)

    started = time.monotonic()
    with daemon(suite, config) as client:
        local = sequential_job_times(client)
    with ray_head(gpus=1) as one_gpu, daemon(suite, config, one_gpu.address) as client:
        on_ray = sequential_job_times(client)
        one_worker = batch_seconds(client, workers=1)
    with ray_head(gpus=2) as two_gpus, daemon(suite, config, two_gpus.address) as client:
        two_workers = batch_seconds(client, workers=2)
    unreaped = one_gpu.unreaped_cpu_s + two_gpus.unreaped_cpu_s

    local_s, ray_s = median(local), median(on_ray)
    overhead = ray_s - local_s
    speedup = one_worker / two_workers
    batch = f"{BATCH_JOB['width']}x{BATCH_JOB['height']}, {BATCH_JOB['steps']} steps"
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"overhead {ms(overhead)} a job; 2 workers {speedup:.3f}x as fast as 1",
        goal=f"overhead ≤ {GOAL_OVERHEAD_S * 1000:.0f} ms, speedup ≥ {GOAL_SPEEDUP}x",
        met=overhead <= GOAL_OVERHEAD_S and speedup >= GOAL_SPEEDUP,
        baseline=f"local executor {ms(local_s)} a tiny job; 1 Ray worker {one_worker:.1f} s for the batch",
        ratio=f"Ray {ray_s / local_s:.2f}x the local executor a tiny job; batch on 2 workers {speedup:.3f}x 1",
        details=[
            f"tiny job ({TINY_JOB['width']}x{TINY_JOB['height']}, {TINY_JOB['steps']} step, {MODEL}), submit to "
            f"success, median of {SEQUENTIAL_JOBS} after a warm-up: local {ms(local_s)}, Ray {ms(ray_s)}, "
            f"difference {ms(overhead)}",
            f"  min/max: local {ms(min(local))}/{ms(max(local))}, Ray {ms(min(on_ray))}/{ms(max(on_ray))}",
            f"batch of {BATCH_JOBS} ({batch}) in one SubmitBatch until all succeeded: 1 worker {one_worker:.1f} s "
            f"({one_worker / BATCH_JOBS:.2f} s a job), 2 workers {two_workers:.1f} s",
            f"the simulated GPUs share this machine's {os.cpu_count()} cores: two workers can at best split them",
            f"Ray processes that ended unreaped by this run, so counted below as other processes', used about "
            f"{unreaped:.0f} CPU-s ({unreaped / (time.monotonic() - started):.2f} cores)",
        ],
    )
