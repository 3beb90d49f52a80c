"""Putting a generated clip where its shot is: into the "Milimo" bin, onto a free video track, at the right frame.

Resolve's facts this relies on (measured on the real program, and kept by tests/resolve_double.py):
- `MediaPool.AppendToTimeline([{clipInfo}])` with `recordFrame` places at an *absolute* frame: the timeline's
  start frame (86400 for 01:00:00:00 at 24 fps) plus the shot's offset. `endFrame` is exclusive.
- An append that would overlap an item on its track is dropped silently, so the clip goes on a track that is
  free over the whole shot, created with `AddTrack("video")` when none is. Never `Insert*IntoTimeline`: those
  ripple the edit at the playhead on V1.
- Appends go to the project's current timeline; track indices start at 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milimo.errors import FailedPrecondition

from .placeholders import CLIP, MARK, MARKER, Shot

BIN = "Milimo"
VIDEO_ONLY = 1  # clipInfo mediaType: the picture; the media pool clip keeps any sound


@dataclass(frozen=True)
class Placement:
    track: int
    record_frame: int  # absolute


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


def track_is_free(timeline: Any, track: int, start: int, end: int) -> bool:
    """No item of the video track overlaps [start, end) (absolute frames), and the track is not locked."""
    if timeline.GetIsTrackLocked("video", track):
        return False
    items = timeline.GetItemListInTrack("video", track) or []
    return all(item.GetEnd() <= start or end <= item.GetStart() for item in items)


def free_video_track(timeline: Any, start: int, end: int, lowest: int = 1) -> int:
    """The lowest video track from `lowest` up that is free over [start, end), adding one when none is."""
    count = timeline.GetTrackCount("video")
    for track in range(lowest, count + 1):
        if track_is_free(timeline, track, start, end):
            return track
    target = max(lowest, count + 1)  # new tracks are empty; a placeholder on the top track gets one above it
    while timeline.GetTrackCount("video") < target:
        if not timeline.AddTrack("video"):
            raise FailedPrecondition(f"Resolve did not add a video track to {timeline.GetName()!r}")
    return target


def place(project: Any, timeline: Any, shot: Shot, path: Path) -> Placement:
    """Import `path` and put its first `shot.frames` frames over the shot, above a clip placeholder."""
    media_pool = project.GetMediaPool()
    clip = import_media(media_pool, path)
    record = timeline.GetStartFrame() + shot.start
    track = free_video_track(timeline, record, record + shot.frames, lowest=shot.track + 1 if shot.track else 1)
    if not project.SetCurrentTimeline(timeline):
        raise FailedPrecondition(f"Resolve did not switch to timeline {timeline.GetName()!r}")
    info = {
        "mediaPoolItem": clip,
        "startFrame": 0,
        "endFrame": shot.frames,  # exclusive
        "mediaType": VIDEO_ONLY,
        "trackIndex": track,
        "recordFrame": record,
    }
    placed = media_pool.AppendToTimeline([info]) or []
    if not placed or placed[0].GetStart() != record:
        raise FailedPrecondition(
            f"Resolve did not place {path.name} on V{track} at frame {record} of {timeline.GetName()!r}"
        )
    return Placement(track, record)


def link_marker(timeline: Any, shot: Shot, notes: dict[str, Any]) -> bool:
    """Write into the shot's marker's customData which job made it and where the result went. False for a shot
    without a marker (an OTIO placeholder)."""
    data = json.dumps({MARK: {**shot.notes, **notes}}, sort_keys=True)
    if shot.source == MARKER:
        return bool(timeline.UpdateMarkerCustomData(shot.marker_frame, data))
    if shot.source == CLIP:
        start = timeline.GetStartFrame() + shot.start
        for item in timeline.GetItemListInTrack("video", shot.track) or []:
            if item.GetStart() == start:
                return bool(item.UpdateMarkerCustomData(shot.marker_frame, data))
    return False
