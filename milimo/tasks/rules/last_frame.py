"""Rules of the `last_frame` kind: one frame of a clip as a PNG."""

from __future__ import annotations

from collections.abc import Mapping

from milimo import validation
from milimo.errors import InvalidArgument
from milimo.tasks.inputs import InputAsset, InputRef
from milimo.v1 import jobs_pb2


def validate(request: jobs_pb2.JobRequest, models: Mapping) -> None:
    validation.asset_id("last_frame.asset_id", request.last_frame.asset_id)
    validation.in_range("last_frame.frames_from_end", request.last_frame.frames_from_end, 0, 10**9)


def inputs(request: jobs_pb2.JobRequest) -> list[InputRef]:
    return [InputRef("last_frame.asset_id", request.last_frame.asset_id, "video")]


def check_inputs(request: jobs_pb2.JobRequest, assets: Mapping[str, InputAsset]) -> None:
    clip = assets["last_frame.asset_id"]
    if request.last_frame.frames_from_end >= clip.frames:
        raise InvalidArgument(
            "last_frame.frames_from_end",
            f"must be less than the clip's {clip.frames} frames (got {request.last_frame.frames_from_end})",
        )
