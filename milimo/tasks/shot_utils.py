"""Shot utilities on the CPU lane: a clip's last frame, a clip split in two, and a project's cut.

None of them needs a model. Every cut is frame-exact (frames are decoded sequentially, never found by
seeking), every sound cut happens at the same instant as the picture's, and every result is written to a
hidden file in the scratch directory and renamed into place when complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from milimo.errors import FailedPrecondition, InvalidArgument
from milimo.media import ops
from milimo.tasks.context import TaskContext
from milimo.tasks.registry import TaskOutput
from milimo.tasks.resources import WorkerResources
from milimo.v1 import jobs_pb2

# A cut's sound is one 48 kHz stereo track, the rate editors expect under video; takes are resampled to it.
CUT_AUDIO_RATE = ops.DEFAULT_AUDIO_RATE
CUT_AUDIO_CHANNELS = 2


def last_frame(request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
    """Frame `frames_from_end` from the end of a clip (0: its last) as a PNG: "continue from here"."""
    r = request.last_frame
    clip = ctx.input(r.asset_id)
    info = ops.probe(clip.path)
    index = info.frames - 1 - r.frames_from_end
    if index < 0:
        raise InvalidArgument(
            "last_frame.frames_from_end", f"must be less than the clip's {info.frames} frames (got {r.frames_from_end})"
        )
    ctx.progress(0, 1, f"decoding {index + 1} frames")
    frame = ops.extract_frame(clip.path, index)
    ctx.raise_if_cancelled()
    out = ops.write_png(ctx.scratch_dir / "frame.png", frame)
    ctx.progress(1, 1, f"frame {index} of {clip.asset_id}")
    media = {
        "width": frame.shape[1],
        "height": frame.shape[0],
        "frames": 1,
        "source_asset_id": clip.asset_id,
        "source_frame": index,
        "frames_from_end": r.frames_from_end,
    }
    return [TaskOutput(path=out, mime_type="image/png", media=media)]


def split_shot(request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
    """Two clips, frames [0, frame) and [frame, end), re-encoded frame-exactly, the sound cut at the same instant."""
    r = request.split_shot
    clip = ctx.input(r.asset_id)
    total = ops.probe(clip.path).frames
    if not 0 < r.frame < total:
        raise InvalidArgument("split_shot.frame", f"must be from 1 to {total - 1}, inside the clip (got {r.frame})")
    outputs = []
    for part, (start, end) in enumerate(((0, r.frame), (r.frame, total)), start=1):
        out = ctx.scratch_dir / f"part-{part}.mp4"
        info = ops.trim(clip.path, out, start, end, on_frame=_reporter(ctx, start, total, f"part {part} of 2"))
        media = {
            **info.as_media(),
            "source_asset_id": clip.asset_id,
            "source_start_frame": start,
            "source_end_frame": end,
        }
        outputs.append(TaskOutput(path=out, mime_type="video/mp4", media=media))
    return outputs


def _reporter(ctx: TaskContext, offset: int, total: int, message: str) -> Callable[[int], None]:
    """A per-frame callback that stops at a cancel and reports `offset + written` of `total`."""

    def report(written: int) -> None:
        ctx.raise_if_cancelled()
        ctx.progress(offset + written, total, message)

    return report


@dataclass(frozen=True)
class CutPiece:
    """One shot's place in a cut: its take's file, or None for a black, silent slate of `frames` frames."""

    shot_id: str
    label: str
    asset_id: str
    path: Path | None
    frames: int


def render_cut(request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
    """A project's shots in order, each its current take, as one mp4 at the project's size and fps, with sound.

    Everything is decoded and encoded once into one stream: takes of another size are letterboxed, slates are
    black, and the sound is one track laid out on the cut's frame grid (silence under takes without sound), so
    no cut can shift the sound. Takes at another frame rate are refused, as no exact conform exists.
    """
    project = ctx.facts["project"]
    width, height = project["width"], project["height"]
    fps = Fraction(project["fps_num"], project["fps_den"])
    pieces = _plan_cut(project, fps, request.render_cut.include_missing, ctx)
    total = sum(piece.frames for piece in pieces)
    ctx.progress(0, total, "laying out the sound")
    audio = _cut_audio(pieces, fps, ctx)
    out = ctx.scratch_dir / "cut.mp4"
    done = 0
    with ops.VideoWriter(out, width, height, fps, audio=audio, audio_sample_rate=CUT_AUDIO_RATE) as writer:
        for number, piece in enumerate(pieces, start=1):
            for frame in _piece_frames(piece, width, height):
                ctx.raise_if_cancelled()
                writer.write(frame)
                done += 1
                ctx.progress(done, total, f"shot {number} of {len(pieces)}: {piece.label}")
    shots, start = [], 0
    for piece in pieces:
        shots.append({"id": piece.shot_id, "asset_id": piece.asset_id, "start_frame": start, "frames": piece.frames})
        start += piece.frames
    media = {
        **ops.probe(out).as_media(),
        "project_id": project["id"],
        "source_asset_ids": [piece.asset_id for piece in pieces if piece.asset_id],
        "shots": shots,
        "include_missing": request.render_cut.include_missing,
    }
    return [TaskOutput(path=out, mime_type="video/mp4", media=media)]


def _plan_cut(project: dict[str, Any], fps: Fraction, include_missing: bool, ctx: TaskContext) -> list[CutPiece]:
    """The cut's pieces in order; every shot that cannot be cut is named in one error, before any work."""
    if not project["shots"]:
        raise FailedPrecondition(f"project {project['id']} has no shots to cut")
    pieces, missing, problems = [], [], []
    for shot in project["shots"]:
        label = f"{shot['name']!r} ({shot['id']})" if shot["name"] else shot["id"]
        if not shot["asset_id"]:
            missing.append(label)
            pieces.append(CutPiece(shot["id"], label, "", None, max(1, shot["duration_frames"])))
            continue
        take = ctx.input(shot["asset_id"])
        if not take.is_video:
            problems.append(f"shot {label}: its take {take.asset_id} is {take.mime_type}, not a video")
            continue
        info = ops.probe(take.path)
        if info.fps != fps:
            problems.append(
                f"shot {label}: its take {take.asset_id} runs at {info.fps} fps and the project at "
                f"{fps}; frames cannot be conformed exactly, so render the take at {fps} fps"
            )
            continue
        pieces.append(CutPiece(shot["id"], label, take.asset_id, take.path, info.frames))
    if missing and not include_missing:
        problems.append(f"no take yet for shot {', '.join(missing)} (render with include_missing for black slates)")
    if problems:
        raise FailedPrecondition("; ".join(problems))
    return pieces


def _cut_audio(pieces: list[CutPiece], fps: Fraction, ctx: TaskContext) -> np.ndarray:
    """The cut's sound: each take's own sound under exactly its frames, silence under the rest.

    Each piece's span is placed by its first frame's sample on the cut's grid, so rounding never accumulates.
    """
    total = sum(piece.frames for piece in pieces)
    audio = np.zeros((CUT_AUDIO_CHANNELS, _sample_at(total, fps)), np.float32)
    start = 0
    for piece in pieces:
        begin, end = _sample_at(start, fps), _sample_at(start + piece.frames, fps)
        start += piece.frames
        ctx.raise_if_cancelled()
        if piece.path is None:
            continue
        sound = ops.read_audio(piece.path, rate=CUT_AUDIO_RATE, channels=CUT_AUDIO_CHANNELS)
        if sound is not None:
            samples = sound[0][:, : end - begin]
            audio[:, begin : begin + samples.shape[1]] = samples
    return audio


def _piece_frames(piece: CutPiece, width: int, height: int) -> Iterator[np.ndarray]:
    if piece.path is None:
        black = np.zeros((height, width, 3), np.uint8)
        for _ in range(piece.frames):
            yield black
        return
    yield from ops.iter_frames(piece.path, width=width, height=height)


def _sample_at(frame: int, fps: Fraction) -> int:
    return round(Fraction(frame) * CUT_AUDIO_RATE / fps)
