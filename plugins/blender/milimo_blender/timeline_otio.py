"""The sequencer's timeline as OpenTimelineIO, and back.

How a scene maps to a timeline:
- Each channel with picture strips is a video track: channel 1 is the first track, and empty channels between
  used ones are empty tracks, so every editor stacks the tracks as Blender does. Sound strips go to audio tracks,
  one per channel that holds sound. Each track names its channel in `metadata["blender"]["channel"]`.
- The spaces between strips are Gaps. The timeline starts at the scene's first frame (`global_start_time`), at the
  scene's exact rate, `render.fps / fps_base` (30000/1001 for fps 30 and base 1.001).
- Movie, image and sound strips are clips whose media is an `ExternalReference` to the absolute file (an image
  sequence is an `ImageSequenceReference`); the source range starts at the strip's `frame_offset_start`.
- Placeholders (a color or text strip marked as a shot) are the daemon's placeholders (`milimo.otio.conventions`):
  the request lives in a `milimo.shot` generator. Generated strips keep their bookkeeping (job id, seed, prompt,
  model, asset id) in `metadata["milimo"]`, and the request they were made from beside their file, as a filled
  placeholder does. Every `milimo_*` custom property of a strip is in `metadata["milimo"]` under its name without
  the prefix.
- Other strips (color, text, adjustment, effects) are clips with a `blender.<type>` generator. A color or text
  strip keeps its look in `metadata["blender"]`; effects with inputs, meta and scene strips have no place in OTIO
  and come back as color strips (the export says so).

Importing does the reverse, strip by strip at the exact frame and channel. A clip whose file is missing still
becomes its movie, image or sound strip, pointing at the missing path (Blender shows it as missing media and
File > External Data > Find Missing Files relinks it); a clip with no file at all (a `MissingReference`) becomes a
color strip named after it. A strip list made once, then placed in slices, lets the import run between redraws. A
file placed several times is opened once: its other strips are copies (strip_copies.py).

Reading the scene (`read_scene`) and placing strips (`apply_settings`, `add_strip`) touch Blender data and run on
the main thread; building (`build_timeline`) and planning (`plan_import`) touch none, so they may run on a worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import bpy
import opentimelineio as otio
from google.protobuf import json_format

from milimo.errors import MilimoError
from milimo.otio import conventions
from milimo.otio.tree import timeline_rate
from milimo.v1 import jobs_pb2

from . import compat, requests
from .operators import PLACEHOLDER_COLOR
from .strip_copies import StripCopier
from .timeline import PLACEHOLDER_KEY, PLACEHOLDER_TYPES, PROMPT_KEY
from .timeline import REQUEST_KEY as STRIP_REQUEST_KEY

NAMESPACE = "blender"  # the key of Blender's own metadata on the timeline, its tracks and its clips
PREFIX = "milimo_"  # custom properties under this prefix travel in metadata["milimo"]
REQUEST_KEY = STRIP_REQUEST_KEY.removeprefix(PREFIX)  # the payload ({"version", "request"}) a shot is made from
MISSING_KEY = "missing_media"  # milimo_missing_media: a color strip standing in for a clip without a file
MEDIA_TYPES = ("MOVIE", "IMAGE", "SOUND")
REMADE_TYPES = ("COLOR", "TEXT", "ADJUSTMENT")  # the generator strips an import can make again
MISSING_COLOR = (0.45, 0.12, 0.12)
MAX_CHANNEL = 128
FIRST_FRAME = 1  # where a timeline without a start time starts: Blender's usual first frame
IMAGE_EXTENSIONS = frozenset(bpy.path.extensions_image)
SOUND_EXTENSIONS = frozenset(bpy.path.extensions_audio)
NUMBERED = re.compile(r"^(.*?)(\d+)(\.[^.]*)$")  # an image sequence's file name: prefix, number, suffix


class TimelineError(ValueError):
    """The scene or the timeline cannot be converted; the message says which strip or clip and why."""


# ---- plain data: what is read from Blender and what is placed back ---------------------------------------------


@dataclass
class StripData:
    name: str
    kind: str  # the strip's type: MOVIE, IMAGE, SOUND, COLOR, TEXT, …
    channel: int
    start: int  # frame_final_start
    duration: int  # frame_final_duration
    source_start: int = 0  # frame_offset_start: frames of the file before the strip's first one
    media_frames: int = 0  # frame_duration: the file's length in frames
    path: str = ""  # the absolute path of the file (an image sequence's first file)
    images: tuple[str, ...] = ()  # an image sequence's file names, beside `path`
    mute: bool = False
    look: dict[str, Any] = field(default_factory=dict)  # a color strip's color, a text strip's text
    notes: dict[str, Any] = field(default_factory=dict)  # the milimo_* custom properties, without the prefix

    @property
    def end(self) -> int:
        return self.start + self.duration

    @property
    def is_placeholder(self) -> bool:
        return self.kind in PLACEHOLDER_TYPES and bool(self.notes.get(PLACEHOLDER_KEY.removeprefix(PREFIX)))


@dataclass(frozen=True)
class ShotDefaults:
    """What a placeholder's request says when the strip says nothing but its prompt: the scene's model and size."""

    model: str
    width: int
    height: int


@dataclass
class SceneData:
    name: str
    rate: Fraction
    frame_start: int
    frame_end: int
    shots: ShotDefaults
    channels: dict[int, tuple[str, bool]] = field(default_factory=dict)  # channel -> (name, muted)
    markers: list[tuple[str, int]] = field(default_factory=list)
    job_requests: dict[str, jobs_pb2.JobRequest] = field(default_factory=dict)  # job id -> what it was submitted with


@dataclass
class ImportPlan:
    scene: SceneData
    strips: list[StripData]  # in the order they are placed: by start frame, so no strip ever covers another
    warnings: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    strips: int = 0
    warnings: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, plan: ImportPlan) -> ImportReport:
        return cls(warnings=list(plan.warnings), missing_files=list(plan.missing_files))

    def add(self, scene: bpy.types.Scene, strip: StripData, copier: StripCopier) -> None:
        """Main thread: place `strip`, counting it, or noting why Blender refused it."""
        warning = add_strip(scene, strip, copier)
        if warning:
            self.warnings.append(warning)
        else:
            self.strips += 1


# ---- Blender to OTIO ---------------------------------------------------------------------------------------------


def export_timeline(scene: bpy.types.Scene) -> otio.schema.Timeline:
    """The scene's sequencer as a timeline (main thread)."""
    return build_timeline(*read_scene(scene))[0]


def read_scene(scene: bpy.types.Scene) -> tuple[SceneData, list[StripData]]:
    """Main thread: everything the export needs, as plain data."""
    strips = [_read_strip(strip) for strip in compat.top_strips(scene)]
    editor = compat.editor(scene)
    used = {strip.channel for strip in strips}
    channels = {number: (editor.channels[number].name, editor.channels[number].mute) for number in used}
    job_requests = {}
    for job in scene.milimo.jobs:
        if job.job_id and job.request_json:
            with contextlib.suppress(json_format.ParseError):  # an unreadable record only loses the request
                job_requests[job.job_id] = json_format.Parse(job.request_json, jobs_pb2.JobRequest())
    data = SceneData(
        name=scene.name,
        rate=requests.scene_fps(scene),
        frame_start=scene.frame_start,
        frame_end=scene.frame_end,
        shots=shot_defaults(scene),
        channels=channels,
        markers=sorted(((marker.name, marker.frame) for marker in scene.timeline_markers), key=_by_frame),
        job_requests=job_requests,
    )
    return data, strips


def shot_defaults(scene: bpy.types.Scene) -> ShotDefaults:
    width, height = requests.scene_size(scene)
    return ShotDefaults(scene.milimo.model or requests.ANIMATIC, width, height)


def _read_strip(strip: bpy.types.Strip) -> StripData:
    data = StripData(
        name=strip.name,
        kind=strip.type,
        channel=strip.channel,
        start=strip.frame_final_start,
        duration=strip.frame_final_duration,
        mute=strip.mute,
        notes={key.removeprefix(PREFIX): _plain(value) for key, value in strip.items() if key.startswith(PREFIX)},
    )
    if strip.type in MEDIA_TYPES:
        data.source_start = int(strip.frame_offset_start)
        data.media_frames = strip.frame_duration
    if strip.type == "MOVIE":
        data.path = _absolute(strip.filepath)
    elif strip.type == "SOUND":
        data.path = _absolute(strip.sound.filepath) if strip.sound is not None else ""
    elif strip.type == "IMAGE":
        folder = _absolute(strip.directory)
        names = tuple(element.filename for element in strip.elements)
        data.path = os.path.join(folder, names[0]) if names else folder
        data.images = names if len(names) > 1 else ()
    elif strip.type == "COLOR":
        data.look = {"color": [float(value) for value in strip.color]}
    elif strip.type == "TEXT":
        data.look = {"text": strip.text}
    return data


def _absolute(path: str) -> str:
    return os.path.normpath(bpy.path.abspath(path)) if path else ""


def _plain(value: object) -> object:
    """An ID property as JSON-able Python (arrays and groups come as Blender types)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "to_list"):
        return value.to_list()
    return value


def build_timeline(scene: SceneData, strips: list[StripData]) -> tuple[otio.schema.Timeline, list[str]]:
    """The timeline of `strips`, and what could not be kept (any thread: touches no Blender data)."""
    rate = float(scene.rate)
    start = min([scene.frame_start, *(strip.start for strip in strips)])
    timeline = otio.schema.Timeline(
        name=scene.name,
        global_start_time=otio.opentime.RationalTime(start, rate),
        metadata={NAMESPACE: {"frame_start": scene.frame_start, "frame_end": scene.frame_end}},
    )
    warnings: list[str] = []
    pictures = [strip for strip in strips if strip.kind != "SOUND"]
    sounds = [strip for strip in strips if strip.kind == "SOUND"]
    top = max((strip.channel for strip in pictures), default=0)
    for channel in range(1, top + 1):
        on_channel = [strip for strip in pictures if strip.channel == channel]
        timeline.tracks.append(_track(scene, channel, on_channel, otio.schema.TrackKind.Video, start, warnings))
    for channel in sorted({strip.channel for strip in sounds}):
        on_channel = [strip for strip in sounds if strip.channel == channel]
        timeline.tracks.append(_track(scene, channel, on_channel, otio.schema.TrackKind.Audio, start, warnings))
    for name, frame in scene.markers:
        timeline.tracks.markers.append(otio.schema.Marker(name=name, marked_range=_range(frame - start, 0, rate)))
    return timeline, warnings


def _track(
    scene: SceneData, channel: int, strips: list[StripData], kind: str, start: int, warnings: list[str]
) -> otio.schema.Track:
    rate = float(scene.rate)
    name, muted = scene.channels.get(channel, (f"Channel {channel}", False))
    track = otio.schema.Track(name=name, kind=kind, metadata={NAMESPACE: {"channel": channel}})
    track.enabled = not muted
    cursor = start
    previous = None
    for strip in sorted(strips, key=lambda strip: strip.start):
        if strip.start < cursor:
            raise TimelineError(
                f"strips {previous.name!r} and {strip.name!r} overlap on channel {channel} "
                f"(frames {strip.start} to {previous.end}): move one to another channel and export again"
            )
        if strip.start > cursor:
            track.append(otio.schema.Gap(source_range=_range(0, strip.start - cursor, rate)))
        track.append(_clip(scene, strip, warnings))
        cursor, previous = strip.end, strip
    return track


def _clip(scene: SceneData, strip: StripData, warnings: list[str]) -> otio.schema.Clip:
    notes = {key: value for key, value in strip.notes.items() if key != REQUEST_KEY}
    if strip.is_placeholder:
        clip = _placeholder_clip(scene, strip, notes)
    elif strip.kind in MEDIA_TYPES:
        clip = _media_clip(scene, strip, notes, warnings)
    else:
        clip = _generator_clip(scene, strip, notes, warnings)
    clip.metadata[NAMESPACE] = {"type": strip.kind, **strip.look}
    clip.enabled = not strip.mute
    return clip


def _placeholder_clip(scene: SceneData, strip: StripData, notes: dict[str, Any]) -> otio.schema.Clip:
    return conventions.make_placeholder(
        strip.name,
        _placeholder_request(scene.shots, strip),
        otio.opentime.RationalTime(strip.duration, float(scene.rate)),
        bookkeeping={key: value for key, value in notes.items() if key not in ("shot", "prompt")},
    )


def _media_clip(scene: SceneData, strip: StripData, notes: dict[str, Any], warnings: list[str]) -> otio.schema.Clip:
    """A file's clip; a generated one also keeps the request it was made from, as a filled placeholder does."""
    rate = float(scene.rate)
    clip = otio.schema.Clip(
        name=strip.name,
        media_reference=_media(strip, rate, warnings),
        source_range=_range(strip.source_start, strip.duration, rate),
        metadata={conventions.NAMESPACE: notes} if notes else {},
    )
    request = _known_request(scene, strip)
    if request is not None:
        generator = conventions.placeholder_reference(request)
        references = {clip.DEFAULT_MEDIA_KEY: clip.media_reference, conventions.SHOT_MEDIA_KEY: generator}
        clip.set_media_references(references, clip.DEFAULT_MEDIA_KEY)
    return clip


def _generator_clip(scene: SceneData, strip: StripData, notes: dict[str, Any], warnings: list[str]) -> otio.schema.Clip:
    """A strip without a file: a color or text strip, a stand-in for a missing file, or an effect OTIO cannot hold."""
    if notes.pop(MISSING_KEY, False):
        media = otio.schema.MissingReference()
    else:
        media = otio.schema.GeneratorReference(generator_kind=f"{NAMESPACE}.{strip.kind.lower()}")
        if strip.kind not in REMADE_TYPES:
            warnings.append(f"{strip.name!r}: OTIO cannot hold a {strip.kind.lower()} strip; exported as a stand-in")
    return otio.schema.Clip(
        name=strip.name,
        media_reference=media,
        source_range=_range(0, strip.duration, float(scene.rate)),
        metadata={conventions.NAMESPACE: notes} if notes else {},
    )


def _media(strip: StripData, rate: float, warnings: list[str]) -> otio.core.MediaReference:
    if not strip.path:
        warnings.append(f"{strip.name!r}: a {strip.kind.lower()} strip without a file; exported without media")
        return otio.schema.MissingReference()
    if strip.images:
        sequence = _sequence(strip, rate)
        if sequence is not None:
            return sequence
        warnings.append(f"{strip.name!r}: its images are not numbered one after another; exported as its first one")
    exists = os.path.isfile(strip.path)
    available = _range(0, strip.media_frames, rate) if exists and strip.kind != "IMAGE" else None
    return otio.schema.ExternalReference(target_url=Path(strip.path).as_uri(), available_range=available)


def _sequence(strip: StripData, rate: float) -> otio.schema.ImageSequenceReference | None:
    """The numbered files of an image sequence (name0001.png, name0002.png, …), or None when they are not."""
    first = NUMBERED.match(strip.images[0])
    if first is None:
        return None
    prefix, number, suffix = first.groups()
    padding, start = len(number), int(number)
    expected = tuple(f"{prefix}{start + index:0{padding}d}{suffix}" for index in range(len(strip.images)))
    if expected != strip.images:
        return None
    return otio.schema.ImageSequenceReference(
        target_url_base=Path(os.path.dirname(strip.path)).as_uri() + "/",
        name_prefix=prefix,
        name_suffix=suffix,
        start_frame=start,
        rate=rate,
        frame_zero_padding=padding,
        available_range=_range(0, len(strip.images), rate),
    )


def _placeholder_request(shots: ShotDefaults, strip: StripData) -> jobs_pb2.JobRequest:
    """The request the placeholder keeps (`milimo_request`), else the one the scene's settings make; either way
    with the strip's prompt."""
    prompt = str(strip.notes.get(PROMPT_KEY.removeprefix(PREFIX), ""))
    request = _kept_request(strip)
    if request is None:
        return default_request(shots, prompt)
    requests.set_prompt(request, prompt)
    return request


def default_request(shots: ShotDefaults, prompt: str) -> jobs_pb2.JobRequest:
    if shots.model == requests.ANIMATIC:
        return jobs_pb2.JobRequest(
            animatic=jobs_pb2.AnimaticRequest(width=shots.width, height=shots.height, description=prompt)
        )
    return jobs_pb2.JobRequest(
        video=jobs_pb2.VideoShotRequest(model=shots.model, prompt=prompt, width=shots.width, height=shots.height)
    )


def _known_request(scene: SceneData, strip: StripData) -> jobs_pb2.JobRequest | None:
    """The shot request a generated strip was made from: kept on the strip, else in the scene's job list."""
    request = _kept_request(strip)
    if request is None:
        request = scene.job_requests.get(str(strip.notes.get("job_id", "")))
    if request is None or request.WhichOneof("kind") not in conventions.SHOT_KINDS:
        return None  # not generated, or by a kind that is no shot (an inpainted clip, a matte)
    return request


def _kept_request(strip: StripData) -> jobs_pb2.JobRequest | None:
    """The request in the strip's `milimo_request` (a placeholder payload as JSON), if it has one."""
    kept = strip.notes.get(REQUEST_KEY)
    if not kept:
        return None
    try:
        return requests.read_request(str(kept), f"strip {strip.name!r}: {STRIP_REQUEST_KEY}")
    except ValueError as error:
        raise TimelineError(str(error)) from None


def _by_frame(marker: tuple[str, int]) -> tuple[int, str]:
    return marker[1], marker[0]


def _range(start: float, duration: float, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(duration, rate))


def write_timeline(timeline: otio.schema.Timeline, path: str) -> None:
    """Write `.otio` JSON to a temporary file renamed into place, so a failed write leaves no half a file."""
    part = f"{path}.part"
    with open(part, "w", encoding="utf-8") as out:
        out.write(timeline.to_json_string())
    os.replace(part, path)


def read_timeline(path: str) -> otio.schema.Timeline:
    """An `.otio` (or `.otioz`, `.otiod`) file's timeline; anything else is an error naming the file."""
    try:
        found = otio.adapters.read_from_file(path)
    except (otio.exceptions.OTIOError, ValueError) as error:
        raise TimelineError(f"{path} is not an OpenTimelineIO file Blender can read ({error})") from None
    if not isinstance(found, otio.schema.Timeline):
        raise TimelineError(f"{path} holds a {type(found).__name__}, not a timeline")
    return found


# ---- OTIO to Blender ---------------------------------------------------------------------------------------------


def import_timeline(timeline: otio.schema.Timeline, scene: bpy.types.Scene, base_dir: str = "") -> ImportReport:
    """Build the timeline's strips in `scene` (main thread, all at once). `base_dir` resolves relative paths.
    The scene should hold no strips: Blender moves a strip that would cover another to a free channel."""
    plan = plan_import(timeline, shot_defaults(scene), base_dir)
    apply_settings(scene, plan.scene)
    report = ImportReport.of(plan)
    copier = copier_for(plan)
    try:
        with copier.holding():
            for strip in plan.strips:
                report.add(scene, strip, copier)
    finally:
        copier.close(scene)
    return report


def exact_rate(rate: float) -> Fraction:
    """A float rate as the fraction it stands for: 23.976 and 23.97602… are both 24000/1001."""
    ntsc = Fraction(round(rate * 1.001) * 1000, 1001)
    if ntsc and abs(float(ntsc) - rate) < 0.0005:
        return ntsc
    return Fraction(rate).limit_denominator(1001)


def plan_import(timeline: otio.schema.Timeline, shots: ShotDefaults, base_dir: str = "") -> ImportPlan:
    """The strips, channels and markers of `timeline` (any thread: touches no Blender data)."""
    rate = exact_rate(timeline_rate(timeline))
    start = (
        round(timeline.global_start_time.value_rescaled_to(float(rate)))
        if timeline.global_start_time is not None
        else FIRST_FRAME
    )
    settings = _metadata(timeline, NAMESPACE)
    frames = round(timeline.duration().value_rescaled_to(float(rate)))
    scene = SceneData(
        name=timeline.name,
        rate=rate,
        frame_start=int(settings.get("frame_start", start)),
        frame_end=int(settings.get("frame_end", start + max(frames, 1) - 1)),
        shots=shots,
    )
    planner = _Planner(scene, start, base_dir)
    videos = timeline.video_tracks()
    for index, track in enumerate(videos, 1):
        planner.track(track, _channel_of(track, index), f"video track {index} {track.name!r}")
    top = max([len(videos), *scene.channels], default=0)
    for index, track in enumerate(timeline.audio_tracks(), 1):
        planner.track(track, _channel_of(track, top + index), f"audio track {index} {track.name!r}")
    for marker in timeline.tracks.markers:
        planner.marker(marker, start)
    planner.plan.strips.sort(key=lambda strip: (strip.start, strip.channel))
    scene.markers.sort(key=_by_frame)
    return planner.plan


def _metadata(item: otio.core.SerializableObject, namespace: str) -> dict[str, Any]:
    found = conventions.plain(conventions.entry(item.metadata, namespace, {}))
    return dict(found) if isinstance(found, dict) else {}


def _channel_of(track: otio.schema.Track, default: int) -> int:
    channel = _metadata(track, NAMESPACE).get("channel")
    return channel if isinstance(channel, int) else default


class _Planner:
    """Walks the tracks, keeping the frame each item starts at (exact: the sum of the durations before it)."""

    def __init__(self, scene: SceneData, start: int, base_dir: str) -> None:
        self.plan = ImportPlan(scene=scene, strips=[])
        self.rate = float(scene.rate)
        self.start = start
        self.base_dir = base_dir

    def warn(self, message: str) -> None:
        self.plan.warnings.append(message)

    def frame(self, time: otio.opentime.RationalTime) -> int:
        return self.start + round(time.value_rescaled_to(self.rate))

    def track(self, track: otio.schema.Track, channel: int, where: str) -> None:
        if not 1 <= channel <= MAX_CHANNEL:
            self.warn(f"{where}: no channel left for it (Blender has {MAX_CHANNEL}); not imported")
            return
        if channel not in self.plan.scene.channels or track.kind == otio.schema.TrackKind.Video:
            self.plan.scene.channels[channel] = (track.name or f"Channel {channel}", not track.enabled)
        for marker in track.markers:
            self.marker(marker, self.start)
        audio = track.kind == otio.schema.TrackKind.Audio
        position = otio.opentime.RationalTime(0, self.rate)
        skipped: set[str] = set()
        for index, item in enumerate(track):
            if isinstance(item, otio.schema.Transition):
                skipped.add("its transitions are not imported (the cuts are; Blender makes them with effect strips)")
                continue
            try:
                duration = item.duration()
            except (otio.exceptions.OTIOError, ValueError):
                self.warn(
                    f"{where}, item {index} {item.name!r}: it has no duration, so the rest of the track is not imported"
                )
                return
            first, last = self.frame(position), self.frame(position + duration)
            position += duration
            if isinstance(item, otio.schema.Clip):
                self.clip(item, channel, first, last - first, audio, f"{where}, clip {item.name!r}")
                for marker in conventions.elements_of(item.markers):
                    self.marker(marker, first - round(item.trimmed_range().start_time.value_rescaled_to(self.rate)))
            elif not isinstance(item, otio.schema.Gap):
                skipped.add(f"its nested {type(item).__name__.lower()}s are not imported (left as gaps)")
        for what in sorted(skipped):
            self.warn(f"{where}: {what}")

    def marker(self, marker: otio.schema.Marker, origin: int) -> None:
        frame = origin + round(marker.marked_range.start_time.value_rescaled_to(self.rate))
        self.plan.scene.markers.append((marker.name, frame))

    def clip(self, clip: otio.schema.Clip, channel: int, start: int, duration: int, audio: bool, where: str) -> None:
        if duration <= 0:
            return
        data = StripData(clip.name or "Clip", "COLOR", channel, start, duration, mute=not clip.enabled)
        data.notes = _metadata(clip, conventions.NAMESPACE)
        look = _metadata(clip, NAMESPACE)
        request = self.request(clip, where)
        media = clip.media_reference
        if request is not None and not conventions.is_filled(clip):
            self.placeholder(data, request, look)
        elif isinstance(media, otio.schema.ExternalReference | otio.schema.ImageSequenceReference) and self.media(
            data, clip, media, audio
        ):
            if request is not None:
                data.notes[REQUEST_KEY] = conventions.payload_text(conventions.payload(request))
        else:
            self.stand_in(data, media, look, where)
        self.plan.strips.append(data)

    def request(self, clip: otio.schema.Clip, where: str) -> jobs_pb2.JobRequest | None:
        """The Milimo request the clip carries, if any (a placeholder's, or a filled one's kept beside its file)."""
        try:
            payload = conventions.payload_of(clip, where)
            return None if payload is None else conventions.request_of(payload, f"{where}: milimo")
        except MilimoError as error:
            self.warn(f"{error}; imported without its request")
            return None

    def stand_in(
        self, data: StripData, media: otio.core.MediaReference | None, look: dict[str, Any], where: str
    ) -> None:
        """A strip without a file: the color or text strip the clip was, or a color strip standing in for it."""
        kind = look.get("type")
        if media is None or isinstance(media, otio.schema.MissingReference):
            data.notes[MISSING_KEY] = True
            data.look = {"color": list(MISSING_COLOR)}
            return
        if isinstance(media, otio.schema.GeneratorReference) and kind in REMADE_TYPES:
            data.kind = kind
            data.look = {key: value for key, value in look.items() if key in ("color", "text")}
            return
        if isinstance(media, otio.schema.ExternalReference | otio.schema.ImageSequenceReference):
            url = getattr(media, "target_url", None) or media.target_url_base
            what = f"its media ({url}) is no local file"
        elif isinstance(media, otio.schema.GeneratorReference):
            what = f"Blender cannot make a {kind.lower() if isinstance(kind, str) else media.generator_kind} strip"
        else:
            what = f"Blender cannot read a {type(media).__name__}"
        self.warn(f"{where}: {what}; imported as a color strip")

    def placeholder(self, data: StripData, request: jobs_pb2.JobRequest, look: dict[str, Any]) -> None:
        prompt = requests.prompt_of(request)
        data.kind = look.get("type") if look.get("type") in PLACEHOLDER_TYPES else "COLOR"
        data.look = {key: value for key, value in look.items() if key in ("color", "text")}
        if data.kind == "COLOR":
            data.look.setdefault("color", list(PLACEHOLDER_COLOR))
        data.notes.update({"shot": True, "prompt": prompt})
        plain_request = jobs_pb2.JobRequest()
        plain_request.CopyFrom(request)
        shot = getattr(plain_request, plain_request.WhichOneof("kind"))
        shot.ClearField("frames")  # the clip's length decides it; the scene's rate is the timeline's
        shot.ClearField("fps")
        if plain_request != default_request(self.plan.scene.shots, prompt):
            data.notes[REQUEST_KEY] = conventions.payload_text(conventions.payload(request))

    def media(
        self,
        data: StripData,
        clip: otio.schema.Clip,
        media: otio.schema.ExternalReference | otio.schema.ImageSequenceReference,
        audio: bool,
    ) -> bool:
        """Fill `data` as a movie, image or sound strip; False when the reference names no local file."""
        if isinstance(media, otio.schema.ImageSequenceReference):
            url = media.target_url_for_image_number(0)
            count = media.number_of_images_in_sequence()
            names = [os.path.basename(self.path(media.target_url_for_image_number(n))) for n in range(count)]
            data.images = tuple(names) if count > 1 else ()
        else:
            url = media.target_url
        path = self.path(url)
        if not path:
            return False
        suffix = os.path.splitext(path)[1].lower()
        data.kind = (
            "SOUND" if audio or suffix in SOUND_EXTENSIONS else "IMAGE" if suffix in IMAGE_EXTENSIONS else "MOVIE"
        )
        if data.images:
            data.kind = "IMAGE"
        data.path = path
        available = media.available_range
        origin = available.start_time if available is not None else otio.opentime.RationalTime(0, self.rate)
        source = clip.trimmed_range().start_time - origin
        data.source_start = round(source.value_rescaled_to(self.rate))
        if not os.path.exists(path) and path not in self.plan.missing_files:
            self.plan.missing_files.append(path)
        return True

    def path(self, url: str) -> str:
        """The local path a URL names (relative ones from `base_dir`), or "" for one on the network."""
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = unquote(parsed.path)
            if re.match(r"^/[A-Za-z]:", path):  # file:///C:/clips/a.mov
                path = path[1:]
            elif parsed.netloc not in ("", "localhost"):  # file://server/share/a.mov
                path = f"//{parsed.netloc}{path}"
        elif len(parsed.scheme) <= 1:  # a plain path (C:\clips\a.mov parses with the scheme "c")
            path = url
        else:
            return ""
        if not os.path.isabs(path) and self.base_dir:
            path = os.path.join(self.base_dir, path)
        return os.path.normpath(path)


def apply_settings(scene: bpy.types.Scene, data: SceneData) -> None:
    """Main thread: the scene's rate, frame range, channel names and markers as the timeline has them."""
    if requests.scene_fps(scene) != data.rate:
        fps = max(1, round(data.rate))
        scene.render.fps = fps
        scene.render.fps_base = float(fps / data.rate)
    scene.frame_start = data.frame_start
    scene.frame_end = max(data.frame_end, data.frame_start)
    channels = compat.editor(scene).channels
    for number, (name, muted) in data.channels.items():
        channels[number].name = name
        channels[number].mute = muted
    for name, frame in data.markers:
        scene.timeline_markers.new(name, frame=frame)


def copier_for(plan: ImportPlan) -> StripCopier:
    """What makes the plan's movie and sound strips (close it when the import ends)."""
    uses = [(strip.kind, strip.path) for strip in plan.strips]
    return StripCopier(uses, max((strip.end for strip in plan.strips), default=0))


def add_strip(scene: bpy.types.Scene, data: StripData, copier: StripCopier) -> str:
    """Main thread: one strip at its exact frames and channel; returns a warning when Blender refused it."""
    try:
        strip = copier.copy(
            scene, data.kind, data.path, data.name, data.channel, data.start, data.source_start, data.duration
        )
        if strip is None:
            strip = _new_strip(scene, data)
    except RuntimeError as error:  # e.g. a Blender built without audio: "compiled without Audaspace support"
        reason = str(error).removeprefix("Error: ").strip()
        return f"{data.kind.lower()} strip {data.name!r} at frame {data.start} was not added: {reason}"
    if "color" in data.look:
        strip.color = data.look["color"][:3]
    if "text" in data.look:
        strip.text = data.look["text"]
    if data.mute:
        strip.mute = True
    for key, value in data.notes.items():
        _set_property(strip, PREFIX + key, value)
    return ""


def _new_strip(scene: bpy.types.Scene, data: StripData) -> bpy.types.Strip:
    strips = compat.top_strips(scene)
    if data.kind == "MOVIE":
        strip = strips.new_movie(name=data.name, filepath=data.path, channel=data.channel, frame_start=data.start)
    elif data.kind == "SOUND":
        strip = strips.new_sound(name=data.name, filepath=data.path, channel=data.channel, frame_start=data.start)
    elif data.kind == "IMAGE":
        strip = strips.new_image(name=data.name, filepath=data.path, channel=data.channel, frame_start=data.start)
        for name in data.images[1:]:
            strip.elements.append(name)
    else:
        return compat.new_effect(scene, data.name, data.kind, data.channel, data.start, data.duration)
    _trim(strip, data)
    return strip


def _trim(strip: bpy.types.Strip, data: StripData) -> None:
    """Show the file from `source_start` for `duration` frames, starting at `data.start`. Strips are added from left
    to right and each one only ever reaches right of `data.start` on its way, so it never covers another strip
    (Blender would move it to another channel). Each change makes Blender check the channel for overlaps, so only
    what differs is changed."""
    if data.source_start < 0:  # held before the file starts: move right first, then extend left to the start
        strip.frame_start = data.start - data.source_start
    if data.source_start:
        strip.frame_offset_start = data.source_start
    if strip.frame_final_duration != data.duration:
        strip.frame_final_duration = data.duration
    if data.source_start > 0:
        strip.frame_start = data.start - data.source_start


def _set_property(strip: bpy.types.Strip, key: str, value: object) -> None:
    try:
        strip[key] = value
    except (TypeError, OverflowError, ValueError):
        strip[key] = json.dumps(value)  # what an ID property cannot hold (a 64-bit number, a mixed list), as text
