"""Blender extension: the longest main-thread stall it causes while 4 jobs stream progress (goal: at most 16 ms).

Runs inside a bpy environment (not from `python -m bench`, whose Python has no bpy):

    .venv-bpy50/bin/python bench/blender_stall.py      # or .venv-bpy42/bin/python

Set-up as bench/blender_otio.py: a fresh extension zip, a daemon (`python -m milimo serve` from
MILIMO_DAEMON_PYTHON, default .venv/bin/python), the zip installed by Blender's extension installer.

Four placeholders of 600 frames in a 640x384, 24 fps scene go out through "Generate all placeholders" (4 animatic
jobs in one batch), and the main-thread queue is drained as Blender's timer drains it (`mainthread.drain`, again
at once while work waits, else after its idle interval) until all four clips are on the timeline. Every progress
event, preview and result comes back through that queue. The figure is the longest `drain` call
(`mainthread.stalls`); each piece of posted work and each import of a result (`results.place`) is timed too, to
say where a long stall comes from. Baseline: the longest of 1,000 drains of an empty queue, in the same run.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from types import ModuleType

from blender_otio import extension
from machine import others_meter, percentile

GOAL_MS = 16.0
JOBS, FRAMES, WIDTH, HEIGHT = 4, 600, 640, 384
EMPTY_DRAINS = 1000


class WorkTimer:
    """Times every callable posted to the main-thread queue and every result import, by where it was written."""

    def __init__(self, harness: ModuleType) -> None:
        self.mainthread = harness.module("mainthread")
        self.results = harness.module("results")
        self.by_origin: dict[str, list[float]] = defaultdict(list)
        self.imports: list[float] = []
        self.in_drain: list[tuple[float, str]] = []  # what the drain under way ran, and for how long
        self.collections: list[float] = []  # the garbage collector's pauses (any thread)
        self._collecting = 0.0
        gc.callbacks.append(self.collected)
        self._post, self._place = self.mainthread.post, self.results.place
        self.mainthread.post = self.post
        self.results.place = self.place

    def close(self) -> None:
        self.mainthread.post, self.results.place = self._post, self._place
        gc.callbacks.remove(self.collected)

    def collected(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._collecting = time.perf_counter()
        else:
            self.collections.append(time.perf_counter() - self._collecting)

    def post(self, work: Callable[[], None]) -> None:
        code = getattr(work, "__code__", None)
        origin = (
            f"{code.co_qualname} ({os.path.basename(code.co_filename)}:{code.co_firstlineno})" if code else repr(work)
        )

        def timed() -> None:
            began = time.perf_counter()
            try:
                work()
            finally:
                took = time.perf_counter() - began
                self.by_origin[origin].append(took)
                self.in_drain.append((took, origin))

        self._post(timed)

    def place(self, *args: object) -> object:
        began = time.perf_counter()
        try:
            return self._place(*args)
        finally:
            self.imports.append(time.perf_counter() - began)


def empty_drains(mainthread: ModuleType) -> list[float]:
    mainthread.stalls.clear()
    for _ in range(EMPTY_DRAINS):
        mainthread.drain()
    return list(mainthread.stalls)


def run_jobs(harness: ModuleType, timer: WorkTimer) -> tuple[list[float], float, list[tuple[float, str]]]:
    """Four 600-frame animatics through the extension: the drain durations meanwhile, the seconds it took, and what
    the longest drain ran."""
    import bpy

    compat, operators, mainthread = (harness.module(name) for name in ("compat", "operators", "mainthread"))
    scene = harness.fresh_scene()
    scene.render.resolution_x, scene.render.resolution_y = WIDTH, HEIGHT
    for index in range(JOBS):
        strip = operators.add_placeholder(scene, f"shot {index}", 1 + index * FRAMES, FRAMES, 1)
        operators.mark(strip, f"Shot {index}: the ferry leaves the harbour at dawn")
    mainthread.stalls.clear()
    began = time.perf_counter()
    if bpy.ops.milimo.generate_placeholders() != {"FINISHED"}:
        raise RuntimeError("Generate all placeholders did not start")
    jobs = scene.milimo.jobs
    deadline = time.monotonic() + 600
    longest: list[tuple[float, str]] = []
    while not (len(jobs) == JOBS and all(job.imported or job.status in ("FAILED", "CANCELLED") for job in jobs)):
        if time.monotonic() > deadline:
            raise RuntimeError("the jobs did not finish in 10 minutes")
        timer.in_drain.clear()
        interval = mainthread.drain()
        if mainthread.stalls[-1] >= max(mainthread.stalls):
            longest = list(timer.in_drain)
        time.sleep(interval)
    failed = [f"{job.label}: {job.status} {job.message}" for job in jobs if not job.imported]
    if failed:
        raise RuntimeError(f"jobs did not succeed: {failed}")
    placed = [strip for strip in compat.top_strips(scene) if strip.type == "MOVIE"]
    if len(placed) != JOBS:
        raise RuntimeError(f"{len(placed)} clips were placed, not {JOBS}")
    return list(mainthread.stalls), time.perf_counter() - began, longest


def main() -> None:
    import bpy

    with others_meter() as others, extension() as harness:
        mainthread = harness.module("mainthread")
        empty = empty_drains(mainthread)
        timer = WorkTimer(harness)
        try:
            stalls, seconds, longest = run_jobs(harness, timer)
        finally:
            timer.close()

    longest_ms = 1000 * max(stalls)
    p99_ms = 1000 * percentile(stalls, 99)
    baseline_ms = 1000 * max(empty)
    worst = sorted(((max(times), len(times), origin) for origin, times in timer.by_origin.items()), reverse=True)
    lines = [
        f"== blender-stall: longest main-thread stall while {JOBS} jobs stream progress (bpy {bpy.app.version_string})",
        f"figure: the longest drain {longest_ms:.2f} ms ({'meets' if longest_ms <= GOAL_MS else 'MISSES'} goal "
        f"{GOAL_MS:g} ms); p99 {p99_ms:.2f} ms, median {1000 * statistics.median(stalls):.3f} ms over {len(stalls)} "
        f"drains in {seconds:.1f} s ({JOBS} animatics of {FRAMES} frames at {WIDTH}x{HEIGHT}, one batch)",
        f"importing a result (results.place: strip, trim, properties): longest {1000 * max(timer.imports):.2f} ms "
        f"of {len(timer.imports)}",
        f"baseline: an empty drain, longest of {EMPTY_DRAINS}: {baseline_ms:.3f} ms "
        f"(median {1000 * statistics.median(empty):.4f} ms)",
        f"ratio: {longest_ms / baseline_ms:.0f}x the longest empty drain",
        "the longest drain ran: "
        + ", ".join(f"{origin} {1000 * took:.2f} ms" for took, origin in longest)
        + f" ({1000 * (max(stalls) - sum(took for took, _ in longest)):.2f} ms outside them)",
        f"the garbage collector's longest pause: {1000 * max(timer.collections, default=0):.2f} ms "
        f"({len(timer.collections)} collections)",
        "longest piece of posted work, by where it was posted (ms, count):",
        *(f"  {1000 * took:7.2f} ms  x{count:<5} {origin}" for took, count, origin in worst[:6]),
        f"other processes on this machine kept {others():.2f} of its {os.cpu_count()} cores busy meanwhile",
    ]
    print("\n" + "\n   ".join(lines), flush=True)


if __name__ == "__main__":
    main()
