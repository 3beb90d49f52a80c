"""Finding the Milimo shots of a Resolve timeline: marked markers, marked clips, and OTIO placeholders.

- A **timeline marker** is a Milimo shot when its name or its customData marks it (`marks_milimo`): its
  note is the prompt, its frame is where the shot starts and its duration is the shot's length.
- A **clip or generator** on a video track is one when it carries such a marker (a clip marker): the note is
  the prompt, and the shot is the item's whole range on the timeline.
- Where Resolve exports OTIO (18.5 and later), a clip of the exported timeline that follows Milimo's
  placeholder convention (a `milimo.shot` generator, docs/otio.md) is one too.

customData is not shown in Resolve's interface; scripts use it. Milimo reads it as JSON `{"milimo": {…}}`:
`version` and `request` (a JobRequest in proto3 JSON, as in the OTIO convention) choose the request instead
of the window's settings, and once a result is placed Milimo writes `job_id`, `asset_id`, `file` and `track`.
Markers are read through `GetMarkers()`, whose keys are frame offsets from the timeline's (or clip's) start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio

from milimo.errors import FailedPrecondition
from milimo.otio import fill, formats

MARK = "milimo"  # a name or customData starting with this (any case) marks a shot
MARKER, CLIP, OTIO = "marker", "clip", "otio"  # where a shot was found


@dataclass(frozen=True)
class Shot:
    """A shot to generate, wherever it was found on the timeline."""

    key: str  # unique on its timeline: "marker 96", "clip V2 96", "otio V3 96"
    source: str  # MARKER, CLIP or OTIO
    name: str
    prompt: str
    start: int  # first frame, counted from the timeline's start
    frames: int
    track: int = 0  # the video track (from 1) a clip or OTIO placeholder is on; 0 for a timeline marker
    marker_frame: int | None = None  # the marker that marks it: on the timeline, or on its clip
    notes: Mapping[str, Any] = field(default_factory=dict)  # what customData holds under "milimo"
    payload: Mapping[str, Any] | None = None  # {"version", "request"}, when the shot carries its own request

    @property
    def title(self) -> str:
        """The name without the "Milimo" that marks it: "Milimo: Door opens" → "Door opens"."""
        name = self.name.strip()
        if name.lower().startswith(MARK):
            name = name[len(MARK) :].lstrip(" :-–—_")
        return name or self.prompt[:60]

    @property
    def asset_id(self) -> str:
        return str(self.notes.get("asset_id", ""))


def milimo_notes(custom_data: str) -> dict[str, Any] | None:
    """customData's `milimo` object, or None when customData is not such JSON."""
    try:
        value = json.loads(custom_data)
    except (TypeError, ValueError):
        return None
    notes = value.get(MARK) if isinstance(value, dict) else None
    return dict(notes) if isinstance(notes, dict) else None


def marks_milimo(name: str, custom_data: str) -> bool:
    return (
        name.strip().lower().startswith(MARK)
        or custom_data.strip().lower().startswith(MARK)
        or milimo_notes(custom_data) is not None
    )


def timeline_rate(timeline: Any) -> float:
    """The timeline's frame rate from its settings ("24", "25", "23.976", "29.97 DF" …). Resolve rounds the NTSC
    rates to three decimals; they are n × 1000/1001 (23.976 is 24000/1001, as OTIO and the daemon have it)."""
    setting = str(timeline.GetSetting("timelineFrameRate") or "").split()
    try:
        rate = float(setting[0]) if setting else 0.0
    except ValueError:
        rate = 0.0
    if rate <= 0:
        raise FailedPrecondition(f"timeline {timeline.GetName()!r} reports no frame rate ({setting!r})")
    nominal = round(rate * 1.001)
    if abs(rate - round(rate)) > 0.001 and abs(rate - nominal * 1000 / 1001) < 0.001:
        return nominal * 1000 / 1001
    return rate


def marker_shots(timeline: Any) -> list[Shot]:
    """The timeline's Milimo markers, in timeline order."""
    shots = []
    for frame, marker in sorted((timeline.GetMarkers() or {}).items()):
        name, data = str(marker.get("name", "")), str(marker.get("customData", ""))
        if not marks_milimo(name, data):
            continue
        notes = milimo_notes(data) or {}
        shots.append(
            Shot(
                key=f"marker {int(frame)}",
                source=MARKER,
                name=name,
                prompt=str(marker.get("note", "")).strip(),
                start=int(frame),
                frames=round(float(marker.get("duration", 1))),
                marker_frame=int(frame),
                notes=notes,
                payload=notes if "request" in notes else None,
            )
        )
    return shots


def clip_shots(timeline: Any) -> list[Shot]:
    """Items on video tracks that carry a Milimo clip marker, track by track."""
    start_frame = timeline.GetStartFrame()
    shots = []
    for track in range(1, timeline.GetTrackCount("video") + 1):
        for item in timeline.GetItemListInTrack("video", track) or []:
            for frame, marker in sorted((item.GetMarkers() or {}).items()):
                name, data = str(marker.get("name", "")), str(marker.get("customData", ""))
                if not marks_milimo(name, data):
                    continue
                notes = milimo_notes(data) or {}
                start = item.GetStart() - start_frame
                shots.append(
                    Shot(
                        key=f"clip V{track} {start}",
                        source=CLIP,
                        name=item.GetName(),
                        prompt=str(marker.get("note", "")).strip(),
                        start=start,
                        frames=item.GetDuration(),
                        track=track,
                        marker_frame=int(frame),
                        notes=notes,
                        payload=notes if "request" in notes else None,
                    )
                )
                break  # one shot per item: its first Milimo marker
    return shots


def can_export_otio(resolve: Any) -> bool:
    """Resolve 18.5 added `EXPORT_OTIO`; earlier versions have no such constant."""
    return hasattr(resolve, "EXPORT_OTIO")


def export_otio(resolve: Any, timeline: Any, path: Path) -> otio.schema.Timeline:
    """The timeline as Resolve exports it to OTIO (written to `path`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not timeline.Export(str(path), resolve.EXPORT_OTIO, resolve.EXPORT_NONE) or not path.is_file():
        raise FailedPrecondition(f"Resolve did not export timeline {timeline.GetName()!r} to OTIO ({path})")
    return formats.read_timeline(path, field=f"Resolve's OTIO export of {timeline.GetName()!r}")


def otio_shots(exported: otio.schema.Timeline, rate: float) -> list[Shot]:
    """Unfilled `milimo.shot` placeholders on the exported timeline's video tracks, track by track."""
    video = [track for track in exported.tracks if track.kind == otio.schema.TrackKind.Video]
    shots = []
    for found in fill.unfilled(exported, rate):
        track = found.clip.parent()
        number = next((n for n, each in enumerate(video, start=1) if each is track), None)
        if number is None:  # on a sound track, or nested in a stack: no shot of Resolve's edit
            continue
        start = round(track.range_of_child(found.clip).start_time.rescaled_to(rate).value)
        body = getattr(found.request, found.request.WhichOneof("kind"))
        shots.append(
            Shot(
                key=f"otio V{number} {start}",
                source=OTIO,
                name=found.clip.name,
                prompt=getattr(body, "prompt", "") or getattr(body, "description", ""),
                start=start,
                frames=found.frames.frames,
                track=number,
                notes=found.notes,
                payload=found.payload,
            )
        )
    return shots


def find_shots(resolve: Any, timeline: Any, scratch: Path) -> list[Shot]:
    """Every Milimo shot of the timeline: markers, marked clips, then OTIO placeholders where Resolve can
    export OTIO (through a file in `scratch`)."""
    shots = marker_shots(timeline) + clip_shots(timeline)
    if can_export_otio(resolve):
        exported = export_otio(resolve, timeline, scratch / "scan.otio")
        shots += otio_shots(exported, timeline_rate(timeline))
    return shots
