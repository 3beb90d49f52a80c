"""Rules of the `animatic` kind: a timing card rendered on the CPU."""

from __future__ import annotations

from collections.abc import Mapping

from milimo import validation
from milimo.errors import InvalidArgument
from milimo.tasks.inputs import InputAsset, InputRef
from milimo.v1 import jobs_pb2

CHARACTERS_MAX = 50


def validate(request: jobs_pb2.JobRequest, models: Mapping) -> None:
    a = request.animatic
    validation.dimension("animatic.width", a.width)
    validation.dimension("animatic.height", a.height)
    validation.frames("animatic.frames", a.frames)
    validation.fps("animatic.fps", a.fps.num, a.fps.den)
    validation.text("animatic.scene_heading", a.scene_heading, validation.NAME_MAX)
    validation.prompt("animatic.description", a.description)
    if len(a.characters) > CHARACTERS_MAX:
        raise InvalidArgument("animatic.characters", f"at most {CHARACTERS_MAX} characters")
    for index, character in enumerate(a.characters):
        validation.name(f"animatic.characters[{index}]", character)
    validation.in_range("animatic.scene_number", a.scene_number, 0, 1_000_000)
    validation.in_range("animatic.shot_number", a.shot_number, 0, 1_000_000)
    validation.in_range("animatic.start_frame", a.start_frame, 0, 10**9)


def inputs(request: jobs_pb2.JobRequest) -> list[InputRef]:
    return []


def check_inputs(request: jobs_pb2.JobRequest, assets: Mapping[str, InputAsset]) -> None:
    pass
