"""4. Submitting 10,000 jobs (goal: at least 1,000 jobs/s).

The daemon starts with --paused so nothing runs; 8 client threads, each with its own channel,
submit tiny animatic requests through Client.submit (with its idempotency key), one job per call.
Then, on a second fresh daemon, the same 10,000 jobs go through Client.submit_batch, 100 jobs a call
(what a plugin's "generate all shots" uses); the goal is judged on this figure. Baseline: the rate of
a no-op unary RPC (Health.Check) with the same threads against the same daemon, so the ratio shows
what the queue write costs. The data directory of the first daemon is reused by the list and startup
benchmarks. The daemon's CPU time per call is printed too: one Python process, so at 1,000 jobs/s it
must stay under 1 ms. Of it, the event loop's thread (gRPC and the servicers) is printed apart from the
rest (the database writer, gRPC's own threads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grpc_health.v1 import health_pb2

from bench.common import (
    JOBS_10K,
    Daemon,
    Result,
    Suite,
    cpu_seconds,
    main_thread_cpu_seconds,
    rate_with_threads,
    tiny_animatic,
)
from milimo.v1 import jobs_pb2

NAME = "submit"
TITLE = "Submitting 10,000 jobs"
GOAL = 1000.0
THREADS = 8
BATCH = 100


@dataclass(frozen=True)
class Rate:
    per_second: float
    daemon_cpu_ms: float  # the daemon process's CPU time per call
    loop_cpu_ms: float  # of which its main thread's, which runs the event loop


def measure(daemon: Daemon, make_call: Callable[[int], Callable[[], object]], total: int) -> Rate:
    pid = daemon.process.pid
    before, loop_before = cpu_seconds([pid]), main_thread_cpu_seconds(pid)
    per_second = rate_with_threads(make_call, total, THREADS)
    return Rate(
        per_second,
        1000 * (cpu_seconds([pid]) - before) / total,
        1000 * (main_thread_cpu_seconds(pid) - loop_before) / total,
    )


def fill(suite: Suite) -> tuple[Rate, Rate]:
    """Submit 10,000 jobs into a fresh paused daemon; returns the rates of Submit and of Health.Check."""
    store = suite.new_store("jobs10k")
    with Daemon(store, "--paused") as daemon:
        clients = [daemon.client() for _ in range(THREADS)]
        check = health_pb2.HealthCheckRequest(service="")
        health = measure(daemon, lambda i: lambda: clients[i].health.Check(check), JOBS_10K)
        request = tiny_animatic()
        submit = measure(daemon, lambda i: lambda: clients[i].submit(request), JOBS_10K)
    suite.jobs_10k = store
    return submit, health


def batched(suite: Suite) -> float:
    """Submit 10,000 jobs in batches of BATCH into a fresh paused daemon; returns jobs/s."""
    with Daemon(suite.new_store("jobs10k-batched"), "--paused") as daemon:
        clients = [daemon.client() for _ in range(THREADS)]
        batch = [jobs_pb2.SubmitJobRequest(request=tiny_animatic()) for _ in range(BATCH)]

        def submit_batch(i: int):
            def call() -> None:
                for request in batch:
                    request.client_request_id = ""  # fresh keys: every call queues new jobs
                clients[i].submit_batch(batch)

            return call

        return BATCH * rate_with_threads(submit_batch, JOBS_10K // BATCH, THREADS)


def run(suite: Suite) -> Result:
    submit, health = fill(suite)
    submit_rate, health_rate = submit.per_second, health.per_second
    batch_rate = batched(suite)
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"{batch_rate:.0f} jobs/s in batches of {BATCH}; {submit_rate:.0f} jobs/s one per call",
        goal=f"≥ {GOAL:.0f} jobs/s",
        met=batch_rate >= GOAL,
        baseline=f"Health.Check, same threads: {health_rate:.0f} calls/s",
        ratio=f"one per call: {submit_rate / health_rate:.2f} of the no-op RPC rate",
        details=[
            f"per job, one per call: {1000 / submit_rate:.2f} ms of wall time vs {1000 / health_rate:.2f} ms per no-op",
            f"daemon CPU, one per call: {submit.daemon_cpu_ms:.2f} ms a job vs {health.daemon_cpu_ms:.2f} ms a no-op",
            f"  of which its event loop's thread: {submit.loop_cpu_ms:.2f} ms vs {health.loop_cpu_ms:.2f} ms",
            f"per job, batched: {1000 / batch_rate:.3f} ms ({JOBS_10K} jobs, {THREADS} client threads)",
        ],
    )
