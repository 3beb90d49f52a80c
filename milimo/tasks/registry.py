"""Every job kind: which lane runs it, the light module that checks its requests, and the task a worker runs.

The daemon process imports only the rules modules (`milimo.tasks.rules.<kind>`: no torch, no numpy-heavy
work); worker processes import a task's module (`runner`) the first time they run one.

A rules module provides:
- `validate(request, models)`: field rules, raising InvalidArgument that names the field;
- `inputs(request) -> list[InputRef]`: the assets the request names (checked to exist and be of their sort);
- `check_inputs(request, assets)`: rules that need those assets' facts (sizes, frame counts), given
  `{field: InputAsset}`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from milimo.config import ModelConfig
from milimo.errors import InvalidArgument
from milimo.tasks.context import TaskContext
from milimo.tasks.inputs import InputAsset, InputRef
from milimo.v1 import jobs_pb2

if TYPE_CHECKING:
    from milimo.tasks.resources import WorkerResources

Models = Mapping[str, ModelConfig]
VIDEO_FAMILIES = ("ltx-video", "ltx2")
IMAGE_FAMILIES = ("flux", "flux2-klein")
SEGMENTATION_FAMILIES = ("sam3", "sam2")

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
    runner: str  # "module:function", imported in the worker only

    @property
    def rules(self) -> ModuleType:
        return importlib.import_module(f"milimo.tasks.rules.{self.name}")

    def validate(self, request: jobs_pb2.JobRequest, models: Models) -> None:
        self.rules.validate(request, models)

    def inputs(self, request: jobs_pb2.JobRequest) -> list[InputRef]:
        return self.rules.inputs(request)

    def check_inputs(self, request: jobs_pb2.JobRequest, assets: Mapping[str, InputAsset]) -> None:
        self.rules.check_inputs(request, assets)

    def run(self, request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
        module_name, function_name = self.runner.split(":")
        function = getattr(importlib.import_module(module_name), function_name)
        return function(request, ctx, resources)


KINDS: dict[str, TaskKind] = {
    kind.name: kind
    for kind in (
        TaskKind("animatic", CPU_LANE, "milimo.tasks.animatic_job:run"),
        TaskKind("video", ACCELERATOR_LANE, "milimo.tasks.video_job:run"),
        TaskKind("image", ACCELERATOR_LANE, "milimo.tasks.image_job:run"),
        TaskKind("inpaint", ACCELERATOR_LANE, "milimo.tasks.inpaint_job:run"),
        TaskKind("last_frame", CPU_LANE, "milimo.tasks.shot_utils:last_frame"),
        TaskKind("split_shot", CPU_LANE, "milimo.tasks.shot_utils:split_shot"),
        TaskKind("render_cut", CPU_LANE, "milimo.tasks.shot_utils:render_cut"),
        TaskKind("screenplay", CPU_LANE, "milimo.tasks.screenplay_job:run"),
    )
}


def kind_for(request: jobs_pb2.JobRequest, models: Models) -> tuple[TaskKind, jobs_pb2.JobRequest]:
    """The kind a request asks for and the request it runs, after checking its fields against `models`.

    A video request for a single frame is answered by the image kind, with an image request made from it
    (see `rules.video.as_still`), as in the original design.
    """
    name = request.WhichOneof("kind")
    if name is None:
        raise InvalidArgument("request", f"must set one job kind ({', '.join(KINDS)})")
    kind = KINDS[name]
    kind.validate(request, models)
    if name == "video" and request.video.frames == 1:
        from milimo.tasks.rules.video import as_still

        request = as_still(request, models)
        kind = KINDS["image"]
        kind.validate(request, models)
    return kind, request


def configured_model(field: str, name: str, models: Models, families: tuple[str, ...], what: str) -> ModelConfig:
    """The configured model `name` of one of `families`, or an error listing the ones that would do."""
    config = models.get(name)
    if config is None or config.family not in families:
        fitting = [n for n, c in models.items() if c.family in families]
        known = ", ".join(fitting) or "none is configured"
        problem = "is not a configured model" if config is None else f"is a {config.family} model, not a {what}"
        raise InvalidArgument(field, f"{name[:100]!r} {problem}; {what}s: {known}")
    return config
