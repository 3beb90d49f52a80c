"""Every job kind: which lane runs it, how its request is checked, and the function a worker calls.

The daemon process uses `kind_for` and `validate` (cheap, no heavy imports); only worker processes
call `run`, which imports the task's module on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from milimo import validation
from milimo.config import ModelConfig
from milimo.errors import InvalidArgument
from milimo.tasks.context import TaskContext
from milimo.v1 import jobs_pb2

if TYPE_CHECKING:
    from milimo.tasks.resources import WorkerResources

Models = Mapping[str, ModelConfig]
VIDEO_FAMILIES = ("ltx-video", "ltx2")

CPU_LANE = "cpu"
ACCELERATOR_LANE = "accelerator"
LANES = (ACCELERATOR_LANE, CPU_LANE)


@dataclass(frozen=True)
class TaskOutput:
    """A finished file in the job's scratch directory, ready to become an asset."""

    path: Path
    mime_type: str
    media: dict


@dataclass(frozen=True)
class TaskKind:
    name: str
    lane: str
    validate: Callable[[jobs_pb2.JobRequest, Models], None]
    runner: str  # "module:function", imported in the worker only

    def run(self, request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
        module_name, function_name = self.runner.split(":")
        function = getattr(importlib.import_module(module_name), function_name)
        return function(request, ctx, resources)


def _validate_animatic(request: jobs_pb2.JobRequest, models: Models) -> None:
    a = request.animatic
    validation.dimension("animatic.width", a.width)
    validation.dimension("animatic.height", a.height)
    validation.frames("animatic.frames", a.frames)
    validation.fps("animatic.fps", a.fps.num, a.fps.den)
    validation.text("animatic.scene_heading", a.scene_heading, validation.NAME_MAX)
    validation.prompt("animatic.description", a.description)
    if len(a.characters) > 50:
        raise InvalidArgument("animatic.characters", "at most 50 characters")
    for index, character in enumerate(a.characters):
        validation.name(f"animatic.characters[{index}]", character)
    validation.in_range("animatic.scene_number", a.scene_number, 0, 1_000_000)
    validation.in_range("animatic.shot_number", a.shot_number, 0, 1_000_000)
    validation.in_range("animatic.start_frame", a.start_frame, 0, 10**9)


def _validate_video(request: jobs_pb2.JobRequest, models: Models) -> None:
    v = request.video
    config = models.get(v.model)
    if config is None or config.family not in VIDEO_FAMILIES:
        video_models = [name for name, c in models.items() if c.family in VIDEO_FAMILIES]
        known = ", ".join(video_models) or "none is configured"
        what = "is not a configured model" if config is None else f"is a {config.family} model, not a video model"
        raise InvalidArgument("video.model", f"{v.model[:100]!r} {what}; video models: {known}")
    validation.prompt("video.prompt", v.prompt)
    validation.prompt("video.negative_prompt", v.negative_prompt)
    validation.dimension("video.width", v.width)
    validation.dimension("video.height", v.height)
    validation.frames("video.frames", v.frames)
    validation.fps("video.fps", v.fps.num, v.fps.den)
    validation.in_range("video.steps", v.steps, 0, 200)
    if not 0 <= v.guidance <= 50:  # also refuses NaN
        raise InvalidArgument("video.guidance", f"must be from 0 to 50 (got {v.guidance})")


KINDS: dict[str, TaskKind] = {
    "animatic": TaskKind("animatic", CPU_LANE, _validate_animatic, "milimo.tasks.animatic_job:run"),
    "video": TaskKind("video", ACCELERATOR_LANE, _validate_video, "milimo.tasks.video_job:run"),
}


def kind_for(request: jobs_pb2.JobRequest, models: Models) -> TaskKind:
    """The kind a request asks for, after checking its fields against the configured `models`."""
    name = request.WhichOneof("kind")
    if name is None:
        raise InvalidArgument("request", f"must set one job kind ({', '.join(KINDS)})")
    kind = KINDS[name]
    kind.validate(request, models)
    return kind
