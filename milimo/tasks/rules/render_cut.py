"""Rules of the `render_cut` kind: a project's shots, in order, as one clip."""

from __future__ import annotations

from collections.abc import Mapping

from milimo import validation
from milimo.errors import InvalidArgument
from milimo.tasks.inputs import InputAsset, InputRef
from milimo.v1 import jobs_pb2


def validate(request: jobs_pb2.JobRequest, models: Mapping) -> None:
    if not request.render_cut.project_id:
        raise InvalidArgument("render_cut.project_id", "must name a project (p-…)")
    validation.optional_id("render_cut.project_id", request.render_cut.project_id)


def inputs(request: jobs_pb2.JobRequest) -> list[InputRef]:
    # The takes are found when the job starts (see milimo/daemon/jobs/inputs.py), so a cut has the latest ones.
    return [InputRef("render_cut.project_id", request.render_cut.project_id, "project")]


def check_inputs(request: jobs_pb2.JobRequest, assets: Mapping[str, InputAsset]) -> None:
    pass
