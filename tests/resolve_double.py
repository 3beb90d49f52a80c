"""A test double of DaVinci Resolve's scripting API: the one program these tests stand in for.

Real Resolve cannot run here. This double answers the calls the Milimo script makes the way Resolve's
scripting README (Developer/Scripting/README.txt, Resolve 18.5 to 20) documents them, and behaves like the
real program where the README is silent and the behaviour has been measured:

- Track indices start at 1 (`1 <= index <= GetTrackCount(trackType)`); anything else answers None.
- `GetItemListInTrack` returns the items only, in timeline order: gaps are not items.
- `MediaPool.AppendToTimeline([{clipInfo}])` appends to the *current* timeline. `recordFrame` is absolute
  (the timeline's start frame plus the offset), `endFrame` is exclusive (`startFrame` 0 and `endFrame` 48
  place 48 frames), and an append that would overlap an item on its track is dropped silently: no item is
  returned for it. Without `trackIndex` it goes on track 1; without `recordFrame` after the track's last item.
- clipInfo's "mediaType" is "1 - Video only, 2 - Audio only" (README, MediaPool.AppendToTimeline): 1 puts the
  picture on video track `trackIndex`, 2 the sound on audio track `trackIndex` (as scripts in the wild use it);
  the sound of a clip without any is dropped. The README does not say which audio track an append *without*
  mediaType gives a clip's sound, so for a clip with sound the double refuses to guess (NotImplementedError).
  Audio tracks drop overlapping appends like video tracks. `AddTrack("audio", subTrackType)` takes the README's
  formats ("mono" when left out); `SetClipsLinked` links items, `DeleteClips(items)` takes them out.
- `Timeline.Insert*IntoTimeline` ripples at the playhead on V1: the new item goes in on track 1 at the
  playhead, and what lies at or after the playhead on that track moves later (an item under it is split).
- Markers are keyed by their frame offset from the timeline's start (floats in `GetMarkers`, like
  `{96.0: {'color': 'Green', 'duration': 1.0, 'note': '', 'name': 'Marker 1', 'customData': ''}}`); `AddMarker`
  refuses a frame that already has one and an unknown colour.
- `Timeline.Export(path, resolve.EXPORT_OTIO, …)` writes real OTIO in Resolve's dialect (as in the OTIO
  project's Resolve sample): `Resolve_OTIO` metadata on the timeline, every track, clip and marker, the start
  timecode as `global_start_time`, plain paths as media URLs, gaps between items. `MediaPool.
  ImportTimelineFromFile` reads OTIO back into a new timeline and keeps each item's `Resolve_OTIO` metadata
  (Resolve keeps what it means, effects and track settings, and writes it out again on export).

Not modelled: transitions (their clips keep their places), ripple deletes, rendering, Fusion; UIManager is
tests/fusion_ui_double.py.
Not measured, and assumed: a generator is written to OTIO as a GeneratorReference, and one imported from OTIO
keeps its kind and parameters (this is what lets OTIO placeholders survive a trip through Resolve).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from milimo.media.ops import MediaError, probe
from milimo.otio.conventions import plain as _plain

MARKER_COLORS = frozenset(
    {"Blue", "Cyan", "Green", "Yellow", "Red", "Pink", "Purple", "Fuchsia", "Rose", "Lavender", "Sky", "Mint"}
    | {"Lemon", "Sand", "Cocoa", "Cream"}
)
TRACK_TYPES = ("video", "audio", "subtitle")
# Timeline.AddTrack's subTrackType for "audio" (README, Resolve 20): "mono" when left out.
AUDIO_FORMATS = frozenset(
    {"mono", "stereo", "lrc", "lcr", "lrcs", "lcrs", "quad", "5.0", "5.0film", "5.1", "5.1film", "7.0", "7.0film"}
    | {"7.1", "7.1film"}
    | {f"adaptive{n}" for n in range(1, 37)}
)
VIDEO_ONLY, AUDIO_ONLY = 1, 2  # clipInfo "mediaType" (README)
GENERATOR_SECONDS = 5  # Resolve's standard generator duration


class MediaPoolItem:
    def __init__(
        self, path: str, frames: int, fps: float, name: str = "", kind: str = "Video", has_audio: bool = False
    ) -> None:
        self.path = path
        self.frames = frames
        self.fps = fps
        self.name = name or Path(path).name
        self.kind = kind
        self.has_audio = has_audio

    @classmethod
    def from_file(cls, path: str) -> MediaPoolItem | None:
        """The clip Resolve makes of a file, or None for a file it cannot read."""
        try:
            info = probe(path)
        except (MediaError, OSError):
            return None
        return cls(path, info.frames, float(info.fps), has_audio=info.has_audio)

    def GetName(self) -> str:
        return self.name

    def GetClipProperty(self, propertyName: str | None = None) -> Any:
        properties = {
            "Clip Name": self.name,
            "File Path": self.path,
            "Frames": str(self.frames),
            "FPS": f"{self.fps:g}",
            "Type": self.kind,
        }
        return properties if propertyName is None else properties.get(propertyName, "")


class Folder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.clips: list[MediaPoolItem] = []
        self.subfolders: list[Folder] = []

    def GetName(self) -> str:
        return self.name

    def GetClipList(self) -> list[MediaPoolItem]:
        return list(self.clips)

    def GetSubFolderList(self) -> list[Folder]:
        return list(self.subfolders)


class _Markers:
    """Markers keyed by frame, as timelines and timeline items hold them."""

    def __init__(self) -> None:
        self.markers: dict[int, dict[str, Any]] = {}

    def AddMarker(
        self, frameId: float, color: str, name: str, note: str, duration: float, customData: str = ""
    ) -> bool:
        frame = int(frameId)
        if frame != frameId or frame < 0 or frame in self.markers or color not in MARKER_COLORS or duration < 1:
            return False
        self.markers[frame] = {
            "color": color,
            "duration": float(duration),
            "note": note,
            "name": name,
            "customData": customData,
        }
        return True

    def GetMarkers(self) -> dict[float, dict[str, Any]]:
        return {float(frame): dict(info) for frame, info in sorted(self.markers.items())}

    def UpdateMarkerCustomData(self, frameId: float, customData: str) -> bool:
        marker = self.markers.get(int(frameId))
        if marker is None or int(frameId) != frameId:
            return False
        marker["customData"] = customData
        return True

    def GetMarkerCustomData(self, frameId: float) -> str:
        marker = self.markers.get(int(frameId))
        return marker["customData"] if marker is not None else ""


class TimelineItem(_Markers):
    def __init__(
        self,
        name: str,
        start: int,
        duration: int,
        media: MediaPoolItem | None = None,
        source_start: int = 0,
        generator: str = "",
        resolve_metadata: dict[str, Any] | None = None,
        generator_parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.start = start  # absolute timeline frame
        self.duration = duration
        self.media = media
        self.source_start = source_start
        self.generator = generator
        self.generator_parameters = generator_parameters or {}
        self.resolve_metadata = resolve_metadata or {}
        self.linked: list[TimelineItem] = []

    @property
    def end(self) -> int:
        return self.start + self.duration

    def GetName(self) -> str:
        return self.name

    def GetStart(self, subframe_precision: bool = False) -> int:
        return self.start

    def GetEnd(self, subframe_precision: bool = False) -> int:
        return self.end

    def GetDuration(self, subframe_precision: bool = False) -> int:
        return self.duration

    def GetMediaPoolItem(self) -> MediaPoolItem | None:
        return self.media

    def GetLinkedItems(self) -> list[TimelineItem]:
        return list(self.linked)


@dataclass
class _Track:
    name: str
    items: list[TimelineItem] = field(default_factory=list)
    locked: bool = False
    resolve_metadata: dict[str, Any] = field(default_factory=dict)
    sub_type: str = ""  # an audio track's format

    def free(self, start: int, end: int) -> bool:
        return all(item.end <= start or end <= item.start for item in self.items)

    def add(self, item: TimelineItem) -> None:
        self.items.append(item)
        self.items.sort(key=lambda each: each.start)


class Timeline(_Markers):
    def __init__(self, name: str, fps: float = 24.0, start_frame: int = 86400, width: int = 1920, height: int = 1080):
        super().__init__()
        self.name = name
        self.unique_id = str(uuid.uuid4())  # what Resolve answers is a UUID string too
        self.fps = fps
        self.start_frame = start_frame
        self.settings = {
            "timelineFrameRate": f"{fps:g}",
            "timelineResolutionWidth": str(width),
            "timelineResolutionHeight": str(height),
        }
        self.tracks: dict[str, list[_Track]] = {
            "video": [_Track("Video 1")],
            "audio": [_Track("Audio 1")],
            "subtitle": [],
        }
        self.playhead = start_frame
        self.resolve_metadata: dict[str, Any] = {"Resolve OTIO Meta Version": "1.0"}

    # ---- the README's calls ----------------------------------------------------------------

    def GetName(self) -> str:
        return self.name

    def GetUniqueId(self) -> str:
        return self.unique_id

    def GetStartFrame(self) -> int:
        return self.start_frame

    def GetSetting(self, settingName: str = "") -> Any:
        return dict(self.settings) if not settingName else self.settings.get(settingName, "")

    def GetTrackCount(self, trackType: str) -> int:
        return len(self.tracks.get(trackType, []))

    def AddTrack(self, trackType: str, subTrackType: str | None = None) -> bool:
        if trackType not in TRACK_TYPES:
            return False
        sub_type = (subTrackType or "mono") if trackType == "audio" else ""
        if sub_type and sub_type not in AUDIO_FORMATS:
            return False
        tracks = self.tracks[trackType]
        tracks.append(_Track(f"{trackType.capitalize()} {len(tracks) + 1}", sub_type=sub_type))
        return True

    def GetTrackSubType(self, trackType: str, trackIndex: int) -> str:
        track = self._track(trackType, trackIndex)
        return track.sub_type if track is not None else ""

    def SetClipsLinked(self, timelineItems: list[TimelineItem], linked: bool) -> bool:
        if not timelineItems or any(self._track_of(item) is None for item in timelineItems):
            return False
        for item in timelineItems:
            item.linked = [other for other in timelineItems if other is not item] if linked else []
        return True

    def DeleteClips(self, timelineItems: list[TimelineItem], rippleDelete: bool = False) -> bool:
        if rippleDelete:
            raise NotImplementedError("the double does not model ripple deletes")
        tracks = [self._track_of(item) for item in timelineItems]
        if not timelineItems or any(track is None for track in tracks):
            return False
        for item, track in zip(timelineItems, tracks, strict=True):
            assert track is not None
            track.items.remove(item)
            for other in item.linked:
                other.linked = [each for each in other.linked if each is not item]
        return True

    def GetIsTrackLocked(self, trackType: str, trackIndex: int) -> bool | None:
        track = self._track(trackType, trackIndex)
        return track.locked if track is not None else None

    def SetTrackLock(self, trackType: str, trackIndex: int, locked: bool) -> bool:
        track = self._track(trackType, trackIndex)
        if track is None:
            return False
        track.locked = locked
        return True

    def GetItemListInTrack(self, trackType: str, index: int) -> list[TimelineItem] | None:
        track = self._track(trackType, index)
        return list(track.items) if track is not None else None

    def SetCurrentTimecode(self, timecode: str) -> bool:
        self.playhead = _frames(timecode, self.fps)
        return True

    def InsertGeneratorIntoTimeline(self, generatorName: str) -> TimelineItem:
        """At the playhead on V1, rippling what lies at or after it (the measured behaviour of every Insert*)."""
        length = round(GENERATOR_SECONDS * self.fps)
        track = self.tracks["video"][0]
        at = self.playhead
        for item in list(track.items):
            if item.start < at < item.end:  # split the item under the playhead
                tail = TimelineItem(
                    item.name, at, item.end - at, item.media, item.source_start + at - item.start, item.generator
                )
                item.duration = at - item.start
                track.add(tail)
        for item in track.items:
            if item.start >= at:
                item.start += length
        generator = TimelineItem(generatorName, at, length, generator=generatorName)
        track.add(generator)
        return generator

    def Export(self, fileName: str, exportType: int, exportSubtype: int = 0) -> bool:
        if exportType != Resolve.EXPORT_OTIO:
            return False
        otio.adapters.write_to_file(self.to_otio(), fileName, adapter_name="otio_json")
        return True

    # ---- helpers -----------------------------------------------------------------------------

    def _track(self, kind: str, index: int) -> _Track | None:
        tracks = self.tracks.get(kind, [])
        return tracks[index - 1] if isinstance(index, int) and 1 <= index <= len(tracks) else None

    def _track_of(self, item: TimelineItem) -> _Track | None:
        return next((track for tracks in self.tracks.values() for track in tracks if item in track.items), None)

    def append(self, info: dict[str, Any]) -> TimelineItem | None:
        """One clipInfo of MediaPool.AppendToTimeline: the item, or None when Resolve drops it."""
        media = info.get("mediaPoolItem")
        if not isinstance(media, MediaPoolItem):
            return None
        source_start = int(info.get("startFrame", 0))
        source_end = int(info.get("endFrame", media.frames))  # exclusive
        if not 0 <= source_start < source_end <= media.frames:
            return None
        media_type = info.get("mediaType")
        if media_type is None and media.has_audio:
            raise NotImplementedError("not measured: which audio track Resolve gives the sound without mediaType")
        if media_type not in (None, VIDEO_ONLY, AUDIO_ONLY) or (media_type == AUDIO_ONLY and not media.has_audio):
            return None
        track = self._track("audio" if media_type == AUDIO_ONLY else "video", info.get("trackIndex", 1))
        if track is None or track.locked:
            return None
        duration = source_end - source_start
        start = (
            int(info["recordFrame"])
            if "recordFrame" in info
            else max((item.end for item in track.items), default=self.start_frame)
        )
        if not track.free(start, start + duration):
            return None  # overlapping appends are dropped silently
        item = TimelineItem(media.name, start, duration, media, source_start)
        track.add(item)
        return item

    def to_otio(self) -> otio.schema.Timeline:
        rate = self.fps
        timeline = otio.schema.Timeline(
            name=self.name,
            global_start_time=otio.opentime.RationalTime(self.start_frame, rate),
            metadata={"Resolve_OTIO": dict(self.resolve_metadata)},
        )
        for frame, marker in sorted(self.markers.items()):
            timeline.tracks.markers.append(_otio_marker(frame, marker, rate))
        for kind, otio_kind in (("video", otio.schema.TrackKind.Video), ("audio", otio.schema.TrackKind.Audio)):
            for track in self.tracks[kind]:
                settings = {"Locked": track.locked}
                if kind == "audio":
                    settings = {"Audio Type": "Stereo", "Locked": track.locked, "SoloOn": False}
                out = otio.schema.Track(
                    name=track.name,
                    kind=otio_kind,
                    metadata={"Resolve_OTIO": {**settings, **track.resolve_metadata}},
                )
                cursor = self.start_frame
                for item in track.items:
                    if item.start > cursor:
                        out.append(otio.schema.Gap(duration=otio.opentime.RationalTime(item.start - cursor, rate)))
                    out.append(_otio_clip(item, rate))
                    cursor = item.end
                timeline.tracks.append(out)
        return timeline


def _otio_marker(frame: int, marker: dict[str, Any], rate: float) -> otio.schema.Marker:
    return otio.schema.Marker(
        name=marker["name"],
        marked_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(frame, rate), otio.opentime.RationalTime(marker["duration"], rate)
        ),
        color=marker["color"].upper(),
        metadata={"Resolve_OTIO": {"Keywords": [], "Note": marker["note"]}},
    )


def _otio_clip(item: TimelineItem, rate: float) -> otio.schema.Clip:
    source = otio.opentime.TimeRange(
        otio.opentime.RationalTime(item.source_start, rate), otio.opentime.RationalTime(item.duration, rate)
    )
    if item.generator:
        reference: otio.core.MediaReference = otio.schema.GeneratorReference(
            name=item.generator, generator_kind=item.generator, parameters=item.generator_parameters
        )
    elif item.media is not None and Path(item.media.path).is_file():
        available = otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(item.media.frames, rate)
        )
        reference = otio.schema.ExternalReference(target_url=item.media.path, available_range=available)
    else:
        path = item.media.path if item.media is not None else ""
        reference = otio.schema.MissingReference(metadata={"Resolve_OTIO": {"Media Url": path}})
    clip = otio.schema.Clip(
        name=item.name, source_range=source, media_reference=reference, metadata={"Resolve_OTIO": item.resolve_metadata}
    )
    for frame, marker in sorted(item.markers.items()):
        clip.markers.append(_otio_marker(item.source_start + frame, marker, rate))
    return clip


def _frames(timecode: str, fps: float) -> int:
    hours, minutes, seconds, frames = (int(part) for part in timecode.replace(";", ":").split(":"))
    return ((hours * 60 + minutes) * 60 + seconds) * round(fps) + frames


class MediaPool:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.root = Folder("Master")
        self.current = self.root

    def GetRootFolder(self) -> Folder:
        return self.root

    def GetCurrentFolder(self) -> Folder:
        return self.current

    def SetCurrentFolder(self, folder: Folder) -> bool:
        self.current = folder
        return True

    def AddSubFolder(self, folder: Folder, name: str) -> Folder:
        sub = Folder(name)
        folder.subfolders.append(sub)
        return sub

    def ImportMedia(self, items: list[str]) -> list[MediaPoolItem]:
        imported = [clip for clip in (MediaPoolItem.from_file(path) for path in items) if clip is not None]
        self.current.clips.extend(imported)
        return imported

    def AppendToTimeline(self, *clips: Any) -> list[TimelineItem]:
        infos = clips[0] if len(clips) == 1 and isinstance(clips[0], list) else list(clips)
        timeline = self.project.current
        if timeline is None:
            return []
        placed = []
        for info in infos:
            if isinstance(info, MediaPoolItem):
                info = {"mediaPoolItem": info}
            item = timeline.append(info)
            if item is not None:
                placed.append(item)
        return placed

    def ImportTimelineFromFile(self, filePath: str, importOptions: dict[str, Any] | None = None) -> Timeline | None:
        options = importOptions or {}
        try:
            source = otio.adapters.read_from_file(filePath)
        except Exception:  # Resolve answers None for a file it cannot read, whatever the reason
            return None
        name = options.get("timelineName") or source.name or Path(filePath).stem
        if any(timeline.name == name for timeline in self.project.timelines):
            return None
        rate = source.global_start_time.rate if source.global_start_time is not None else 24.0
        start = round(source.global_start_time.value) if source.global_start_time is not None else 86400
        timeline = Timeline(name, fps=rate, start_frame=start)
        timeline.resolve_metadata = dict(_plain(source.metadata.get("Resolve_OTIO", {})))
        timeline.tracks = {"video": [], "audio": [], "subtitle": []}
        for track in source.tracks:
            kind = "audio" if track.kind == otio.schema.TrackKind.Audio else "video"
            held = _Track(track.name or f"{kind.capitalize()} {len(timeline.tracks[kind]) + 1}")
            settings = dict(_plain(track.metadata.get("Resolve_OTIO", {})))
            held.locked = bool(settings.pop("Locked", False))
            for key in ("Audio Type", "SoloOn"):
                settings.pop(key, None)
            held.resolve_metadata = settings
            for child in track:
                if isinstance(child, otio.schema.Clip):
                    held.add(self._imported_item(child, track, start, rate, options))
            timeline.tracks[kind].append(held)
        for marker in source.tracks.markers:
            note = _plain(marker.metadata.get("Resolve_OTIO", {})).get("Note", "")
            frame = round(marker.marked_range.start_time.rescaled_to(rate).value)
            duration = round(marker.marked_range.duration.rescaled_to(rate).value) or 1
            timeline.AddMarker(frame, marker.color.capitalize(), marker.name, note, duration)
        return self.project.add_timeline(timeline)

    def _imported_item(
        self, clip: otio.schema.Clip, track: otio.schema.Track, start: int, rate: float, options: dict[str, Any]
    ) -> TimelineItem:
        placed = track.range_of_child(clip)
        source = clip.source_range or clip.available_range()
        reference = clip.media_reference
        media = None
        generator = ""
        parameters: dict[str, Any] = {}
        if isinstance(reference, otio.schema.ExternalReference):
            path = _local_path(reference.target_url)
            media = MediaPoolItem.from_file(path) if options.get("importSourceClips", True) else None
            if media is not None:
                self.current.clips.append(media)
            else:
                media = MediaPoolItem(path, 0, rate, kind="Offline")
        elif isinstance(reference, otio.schema.GeneratorReference):
            generator, parameters = reference.generator_kind, _plain(reference.parameters)
        return TimelineItem(
            clip.name,
            start + round(placed.start_time.rescaled_to(rate).value),
            round(placed.duration.rescaled_to(rate).value),
            media,
            round(source.start_time.rescaled_to(rate).value),
            generator,
            dict(_plain(clip.metadata.get("Resolve_OTIO", {}))),
            parameters,
        )


def _local_path(url: str) -> str:
    """Resolve writes plain paths; files from elsewhere may carry file:// URLs."""
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else url


class Project:
    def __init__(self, name: str = "Untitled Project") -> None:
        self.name = name
        self.timelines: list[Timeline] = []
        self.current: Timeline | None = None
        self.media_pool = MediaPool(self)

    def add_timeline(self, timeline: Timeline) -> Timeline:
        self.timelines.append(timeline)
        if self.current is None:
            self.current = timeline
        return timeline

    def GetName(self) -> str:
        return self.name

    def GetMediaPool(self) -> MediaPool:
        return self.media_pool

    def GetTimelineCount(self) -> int:
        return len(self.timelines)

    def GetTimelineByIndex(self, idx: int) -> Timeline | None:
        return self.timelines[idx - 1] if 1 <= idx <= len(self.timelines) else None

    def GetCurrentTimeline(self) -> Timeline | None:
        return self.current

    def SetCurrentTimeline(self, timeline: Timeline) -> bool:
        if timeline not in self.timelines:
            return False
        self.current = timeline
        return True


class ProjectManager:
    def __init__(self, project: Project) -> None:
        self.project = project

    def GetCurrentProject(self) -> Project:
        return self.project


class Resolve:
    """The `resolve` object a script gets, with the export constants the script uses (it uses their names only)."""

    EXPORT_OTIO = 17
    EXPORT_NONE = 0

    def __init__(self, project: Project | None = None) -> None:
        self.project = project or Project()
        self.manager = ProjectManager(self.project)

    def GetProjectManager(self) -> ProjectManager:
        return self.manager


class ResolveBefore185(Resolve):
    """A Resolve from before 18.5, which has no OTIO export."""

    def __getattribute__(self, name: str) -> Any:
        if name == "EXPORT_OTIO":
            raise AttributeError(name)
        return super().__getattribute__(name)


def new_resolve(timeline_name: str = "Edit", fps: float = 24.0, start_frame: int = 86400) -> Resolve:
    """A Resolve with one project whose current timeline is an empty one of the given rate and start."""
    resolve = Resolve()
    resolve.project.add_timeline(Timeline(timeline_name, fps=fps, start_frame=start_frame))
    return resolve
