"""Putting a generated clip where its shot is: into the "Milimo" bin, onto free tracks, at the right frame.

Resolve's facts this relies on (its scripting README, and measured on the real program; tests/resolve_double.py
keeps them):
- `MediaPool.AppendToTimeline([{clipInfo}])` takes "mediaPoolItem", "startFrame", "endFrame", an optional
  "mediaType" (1 video only, 2 audio only), "trackIndex" and "recordFrame" (README). `recordFrame` is *absolute*:
  the timeline's start frame (86400 for 01:00:00:00 at 24 fps) plus the shot's offset; `endFrame` is exclusive
  (measured).
- An append that would overlap an item on its track is dropped silently (measured), so each part goes on a track
  that is free over the whole shot, made with `AddTrack` when none is. Never `Insert*IntoTimeline`: those ripple
  the edit at the playhead on V1.
- Appends go to the project's current timeline; track indices start at 1.

A clip with sound is placed as two appends, the picture (mediaType 1) on a video track and the sound (mediaType 2)
on an audio track, at the same record frame, then linked with `Timeline.SetClipsLinked`. The README does not say
which audio track an append without mediaType uses, so the script never leaves that choice to Resolve.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milimo.errors import FailedPrecondition

from .placeholders import CLIP, MARK, MARKER, Shot, milimo_notes

BIN = "Milimo"
VIDEO, AUDIO = "video", "audio"
VIDEO_ONLY, AUDIO_ONLY = 1, 2  # clipInfo mediaType (README)
NEW_AUDIO_TRACK = "stereo"  # LTX-2's vocoder writes stereo; AddTrack("audio") alone would make a mono track
JOB_KEYS = ("job_id", "asset_id", "file", "track", "audio_track")  # what Milimo writes into a marker's notes


@dataclass(frozen=True)
class Placement:
    track: int  # the video track
    record_frame: int  # absolute
    audio_track: int = 0  # the audio track its sound went to; 0 without sound

    @property
    def tracks(self) -> str:
        return f"V{self.track} and A{self.audio_track}" if self.audio_track else f"V{self.track}"


def milimo_bin(media_pool: Any) -> Any:
    """The "Milimo" bin under the media pool's root, made on first use."""
    root = media_pool.GetRootFolder()
    for folder in root.GetSubFolderList() or []:
        if folder.GetName() == BIN:
            return folder
    folder = media_pool.AddSubFolder(root, BIN)
    if not folder:
        raise FailedPrecondition(f"Resolve did not create the media pool bin {BIN!r}")
    return folder


def import_media(media_pool: Any, path: Path) -> Any:
    """The media pool clip of `path` in the Milimo bin, imported once (the same file is reused)."""
    folder = milimo_bin(media_pool)
    for clip in folder.GetClipList() or []:
        if clip.GetClipProperty("File Path") == str(path):
            return clip
    previous = media_pool.GetCurrentFolder()
    media_pool.SetCurrentFolder(folder)  # ImportMedia imports into the current folder
    try:
        imported = media_pool.ImportMedia([str(path)])
    finally:
        media_pool.SetCurrentFolder(previous)
    if not imported:
        raise FailedPrecondition(f"Resolve did not import {path} into the {BIN!r} bin")
    return imported[0]


def track_is_free(timeline: Any, kind: str, track: int, start: int, end: int) -> bool:
    """No item of the track overlaps [start, end) (absolute frames), and the track is not locked."""
    if timeline.GetIsTrackLocked(kind, track):
        return False
    items = timeline.GetItemListInTrack(kind, track) or []
    return all(item.GetEnd() <= start or end <= item.GetStart() for item in items)


def free_track(timeline: Any, kind: str, start: int, end: int, lowest: int = 1) -> int:
    """The lowest track of `kind` from `lowest` up that is free over [start, end), adding one when none is."""
    count = timeline.GetTrackCount(kind)
    for track in range(lowest, count + 1):
        if track_is_free(timeline, kind, track, start, end):
            return track
    target = max(lowest, count + 1)  # new tracks are empty; a placeholder on the top track gets one above it
    while timeline.GetTrackCount(kind) < target:
        added = timeline.AddTrack(AUDIO, NEW_AUDIO_TRACK) if kind == AUDIO else timeline.AddTrack(kind)
        if not added:
            raise FailedPrecondition(f"Resolve did not add a {kind} track to {timeline.GetName()!r}")
    return target


def place(project: Any, timeline: Any, shot: Shot, path: Path, *, has_audio: bool) -> Placement:
    """Import `path` and put its first `shot.frames` frames over the shot (above a clip placeholder), with its sound
    on a free audio track when it has sound. All or nothing: a picture whose sound Resolve refused is taken out
    again. The timeline that was current stays current."""
    media_pool = project.GetMediaPool()
    clip = import_media(media_pool, path)
    record = timeline.GetStartFrame() + shot.start
    end = record + shot.frames
    track = free_track(timeline, VIDEO, record, end, lowest=shot.track + 1 if shot.track else 1)
    audio_track = free_track(timeline, AUDIO, record, end) if has_audio else 0
    previous = project.GetCurrentTimeline()
    if not project.SetCurrentTimeline(timeline):
        raise FailedPrecondition(f"Resolve did not switch to timeline {timeline.GetName()!r}")
    try:
        picture = append(media_pool, clip, shot, VIDEO_ONLY, track, record)
        if audio_track:
            try:
                sound = append(media_pool, clip, shot, AUDIO_ONLY, audio_track, record)
            except FailedPrecondition:
                timeline.DeleteClips([picture], False)
                raise
            # Aligned is what matters; linked they also move together when the editor drags them.
            timeline.SetClipsLinked([picture, sound], True)
    finally:
        if previous is not None:
            project.SetCurrentTimeline(previous)
    return Placement(track, record, audio_track)


def append(media_pool: Any, clip: Any, shot: Shot, media_type: int, track: int, record: int) -> Any:
    """One part of the clip (picture or sound) on `track` at the absolute `record` frame; its timeline item."""
    info = {
        "mediaPoolItem": clip,
        "startFrame": 0,
        "endFrame": shot.frames,  # exclusive
        "mediaType": media_type,
        "trackIndex": track,
        "recordFrame": record,
    }
    placed = media_pool.AppendToTimeline([info]) or []
    if not placed or placed[0].GetStart() != record:
        kind = "V" if media_type == VIDEO_ONLY else "A"
        raise FailedPrecondition(f"Resolve did not place {clip.GetName()} on {kind}{track} at frame {record}")
    return placed[0]


# ---- what the shot's marker remembers -----------------------------------------------------------------------


def _marker_holder(timeline: Any, shot: Shot) -> Any:
    """The timeline, or the timeline item, that holds the shot's marker now; None when there is none (an OTIO
    placeholder, or a marker or clip that was deleted)."""
    if shot.source == MARKER:
        holder = timeline
    elif shot.source == CLIP:
        start = timeline.GetStartFrame() + shot.start
        items = timeline.GetItemListInTrack(VIDEO, shot.track) or []
        holder = next((item for item in items if item.GetStart() == start), None)
    else:
        return None
    if holder is None or shot.marker_frame is None:
        return None
    frames = {int(frame) for frame in (holder.GetMarkers() or {})}
    return holder if shot.marker_frame in frames else None


def marker_notes(timeline: Any, shot: Shot) -> dict[str, Any] | None:
    """The `milimo` notes of the shot's marker as Resolve holds them now ({} for a marker without them), or None
    when the shot has no marker."""
    holder = _marker_holder(timeline, shot)
    return None if holder is None else _notes_of(holder, shot)


def _notes_of(holder: Any, shot: Shot) -> dict[str, Any]:
    return milimo_notes(holder.GetMarkerCustomData(shot.marker_frame) or "") or {}


def write_job(timeline: Any, shot: Shot, notes: dict[str, Any]) -> bool:
    """Replace what the marker's customData says of Milimo's job and result by `notes` (nothing: forget the job),
    keeping everything else in it (the shot's own request). False when the shot has no marker or Resolve refused."""
    holder = _marker_holder(timeline, shot)
    if holder is None:
        return False
    kept = {key: value for key, value in _notes_of(holder, shot).items() if key not in JOB_KEYS}
    data = json.dumps({MARK: {**kept, **notes}}, sort_keys=True)
    return bool(holder.UpdateMarkerCustomData(shot.marker_frame, data))
