"""Import a screenplay as placeholder shots: the daemon reads the script into the scene's project storyboard (a
`screenplay` job), and each new shot of the board becomes a placeholder strip, in board order, back to back from
the playhead, with its suggested duration and prompt, and a marker at each scene's first frame. "Generate all
placeholders" then renders them.

The network half (project, upload, job, board) runs on a worker thread; the strips are made on the main thread
when the board arrives. The import's progress lives here, per scene, for the Storyboard panel: it is not worth
keeping in the .blend (a board that was read stays in the daemon's project; importing again is cheap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import bpy
import grpc
from bpy.props import BoolProperty, EnumProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from milimo.client.client import Client
from milimo.scene_place import with_place
from milimo.v1 import common_pb2, jobs_pb2, projects_pb2, storyboard_pb2

from . import compat, jobs, mainthread, operators, requests, session, timeline
from .operators import SequencerOperator
from .panels import SequencerPanel

# What the daemon reads as a script (milimo.tasks.inputs.SCREENPLAY_SUFFIXES).
SCRIPT_SUFFIXES = (".fountain", ".spmd", ".fdx", ".txt", ".text", ".md")
PARSERS = [
    ("auto", "Automatic", "Fountain, Final Draft or plain text, told by the file's name and content"),
    ("fountain", "Fountain", "A Fountain screenplay"),
    ("fdx", "Final Draft", "A Final Draft (.fdx) screenplay"),
    ("text", "Plain text", "Free-form text: paragraphs become shots"),
    ("llm", "Language model", "The daemon's prompt model reads the script (falls back to the rules on failure)"),
]
WARNING_PREFIX = "warning: "  # how the screenplay job logs a parser's fallback
MARKER_NAME_MAX = 63  # Blender's limit for a marker's name


class ImportStopped(Exception):
    """The import ended early; the message is the sentence the user sees."""


@dataclass(frozen=True)
class ProjectSpec:
    """A new project made to the scene's measure."""

    name: str
    width: int
    height: int
    fps: Fraction


@dataclass(frozen=True)
class PlannedShot:
    shot_id: str
    scene_id: str
    name: str  # "scene.shot", as the board numbers it
    heading: str  # its scene's heading ("" without a scene)
    prompt: str
    frames: int  # at the project's frame rate


@dataclass(frozen=True)
class ImportedBoard:
    project_id: str
    fps: Fraction
    shots: list[PlannedShot]  # only the shots this import added, in board order
    warnings: list[str]


@dataclass
class ImportProgress:
    running: bool
    fraction: float
    message: str
    job_id: str = ""


# Scene name -> its latest import (main thread only).
imports: dict[str, ImportProgress] = {}


def shot_prompt(shot: projects_pb2.Shot, scene: storyboard_pb2.Scene | None) -> str:
    """The shot's description (or action), then where and when its scene happens, as the daemon's storyboard
    generation writes it (placeholders are generated as plain shots, so no element triggers)."""
    return with_place((shot.description or shot.action).strip(), scene)


def scene_frames(frames: int, project_fps: Fraction, scene_fps: Fraction) -> int:
    """A duration counted at the project's rate, in frames of the scene's rate (the same when the project was
    made from the scene)."""
    return max(1, round(frames * scene_fps / project_fps))


# ---- worker thread ----------------------------------------------------------------------------------------------


class Report(Protocol):
    def __call__(self, fraction: float, message: str, job_id: str = "") -> None: ...


def ensure_project(client: Client, project_id: str, spec: ProjectSpec) -> tuple[str, bool]:
    """The scene's project: the one it names when the daemon still has it, else a new one sized from the scene.
    Returns the id and whether it is new."""
    if project_id:
        try:
            return client.projects.GetProject(
                projects_pb2.GetProjectRequest(project_id=project_id), timeout=10
            ).id, False
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
    rate = common_pb2.Rational(num=spec.fps.numerator, den=spec.fps.denominator)
    project = projects_pb2.Project(name=spec.name[:200], width=spec.width, height=spec.height, fps=rate)
    return client.projects.CreateProject(projects_pb2.CreateProjectRequest(project=project), timeout=10).id, True


def board(client: Client, project_id: str) -> storyboard_pb2.StoryboardView:
    return client.storyboard.GetStoryboard(storyboard_pb2.GetStoryboardRequest(project_id=project_id), timeout=30)


def shot_ids(view: storyboard_pb2.StoryboardView) -> set[str]:
    return {shot.id for entry in view.scenes for shot in entry.shots} | {shot.id for shot in view.shots_without_scene}


def planned_shots(view: storyboard_pb2.StoryboardView, skip: set[str]) -> list[PlannedShot]:
    """The board's shots not in `skip`, in board order."""
    placed = [(shot, entry.scene) for entry in view.scenes for shot in entry.shots]
    placed += [(shot, None) for shot in view.shots_without_scene]
    return [
        PlannedShot(
            shot_id=shot.id,
            scene_id=shot.scene_id,
            name=shot.name,
            heading=scene.heading if scene is not None else "",
            prompt=shot_prompt(shot, scene) or (scene.heading if scene is not None else "") or f"Shot {shot.name}",
            frames=int(shot.duration_frames),
        )
        for shot, scene in placed
        if shot.id not in skip
    ]


def read_script(client: Client, path: Path, project_id: str, parser: str, report: Report) -> list[str]:
    """Upload the script, run the `screenplay` job into the project and follow it; return its warnings."""
    report(0.1, f"Uploading {path.name}")
    script = client.upload(path, project_id=project_id)
    request = jobs_pb2.JobRequest(
        screenplay=jobs_pb2.ScreenplayRequest(project_id=project_id, asset_id=script.id, parser=parser)
    )
    job = client.submit(request, project_id=project_id, labels={jobs.LABEL: "blender"})
    report(0.2, f"Reading {path.name}", job.id)
    warnings: list[str] = []

    def event(update: jobs_pb2.JobEvent) -> None:
        if update.HasField("progress") and update.progress.total:
            share = update.progress.step / update.progress.total
            report(0.2 + 0.7 * share, update.progress.message or f"Reading {path.name}", job.id)
        elif update.HasField("log") and update.log.message.startswith(WARNING_PREFIX):
            warnings.append(update.log.message.removeprefix(WARNING_PREFIX))

    done = client.wait(job.id, on_event=event)
    if done.status != jobs_pb2.JOB_STATUS_SUCCEEDED:
        outcome = jobs.STATUS_NAMES[done.status].lower()
        raise ImportStopped(f"Reading {path.name} {outcome}" + (f": {done.reason}" if done.reason else ""))
    return warnings


def import_board(
    client: Client,
    path: Path,
    project_id: str,
    spec: ProjectSpec,
    parser: str,
    report: Report,
    remember_project: Callable[[str], None],
) -> ImportedBoard:
    """Everything the daemon does for an import: the project, the script read into its board, the new shots."""
    report(0.05, "Finding the scene's project")
    project_id, created = ensure_project(client, project_id, spec)
    remember_project(project_id)
    before = set() if created else shot_ids(board(client, project_id))
    warnings = read_script(client, path, project_id, parser, report)
    report(0.95, "Fetching the storyboard")
    view = board(client, project_id)
    fps = Fraction(view.project.fps.num, view.project.fps.den or 1)
    return ImportedBoard(project_id, fps, planned_shots(view, before), warnings)


# ---- main thread ------------------------------------------------------------------------------------------------


def place_board(scene: bpy.types.Scene, imported: ImportedBoard, start: int) -> list[bpy.types.Strip]:
    """One placeholder per shot, back to back from `start` on one channel free over the whole run, and a marker
    at the first frame of each scene."""
    fps = requests.scene_fps(scene)
    lengths = [scene_frames(shot.frames, imported.fps, fps) for shot in imported.shots]
    channel = timeline.free_channel(scene, 1, start, start + sum(lengths))
    strips, frame, scene_id = [], start, None
    for shot, frames in zip(imported.shots, lengths, strict=True):
        if shot.scene_id and shot.scene_id != scene_id and shot.heading:
            scene.timeline_markers.new(shot.heading[:MARKER_NAME_MAX], frame=frame)
        scene_id = shot.scene_id
        strip = operators.add_placeholder(scene, f"{shot.name} {shot.prompt}", frame, frames, channel)
        operators.mark(strip, shot.prompt)
        strip["milimo_shot_id"] = shot.shot_id
        strip["milimo_scene_id"] = shot.scene_id
        strips.append(strip)
        frame += frames
    scene.frame_end = max(scene.frame_end, frame - 1)
    return strips


def _show(scene_name: str, progress: ImportProgress) -> None:
    imports[scene_name] = progress
    timeline.redraw_sequencers()


def _remember_project(scene_name: str, project_id: str) -> None:
    if (scene := bpy.data.scenes.get(scene_name)) is not None:
        scene.milimo.project_id = project_id


def _imported(scene_name: str, start: int, imported: ImportedBoard) -> None:
    scene = bpy.data.scenes.get(scene_name)
    if scene is None:
        return  # the scene went while the daemon read the script; the board stays in the project
    scene.milimo.project_id = imported.project_id
    if not imported.shots:
        message = "The script added no shots to the storyboard"
    else:
        strips = place_board(scene, imported, start)
        scenes = len({shot.scene_id for shot in imported.shots if shot.scene_id})
        message = f"Imported {len(strips)} shots in {scenes} scenes from frame {start}"
    if imported.warnings:
        message += f" ({len(imported.warnings)} warnings: {imported.warnings[0]})"
    _show(scene_name, ImportProgress(running=False, fraction=1.0, message=message))
    session.tell(message)


def _failed(scene_name: str, message: str) -> None:
    _show(scene_name, ImportProgress(running=False, fraction=0.0, message=message))
    session.tell(message)


class MILIMO_OT_import_screenplay(SequencerOperator, ImportHelper):
    """Read a screenplay into placeholder shots, one per shot of the storyboard, from the playhead"""

    bl_idname = "milimo.import_screenplay"
    bl_label = "Import screenplay"

    filename_ext = ".fountain"
    filter_glob: StringProperty(default=";".join(f"*{suffix}" for suffix in SCRIPT_SUFFIXES), options={"HIDDEN"})
    parser: EnumProperty(name="Read as", items=PARSERS, default="auto")
    at_playhead: BoolProperty(
        name="From the playhead", default=True, description="Place the shots from the playhead, else from the start"
    )

    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = compat.sequencer_scene(context)
        path = Path(bpy.path.abspath(self.filepath))
        if not path.is_file():
            self.report({"ERROR"}, f"No screenplay file at {path}")
            return {"CANCELLED"}
        if path.suffix.lower() not in SCRIPT_SUFFIXES:
            self.report({"ERROR"}, f"{path.name} is not a screenplay: choose a {', '.join(SCRIPT_SUFFIXES)} file")
            return {"CANCELLED"}
        if (current := imports.get(scene.name)) is not None and current.running:
            self.report({"ERROR"}, "A screenplay is still being imported into this scene: wait for it or cancel it")
            return {"CANCELLED"}
        width, height = requests.scene_size(scene)
        name = Path(bpy.data.filepath).stem if bpy.data.filepath else scene.name
        spec = ProjectSpec(name=name, width=width, height=height, fps=requests.scene_fps(scene))
        start = scene.frame_current if self.at_playhead else scene.frame_start
        scene_name, project_id, parser = scene.name, scene.milimo.project_id, self.parser

        def report(fraction: float, message: str, job_id: str = "") -> None:
            mainthread.post(lambda: _show(scene_name, ImportProgress(True, fraction, message, job_id)))

        def remember(new_id: str) -> None:
            mainthread.post(lambda: _remember_project(scene_name, new_id))

        _show(scene_name, ImportProgress(running=True, fraction=0.0, message=f"Importing {path.name}"))
        session.connection().call(
            lambda client: import_board(client, path, project_id, spec, parser, report, remember),
            on_done=lambda imported: _imported(scene_name, start, imported),
            on_error=lambda message: _failed(scene_name, message),
        )
        self.report({"INFO"}, f"Importing {path.name}…")
        return {"FINISHED"}


class MILIMO_OT_cancel_import(SequencerOperator):
    """Stop reading the screenplay (nothing is added to the storyboard)"""

    bl_idname = "milimo.cancel_import"
    bl_label = "Cancel import"

    def execute(self, context: bpy.types.Context) -> set[str]:
        progress = imports.get(compat.sequencer_scene(context).name)
        if progress is None or not progress.running:
            self.report({"ERROR"}, "No screenplay is being imported into this scene")
            return {"CANCELLED"}
        if not progress.job_id:
            self.report({"ERROR"}, "The import has not reached the daemon's queue yet; try again in a moment")
            return {"CANCELLED"}
        job_id = progress.job_id
        session.connection().call(
            lambda client: client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job_id), timeout=10),
            on_error=session.tell,
        )
        return {"FINISHED"}


class MILIMO_PT_storyboard(SequencerPanel):
    bl_label = "Storyboard"
    bl_parent_id = "MILIMO_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        scene = compat.sequencer_scene(context)
        layout.operator("milimo.import_screenplay", icon="TEXT")
        progress = imports.get(scene.name)
        if progress is not None and progress.running:
            row = layout.row()
            row.progress(factor=progress.fraction, type="BAR", text=progress.message)
            row.operator("milimo.cancel_import", text="", icon="X")
        elif progress is not None:
            layout.label(text=progress.message)
        if scene.milimo.project_id:
            layout.label(text=f"Project {scene.milimo.project_id}", icon="FILE_FOLDER")
        layout.operator("milimo.generate_placeholders", icon="SEQ_SEQUENCER")


CLASSES = (MILIMO_OT_import_screenplay, MILIMO_OT_cancel_import, MILIMO_PT_storyboard)
