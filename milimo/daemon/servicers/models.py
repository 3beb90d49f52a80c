"""Models service: what is configured and where each model is (missing, on disk, in RAM, on the GPU)."""

from __future__ import annotations

import grpc

from milimo.config import ModelConfig
from milimo.daemon.servicers.status import maps_errors
from milimo.errors import NotFound
from milimo.tasks.registry import IMAGE_FAMILIES, VIDEO_FAMILIES
from milimo.v1 import models_pb2, models_pb2_grpc

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


def _model(config: ModelConfig) -> models_pb2.Model:
    present = config.path.exists() and any(config.path.iterdir()) if config.path.is_dir() else config.path.is_file()
    detail = "" if present else f"no weights at {config.path}; run `milimo models pull {config.name}`"
    return models_pb2.Model(
        name=config.name,
        family=config.family,
        path=str(config.path),
        dtype=config.dtype,
        device=config.device,
        state=models_pb2.MODEL_STATE_ON_DISK if present else models_pb2.MODEL_STATE_MISSING,
        detail=detail,
        job_kinds=_job_kinds(config.family),
    )


class ModelsServicer(models_pb2_grpc.ModelsServicer):
    def __init__(self, models: tuple[ModelConfig, ...]) -> None:
        self.models = models

    def _all(self) -> list[models_pb2.Model]:
        return [BUILTIN, *(_model(config) for config in self.models)]

    @maps_errors
    async def ListModels(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        return models_pb2.ListModelsResponse(models=self._all())

    @maps_errors
    async def GetModel(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        for model in self._all():
            if model.name == request.name:
                return model
        raise NotFound("model", request.name[:100])
