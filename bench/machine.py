"""What benchmarks need of the machine and its processes, on the standard library alone: the Blender benchmarks
import it from a bpy environment that cannot import bench.common (no protobuf there). Linux only (/proc)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return ordered[int(rank) - 1]


def daemon_env() -> dict[str, str]:
    """This process's environment without the user's own daemon settings, for a daemon of the benchmark's own."""
    env = {**os.environ}
    for name in ("MILIMO_CONFIG", "MILIMO_TOKEN"):
        env.pop(name, None)
    return env


def stop_process(process: subprocess.Popen | None) -> None:
    """SIGTERM, and SIGKILL if it has not exited 20 s later."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (any process, and the hypervisor's steal)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and of every child it has reaped (daemons, and through them workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@contextmanager
def others_meter() -> Iterator[Callable[[], float]]:
    """Yields a function giving how many cores processes outside this run kept busy meanwhile: the
    machine is shared, and this says how far to trust a figure. Read it after every daemon stopped."""
    busy, own, start = _busy_cpu_seconds(), _own_cpu_seconds(), time.monotonic()
    yield lambda: max(0.0, (_busy_cpu_seconds() - busy) - (_own_cpu_seconds() - own)) / (time.monotonic() - start)
