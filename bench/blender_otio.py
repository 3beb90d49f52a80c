"""Blender extension: OTIO export and import of a 2,000-strip sequencer timeline (goal: at most 2 s each way).

Runs inside a bpy environment, as the extension's tests do (not from `python -m bench`, whose Python has no bpy):

    .venv-bpy50/bin/python bench/blender_otio.py      # or .venv-bpy42/bin/python

It builds the extension zip, starts a daemon (`python -m milimo serve` from MILIMO_DAEMON_PYTHON, default
.venv/bin/python) and installs the zip through Blender's extension installer, as plugins/blender/tests/harness.py
does. The timeline: 500 shots of 4 strips on 4 channels, 6 frames apart: a movie (from its 3rd frame), its sound
(a color strip where bpy has no audio), a placeholder or a still, and a generated take (with its Milimo properties)
or a text strip. The movie files are real (a 64x64 H.264 clip with AAC sound, rendered by Blender here).

Timed: export (reading the strips on the main thread, building the timeline, writing the file) and import (reading
and planning the file, then placing every strip: apply_settings and add_strip, the main-thread part), each the
median of 3; and the import through the operator, drained as Blender's timer would, for its longest main-thread
slice. Baselines from the same run: creating the same strips with bare bpy calls, each movie and sound strip with
`new_movie` / `new_sound` (which open the file every time; the import opens each file once and copies the strips of a
file used again, see plugins/blender/milimo_blender/strip_copies.py), and OTIO's own JSON write and read of the same
timeline.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from machine import daemon_env, others_meter, stop_process  # bench/machine.py: this bpy environment has no protobuf

ROOT = Path(__file__).resolve().parent.parent
DAEMON_PYTHON = Path(os.environ.get("MILIMO_DAEMON_PYTHON", ROOT / ".venv" / "bin" / "python"))
SCRATCH = Path(tempfile.mkdtemp(prefix="milimo-bench-blender-"))
# Blender reads where its user data lives when bpy is first imported, so this comes before any import of bpy.
os.environ.setdefault("BLENDER_USER_RESOURCES", str(SCRATCH / "blender-user"))
os.environ["HOME"] = str(SCRATCH)  # nothing of the user's own Blender set-up leaks in

SHOTS = 500  # 4 strips each
GOAL_S = 2.0
RUNS = 3


# ---- set-up shared with blender_stall.py ------------------------------------------------------------------------


@contextmanager
def extension() -> Iterator[ModuleType]:
    """A live daemon and the extension installed from a freshly built zip; yields plugins/blender/tests/harness.
    The scratch folder (zip, daemon data, Blender's user folder) is removed afterwards unless something failed."""
    dist = SCRATCH / "dist"
    build = [str(DAEMON_PYTHON), str(ROOT / "plugins" / "blender" / "build.py"), "--platform", "linux-x64"]
    subprocess.run([*build, "--out", str(dist)], check=True, capture_output=True)
    ready = SCRATCH / "daemon.port"
    log = (SCRATCH / "daemon.log").open("wb")
    serve = [str(DAEMON_PYTHON), "-m", "milimo", "serve", "--port", "0", "--data", str(SCRATCH / "data")]
    daemon = subprocess.Popen(
        [*serve, "--ready-file", str(ready)],
        cwd=ROOT,
        env=daemon_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (ready.exists() and ready.read_text()):
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the daemon did not start; its log: {SCRATCH / 'daemon.log'}")
            time.sleep(0.05)
        os.environ["MILIMO_EXTENSION_ZIP"] = str(next(dist.glob("milimo-*-linux-x64.zip")))
        os.environ["MILIMO_DAEMON"] = f"127.0.0.1:{ready.read_text().strip()}"
        sys.path.insert(0, str(ROOT / "plugins" / "blender" / "tests"))
        import harness

        harness.install()
        harness.pump(harness.online, what="the daemon connection")
        yield harness
    finally:
        stop_process(daemon)
        log.close()
    shutil.rmtree(SCRATCH, ignore_errors=True)  # kept after a failure, for the daemon's log


# ---- this benchmark ---------------------------------------------------------------------------------------------


def build_scene(harness: ModuleType, movie: Path, still: Path):  # a bpy Scene
    """The 2,000-strip timeline, made with bare bpy calls (the import's baseline)."""
    import bpy

    compat = harness.module("compat")
    scene = harness.fresh_scene()
    strips = compat.top_strips(scene)
    sound = bpy.app.build_options.audaspace
    for shot in range(SHOTS):
        start = 1 + shot * 30
        take = strips.new_movie(name=f"take {shot}", filepath=str(movie), channel=1, frame_start=start)
        trim(take, start, source_start=2, duration=20)
        if sound:
            audio = strips.new_sound(name=f"take {shot} sound", filepath=str(movie), channel=2, frame_start=start)
            trim(audio, start, source_start=2, duration=20)
        else:
            compat.new_effect(scene, f"take {shot} sound", "COLOR", 2, start, 20)
        if shot % 2:
            picture = strips.new_image(name=f"still {shot}", filepath=str(still), channel=3, frame_start=start)
            picture.frame_final_duration = 24
        else:
            placeholder = compat.new_effect(scene, f"shot {shot}", "COLOR", 3, start, 24)
            placeholder["milimo_shot"] = True
            placeholder["milimo_prompt"] = f"Shot {shot}: the ferry leaves the harbour"
        if shot % 2:
            text = compat.new_effect(scene, f"title {shot}", "TEXT", 4, start + 2, 12)
            text.text = f"Shot {shot}"
        else:
            generated = strips.new_movie(name=f"generated {shot}", filepath=str(movie), channel=4, frame_start=start)
            generated.frame_final_duration = 16
            for key, value in (("job_id", f"j-{shot}"), ("seed", shot), ("prompt", "A gull"), ("model", "animatic")):
                generated[f"milimo_{key}"] = value
    scene.frame_end = SHOTS * 30
    return scene


def trim(strip, start: int, source_start: int, duration: int) -> None:  # a bpy Strip
    strip.frame_offset_start = source_start
    strip.frame_final_duration = duration
    strip.frame_start = start - source_start


@dataclass
class Timings:
    """Seconds per run of each part, and what the last run made."""

    parts: dict[str, list[float]] = field(default_factory=dict)
    made: object = None

    def add(self, part: str, seconds: float) -> None:
        self.parts.setdefault(part, []).append(seconds)

    def median(self, part: str) -> float:
        return statistics.median(self.parts[part])

    def total(self) -> float:
        return statistics.median([sum(runs) for runs in zip(*self.parts.values(), strict=True)])


def time_export(otio_ext: ModuleType, scene, path: str) -> Timings:  # a bpy Scene
    timings = Timings()
    for _ in range(RUNS):
        began = time.perf_counter()
        data, strips = otio_ext.read_scene(scene)
        read = time.perf_counter()
        timeline, _warnings = otio_ext.build_timeline(data, strips)
        built = time.perf_counter()
        otio_ext.write_timeline(timeline, path)
        timings.add("read", read - began)
        timings.add("build", built - read)
        timings.add("write", time.perf_counter() - built)
        timings.made = timeline
    return timings


def time_import(harness: ModuleType, path: str, make_bare: Callable[[], object]) -> tuple[Timings, Timings]:
    """The import, and in turn with it the baseline: the same strips made with bare bpy calls (each run in a scene
    of its own, removed after, so both meet Blender in the same state)."""
    import bpy

    otio_ext = harness.module("timeline_otio")
    timings, bare = Timings(), Timings()
    for _ in range(RUNS):
        began = time.perf_counter()
        made = make_bare()
        bare.add("create", time.perf_counter() - began)
        bpy.data.scenes.remove(made)
        scene = harness.fresh_scene()
        shots = otio_ext.shot_defaults(scene)
        began = time.perf_counter()
        plan = otio_ext.plan_import(otio_ext.read_timeline(path), shots, str(SCRATCH))
        planned = time.perf_counter()
        otio_ext.apply_settings(scene, plan.scene)
        copier = otio_ext.copier_for(plan)
        with copier.holding():
            for strip in plan.strips:
                otio_ext.add_strip(scene, strip, copier)
        copier.close(scene)
        timings.add("plan", planned - began)
        timings.add("place", time.perf_counter() - planned)
        timings.made = len(harness.module("compat").top_strips(scene))
        bpy.data.scenes.remove(scene)
    return timings, bare


def time_operator(harness: ModuleType, path: str) -> tuple[float, list[float]]:
    """The import operator, its queue drained as Blender's timer does (again at once while work waits): seconds,
    and how long each main-thread tick took."""
    import bpy

    mainthread, operators_otio = harness.module("mainthread"), harness.module("operators_otio")
    harness.fresh_scene()
    mainthread.stalls.clear()
    began = time.perf_counter()
    bpy.ops.milimo.import_otio(filepath=path)
    while operators_otio.busy():
        time.sleep(min(mainthread.drain(), 0.01))
    return time.perf_counter() - began, list(mainthread.stalls)


def main() -> None:
    import bpy

    with others_meter() as others, extension() as harness:
        import opentimelineio as otio

        otio_ext, compat = harness.module("timeline_otio"), harness.module("compat")
        movie, still = SCRATCH / "take.mp4", SCRATCH / "still.png"
        harness.make_movie(movie, 24)
        harness.make_still(still)

        source = build_scene(harness, movie, still)
        kinds = Counter(strip.type.lower() for strip in compat.top_strips(source))

        path = str(SCRATCH / "cut.otio")
        export = time_export(otio_ext, source, path)
        began = time.perf_counter()
        text = export.made.to_json_string()
        otio_write_s = time.perf_counter() - began
        began = time.perf_counter()
        otio.adapters.read_from_file(path)
        otio_read_s = time.perf_counter() - began
        imported, bare = time_import(harness, path, lambda: build_scene(harness, movie, still))
        operator_s, ticks = time_operator(harness, path)

    export_s, import_s, bare_s = export.total(), imported.total(), bare.total()
    lines = [
        f"== blender-otio: OTIO export and import of a {sum(kinds.values()):,}-strip VSE timeline "
        f"(bpy {bpy.app.version_string})",
        "strips: " + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())),
        f"export: {export_s:.3f} s, median of {RUNS} ({verdict(export_s)} goal {GOAL_S:g} s): reading the strips on "
        f"the main thread {export.median('read'):.3f} s, building {export.median('build'):.3f} s, "
        f"writing {export.median('write'):.3f} s",
        f"import: {import_s:.3f} s, median of {RUNS} ({verdict(import_s)} goal {GOAL_S:g} s): reading and planning "
        f"{imported.median('plan'):.3f} s (the worker thread's part), placing {imported.made} strips "
        f"{imported.median('place'):.3f} s (the main thread's part)",
        f"baseline: the same strips made with bare bpy calls, every movie and sound opened, {bare_s:.3f} s (median "
        f"of {RUNS}, in turn with the imports); OTIO's own JSON write {otio_write_s:.3f} s"
        f" and read {otio_read_s:.3f} s ({len(text):,} bytes)",
        f"ratio: import / bare creation {import_s / bare_s:.2f}x; "
        f"export / OTIO's write and read {export_s / (otio_write_s + otio_read_s):.2f}x",
        f"the import operator: {operator_s:.2f} s, of which {sum(ticks):.2f} s in {len(ticks)} main-thread ticks, "
        f"the longest {1000 * max(ticks):.1f} ms",
        f"other processes on this machine kept {others():.2f} of its {os.cpu_count()} cores busy meanwhile",
    ]
    print("\n" + "\n   ".join(lines), flush=True)


def verdict(seconds: float) -> str:
    return "meets" if seconds <= GOAL_S else "MISSES"


if __name__ == "__main__":
    main()
