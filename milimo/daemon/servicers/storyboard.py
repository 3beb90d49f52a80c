"""Storyboard service: a project's board, scenes, the order of their shots, and elements (AIP-134 field masks
on update). Only proto <-> domain conversion here; the rules are in `milimo.daemon.storyboard_service`."""

from __future__ import annotations

from typing import Any

import grpc

from milimo.daemon.board_jobs import BoardJobs
from milimo.daemon.catalog_service import check_mask
from milimo.daemon.servicers import convert
from milimo.daemon.servicers.status import maps_errors
from milimo.daemon.storyboard_service import ELEMENT_FIELDS, SCENE_FIELDS, StoryboardService
from milimo.storyboard.matcher import Match
from milimo.v1 import projects_pb2, storyboard_pb2, storyboard_pb2_grpc


def _scene_values(scene: storyboard_pb2.Scene, fields: list[str]) -> dict[str, Any]:
    return {
        field: convert.setting_from_proto(scene.setting) if field == "setting" else getattr(scene, field)
        for field in fields
    }


def _element_values(element: storyboard_pb2.Element, fields: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in fields:
        if field == "kind":
            values[field] = convert.element_kind_from_proto(element.kind)
        elif field == "reference_asset_ids":
            values[field] = list(element.reference_asset_ids)
        else:
            values[field] = getattr(element, field)
    return values


class StoryboardServicer(storyboard_pb2_grpc.StoryboardServicer):
    def __init__(self, storyboard: StoryboardService, board_jobs: BoardJobs) -> None:
        self.storyboard = storyboard
        self.board_jobs = board_jobs

    # ---- the board --------------------------------------------------------------------------

    @maps_errors
    async def GetStoryboard(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        return convert.storyboard(*await self.storyboard.board(request.project_id))

    # ---- scenes -----------------------------------------------------------------------------

    @maps_errors
    async def CreateScene(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        scene = request.scene
        position = scene.position if scene.position else None  # 0 is proto3's unset: append, as CreateShot does
        values = _scene_values(scene, list(SCENE_FIELDS))
        return convert.scene(await self.storyboard.create_scene(scene.project_id, values, position))

    @maps_errors
    async def UpdateScene(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        fields = check_mask(list(request.update_mask.paths), SCENE_FIELDS)
        values = _scene_values(request.scene, fields)
        return convert.scene(await self.storyboard.update_scene(request.scene.id, values))

    @maps_errors
    async def DeleteScene(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        await self.storyboard.delete_scene(request.scene_id)
        return projects_pb2.DeleteResponse()

    @maps_errors
    async def ReorderScenes(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        return convert.storyboard(*await self.storyboard.reorder_scenes(request.project_id, list(request.scene_ids)))

    @maps_errors
    async def ReorderShots(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        return convert.scene_shots(await self.storyboard.reorder_shots(request.scene_id, list(request.shot_ids)))

    # ---- shots ------------------------------------------------------------------------------

    @maps_errors
    async def MoveShot(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        board = await self.storyboard.move_shot(request.shot_id, request.scene_id, request.index)
        return convert.storyboard(*board)

    @maps_errors
    async def SplitShot(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        first, second = await self.storyboard.split_shot(request.shot_id, request.action_offset, request.dialogue_index)
        return storyboard_pb2.SplitStoryboardShotResponse(first=convert.shot(first), second=convert.shot(second))

    # ---- elements ---------------------------------------------------------------------------

    @maps_errors
    async def CreateElement(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        values = _element_values(request.element, list(ELEMENT_FIELDS))
        return convert.element(await self.storyboard.create_element(request.element.project_id, values))

    @maps_errors
    async def GetElement(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        return convert.element(await self.storyboard.get_element(request.element_id))

    @maps_errors
    async def ListElements(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        elements = await self.storyboard.list_elements(request.project_id)
        return storyboard_pb2.ListElementsResponse(elements=[convert.element(e) for e in elements])

    @maps_errors
    async def UpdateElement(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        fields = check_mask(list(request.update_mask.paths), ELEMENT_FIELDS)
        values = _element_values(request.element, fields)
        return convert.element(await self.storyboard.update_element(request.element.id, values))

    @maps_errors
    async def DeleteElement(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        await self.storyboard.delete_element(request.element_id)
        return projects_pb2.DeleteResponse()

    # ---- matching, rendering, pictures ------------------------------------------------------

    @maps_errors
    async def MatchElements(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        shots = await self.board_jobs.match(request.project_id, list(request.shot_ids))
        return storyboard_pb2.MatchElementsResponse(
            shots=[
                storyboard_pb2.ShotMatches(shot_id=shot_id, matches=[_element_match(m) for m in matches])
                for shot_id, matches in shots
            ]
        )

    @maps_errors
    async def VisualizeElement(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        return convert.job(await self.board_jobs.visualize(request.element_id, request.image, request.priority))

    @maps_errors
    async def GenerateShots(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        batch_id, jobs = await self.board_jobs.generate(
            request.project_id,
            list(request.shot_ids),
            request.template,
            priority=request.priority,
            only_missing=request.only_missing,
        )
        return storyboard_pb2.GenerateShotsResponse(batch_id=batch_id, jobs=[convert.job(job) for job in jobs])

    @maps_errors
    async def GetShotThumbnail(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN201
        asset_id, picture = await self.board_jobs.thumbnail(request.shot_id, request.max_pixels)
        return storyboard_pb2.ShotThumbnail(
            shot_id=request.shot_id, asset_id=asset_id, jpeg=picture.jpeg, width=picture.width, height=picture.height
        )


def _element_match(match: Match) -> storyboard_pb2.ElementMatch:
    return storyboard_pb2.ElementMatch(
        element_id=match.element_id,
        element_name=match.element_name,
        score=match.score,
        signals=[
            storyboard_pb2.MatchSignal(signal=signal.signal, weight=signal.weight, evidence=signal.evidence)
            for signal in match.signals
        ],
    )
