"""Blender extension: the longest main-thread stall it causes while 4 jobs stream progress (goal: at most 16 ms).

Runs inside a bpy environment (not from `python -m bench`, whose Python has no bpy):

    .venv-bpy50/bin/python bench/blender_stall.py      # or .venv-bpy42/bin/python

Set-up as bench/blender_otio.py: a fresh extension zip, a daemon (`python -m milimo serve` from
MILIMO_DAEMON_PYTHON, default .venv/bin/python), the zip installed by Blender's extension installer.

Four placeholders of 600 frames in a 640x384, 24 fps scene go out through "Generate all placeholders" (4 animatic
jobs in one batch), and the main-thread queue is drained as Blender's timer drains it (`mainthread.drain`, again
at once while work waits, else after its idle interval) until all four clips are on the timeline. Every progress
event, preview and result comes back through that queue. The figure is the longest `drain` call
(`mainthread.stalls`); each piece of posted work and each import of a result (`results.place`, and a clip's sound,
`results.add_sound`) is timed too, to say where a long stall comes from. Baselines from the same run: Blender's
own `new_movie` of each placed clip, in a scene of its own, right after the drain that placed it (under the same
load: the daemon rendering the next job), which no add-on can split or move off the main thread; and the longest of
1,000 drains of an empty queue.

The animatics have no sound, so a clip with sound is measured after them (where this Blender has audio): a 640x384
clip with AAC sound, rendered by Blender, imported as a finished job's result 4 times. Its movie strip and its sound
strip each take a tick of their own; the figure is the longest of each, and their sum is what one tick took when
both were added together. Last, the stall of a click on "Generate shot" with "Start from the frame under the
playhead": Blender renders the sequencer's picture there (that clip under a color strip), 5 times at 640x384 and 5
at 1280x704.
"""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from blender_otio import extension
from machine import others_meter, percentile

GOAL_MS = 16.0
JOBS, FRAMES, WIDTH, HEIGHT = 4, 600, 640, 384
EMPTY_DRAINS = 1000
VOICED_IMPORTS = 4
RENDERS = 5
RENDER_SIZES = ((WIDTH, HEIGHT), (1280, 704))


class WorkTimer:
    """Times every callable posted to the main-thread queue and every result import, by where it was written."""

    def __init__(self, harness: ModuleType) -> None:
        self.mainthread = harness.module("mainthread")
        self.results = harness.module("results")
        self.by_origin: dict[str, list[float]] = defaultdict(list)
        self.imports: list[float] = []
        self.placed_files: list[str] = []  # the file of each placed result, for the bare `new_movie` baseline
        self.sounds: list[float] = []
        self.in_drain: list[tuple[float, str]] = []  # what the drain under way ran, and for how long
        self.collections: list[float] = []  # the garbage collector's pauses (any thread)
        self._collecting = 0.0
        gc.callbacks.append(self.collected)
        self._post, self._post_alone = self.mainthread.post, self.mainthread.post_alone
        self._place, self._add_sound = self.results.place, self.results.add_sound
        self.mainthread.post, self.mainthread.post_alone = self.post, self.post_alone
        self.results.place, self.results.add_sound = self.place, self.add_sound

    def close(self) -> None:
        self.mainthread.post, self.mainthread.post_alone = self._post, self._post_alone
        self.results.place, self.results.add_sound = self._place, self._add_sound
        gc.callbacks.remove(self.collected)

    def collected(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._collecting = time.perf_counter()
        else:
            self.collections.append(time.perf_counter() - self._collecting)

    def post(self, work: Callable[[], None]) -> None:
        self._post(self.timed(work))

    def post_alone(self, work: Callable[[], None]) -> None:
        self._post_alone(self.timed(work))

    def timed(self, work: Callable[[], None]) -> Callable[[], None]:
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

        return timed

    def place(self, scene: object, job: object, files: list) -> object:
        began = time.perf_counter()
        try:
            return self._place(scene, job, files)
        finally:
            self.imports.append(time.perf_counter() - began)
            self.placed_files += [files[0].path] if files else []

    def add_sound(self, *args: object) -> object:
        began = time.perf_counter()
        try:
            return self._add_sound(*args)
        finally:
            self.sounds.append(time.perf_counter() - began)


def empty_drains(mainthread: ModuleType) -> list[float]:
    mainthread.stalls.clear()
    for _ in range(EMPTY_DRAINS):
        mainthread.drain()
    return list(mainthread.stalls)


def run_jobs(harness: ModuleType, timer: WorkTimer) -> tuple[list[float], float, list[tuple[float, str]], list[float]]:
    """Four 600-frame animatics through the extension: the drain durations meanwhile, the seconds it took, what the
    longest drain ran, and the baseline: Blender's bare `new_movie` of each placed clip, in a scene of its own, right
    after the drain that placed it (so under the same load: the daemon rendering the next job)."""
    import bpy

    compat, operators, mainthread = (harness.module(name) for name in ("compat", "operators", "mainthread"))
    bare_scene = harness.fresh_scene()
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
    bare: list[float] = []
    while not (len(jobs) == JOBS and all(job.imported or job.status in ("FAILED", "CANCELLED") for job in jobs)):
        if time.monotonic() > deadline:
            raise RuntimeError("the jobs did not finish in 10 minutes")
        timer.in_drain.clear()
        interval = mainthread.drain()
        if mainthread.stalls[-1] >= max(mainthread.stalls):
            longest = list(timer.in_drain)
        for path in timer.placed_files[len(bare) :]:
            bare.append(bare_new_movie(compat, bare_scene, path))
        time.sleep(interval)
    failed = [f"{job.label}: {job.status} {job.message}" for job in jobs if not job.imported]
    if failed:
        raise RuntimeError(f"jobs did not succeed: {failed}")
    placed = [strip for strip in compat.top_strips(scene) if strip.type == "MOVIE"]
    if len(placed) != JOBS:
        raise RuntimeError(f"{len(placed)} clips were placed, not {JOBS}")
    bpy.data.scenes.remove(bare_scene)
    return list(mainthread.stalls), time.perf_counter() - began, longest, bare


def bare_new_movie(compat: ModuleType, scene, path: str) -> float:  # a bpy Scene
    """Seconds Blender's own `new_movie` of `path` takes (the strip is removed after)."""
    strips = compat.top_strips(scene)
    began = time.perf_counter()
    strip = strips.new_movie(name="bare", filepath=path, channel=1, frame_start=1)
    took = time.perf_counter() - began
    strips.remove(strip)
    return took


def voiced_imports(harness: ModuleType, clip: Path) -> tuple[list[float], list[float]]:
    """A finished job's clip with sound, imported as the tracker imports a result (from the main-thread queue),
    VOICED_IMPORTS times: how long the movie's tick and the sound's tick took, each time."""
    import bpy

    mainthread, results, session = (harness.module(name) for name in ("mainthread", "results", "session"))
    scene = harness.fresh_scene()
    movies, sounds = [], []
    for index in range(VOICED_IMPORTS):
        job = scene.milimo.jobs.add()
        job.job_id, job.kind, job.status, job.label = f"j-voiced-{index}", "video", "FETCHING", f"voiced {index}"
        job.frame_start, job.frames, job.channel = 1 + index * 48, 48, 1
        files = [results.ResultFile(f"a-voiced-{index}", str(clip), True)]
        mainthread.post_alone(
            lambda job_id=job.job_id, files=files: session.tracker()._import(scene.name, job_id, files)
        )
        mainthread.stalls.clear()
        while mainthread.drain() != mainthread.IDLE_INTERVAL_S:
            pass
        ticks = sorted(mainthread.stalls, reverse=True)
        movies.append(ticks[0])
        sounds.append(ticks[1])
    placed = sorted(strip.type for strip in harness.module("compat").top_strips(scene))
    if placed != ["MOVIE"] * VOICED_IMPORTS + ["SOUND"] * VOICED_IMPORTS:
        raise RuntimeError(f"the voiced clips were placed as {placed}")
    bpy.data.scenes.remove(scene)
    return movies, sounds


def playhead_renders(harness: ModuleType, clip: Path) -> dict[tuple[int, int], list[float]]:
    """How long rendering the sequencer's picture under the playhead for a shot's condition takes (the click's own
    stall), RENDERS times at each of RENDER_SIZES."""
    import bpy

    compat, operators = harness.module("compat"), harness.module("operators")
    scene = harness.fresh_scene()
    compat.top_strips(scene).new_movie(name="clip", filepath=str(clip), channel=1, frame_start=1)
    compat.new_effect(scene, "over it", "COLOR", 2, 1, 24).blend_alpha = 0.5
    for strip in compat.top_strips(scene):
        strip.select = False
    scene.frame_current, scene.milimo.use_playhead_frame = 12, True
    took: dict[tuple[int, int], list[float]] = {}
    for width, height in RENDER_SIZES:
        scene.render.resolution_x, scene.render.resolution_y = width, height
        for _ in range(RENDERS):
            began = time.perf_counter()
            condition = operators.conditioning(scene, "a video model")
            took.setdefault((width, height), []).append(time.perf_counter() - began)
            if condition.is_movie:
                raise RuntimeError("the frame under the playhead was not rendered")
    bpy.data.scenes.remove(scene)
    return took


def main() -> None:
    import bpy

    with others_meter() as others, extension() as harness:
        mainthread = harness.module("mainthread")
        empty = empty_drains(mainthread)
        timer = WorkTimer(harness)
        try:
            stalls, seconds, longest, bare = run_jobs(harness, timer)
            clip = Path(tempfile.mkdtemp(prefix="milimo-bench-clip-")) / "voiced.mp4"
            harness.make_movie(clip, 48, WIDTH, HEIGHT)
            voiced = voiced_imports(harness, clip) if bpy.app.build_options.audaspace else None
            renders = playhead_renders(harness, clip)
            shutil.rmtree(clip.parent, ignore_errors=True)
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
        f"importing a result (results.place: strip, trim, properties): longest {1000 * max(timer.imports[:JOBS]):.2f} "
        f"ms of {JOBS}",
        voiced_line(voiced),
        "the frame under the playhead rendered for a shot's condition (the click's stall): "
        + "; ".join(
            f"{width}x{height} median {1000 * statistics.median(times):.1f} ms, longest {1000 * max(times):.1f} ms"
            for (width, height), times in renders.items()
        )
        + f" ({RENDERS} each; the first render of a file opens it)",
        f"baselines: Blender's bare new_movie of each placed clip, right after the drain that placed it, longest "
        f"{1000 * max(bare):.2f} ms (median {1000 * statistics.median(bare):.2f} ms); an empty drain, longest of "
        f"{EMPTY_DRAINS}: {baseline_ms:.3f} ms (median {1000 * statistics.median(empty):.4f} ms)",
        f"ratio: the longest drain / the longest bare new_movie {longest_ms / (1000 * max(bare)):.2f}x; "
        f"{longest_ms / baseline_ms:.0f}x the longest empty drain",
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


def voiced_line(voiced: tuple[list[float], list[float]] | None) -> str:
    if voiced is None:
        return "a clip with sound: not measured (this Blender is built without audio)"
    movies, sounds = voiced
    together = max(movie + sound for movie, sound in zip(movies, sounds, strict=True))
    return (
        f"a {WIDTH}x{HEIGHT} clip with sound, imported {VOICED_IMPORTS} times: the movie's tick longest "
        f"{1000 * max(movies):.2f} ms, the sound's tick {1000 * max(sounds):.2f} ms (in one tick, as before they "
        f"were split: up to {1000 * together:.2f} ms)"
    )


if __name__ == "__main__":
    main()
