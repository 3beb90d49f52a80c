"""2. Watch event delivery p99 latency while a CPU-saturating job runs (goal: at most 50 ms).

Delivery latency is the client's receive time minus the event's stored timestamp (`event.time`,
taken by the daemon on the same host clock). The daemon starts paused, the watch opens on the
queued job, then the queue resumes: every event after the first is delivered live, none is a replay.
Baseline: the same on an idle daemon whose job is light (256x128 animatics).
"""

from __future__ import annotations

import time

from bench.common import Daemon, Result, Suite, animatic, cpu_meter, ms, percentile, saturating_animatic
from milimo.v1 import jobs_pb2

NAME = "watch"
TITLE = "Watch event delivery p99 latency while a CPU-saturating job runs"
GOAL_S = 0.050
LOADED_SECONDS = 12.0  # how long to follow the saturating job before cancelling it
LIGHT_JOBS = 3


def run(suite: Suite) -> Result:
    with Daemon(suite.new_store("watch"), "--paused") as daemon:
        client = daemon.client()
        light: list[float] = []
        for _ in range(LIGHT_JOBS):
            light += _follow(client, animatic(frames=1000, width=256, height=128), seconds=60.0)

        with cpu_meter(daemon.workers()) as worker_cores:
            loaded = _follow(client, saturating_animatic(), seconds=LOADED_SECONDS)
            worker_busy = worker_cores()

    p99, light_p99 = percentile(loaded, 99), percentile(light, 99)
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"p99 {ms(p99)} over {len(loaded)} live events",
        goal=f"≤ {ms(GOAL_S)}",
        met=p99 <= GOAL_S,
        baseline=f"idle daemon, light job: p99 {ms(light_p99)} over {len(light)} events",
        ratio=f"{p99 / light_p99:.2f}x the light-job p99",
        details=[
            f"under load: p50 {ms(percentile(loaded, 50))}, max {ms(max(loaded))}",
            f"light job: p50 {ms(percentile(light, 50))}, max {ms(max(light))}",
            f"worker used {worker_busy:.2f} cores while followed (2 cores in all)",
        ],
    )


def _follow(client, request: jobs_pb2.JobRequest, seconds: float) -> list[float]:
    """Delivery latencies of a job's live events; cancels the job after `seconds`."""
    client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    job = client.submit(request)
    stream = client.jobs.Watch(jobs_pb2.WatchJobRequest(job_id=job.id))
    first = next(stream)  # the stored QUEUED event: a replay, not counted
    assert first.sequence == 1, first
    client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
    latencies = []
    deadline = time.monotonic() + seconds
    cancelled = False
    for event in stream:
        latencies.append(time.time() - event.time.ToNanoseconds() / 1e9)
        if not cancelled and time.monotonic() > deadline:
            client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.id))
            cancelled = True
    return latencies
