"""The whole timeline at once: Resolve's OTIO export, `milimo fill`, and the filled timeline imported back.

1. The controller exports the timeline with `Timeline.Export(path, resolve.EXPORT_OTIO, resolve.EXPORT_NONE)`.
2. `mark` adds the shots found through Resolve's API (markers and marked clips, which OTIO does not carry as
   placeholders) as placeholder clips on new video tracks named "Milimo", at their frames; OTIO placeholders
   already in the export stay where they are. Everything Resolve wrote, its `Resolve_OTIO` metadata on the
   timeline, tracks, clips, effects and markers included, is left as it was.
3. `fill` is `milimo fill` through the client library (milimo.otio.fill, the same code as the CLI): one job per
   placeholder in one batch, followed on one stream, downloaded beside the output, written, read back and
   compared item by item with the input. Running it again on the same timeline finds the jobs already made.
4. The controller imports the filled file with `MediaPool.ImportTimelineFromFile` as a new timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio

from milimo.client.batch import BatchState, JobState, watch_batch
from milimo.client.client import Client
from milimo.otio import conventions, fill, fill_jobs, formats

from .placeholders import Shot
from .requests import Settings, base_request, shot_frames

TRACK_NAME = "Milimo"


@dataclass(frozen=True)
class RoundTrip:
    output: Path
    placeholders: int
    filled: int
    failed: list[str]  # "clip: job j-… failed: reason", for each placeholder left unfilled
    differences: list[str]  # what the written file does not keep of the input, besides the fill itself


def mark(timeline: otio.schema.Timeline, shots: Sequence[Shot], settings: Settings, rate: float) -> None:
    """Add each shot as a placeholder clip at its frames, on "Milimo" video tracks after the last video track
    (a second track where shots overlap)."""
    tracks: list[tuple[otio.schema.Track, int]] = []  # each new track and the frame its last clip ends at
    for shot in sorted(shots, key=lambda each: each.start):
        frames = shot_frames(shot, rate)
        clip = conventions.make_placeholder(
            shot.title, base_request(shot, settings), otio.opentime.RationalTime(frames.frames, rate)
        )
        index = next((i for i, (_, end) in enumerate(tracks) if end <= shot.start), None)
        if index is None:
            name = TRACK_NAME if not tracks else f"{TRACK_NAME} {len(tracks) + 1}"
            tracks.append((otio.schema.Track(name=name, kind=otio.schema.TrackKind.Video), 0))
            index = len(tracks) - 1
        track, end = tracks[index]
        if shot.start > end:
            track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(shot.start - end, rate)))
        track.append(clip)
        tracks[index] = (track, shot.start + shot.frames)
    after = max((i for i, track in enumerate(timeline.tracks) if track.kind == otio.schema.TrackKind.Video), default=-1)
    for offset, (track, _) in enumerate(tracks, start=1):
        timeline.tracks.insert(after + offset, track)


def prepare(exported: Path, marked: Path, shots: Sequence[Shot], settings: Settings, rate: float) -> None:
    """Write the exported timeline with the shots added as placeholders to `marked` (written whole, then renamed
    into place)."""
    timeline = formats.read_timeline(exported, field="Resolve's OTIO export")
    mark(timeline, shots, settings, rate)
    marked.parent.mkdir(parents=True, exist_ok=True)
    formats.write_timeline(timeline, marked, field="the marked timeline")


def run_fill(
    client: Client,
    marked: Path,
    output: Path,
    settings: Settings,
    on_progress: Callable[[float, str], None],
) -> RoundTrip:
    """`milimo fill marked -o output` with the window's size; `on_progress` gets (0..1, a line) as jobs move."""
    plan = fill.plan(marked, output, size=(settings.width, settings.height))
    count = len(plan.placeholders)
    on_progress(0.0, f"{count} placeholders to fill")
    generated: dict[str, fill.Generated] = {}
    failed: list[str] = []
    if plan.placeholders:
        jobs = fill_jobs.submit(client, plan)

        def show(batch: BatchState, state: JobState) -> None:
            on_progress(batch.completed / count, f"{batch.done} of {count} shots done; {state.label}")

        finals = watch_batch(client, jobs, fill_jobs.labels(plan, jobs), on_change=show)
        on_progress(1.0, "downloading the generated clips")
        generated, unfilled = fill_jobs.download(client, plan, finals, jobs)
        failed = [
            f"{placeholder.label}: job {job.id}: {job.reason or 'did not succeed'}" for placeholder, job in unfilled
        ]
    differences = fill.finish(plan, generated)
    return RoundTrip(output, count, len(generated), failed, differences)
