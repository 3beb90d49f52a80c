"""What job a shot becomes: its own request when it carries one, else the window's settings and its prompt."""

from __future__ import annotations

from dataclasses import dataclass

from milimo.errors import InvalidArgument
from milimo.otio import conventions
from milimo.v1 import jobs_pb2

from .placeholders import MARKER, Shot

SIZE_STEP = 32  # the animatic and video kinds take sizes in multiples of 32
LONGEST_SIDE = 768  # the LTX models' native width; Resolve scales the result to the timeline


@dataclass(frozen=True)
class Settings:
    """The window's choices for shots that do not carry their own request."""

    model: str = ""  # a video model (`milimo models list`), or "" for an animatic
    width: int = 768
    height: int = 448


def size_for(width: int, height: int, longest: int = LONGEST_SIDE) -> tuple[int, int]:
    """A generation size of the timeline's shape: the longer side `longest`, both sides multiples of 32."""
    scale = longest / max(width, height, 1)

    def side(value: int) -> int:
        return max(SIZE_STEP * 2, round(value * scale / SIZE_STEP) * SIZE_STEP)

    return side(width), side(height)


def base_request(shot: Shot, settings: Settings) -> jobs_pb2.JobRequest:
    """The request before the timeline fills in length, rate and size (as an OTIO placeholder holds it)."""
    where = f"{shot.key} {shot.title!r}"
    if shot.payload is not None:
        request = conventions.request_of(shot.payload, f"{where}: customData.milimo")
        body = getattr(request, request.WhichOneof("kind"))
        if request.HasField("animatic") and not body.description:
            body.description = shot.prompt
        elif request.HasField("video") and not body.prompt:
            body.prompt = shot.prompt
        return request
    if not shot.prompt:
        raise InvalidArgument(f"{where}: note", "write what the shot shows in the marker's note")
    if settings.model:
        return jobs_pb2.JobRequest(video=jobs_pb2.VideoShotRequest(model=settings.model, prompt=shot.prompt))
    return jobs_pb2.JobRequest(animatic=jobs_pb2.AnimaticRequest(scene_heading=shot.title, description=shot.prompt))


def shot_request(shot: Shot, settings: Settings, rate: float) -> jobs_pb2.JobRequest:
    """The request as submitted: exactly the shot's frames at the timeline's rate, in the settings' size
    unless the shot's own request gives one."""
    return conventions.completed_request(
        base_request(shot, settings), shot_frames(shot, rate), width=settings.width, height=settings.height
    )


def shot_frames(shot: Shot, rate: float) -> conventions.ShotFrames:
    """The shot's length at the timeline's rate, checked against the rule every Milimo clip keeps."""
    what = "duration" if shot.source == MARKER else "length"  # a marker's duration, or a clip's length
    return conventions.checked_frames(shot.frames, rate, f"{shot.key} {shot.title!r}: {what}")
