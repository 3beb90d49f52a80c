"""Track or paint over an object in a movie strip, designated on the frame under the playhead by points clicked in
the sequencer preview or by a text (SAM 3).

Track: the clip is uploaded, a tracking session is prompted on that frame and propagated through the clip
(progress streams into a job entry), the track is saved and rendered as a matte (white object on black), and the
matte becomes a movie strip above the source, aligned frame for frame and drawn with the source's transform.
The session lives on a worker thread; the entry's updates and the strip are made on the main thread.

Inpaint: an `inpaint` job on the clip with the segmentation prompt on that frame (the daemon tracks it through the
clip and repaints it with an image model); the job tracker places its result above the source (`anchor`).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import bpy
import gpu
import grpc
from bpy.props import EnumProperty, StringProperty
from gpu_extras.batch import batch_for_shader

from milimo.client.client import Client
from milimo.v1 import jobs_pb2, segmentation_pb2_grpc
from milimo.v1 import segmentation_pb2 as seg

from . import compat, jobs, mainthread, models, requests, results, session, timeline
from .operators import SequencerOperator
from .panels import SequencerPanel
from .preview_coords import image_to_region, region_to_image

OBJECT_ID = 1  # one object per track: the one prompted
IDLE_TIMEOUT_S = 120  # the daemon frees a session this long after its last call, should Blender go away mid-track
# Segmentation calls wait for the accelerator while a job holds it, up to their deadline; generous, so a short job
# ahead of the track delays it rather than failing it.
SEGMENT_CALL_TIMEOUT_S = 600
PREVIEW_VIEWS = {"PREVIEW", "SEQUENCER_PREVIEW"}
POINT_HALF_SIZE = 5  # pixels
POINT_COLORS = {1: (0.2, 0.9, 0.3, 1.0), 0: (0.95, 0.25, 0.2, 1.0)}
PICKING_HELP = (
    "Left click: the object · Right or Ctrl click: not the object · Backspace: undo · Enter: go · Esc: cancel"
)


class NotReady(ValueError):
    """What is missing before segmenting (a strip, a model, the playhead's place); the message says what to do."""


@dataclass(frozen=True)
class SegmentPrompt:
    """What designates the object, on one frame of the source file."""

    frame: int
    points: tuple[tuple[float, float, int], ...] = ()  # (x, y, label) in source pixels; label 1 is the object
    text: str = ""

    def point_prompts(self) -> list[jobs_pb2.PointPrompt]:
        return [jobs_pb2.PointPrompt(x=x, y=y, label=label) for x, y, label in self.points]

    def segmentation(self, model: str) -> jobs_pb2.SegmentationPrompt:
        return jobs_pb2.SegmentationPrompt(model=model, points=self.point_prompts(), text=self.text)

    def describe(self) -> str:
        return f"“{self.text}”" if self.text else f"{len(self.points)} points"

    def as_json(self) -> str:
        return json.dumps({"frame": self.frame, "text": self.text, "points": [list(p) for p in self.points]})


# ---- what the user picked, and with which models ----------------------------------------------------------------


def picked_source(scene: bpy.types.Scene) -> tuple[bpy.types.Strip, int]:
    """The selected movie strip and the frame of its file under the playhead."""
    active = compat.active_strip(scene)
    movies = [strip for strip in compat.selected_strips(scene) if strip.type == "MOVIE"]
    strip = active if active is not None and active.select and active.type == "MOVIE" else next(iter(movies), None)
    if strip is None:
        raise NotReady("Select a movie strip to track or inpaint")
    frame = scene.frame_current
    if not strip.frame_final_start <= frame < strip.frame_final_end:
        raise NotReady(f"Move the playhead over {strip.name}: the object is picked on the frame under it")
    if not Path(bpy.path.abspath(strip.filepath)).is_file():
        raise NotReady(f"The file of {strip.name} is missing: {bpy.path.abspath(strip.filepath)}")
    return strip, timeline.source_frame(strip, frame)


def _unavailable(missing: str) -> NotReady:
    status = session.connection().status
    return NotReady(missing if status.online else status.message)


def segmenter(by_text: bool, chosen: str = models.AUTOMATIC) -> str:
    """The segmentation model the panel names, else the daemon's first that takes the prompt (a text needs SAM 3)."""
    if chosen and chosen != models.AUTOMATIC:
        if chosen not in models.segmenters():
            raise _unavailable(f"The daemon no longer offers the segmentation model {chosen}: pick another")
        if by_text and models.family_of(chosen) != "sam3":
            raise NotReady(f"{chosen} cannot find an object by text (SAM 3 can): pick a SAM 3 model, or click points")
        return chosen
    names = [name for name in models.segmenters() if not by_text or models.family_of(name) == "sam3"]
    if names:
        return names[0]
    if by_text:
        raise _unavailable("Tracking by text needs a SAM 3 model on the daemon: configure one, or click points")
    raise _unavailable("The daemon has no segmentation model (SAM 3 or SAM 2) configured")


def inpainter(chosen: str = models.AUTOMATIC) -> str:
    """The image model the panel names, else the daemon's first that can inpaint."""
    names = models.image_models()
    if chosen and chosen != models.AUTOMATIC:
        if chosen not in names:
            raise _unavailable(f"The daemon no longer offers the inpainting model {chosen}: pick another")
        return chosen
    if names:
        return names[0]
    raise _unavailable("The daemon has no image model that can inpaint (FLUX.1 Fill or FLUX.2 Klein) configured")


# ---- tracking (worker thread) -----------------------------------------------------------------------------------


class TrackCancelled(Exception):
    def __init__(self) -> None:
        super().__init__("Tracking cancelled")


@dataclass
class TrackRun:
    """One track in flight: cancelling sets the flag and ends the frame stream at once."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    stream: grpc.Future | None = None

    def cancel(self) -> None:
        self.cancelled.set()
        if (stream := self.stream) is not None:
            stream.cancel()

    def check(self) -> None:
        if self.cancelled.is_set():
            raise TrackCancelled


@dataclass(frozen=True)
class Matte:
    path: str
    asset_id: str
    track_asset_id: str
    source_asset_id: str


Report = Callable[[float, str], None]


def track(
    client: Client,
    source: Path,
    prompt: SegmentPrompt,
    model: str,
    project_id: str,
    folder: Path,
    run: TrackRun,
    report: Report,
) -> Matte:
    """Upload, prompt, propagate, save and render the matte, then download it into `folder`."""
    report(1, f"Uploading {source.name}")
    clip = client.upload(source, project_id=project_id)
    run.check()
    report(3, "Waiting for the accelerator")
    sam = client.segmentation
    tracking = sam.StartTracking(
        seg.StartTrackingRequest(model=model, asset_id=clip.id, idle_timeout_s=IDLE_TIMEOUT_S),
        timeout=SEGMENT_CALL_TIMEOUT_S,
    )
    try:
        run.check()
        report(5, f"Finding the object on frame {prompt.frame}")
        sam.AddTrackingPrompt(
            seg.AddTrackingPromptRequest(
                session_id=tracking.id,
                frame_index=prompt.frame,
                object_id=OBJECT_ID,
                points=prompt.point_prompts(),
                text=prompt.text,
            ),
            timeout=SEGMENT_CALL_TIMEOUT_S,
        )
        _propagate(sam, tracking.id, run, report)
        report(88, "Saving the track")
        saved = sam.SaveTrack(
            seg.SaveTrackRequest(session_id=tracking.id, project_id=project_id), timeout=SEGMENT_CALL_TIMEOUT_S
        )
        run.check()
        report(92, "Rendering the matte")
        matte = sam.ExportMatte(
            seg.ExportMatteRequest(track_asset_id=saved.id, project_id=project_id), timeout=SEGMENT_CALL_TIMEOUT_S
        )
    finally:
        with suppress(grpc.RpcError):  # the session's idle timeout frees it anyway
            sam.StopTracking(seg.StopTrackingRequest(session_id=tracking.id), timeout=10)
    run.check()
    report(96, "Downloading the matte")
    folder.mkdir(parents=True, exist_ok=True)
    target = client.download(matte.id, folder / f"{matte.id}-matte.mp4")
    return Matte(str(target), matte.id, saved.id, clip.id)


def _propagate(sam: segmentation_pb2_grpc.SegmentationStub, session_id: str, run: TrackRun, report: Report) -> None:
    stream = sam.Propagate(seg.PropagateRequest(session_id=session_id), timeout=SEGMENT_CALL_TIMEOUT_S)
    run.stream = stream
    try:
        run.check()  # a cancel that came before the stream existed
        for event in stream:
            if event.total:
                report(8 + 80 * event.done / event.total, f"Tracking frame {event.done} of {event.total}")
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.CANCELLED and run.cancelled.is_set():
            raise TrackCancelled from None
        raise
    finally:
        run.stream = None


# ---- the matte strip and the job entry (main thread) ------------------------------------------------------------

# Job entry key (client_request_id) -> the track in flight. Main thread only.
tracks: dict[str, TrackRun] = {}


def place_matte(
    scene: bpy.types.Scene, source: bpy.types.Strip, matte: Matte, job: bpy.types.PropertyGroup
) -> bpy.types.Strip:
    """The matte on the first channel above the source that is free where the source plays, aligned to the
    source and tagged."""
    strip = results.lay_over(scene, source, matte.path, f"{source.name} matte"[:63])
    strip["milimo_matte_of"] = source.name
    strip["milimo_asset_id"] = matte.asset_id
    strip["milimo_track_asset_id"] = matte.track_asset_id
    strip["milimo_source_asset_id"] = matte.source_asset_id
    strip["milimo_segment_model"] = job.model
    strip["milimo_segment_prompt"] = job.prompt
    return strip


def _progress(scene_name: str, key: str, percent: float, message: str) -> None:
    if (job := jobs.by_key(scene_name, key)) is not None and job.status == "RUNNING":
        job.progress, job.message = percent, message
        timeline.redraw_sequencers()


def _tracked(scene_name: str, key: str, matte: Matte) -> None:
    tracks.pop(key, None)
    if (job := jobs.by_key(scene_name, key)) is None:
        return
    scene = bpy.data.scenes[scene_name]
    job.status, job.progress = "SUCCEEDED", 100
    source = compat.top_strips(scene).get(job.anchor)
    if source is None:
        job.message = f"{job.anchor} is gone from the timeline; the matte is at {matte.path}"
    else:
        strip = place_matte(scene, source, matte, job)
        job.imported, job.result_strip, job.message = True, strip.name, ""
    timeline.redraw_sequencers()


def _track_failed(scene_name: str, key: str, message: str) -> None:
    run = tracks.pop(key, None)
    if (job := jobs.by_key(scene_name, key)) is not None:
        cancelled = run is not None and run.cancelled.is_set()
        job.status = "CANCELLED" if cancelled else "FAILED"
        job.message = "" if cancelled else message
    timeline.redraw_sequencers()


def mark_interrupted_tracks() -> None:
    """After File > Open: a track entry still running in the file is one that this Blender is not running (tracks
    live only as long as the session that started them); say so rather than show it running forever."""
    for scene in bpy.data.scenes:
        for job in scene.milimo.jobs:
            if job.kind == "track" and job.status == "RUNNING" and job.client_request_id not in tracks:
                job.status, job.message = "FAILED", "Blender closed while tracking: track the object again"


def start_track(scene: bpy.types.Scene, source: bpy.types.Strip, prompt: SegmentPrompt, model: str) -> str:
    """Record a job entry for the track and run it off the main thread; return the entry's key."""
    key = uuid.uuid4().hex
    job = scene.milimo.jobs.add()
    job.client_request_id, job.kind, job.status = key, "track", "RUNNING"
    job.label = f"Track {prompt.describe()} in {source.name}"
    job.anchor, job.model, job.prompt = source.name, model, prompt.as_json()
    job.media_dir = results.media_dir()
    run = tracks[key] = TrackRun()
    path, folder, project_id, scene_name = (
        Path(bpy.path.abspath(source.filepath)),
        Path(job.media_dir),
        scene.milimo.project_id,
        scene.name,
    )

    def report(percent: float, message: str) -> None:
        mainthread.post(lambda: _progress(scene_name, key, percent, message))

    session.connection().call(
        lambda client: track(client, path, prompt, model, project_id, folder, run, report),
        on_done=lambda matte: _tracked(scene_name, key, matte),
        on_error=lambda message: _track_failed(scene_name, key, message),
    )
    return key


# ---- inpainting -------------------------------------------------------------------------------------------------


def start_inpaint(
    scene: bpy.types.Scene,
    source: bpy.types.Strip,
    prompt: SegmentPrompt,
    segment_model: str,
    image_model: str,
    text: str,
) -> bpy.types.PropertyGroup:
    """Queue an `inpaint` job on the source's file; its clip lands above the source, frame for frame."""
    settings = scene.milimo
    seed = requests.pick_seed(settings.seed, randomize=False)
    path, project_id, steps = Path(bpy.path.abspath(source.filepath)), settings.project_id, settings.steps
    start = round(source.frame_start)  # where frame 0 of the source's file plays

    def build(client: Client) -> jobs_pb2.JobRequest:
        clip = client.upload(path, project_id=project_id)
        inpaint = jobs_pb2.InpaintRequest(
            model=image_model,
            asset_id=clip.id,
            prompt=text,
            segment=prompt.segmentation(segment_model),
            segment_frame=prompt.frame,
            steps=steps,
            seed=seed,
        )
        return jobs_pb2.JobRequest(inpaint=inpaint)

    return session.tracker().submit(
        scene,
        build,
        kind="inpaint",
        label=f"Inpaint {prompt.describe()} in {source.name}: {text}",
        anchor=source.name,
        frame_start=start,
        frames=source.frame_final_end - start,
        channel=source.channel + 1,
        prompt=text,
        seed=seed,
        model=image_model,
    )


# ---- operators --------------------------------------------------------------------------------------------------

ACTIONS = [
    ("TRACK", "Track", "Track the object through the clip as a matte strip"),
    ("INPAINT", "Inpaint", "Paint over the object through the clip with the panel's prompt"),
]


def run_action(scene: bpy.types.Scene, action: str, source: bpy.types.Strip, prompt: SegmentPrompt) -> str:
    """Start tracking or inpainting with the panel's models; return what to tell the user. Raises NotReady."""
    settings = scene.milimo
    model = segmenter(by_text=bool(prompt.text), chosen=settings.segment_model)
    if action == "TRACK":
        start_track(scene, source, prompt, model)
        return f"Tracking {prompt.describe()} in {source.name}"
    text = settings.inpaint_prompt.strip()
    if not text:
        raise NotReady("Write what to paint over the object in “Replace with”")
    start_inpaint(scene, source, prompt, model, inpainter(settings.inpaint_model), text)
    return f"Queued inpainting {prompt.describe()} in {source.name}"


class SegmentByText(SequencerOperator):
    """Track or inpaint (the subclass's `action`) the object the panel's text names."""

    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = compat.sequencer_scene(context)
        text = scene.milimo.segment_text.strip()
        try:
            if not text:
                raise NotReady("Name the object in “Object” first, or pick it with points in the preview")
            source, frame = picked_source(scene)
            message = run_action(scene, self.action, source, SegmentPrompt(frame=frame, text=text))
        except NotReady as not_ready:
            self.report({"ERROR"}, str(not_ready))
            return {"CANCELLED"}
        self.report({"INFO"}, message)
        return {"FINISHED"}


class MILIMO_OT_track_object(SegmentByText):
    """Track the object named in the panel (SAM 3) through the selected movie strip, as a matte strip above it"""

    bl_idname = "milimo.track_object"
    bl_label = "Track object"
    action = "TRACK"


class MILIMO_OT_inpaint_object(SegmentByText):
    """Paint over the object named in the panel (SAM 3) through the selected movie strip, as a new strip above it"""

    bl_idname = "milimo.inpaint_object"
    bl_label = "Inpaint object"
    action = "INPAINT"


def command(event_type: str, value: str, ctrl: bool) -> str:
    """What an event means while picking points: "positive", "negative", "undo", "run", "cancel", or "" (not
    ours: it passes through, so the preview still pans and zooms)."""
    if value != "PRESS":
        return ""
    if event_type == "LEFTMOUSE":
        return "negative" if ctrl else "positive"
    if event_type == "RIGHTMOUSE":
        return "negative"
    if event_type == "BACK_SPACE" or (event_type == "Z" and ctrl):
        return "undo"
    if event_type in ("RET", "NUMPAD_ENTER"):
        return "run"
    if event_type == "ESC":
        return "cancel"
    return ""


@dataclass
class PickedPoints:
    """The points clicked so far, in source pixels, and where to draw them (read by the preview's draw handler)."""

    scene_name: str
    strip_name: str
    region: bpy.types.Region
    points: list[tuple[float, float, int]] = field(default_factory=list)

    def has_object(self) -> bool:
        return any(label == 1 for _x, _y, label in self.points)


def _draw_points(picked: PickedPoints) -> None:
    """Draw handler of the sequencer preview: a square on each picked point, green on the object, red off it."""
    region = bpy.context.region
    scene = bpy.data.scenes.get(picked.scene_name)
    if region is None or region.as_pointer() != picked.region.as_pointer() or scene is None:
        return
    strip = compat.top_strips(scene).get(picked.strip_name)
    if strip is None:
        return
    shader = gpu.shader.from_builtin("UNIFORM_COLOR")
    for label in (1, 0):
        corners = []
        for x, y, point_label in picked.points:
            if point_label != label:
                continue
            cx, cy = image_to_region(region.view2d, strip, scene, x, y)
            s = POINT_HALF_SIZE
            corners += [
                (cx - s, cy - s),
                (cx + s, cy - s),
                (cx + s, cy + s),
                (cx - s, cy - s),
                (cx + s, cy + s),
                (cx - s, cy + s),
            ]
        if corners:
            shader.uniform_float("color", POINT_COLORS[label])
            batch_for_shader(shader, "TRIS", {"pos": corners}).draw(shader)


def preview_region(context: bpy.types.Context) -> tuple[bpy.types.Area, bpy.types.Region] | None:
    """The sequencer preview to pick in: this area's when it shows one, else the window's first."""
    areas = [context.area] if context.area is not None else []
    areas += [area for area in context.window.screen.areas if area != context.area]
    for area in areas:
        if area.type == "SEQUENCE_EDITOR" and area.spaces.active.view_type in PREVIEW_VIEWS:
            for region in area.regions:
                if region.type == "PREVIEW" and region.width > 1 and region.height > 1:
                    return area, region
    return None


class MILIMO_OT_pick_points(SequencerOperator):
    """Click the object in the sequencer preview (right or Ctrl click marks what is not it), then Enter to track or
    inpaint it through the selected movie strip"""

    bl_idname = "milimo.pick_points"
    bl_label = "Pick points"

    action: EnumProperty(name="Then", items=ACTIONS, default="TRACK")

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        scene = compat.sequencer_scene(context)
        found = preview_region(context)
        try:
            if found is None:
                raise NotReady("Show the sequencer preview (View > Preview) to click the object in")
            source, self._frame = picked_source(scene)
            segmenter(by_text=False, chosen=scene.milimo.segment_model)
            if self.action == "INPAINT" and not scene.milimo.inpaint_prompt.strip():
                raise NotReady("Write what to paint over the object in “Replace with” first")
        except NotReady as not_ready:
            self.report({"ERROR"}, str(not_ready))
            return {"CANCELLED"}
        self._area, region = found
        self._picked = PickedPoints(scene.name, source.name, region)
        self._handle = bpy.types.SpaceSequenceEditor.draw_handler_add(
            _draw_points, (self._picked,), "PREVIEW", "POST_PIXEL"
        )
        context.window_manager.modal_handler_add(self)
        context.workspace.status_text_set(PICKING_HELP)
        self._area.tag_redraw()
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        what = command(event.type, event.value, event.ctrl)
        if what in ("positive", "negative"):
            return self._click(event, 1 if what == "positive" else 0)
        if what == "undo" and self._picked.points:
            self._picked.points.pop()
        elif what == "cancel":
            self._finish(context)
            return {"CANCELLED"}
        elif what == "run":
            return self._run(context)
        elif not what:
            return {"PASS_THROUGH"}
        self._area.tag_redraw()
        return {"RUNNING_MODAL"}

    def _click(self, event: bpy.types.Event, label: int) -> set[str]:
        region, scene = self._picked.region, bpy.data.scenes.get(self._picked.scene_name)
        strip = compat.top_strips(scene).get(self._picked.strip_name) if scene is not None else None
        if strip is None:
            return {"PASS_THROUGH"}
        x, y = event.mouse_x - region.x, event.mouse_y - region.y
        pixel = region_to_image(region, region.view2d, strip, scene, x, y)
        if pixel is None:
            return {"PASS_THROUGH"}  # outside the picture: the click is the editor's
        self._picked.points.append((pixel[0], pixel[1], label))
        self._area.tag_redraw()
        return {"RUNNING_MODAL"}

    def _run(self, context: bpy.types.Context) -> set[str]:
        if not self._picked.has_object():
            self.report({"WARNING"}, "Left-click the object at least once, then press Enter")
            return {"RUNNING_MODAL"}
        scene = bpy.data.scenes.get(self._picked.scene_name)
        source = compat.top_strips(scene).get(self._picked.strip_name) if scene is not None else None
        self._finish(context)
        if source is None:
            self.report({"ERROR"}, "The strip went away while picking")
            return {"CANCELLED"}
        prompt = SegmentPrompt(frame=self._frame, points=tuple(self._picked.points))
        try:
            message = run_action(scene, self.action, source, prompt)
        except NotReady as not_ready:
            self.report({"ERROR"}, str(not_ready))
            return {"CANCELLED"}
        self.report({"INFO"}, message)
        return {"FINISHED"}

    def cancel(self, context: bpy.types.Context) -> None:
        """Blender ends the operator (a file is opened, the window closes): take the overlay away."""
        self._finish(context)

    def _finish(self, context: bpy.types.Context) -> None:
        bpy.types.SpaceSequenceEditor.draw_handler_remove(self._handle, "PREVIEW")
        context.workspace.status_text_set(None)
        self._area.tag_redraw()


class MILIMO_OT_cancel_track(bpy.types.Operator):
    """Stop this track (nothing is placed)"""

    bl_idname = "milimo.cancel_track"
    bl_label = "Cancel track"

    key: StringProperty()

    def execute(self, context: bpy.types.Context) -> set[str]:
        run = tracks.get(self.key)
        if run is None:
            self.report({"ERROR"}, "This track is not running")
            return {"CANCELLED"}
        run.cancel()
        return {"FINISHED"}


class MILIMO_PT_segment(SequencerPanel):
    bl_label = "Track and inpaint"
    bl_parent_id = "MILIMO_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        scene = compat.sequencer_scene(context)
        settings = scene.milimo
        strip = compat.active_strip(scene)
        if strip is None or strip.type != "MOVIE":
            layout.label(text="Select a movie strip", icon="INFO")
        layout.prop(settings, "segment_model")
        layout.prop(settings, "segment_text")
        row = layout.row(align=True)
        row.operator("milimo.track_object", icon="TRACKER")
        row.operator("milimo.pick_points", text="Pick points", icon="RESTRICT_SELECT_OFF").action = "TRACK"
        layout.prop(settings, "inpaint_model")
        layout.prop(settings, "inpaint_prompt")
        row = layout.row(align=True)
        row.operator("milimo.inpaint_object", icon="BRUSH_DATA")
        row.operator("milimo.pick_points", text="Pick points", icon="RESTRICT_SELECT_OFF").action = "INPAINT"


CLASSES = (
    MILIMO_OT_track_object,
    MILIMO_OT_inpaint_object,
    MILIMO_OT_pick_points,
    MILIMO_OT_cancel_track,
    MILIMO_PT_segment,
)
