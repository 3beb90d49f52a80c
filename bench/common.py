"""What every benchmark shares: a real daemon subprocess, request builders, statistics, CPU meters, results."""

from __future__ import annotations

import concurrent.futures
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# Standard-library helpers of their own module, for the Blender benchmarks; re-exported for the others.
from bench.machine import daemon_env as daemon_env
from bench.machine import others_meter as others_meter
from bench.machine import percentile as percentile
from bench.machine import stop_process as stop_process
from milimo.v1 import common_pb2, jobs_pb2
from tests.daemon_process import DaemonProcess

JOBS_10K = 10_000


# ---- requests -------------------------------------------------------------------------------


def animatic(frames: int = 12, width: int = 128, height: int = 96) -> jobs_pb2.JobRequest:
    return jobs_pb2.JobRequest(
        animatic=jobs_pb2.AnimaticRequest(
            width=width,
            height=height,
            frames=frames,
            fps=common_pb2.Rational(num=24, den=1),
            scene_heading="INT. BENCH STAGE - DAY",
            description="A test card crosses the frame.",
        )
    )


def tiny_animatic() -> jobs_pb2.JobRequest:
    return animatic(frames=1, width=64, height=64)


def saturating_animatic() -> jobs_pb2.JobRequest:
    """The CPU-saturating job of benchmarks 1 and 2: it renders for far longer than they measure."""
    return animatic(frames=1000, width=1024, height=576)


# ---- statistics -----------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(call: Callable[[], object], count: int) -> list[float]:
    """Seconds taken by each of `count` sequential calls."""
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def rate_with_threads(make_call: Callable[[int], Callable[[], object]], total: int, threads: int) -> float:
    """Calls per second when `threads` threads share `total` calls; make_call(i) builds thread i's call."""
    calls = [make_call(i) for i in range(threads)]
    share = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def work(i: int) -> None:
        barrier.wait()
        for _ in range(share[i]):
            calls[i]()

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(work, i) for i in range(threads)]
        barrier.wait()
        start = time.perf_counter()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - start
    return total / elapsed


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# ---- results --------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    title: str
    figure: str  # the headline figure, with its unit
    goal: str
    met: bool
    baseline: str  # what the baseline is, with its figure
    ratio: str  # figure against baseline
    details: list[str] = field(default_factory=list)
    others: float = 0.0  # cores kept busy by processes outside this run while it ran

    def print(self) -> None:
        verdict = "meets" if self.met else "MISSES"
        print(f"\n== {self.name}: {self.title}", flush=True)
        print(f"   figure:   {self.figure}  ({verdict} goal {self.goal})")
        print(f"   baseline: {self.baseline}")
        print(f"   ratio:    {self.ratio}")
        for line in self.details:
            print(f"   {line}")
        print(f"   other processes on this machine kept {self.others:.2f} of its {os.cpu_count()} cores busy meanwhile")
        sys.stdout.flush()


# ---- the daemon -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Store:
    """Where a daemon keeps its state: a data directory, and a PostgreSQL URL or "" for SQLite."""

    data_dir: Path
    database_url: str = ""


def serve_command(store: Store, port: int, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "milimo", "serve", "--port", str(port), "--data", str(store.data_dir), *extra]
    return [*command, "--database-url", store.database_url] if store.database_url else command


class Daemon(DaemonProcess):
    """`python -m milimo serve` as a real subprocess on a free loopback port (the tests' launcher),
    used as a context manager."""

    def __init__(self, store: Store, *extra: str) -> None:
        super().__init__(store.data_dir, store.database_url, extra_args=extra)

    def __enter__(self) -> Daemon:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stat_cpu_seconds(stat_path: Path) -> float:
    """User plus system CPU seconds from a /proc stat file (of a process, or of one of its threads)."""
    fields = stat_path.read_text().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU seconds the processes have used so far (those already gone count nothing)."""
    total = 0.0
    for pid in pids:
        try:
            total += _stat_cpu_seconds(Path(f"/proc/{pid}/stat"))
        except OSError:
            continue
    return total


def main_thread_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of the process's main thread (whose thread id is the process id)."""
    return _stat_cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat"))


@contextmanager
def cpu_meter(pids: list[int]) -> Iterator[Callable[[], float]]:
    """Yields a function giving the processes' CPU use (cores busy) since the block began."""
    start_cpu, start = cpu_seconds(pids), time.monotonic()
    yield lambda: (cpu_seconds(pids) - start_cpu) / max(time.monotonic() - start, 1e-9)


# ---- the suite ------------------------------------------------------------------------------


class Suite:
    """Scratch space for one run, the database backend, and the 10,000-job store that benchmarks
    4-6 share. `postgres_admin_url` set: every daemon gets a fresh PostgreSQL database of its own."""

    def __init__(self, postgres_admin_url: str | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="milimo-bench-"))
        self.postgres_admin_url = postgres_admin_url
        self.jobs_10k: Store | None = None

    @property
    def backend(self) -> str:
        return "PostgreSQL" if self.postgres_admin_url else "SQLite"

    def path(self, name: str) -> Path:
        return self.root / f"{name}-{uuid.uuid4().hex[:6]}"

    def new_store(self, name: str) -> Store:
        """An empty data directory, with an empty database of its own on PostgreSQL."""
        if not self.postgres_admin_url:
            return Store(self.path(name))
        from tests import postgres

        return Store(self.path(name), postgres.new_database(self.postgres_admin_url))

    def store_with_jobs(self) -> Store:
        """A store holding 10,000 queued jobs (made by the submit benchmark, or here)."""
        if self.jobs_10k is None:
            from bench import submit

            print("   (filling a store with 10,000 jobs first)", flush=True)
            submit.fill(self)
        assert self.jobs_10k is not None
        return self.jobs_10k

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)
