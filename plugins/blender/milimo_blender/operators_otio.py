"""Export the sequencer's timeline to OpenTimelineIO and import one, without freezing Blender.

Export reads the strips on the main thread (plain data, milliseconds), then builds and writes the file on a worker
thread. Import reads and plans the file on a worker thread, then places the strips on the main thread in slices of
a few milliseconds, so the interface redraws between them; Blender's own work per strip (opening a movie file) is
what the import waits on. Both answer in the panel when they are done (`session.tell`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
from bpy.props import StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import compat, mainthread, session, timeline_otio
from .connection import describe
from .panels import SequencerPanel
from .timeline import redraw_sequencers
from .timeline_otio import ImportPlan, ImportReport

SLICE_S = 0.008  # main-thread time per import slice: half a 60 Hz frame, the rest is Blender's to redraw
SHOWN_WARNINGS = 3  # warnings named in the report; the console gets them all


@dataclass
class Progress:
    """The OTIO export or import under way (one at a time), for the panel."""

    action: str = ""  # "Exporting" or "Importing"; empty when idle
    done: int = 0
    total: int = 0
    message: str = ""  # how the last one ended


progress = Progress()


def busy() -> bool:
    return bool(progress.action)


def _begin(action: str) -> None:
    progress.action, progress.done, progress.total = action, 0, 0
    redraw_sequencers()


def _end(message: str, warnings: Sequence[str] = ()) -> None:
    for warning in warnings:
        print(f"Milimo OTIO: {warning}")
    progress.action = ""
    progress.message = message
    session.tell(message)


def _in_background(work: Callable[[], Any], on_done: Callable[[Any], None], failed: str) -> None:
    """Run `work` on a thread of its own; `on_done(result)`, or `failed` and the reason, comes back on the main
    thread."""

    def run() -> None:
        try:
            result = work()
        except Exception as error:  # every failure reaches the user as a sentence
            message = f"{failed}: {describe(error, address='')}"
            mainthread.post(lambda: _end(message))
            return
        mainthread.post(lambda: on_done(result))

    threading.Thread(target=run, name="milimo-otio", daemon=True).start()


def _warnings_text(warnings: list[str]) -> str:
    if not warnings:
        return ""
    shown = "; ".join(warnings[:SHOWN_WARNINGS])
    more = f" (and {len(warnings) - SHOWN_WARNINGS} more, in the console)" if len(warnings) > SHOWN_WARNINGS else ""
    return f" {len(warnings)} warning(s): {shown}{more}."


class MILIMO_OT_export_otio(bpy.types.Operator, ExportHelper):
    """Write the sequencer's timeline (channels, gaps, placeholders and media) as an OpenTimelineIO file"""

    bl_idname = "milimo.export_otio"
    bl_label = "Export OTIO"

    filename_ext = ".otio"
    filter_glob: StringProperty(default="*.otio", options={"HIDDEN"})

    def execute(self, context: bpy.types.Context) -> set[str]:
        if busy():
            self.report({"ERROR"}, f"{progress.action} OTIO already; wait for it to finish")
            return {"CANCELLED"}
        scene = compat.sequencer_scene(context)
        data, strips = timeline_otio.read_scene(scene)
        path = bpy.path.ensure_ext(bpy.path.abspath(self.filepath), self.filename_ext)

        def build() -> tuple[int, list[str]]:
            timeline, warnings = timeline_otio.build_timeline(data, strips)
            timeline_otio.write_timeline(timeline, path)
            return len(timeline.tracks), warnings

        def written(result: tuple[int, list[str]]) -> None:
            tracks, warnings = result
            _end(f"Exported {len(strips)} strips on {tracks} tracks to {path}." + _warnings_text(warnings), warnings)

        _begin("Exporting")
        _in_background(build, written, f"Could not export to {path}")
        self.report({"INFO"}, f"Exporting {len(strips)} strips to {path}…")
        return {"FINISHED"}


class MILIMO_OT_import_otio(bpy.types.Operator, ImportHelper):
    """Read an OpenTimelineIO file into the sequencer: into this scene when it has no strips, else a new scene"""

    bl_idname = "milimo.import_otio"
    bl_label = "Import OTIO"

    filter_glob: StringProperty(default="*.otio;*.otioz", options={"HIDDEN"})

    def execute(self, context: bpy.types.Context) -> set[str]:
        if busy():
            self.report({"ERROR"}, f"{progress.action} OTIO already; wait for it to finish")
            return {"CANCELLED"}
        source = compat.sequencer_scene(context)
        path = bpy.path.abspath(self.filepath)
        shots = timeline_otio.shot_defaults(source)
        source_name = source.name

        def plan() -> ImportPlan:
            return timeline_otio.plan_import(timeline_otio.read_timeline(path), shots, os.path.dirname(path))

        _begin("Importing")
        _in_background(plan, lambda planned: _place(planned, source_name, path), f"Could not import {path}")
        self.report({"INFO"}, f"Reading {path}…")
        return {"FINISHED"}


def _place(plan: ImportPlan, source_name: str, path: str) -> None:
    """Main thread: the scene the strips go to, its settings, then the strips in slices."""
    try:
        scene = _target_scene(source_name, plan.scene.name or Path(path).stem)
        timeline_otio.apply_settings(scene, plan.scene)
    except (RuntimeError, TypeError, ValueError) as error:  # Blender refused a setting: say which, no traceback
        _end(f"Could not import {path}: {error}")
        return
    progress.total = len(plan.strips)
    _Placer(scene.name, plan, path).step()


def _target_scene(source_name: str, name: str) -> bpy.types.Scene:
    """The scene the import was started from while it has no strips, else a new one that the sequencer then shows,
    with the source's render size and shot settings."""
    source = bpy.data.scenes.get(source_name)
    if source is not None and not compat.all_strips(source):
        return source
    scene = bpy.data.scenes.new(name)
    compat.editor(scene)
    if source is not None:
        for setting in ("resolution_x", "resolution_y", "resolution_percentage"):
            setattr(scene.render, setting, getattr(source.render, setting))
        with contextlib.suppress(TypeError):  # a model the daemon no longer offers stays the default
            scene.milimo.model = source.milimo.model
        compat.replace_sequencer_scene(source, scene)
    return scene


class _Placer:
    """Places a plan's strips a slice at a time from the main-thread queue. It holds the scene by name, never a
    reference to Blender data across slices (an undo or a deleted scene would leave that reference dangling)."""

    def __init__(self, scene_name: str, plan: ImportPlan, path: str) -> None:
        self.scene_name = scene_name
        self.plan = plan
        self.path = path
        self.report = ImportReport.of(plan)
        self.copier = timeline_otio.copier_for(plan)
        self.index = 0

    def step(self) -> None:
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is None:
            _end(f"Import of {self.path} stopped after {self.index} strips: the scene {self.scene_name!r} is gone")
            return
        deadline = time.perf_counter() + SLICE_S
        strips = self.plan.strips
        try:
            with self.copier.holding():
                while self.index < len(strips) and time.perf_counter() < deadline:
                    self.report.add(scene, strips[self.index], self.copier)
                    self.index += 1
        except Exception as error:  # a strip Blender refuses must end the import with a sentence, not a traceback
            self.copier.close(scene)
            _end(f"Import of {self.path} stopped at strip {strips[self.index].name!r}: {error}")
            return
        progress.done = self.index
        redraw_sequencers()
        if self.index < len(strips):
            mainthread.post(self.step)
        else:
            self.copier.close(scene)
            _end(self._summary(scene), self.report.warnings)

    def _summary(self, scene: bpy.types.Scene) -> str:
        text = f"Imported {self.report.strips} strips from {Path(self.path).name} into scene {scene.name!r}."
        missing = self.report.missing_files
        if missing:
            text += (
                f" {len(missing)} media file(s) are missing ({', '.join(missing[:SHOWN_WARNINGS])}"
                f"{', …' if len(missing) > SHOWN_WARNINGS else ''}): their strips point at those paths; relink them"
                " with File > External Data > Find Missing Files."
            )
        stand_ins = sum(1 for strip in self.plan.strips if strip.notes.get(timeline_otio.MISSING_KEY))
        if stand_ins:
            text += f" {stand_ins} clip(s) without any media became red color strips named after them."
        return text + _warnings_text(self.report.warnings)


class MILIMO_PT_otio(SequencerPanel):
    bl_label = "OpenTimelineIO"
    bl_parent_id = "MILIMO_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        row = layout.row(align=True)
        row.enabled = not busy()
        row.operator("milimo.export_otio", icon="EXPORT")
        row.operator("milimo.import_otio", icon="IMPORT")
        if busy():
            factor = progress.done / progress.total if progress.total else 0.0
            text = f"{progress.action} {progress.done}/{progress.total}" if progress.total else f"{progress.action}…"
            layout.progress(factor=factor, type="BAR", text=text)


CLASSES = (MILIMO_OT_export_otio, MILIMO_OT_import_otio, MILIMO_PT_otio)
