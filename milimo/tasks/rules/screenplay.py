"""Rules of the `screenplay` kind: a script file read into a project's storyboard."""

from __future__ import annotations

from collections.abc import Mapping

from milimo import validation
from milimo.errors import InvalidArgument
from milimo.tasks.inputs import InputAsset, InputRef
from milimo.v1 import jobs_pb2

PARSERS = ("auto", "fountain", "fdx", "text", "llm")


def validate(request: jobs_pb2.JobRequest, models: Mapping) -> None:
    r = request.screenplay
    if not r.project_id:
        raise InvalidArgument("screenplay.project_id", "must name the project the storyboard goes into (p-…)")
    validation.optional_id("screenplay.project_id", r.project_id)
    validation.asset_id("screenplay.asset_id", r.asset_id)
    if r.parser and r.parser not in PARSERS:
        raise InvalidArgument("screenplay.parser", f"must be one of {', '.join(PARSERS)} (got {r.parser[:40]!r})")


def inputs(request: jobs_pb2.JobRequest) -> list[InputRef]:
    r = request.screenplay
    return [
        InputRef("screenplay.project_id", r.project_id, "project"),
        InputRef("screenplay.asset_id", r.asset_id, "screenplay"),
    ]


def check_inputs(request: jobs_pb2.JobRequest, assets: Mapping[str, InputAsset]) -> None:
    pass
