"""4. Submitting 10,000 jobs (goal: at least 1,000 jobs/s).

The daemon starts with --paused so nothing runs; 8 client threads, each with its own channel,
submit tiny animatic requests through Client.submit (with its idempotency key). Baseline: the rate of
a no-op unary RPC (Health.Check) with the same threads against the same daemon, so the ratio shows
what the queue write costs. The data directory it leaves is reused by the list and startup benchmarks.
"""

from __future__ import annotations

from grpc_health.v1 import health_pb2

from bench.common import JOBS_10K, Daemon, Result, Suite, rate_with_threads, tiny_animatic

NAME = "submit"
TITLE = "Submitting 10,000 jobs"
GOAL = 1000.0
THREADS = 8


def fill(suite: Suite) -> tuple[float, float]:
    """Submit 10,000 jobs into a fresh paused daemon; returns (jobs/s, Health.Check calls/s)."""
    store = suite.new_store("jobs10k")
    with Daemon(store, "--paused") as daemon:
        clients = [daemon.client() for _ in range(THREADS)]
        check = health_pb2.HealthCheckRequest(service="")
        health_rate = rate_with_threads(lambda i: lambda: clients[i].health.Check(check), JOBS_10K, THREADS)
        request = tiny_animatic()
        submit_rate = rate_with_threads(lambda i: lambda: clients[i].submit(request), JOBS_10K, THREADS)
    suite.jobs_10k = store
    return submit_rate, health_rate


def run(suite: Suite) -> Result:
    submit_rate, health_rate = fill(suite)
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"{submit_rate:.0f} jobs/s ({JOBS_10K} jobs, {THREADS} client threads)",
        goal=f"≥ {GOAL:.0f} jobs/s",
        met=submit_rate >= GOAL,
        baseline=f"Health.Check, same threads: {health_rate:.0f} calls/s",
        ratio=f"{submit_rate / health_rate:.2f} of the no-op RPC rate",
        details=[f"per job: {1000 / submit_rate:.2f} ms of wall time vs {1000 / health_rate:.2f} ms per no-op call"],
    )
