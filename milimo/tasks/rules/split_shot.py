"""Rules of the `split_shot` kind: a clip cut in two before a frame."""

from __future__ import annotations

from collections.abc import Mapping

from milimo import validation
from milimo.errors import InvalidArgument
from milimo.tasks.inputs import InputAsset, InputRef
from milimo.v1 import jobs_pb2


def validate(request: jobs_pb2.JobRequest, models: Mapping) -> None:
    validation.asset_id("split_shot.asset_id", request.split_shot.asset_id)
    validation.in_range("split_shot.frame", request.split_shot.frame, 1, 10**9)


def inputs(request: jobs_pb2.JobRequest) -> list[InputRef]:
    return [InputRef("split_shot.asset_id", request.split_shot.asset_id, "video")]


def check_inputs(request: jobs_pb2.JobRequest, assets: Mapping[str, InputAsset]) -> None:
    clip = assets["split_shot.asset_id"]
    if not 1 <= request.split_shot.frame < clip.frames:
        raise InvalidArgument(
            "split_shot.frame", f"must be from 1 to {clip.frames - 1}, inside the clip (got {request.split_shot.frame})"
        )
