"""6. Daemon start to SERVING (goal: at most 1.5 s).

The time from spawning `python -m milimo serve` until Health.Check answers SERVING (polled every
few milliseconds), median of 5 starts: on an empty store (a fresh one each time, so the schema is
created) and on the one holding 10,000 jobs (started --paused so it does not drain the queue); the
two kinds of start alternate so that noise falls on both alike. Baseline: a subprocess running
`python -c "import grpc"`, the interpreter's floor.
"""

from __future__ import annotations

import subprocess
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.common import Result, Store, Suite, daemon_env, free_port, median, serve_command, stop_process

NAME = "startup"
TITLE = "Daemon start to SERVING"
GOAL_S = 1.5
RUNS = 5
POLL_S = 0.005
# Retry a refused connection at once instead of after gRPC's default one-second backoff.
FAST_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 5),
    ("grpc.min_reconnect_backoff_ms", 5),
    ("grpc.max_reconnect_backoff_ms", 20),
]


def time_to_serving(store: Store, *extra: str, timeout: float = 60.0) -> float:
    store.data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (store.data_dir.parent / f"{store.data_dir.name}.log").open("ab")
    start = time.perf_counter()
    process = subprocess.Popen(
        serve_command(store, port, *extra), stdout=log, stderr=subprocess.STDOUT, env=daemon_env()
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=FAST_RECONNECT) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            check = health_pb2.HealthCheckRequest(service="")
            while True:
                try:
                    if health.Check(check, timeout=0.5).status == health_pb2.HealthCheckResponse.SERVING:
                        return time.perf_counter() - start
                except grpc.RpcError:
                    pass
                if process.poll() is not None:
                    raise RuntimeError(f"daemon exited ({process.returncode}); see {log.name}")
                if time.perf_counter() - start > timeout:
                    raise RuntimeError(f"daemon did not serve in {timeout}s; see {log.name}")
                time.sleep(POLL_S)
    finally:
        stop_process(process)
        log.close()


def import_grpc() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import grpc"], check=True)
    return time.perf_counter() - start


def run(suite: Suite) -> Result:
    full_store = suite.store_with_jobs()
    floor, empty, full = [], [], []
    for _ in range(RUNS):
        floor.append(import_grpc())
        empty.append(time_to_serving(suite.new_store("empty")))
        full.append(time_to_serving(full_store, "--paused"))
    floor_s, empty_s, full_s = median(floor), median(empty), median(full)
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"empty store {empty_s:.2f} s; with 10,000 jobs {full_s:.2f} s (median of {RUNS})",
        goal=f"≤ {GOAL_S} s",
        met=max(empty_s, full_s) <= GOAL_S,
        baseline=f'`python -c "import grpc"`: {floor_s:.2f} s',
        ratio=f"empty {empty_s / floor_s:.1f}x, 10,000 jobs {full_s / floor_s:.1f}x the interpreter floor",
        details=[
            f"empty runs: {', '.join(f'{s:.2f}' for s in empty)} s",
            f"10,000-job runs: {', '.join(f'{s:.2f}' for s in full)} s",
        ],
    )
