"""A project's storyboard as an OTIO timeline: a clip per shot in board order, a marker at each scene's start.

Shots with a take point at the downloaded file; shots without one become `milimo.shot` placeholders (an
animatic request made from the shot, or a video request when a video model is given), so `milimo fill` can
render them later. When a take has sound, an audio track carries it under the picture.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import opentimelineio as otio

from milimo.errors import InvalidArgument
from milimo.media import ops
from milimo.otio import conventions
from milimo.v1 import common_pb2, jobs_pb2, projects_pb2, storyboard_pb2

STILL_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
DEFAULT_RATE = 24.0  # a project without a frame rate
PROMPT_MAX = 10_000


def storyboard_timeline(
    view: storyboard_pb2.StoryboardView,
    media: Mapping[str, Path],
    *,
    name: str,
    video_model: str = "",
) -> otio.schema.Timeline:
    """The board as a timeline. `media` maps shot ids to their downloaded takes; the other shots become
    placeholders (video requests for `video_model` when given, else animatics)."""
    project = view.project
    rate = project.fps.num / (project.fps.den or 1) if project.fps.num else DEFAULT_RATE
    timeline = otio.schema.Timeline(name=name, global_start_time=otio.opentime.RationalTime(0, rate))
    timeline.metadata[conventions.NAMESPACE] = {"project_id": project.id}
    picture = otio.schema.Track(name="Shots", kind=otio.schema.TrackKind.Video)
    sound = otio.schema.Track(name="Takes' sound", kind=otio.schema.TrackKind.Audio)
    for shot, scene, number, index in _board(view):
        duration = _duration(shot, rate)
        take = media.get(shot.id)
        if take is None:
            clip = conventions.make_placeholder(
                _clip_name(shot, number, index),
                _request(shot, scene, project, number, index, video_model),
                duration,
                bookkeeping=_notes(shot),
            )
            audio = None
        else:
            clip, audio = _take_clips(shot, take, duration, _clip_name(shot, number, index))
        if index == 1 and scene is not None:
            clip.markers.append(_scene_marker(scene, number, rate))
        picture.append(clip)
        sound.append(audio or otio.schema.Gap(source_range=clip.source_range))
    timeline.tracks.append(picture)
    if any(isinstance(item, otio.schema.Clip) for item in sound):
        timeline.tracks.append(sound)
    return timeline


def _board(
    view: storyboard_pb2.StoryboardView,
) -> Iterator[tuple[projects_pb2.Shot, storyboard_pb2.Scene | None, int, int]]:
    """Each shot with its scene, the scene's number (from 1) and the shot's number within it (from 1)."""
    for number, scene_shots in enumerate(view.scenes, start=1):
        for index, shot in enumerate(scene_shots.shots, start=1):
            yield shot, scene_shots.scene, number, index
    for index, shot in enumerate(view.shots_without_scene, start=1):
        yield shot, None, 0, index


def _duration(shot: projects_pb2.Shot, rate: float) -> otio.opentime.RationalTime:
    if shot.duration_frames < 1:
        raise InvalidArgument(f"shot {shot.id} ({shot.name!r}).duration_frames", "must be at least 1 to be exported")
    return otio.opentime.RationalTime(shot.duration_frames, rate)


def _take_clips(
    shot: projects_pb2.Shot, take: Path, duration: otio.opentime.RationalTime, name: str
) -> tuple[otio.schema.Clip, otio.schema.Clip | None]:
    """The picture clip of a take, and its sound clip when it has sound.

    The clip lasts the shot's duration whatever the take's real length: the board's timing is the edit, so a
    longer take leaves handles (its available range says how long it really is) and a shorter one shows in
    the editor as media running out, instead of silently moving every shot after it."""
    url = take.resolve().as_uri()
    span = otio.opentime.TimeRange(otio.opentime.RationalTime(0, duration.rate), duration)
    available = None
    has_audio = False
    if take.suffix.lower() not in STILL_SUFFIXES:  # a still has no length of its own
        info = ops.probe(take)
        available = otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, float(info.fps)), otio.opentime.RationalTime(info.frames, float(info.fps))
        )
        has_audio = info.has_audio
    metadata = {conventions.NAMESPACE: {**_notes(shot), "asset_id": shot.asset_id} if shot.asset_id else _notes(shot)}
    picture = otio.schema.Clip(
        name=name,
        media_reference=otio.schema.ExternalReference(target_url=url, available_range=available),
        source_range=span,
        metadata=metadata,
    )
    if not has_audio:
        return picture, None
    sound = otio.schema.Clip(
        name=name,
        media_reference=otio.schema.ExternalReference(target_url=url, available_range=available),
        source_range=span,
        metadata=metadata,
    )
    return picture, sound


def _request(
    shot: projects_pb2.Shot,
    scene: storyboard_pb2.Scene | None,
    project: projects_pb2.Project,
    number: int,
    index: int,
    video_model: str,
) -> jobs_pb2.JobRequest:
    """What renders the shot: its size and rate are the project's (unset ones are filled in by `milimo fill`)."""
    heading = scene.heading if scene is not None else ""
    text = shot.description or shot.action
    fps = common_pb2.Rational(num=project.fps.num, den=project.fps.den) if project.fps.num else None
    size = {"width": project.width, "height": project.height}
    if video_model:
        prompt = ". ".join(part for part in (heading, text) if part)[:PROMPT_MAX]
        return jobs_pb2.JobRequest(
            video=jobs_pb2.VideoShotRequest(
                model=video_model, prompt=prompt, frames=shot.duration_frames, fps=fps, **size
            )
        )
    return jobs_pb2.JobRequest(
        animatic=jobs_pb2.AnimaticRequest(
            frames=shot.duration_frames,
            fps=fps,
            scene_heading=heading,
            description=text[:PROMPT_MAX],
            characters=list(shot.characters),
            scene_number=number,
            shot_number=index,
            **size,
        )
    )


def _scene_marker(scene: storyboard_pb2.Scene, number: int, rate: float) -> otio.schema.Marker:
    start = otio.opentime.RationalTime(0, rate)
    return otio.schema.Marker(
        name=scene.heading or f"Scene {number}",
        marked_range=otio.opentime.TimeRange(start, otio.opentime.RationalTime(0, rate)),
        color=otio.schema.MarkerColor.GREEN,
        metadata={
            conventions.NAMESPACE: {"scene_id": scene.id, "number": number, "script_number": scene.script_number}
        },
    )


def _clip_name(shot: projects_pb2.Shot, number: int, index: int) -> str:
    if shot.name:
        return shot.name
    return f"Scene {number} shot {index}" if number else f"Shot {index}"


def _notes(shot: projects_pb2.Shot) -> dict[str, Any]:
    notes: dict[str, Any] = {"shot_id": shot.id, "project_id": shot.project_id, "position": shot.position}
    if shot.scene_id:
        notes["scene_id"] = shot.scene_id
    if shot.metadata:
        notes["shot_metadata"] = dict(shot.metadata)
    return notes
