"""1. Jobs.Get p99 latency while a CPU-saturating job runs (goal: at most 20 ms).

Baseline: the same Gets against the same daemon while it is idle. The saturating job is a
1024x576, 1000-frame animatic rendering in the daemon's CPU-lane worker process.
"""

from __future__ import annotations

import time

from bench.common import Daemon, Result, Suite, cpu_meter, ms, percentile, saturating_animatic, timed, tiny_animatic
from milimo.v1 import jobs_pb2

NAME = "get"
TITLE = "Jobs.Get p99 latency while a CPU-saturating job runs"
GOAL_S = 0.020
GETS = 2000
WARMUP = 200


def run(suite: Suite) -> Result:
    with Daemon(suite.new_store("get")) as daemon:
        client = daemon.client()
        done = client.submit(tiny_animatic())
        client.wait(done.id)
        request = jobs_pb2.GetJobRequest(job_id=done.id)

        timed(lambda: client.jobs.Get(request), WARMUP)
        idle = timed(lambda: client.jobs.Get(request), GETS)

        job = client.submit(saturating_animatic())
        running = jobs_pb2.GetJobRequest(job_id=job.id)
        _wait_rendering(client, running)
        with cpu_meter(daemon.workers()) as worker_cores, cpu_meter([daemon.process.pid]) as daemon_cores:
            busy = timed(lambda: client.jobs.Get(running), GETS)
            worker_busy, daemon_busy = worker_cores(), daemon_cores()
        still = client.jobs.Get(running)
        client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.id))

    p99, idle_p99 = percentile(busy, 99), percentile(idle, 99)
    ran_throughout = still.status == jobs_pb2.JOB_STATUS_RUNNING
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"p99 {ms(p99)} over {GETS} Gets",
        goal=f"≤ {ms(GOAL_S)}",
        met=p99 <= GOAL_S,
        baseline=f"idle daemon: p99 {ms(idle_p99)}, p50 {ms(percentile(idle, 50))}",
        ratio=f"{p99 / idle_p99:.2f}x the idle p99",
        details=[
            f"under load: p50 {ms(percentile(busy, 50))}, max {ms(max(busy))}",
            f"worker used {worker_busy:.2f} cores, the daemon {daemon_busy:.2f} (2 cores in all)",
            f"the job was still rendering at the end: {ran_throughout} (step {still.progress.step} of 1000)",
        ],
    )


def _wait_rendering(client, request: jobs_pb2.GetJobRequest, timeout: float = 60.0) -> None:
    """Until the job has rendered a few frames, so the worker is past its start-up."""
    deadline = time.monotonic() + timeout
    while client.jobs.Get(request).progress.step < 10:
        if time.monotonic() > deadline:
            raise RuntimeError("the saturating job did not start rendering")
        time.sleep(0.02)
