"""Projects service: projects, shots and assets, with AIP-134 field masks on update."""

from __future__ import annotations

from typing import Any

import grpc

from milimo.daemon.catalog_service import (
    ASSET_FIELDS,
    PROJECT_FIELDS,
    SHOT_FIELDS,
    CatalogService,
    check_mask,
)
from milimo.daemon.servicers import convert
from milimo.daemon.servicers.status import maps_errors
from milimo.v1 import projects_pb2, projects_pb2_grpc


def _project_values(project: projects_pb2.Project, fields: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in fields:
        values[field] = (project.fps.num, project.fps.den) if field == "fps" else getattr(project, field)
    return values


def _shot_values(shot: projects_pb2.Shot, fields: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in fields:
        if field == "metadata":
            values[field] = dict(shot.metadata)
        elif field == "dialogue":
            values[field] = convert.dialogue_from_proto(shot.dialogue)
        elif field == "characters":
            values[field] = list(shot.characters)
        else:
            values[field] = getattr(shot, field)
    return values


class ProjectsServicer(projects_pb2_grpc.ProjectsServicer):
    def __init__(self, catalog: CatalogService) -> None:
        self.catalog = catalog

    def _asset(self, record):  # noqa: ANN001
        return convert.asset(record, self.catalog.media.blob_path(record.sha256))

    # ---- projects ---------------------------------------------------------------------------

    @maps_errors
    async def CreateProject(self, request, context: grpc.aio.ServicerContext) -> projects_pb2.Project:  # noqa: ANN001
        values = _project_values(request.project, list(PROJECT_FIELDS))
        return convert.project(await self.catalog.create_project(values))

    @maps_errors
    async def GetProject(self, request, context: grpc.aio.ServicerContext) -> projects_pb2.Project:  # noqa: ANN001
        return convert.project(await self.catalog.get_project(request.project_id))

    @maps_errors
    async def ListProjects(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        projects, token = await self.catalog.list_projects(request.page.page_size, request.page.page_token)
        return projects_pb2.ListProjectsResponse(projects=[convert.project(p) for p in projects], next_page_token=token)

    @maps_errors
    async def UpdateProject(self, request, context: grpc.aio.ServicerContext) -> projects_pb2.Project:  # noqa: ANN001
        fields = check_mask(list(request.update_mask.paths), PROJECT_FIELDS)
        values = _project_values(request.project, fields)
        return convert.project(await self.catalog.update_project(request.project.id, values))

    @maps_errors
    async def DeleteProject(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        await self.catalog.delete_project(request.project_id)
        return projects_pb2.DeleteResponse()

    # ---- shots ------------------------------------------------------------------------------

    @maps_errors
    async def CreateShot(self, request, context: grpc.aio.ServicerContext) -> projects_pb2.Shot:  # noqa: ANN001
        shot = request.shot
        values = _shot_values(shot, [f for f in SHOT_FIELDS if f != "position"])
        position = shot.position if shot.position else None
        return convert.shot(await self.catalog.create_shot(shot.project_id, values, position, shot.scene_id))

    @maps_errors
    async def GetShot(self, request, context: grpc.aio.ServicerContext) -> projects_pb2.Shot:  # noqa: ANN001
        return convert.shot(await self.catalog.get_shot(request.shot_id))

    @maps_errors
    async def ListShots(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        shots, token = await self.catalog.list_shots(
            request.project_id, request.page.page_size, request.page.page_token
        )
        return projects_pb2.ListShotsResponse(shots=[convert.shot(s) for s in shots], next_page_token=token)

    @maps_errors
    async def UpdateShot(self, request, context: grpc.aio.ServicerContext) -> projects_pb2.Shot:  # noqa: ANN001
        fields = check_mask(list(request.update_mask.paths), SHOT_FIELDS)
        return convert.shot(await self.catalog.update_shot(request.shot.id, _shot_values(request.shot, fields)))

    @maps_errors
    async def DeleteShot(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        await self.catalog.delete_shot(request.shot_id)
        return projects_pb2.DeleteResponse()

    # ---- assets -----------------------------------------------------------------------------

    @maps_errors
    async def GetAsset(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        return self._asset(await self.catalog.get_asset(request.asset_id))

    @maps_errors
    async def ListAssets(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        assets, token = await self.catalog.list_assets(
            request.project_id, request.job_id, request.page.page_size, request.page.page_token
        )
        return projects_pb2.ListAssetsResponse(assets=[self._asset(a) for a in assets], next_page_token=token)

    @maps_errors
    async def UpdateAsset(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        fields = check_mask(list(request.update_mask.paths), ASSET_FIELDS)
        values = {field: getattr(request.asset, field) for field in fields}
        return self._asset(await self.catalog.update_asset(request.asset.id, values))

    @maps_errors
    async def DeleteAsset(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        await self.catalog.delete_asset(request.asset_id)
        return projects_pb2.DeleteResponse()
