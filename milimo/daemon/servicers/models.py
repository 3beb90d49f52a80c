"""Models service: what is configured and where each model is (missing, on disk, in RAM, on the GPU).

Where a loaded model is comes from what the workers last pushed (`Dispatcher.model_states`), so listing never
waits for a busy worker; a model no worker holds is on disk, or missing when its weights are absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import grpc

from milimo.config import ModelConfig
from milimo.daemon.servicers.status import maps_errors
from milimo.errors import NotFound
from milimo.tasks.registry import IMAGE_FAMILIES, VIDEO_FAMILIES
from milimo.v1 import models_pb2, models_pb2_grpc

LOADED_STATES = {"in_ram": models_pb2.MODEL_STATE_IN_RAM, "on_accelerator": models_pb2.MODEL_STATE_ON_ACCELERATOR}
BUILTIN = models_pb2.Model(
    name="animatic",
    family="animatic",
    state=models_pb2.MODEL_STATE_BUILTIN,
    device="cpu",
    detail="built-in timing cards; needs no weights",
    job_kinds=["animatic"],
)


def _job_kinds(family: str) -> list[str]:
    if family in VIDEO_FAMILIES:
        return ["video"]
    if family in IMAGE_FAMILIES:
        return ["image", "inpaint"]
    return []


def _model(config: ModelConfig, loaded: str | None) -> models_pb2.Model:
    present = config.path.exists() and any(config.path.iterdir()) if config.path.is_dir() else config.path.is_file()
    detail = "" if present else f"no weights at {config.path}; run `milimo models pull {config.name}`"
    state = models_pb2.MODEL_STATE_ON_DISK if present else models_pb2.MODEL_STATE_MISSING
    return models_pb2.Model(
        name=config.name,
        family=config.family,
        path=str(config.path),
        dtype=config.dtype,
        device=config.device,
        state=LOADED_STATES.get(loaded or "", state),
        detail=detail,
        job_kinds=_job_kinds(config.family),
    )


class ModelsServicer(models_pb2_grpc.ModelsServicer):
    def __init__(self, models: tuple[ModelConfig, ...], states: Callable[[], Mapping[str, str]] = dict) -> None:
        self.models = models
        self._states = states  # each loaded model's whereabouts, as the workers last reported them

    def _all(self) -> list[models_pb2.Model]:
        states = self._states()
        return [BUILTIN, *(_model(config, states.get(config.name)) for config in self.models)]

    @maps_errors
    async def ListModels(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        return models_pb2.ListModelsResponse(models=self._all())

    @maps_errors
    async def GetModel(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        for model in self._all():
            if model.name == request.name:
                return model
        raise NotFound("model", request.name[:100])
