"""`milimo fill`'s bookkeeping: placeholders in, requests out, generated files in, the same timeline out.

Everything here is pure and fast (no gRPC, no I/O but reading and writing timelines), so it can be timed
alone; fill_jobs.py submits the requests, follows the jobs and downloads the files between `plan` and
`finish`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio

from milimo.otio import conventions, formats
from milimo.otio.compare import compare
from milimo.otio.tree import clips, timeline_rate
from milimo.v1 import jobs_pb2

DEFAULT_SIZE = (768, 512)  # the LTX models' native size, for requests that leave it unset


@dataclass(frozen=True)
class Placeholder:
    """An unfilled placeholder found in a timeline, with the request that fills it."""

    path: str  # where it is: tracks[0]/clip[3]
    clip: otio.schema.Clip
    request: jobs_pb2.JobRequest  # as submitted: the clip's frame count, the timeline's rate, a size
    project_id: str = ""
    shot_id: str = ""

    @property
    def label(self) -> str:
        return f"{self.path} {self.clip.name!r}" if self.clip.name else self.path


@dataclass(frozen=True)
class Generated:
    """What filled a placeholder: the file, and the job that made it."""

    file: Path
    job: jobs_pb2.Job


@dataclass
class FillPlan:
    source: Path  # the input file, part of every idempotency key
    output: Path
    timeline: otio.schema.Timeline  # filled in place by `finish`
    placeholders: list[Placeholder]
    expected: otio.schema.Timeline = field(repr=False)  # what OUTPUT must read back as, bar the fill itself
    edl_rate: float = formats.EDL_RATE

    @property
    def media_dir(self) -> Path:
        return self.output.with_name(self.output.stem + "_media")


def plan(
    source: Path,
    output: Path,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    edl_rate: float = formats.EDL_RATE,
) -> FillPlan:
    """Read INPUT, find and check its placeholders, and work out what OUTPUT must keep. Raises
    InvalidArgument (naming the clip and the field) for a bad placeholder, or when OUTPUT's format cannot
    hold the timeline, before any job is queued."""
    timeline = formats.read_timeline(source, field="INPUT", edl_rate=edl_rate)
    placeholders = find_placeholders(timeline, size=size)
    # What OUTPUT's format keeps of the timeline as it is now; placeholders aside, OUTPUT must read back the same.
    expected = formats.round_trip(timeline, formats.output_adapter(output, "OUTPUT"), edl_rate=edl_rate)
    return FillPlan(source, output, timeline, placeholders, expected, edl_rate)


@dataclass(frozen=True)
class UnfilledClip:
    """An unfilled placeholder as its clip holds it: the request checked, the length worked out."""

    path: str  # where it is: tracks[0]/clip[3]
    clip: otio.schema.Clip
    payload: dict[str, Any]  # {"version", "request"}, in whichever form the clip carried it
    request: jobs_pb2.JobRequest  # as written: before the clip's length, the rate and a size complete it
    frames: conventions.ShotFrames
    notes: dict[str, Any]  # the clip's metadata["milimo"] ({} when that is not an object)


def unfilled(timeline: otio.schema.Timeline, rate: float) -> Iterator[UnfilledClip]:
    """The unfilled placeholders in timeline order (tracks in order, each track's items in order), each checked:
    a bad one raises InvalidArgument naming its path and clip."""
    for path, clip in clips(timeline):
        if not conventions.is_placeholder(clip) or conventions.is_filled(clip):
            continue
        where = f"{path} {clip.name!r}"
        value = conventions.payload_of(clip, where)
        assert value is not None  # is_placeholder said it carries one
        request = conventions.request_of(value, f"{where}: milimo")
        frames = conventions.shot_frames(clip, rate, where)
        notes = conventions.plain(clip.metadata.get(conventions.NAMESPACE, {}))
        yield UnfilledClip(path, clip, value, request, frames, notes if isinstance(notes, dict) else {})


def find_placeholders(timeline: otio.schema.Timeline, *, size: tuple[int, int] = DEFAULT_SIZE) -> list[Placeholder]:
    """The unfilled placeholders with the requests that fill them, in timeline order."""
    width, height = size
    return [
        Placeholder(
            path=found.path,
            clip=found.clip,
            request=conventions.completed_request(found.request, found.frames, width=width, height=height),
            project_id=str(found.notes.get("project_id", "")),
            shot_id=str(found.notes.get("shot_id", "")),
        )
        for found in unfilled(timeline, timeline_rate(timeline))
    ]


def submissions(fill_plan: FillPlan, *, priority: int = 0) -> list[jobs_pb2.SubmitJobRequest]:
    """One SubmitJobRequest per placeholder, each with the idempotency key of its first attempt."""
    return [
        jobs_pb2.SubmitJobRequest(
            request=placeholder.request,
            priority=priority,
            project_id=placeholder.project_id,
            shot_id=placeholder.shot_id,
            client_request_id=request_key(fill_plan.source, placeholder, attempt=0),
            labels={"milimo.fill": placeholder.path[:256]},
        )
        for placeholder in fill_plan.placeholders
    ]


def request_key(source: Path, placeholder: Placeholder, *, attempt: int) -> str:
    """The same input file, clip and request give the same key, so running fill again after a crash finds the
    jobs it queued instead of queueing them twice. `attempt` counts the jobs that failed before: a new run
    moves past a failed or cancelled job to the next attempt's key."""
    digest = hashlib.sha256()
    digest.update(str(source.resolve()).encode())
    digest.update(b"\0" + placeholder.path.encode() + b"\0")
    digest.update(placeholder.request.SerializeToString(deterministic=True))
    return f"milimo-fill-{digest.hexdigest()[:48]}-{attempt}"


def media_file(fill_plan: FillPlan, placeholder: Placeholder, asset_id: str) -> Path:
    """Where a placeholder's generated file goes: named after the clip and the asset (which never changes)."""
    return fill_plan.media_dir / f"{file_stem(placeholder.clip.name, 'shot')}-{asset_id}.mp4"


def file_stem(text: str, fallback: str) -> str:
    """`text` as a safe file name stem (letters, digits, - and _; at most 60 characters), or `fallback` if empty."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:60] or fallback


def finish(fill_plan: FillPlan, generated: Mapping[str, Generated]) -> list[str]:
    """Fill the placeholders that were generated (by path), write OUTPUT, read it back and compare it with
    what it must hold. Returns the differences: empty when every other item survived unchanged."""
    for placeholder in fill_plan.placeholders:
        made = generated.get(placeholder.path)
        if made is not None:
            conventions.fill(placeholder.clip, made.file.resolve().as_uri(), bookkeeping(placeholder, made.job))
    formats.write_timeline(fill_plan.timeline, fill_plan.output)
    written = formats.read_timeline(fill_plan.output, field="OUTPUT", edl_rate=fill_plan.edl_rate)
    return compare(fill_plan.expected, written)


def bookkeeping(placeholder: Placeholder, job: jobs_pb2.Job) -> dict[str, Any]:
    """What a filled clip records of how it was made (next to the request its generator keeps)."""
    kind = placeholder.request.WhichOneof("kind")
    shot = getattr(placeholder.request, kind)
    notes: dict[str, Any] = {"job_id": job.id, "asset_id": job.result_asset_ids[0], "kind": kind, "seed": shot.seed}
    if kind == "video":
        notes["model"] = shot.model
    return notes
