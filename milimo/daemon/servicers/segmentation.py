"""Segmentation service: interactive masks and tracking sessions, converted between proto and the domain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from milimo.daemon.records import AssetRecord
from milimo.daemon.segmentation_service import ImageRef, Prompt, SegmentationService, SessionView
from milimo.daemon.servicers import convert
from milimo.daemon.servicers.status import maps_errors
from milimo.media.tracks import Track
from milimo.v1 import jobs_pb2, media_pb2, segmentation_pb2, segmentation_pb2_grpc

# How long a call waits for the accelerator when the client set no deadline (see segmentation.proto).
DEFAULT_WAIT_S = 30.0


def wait_s(context: grpc.aio.ServicerContext) -> float:
    """How long the worker may wait for the accelerator: until shortly before the client's deadline."""
    remaining = context.time_remaining()
    if remaining is None:
        return DEFAULT_WAIT_S
    return max(remaining - min(1.0, remaining / 2), 0.0)


def prompt(points: Any, box: jobs_pb2.Box | None, text: str) -> Prompt:
    return Prompt(
        points=[(p.x, p.y, p.label) for p in points],
        box=None if box is None else (box.x0, box.y0, box.x1, box.y1),
        text=text,
    )


def object_mask(payload: dict[str, Any]) -> segmentation_pb2.ObjectMask:
    x0, y0, x1, y1 = payload["box"]
    return segmentation_pb2.ObjectMask(
        object_id=payload["object_id"],
        png=payload["png"],
        box=jobs_pb2.Box(x0=x0, y0=y0, x1=x1, y1=y1),
        score=payload["score"],
    )


def session(view: SessionView) -> segmentation_pb2.TrackingSession:
    return segmentation_pb2.TrackingSession(
        id=view.id,
        model=view.model,
        asset_id=view.asset_id,
        frames=view.frames,
        width=view.width,
        height=view.height,
        object_ids=view.object_ids,
        propagated=view.propagated,
    )


def masks_response(answer: dict[str, Any]) -> segmentation_pb2.SegmentResponse:
    return segmentation_pb2.SegmentResponse(
        masks=[object_mask(m) for m in answer["masks"]], width=answer["width"], height=answer["height"]
    )


def frame_masks(frame: int, objects: list[dict[str, Any]]) -> segmentation_pb2.FrameMasks:
    return segmentation_pb2.FrameMasks(frame_index=frame, objects=[object_mask(o) for o in objects])


def track_header(track: Track) -> segmentation_pb2.TrackHeader:
    return segmentation_pb2.TrackHeader(
        source_asset_id=track.source_asset_id,
        frames=track.frames,
        width=track.width,
        height=track.height,
        object_ids=track.object_ids,
        model=track.model,
    )


class SegmentationServicer(segmentation_pb2_grpc.SegmentationServicer):
    def __init__(self, service: SegmentationService) -> None:
        self.service = service

    def _asset(self, record: AssetRecord) -> media_pb2.Asset:
        return convert.asset(record, self.service.media.blob_path(record.sha256))

    @maps_errors
    async def Segment(
        self, request: segmentation_pb2.SegmentRequest, context: grpc.aio.ServicerContext
    ) -> segmentation_pb2.SegmentResponse:
        image = ImageRef(request.image.asset_id, request.image.frame_index)
        box = request.box if request.HasField("box") else None
        answer = await self.service.segment(
            request.model, image, prompt(request.points, box, request.text), wait_s(context)
        )
        return masks_response(answer)

    @maps_errors
    async def Detect(
        self, request: segmentation_pb2.DetectRequest, context: grpc.aio.ServicerContext
    ) -> segmentation_pb2.SegmentResponse:
        image = ImageRef(request.image.asset_id, request.image.frame_index)
        answer = await self.service.detect(request.model, image, request.text, request.threshold, wait_s(context))
        return masks_response(answer)

    @maps_errors
    async def StartTracking(
        self, request: segmentation_pb2.StartTrackingRequest, context: grpc.aio.ServicerContext
    ) -> segmentation_pb2.TrackingSession:
        view = await self.service.start_tracking(
            request.model, request.asset_id, request.idle_timeout_s, wait_s(context)
        )
        return session(view)

    @maps_errors
    async def AddTrackingPrompt(
        self, request: segmentation_pb2.AddTrackingPromptRequest, context: grpc.aio.ServicerContext
    ) -> segmentation_pb2.ObjectMask:
        box = request.box if request.HasField("box") else None
        payload = await self.service.add_prompt(
            request.session_id,
            request.frame_index,
            request.object_id,
            prompt(request.points, box, request.text),
            wait_s(context),
        )
        return object_mask(payload)

    @maps_errors
    async def Propagate(
        self, request: segmentation_pb2.PropagateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[segmentation_pb2.PropagateEvent]:
        async for payload in self.service.propagate(request.session_id, wait_s(context)):
            event = segmentation_pb2.PropagateEvent(done=payload["done"], total=payload["total"])
            if "frame_index" in payload:
                event.masks.CopyFrom(frame_masks(payload["frame_index"], payload["objects"]))
            yield event

    @maps_errors
    async def RemoveTrackedObject(
        self, request: segmentation_pb2.RemoveTrackedObjectRequest, context: grpc.aio.ServicerContext
    ) -> segmentation_pb2.TrackingSession:
        return session(await self.service.remove_object(request.session_id, request.object_id, wait_s(context)))

    @maps_errors
    async def SaveTrack(
        self, request: segmentation_pb2.SaveTrackRequest, context: grpc.aio.ServicerContext
    ) -> media_pb2.Asset:
        return self._asset(await self.service.save_track(request.session_id, request.project_id, wait_s(context)))

    @maps_errors
    async def ReadTrack(
        self, request: segmentation_pb2.ReadTrackRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[segmentation_pb2.ReadTrackResponse]:
        async for item in self.service.read_track(request.asset_id):
            if isinstance(item, Track):
                yield segmentation_pb2.ReadTrackResponse(header=track_header(item))
            else:
                yield segmentation_pb2.ReadTrackResponse(masks=frame_masks(*item))

    @maps_errors
    async def ExportMatte(
        self, request: segmentation_pb2.ExportMatteRequest, context: grpc.aio.ServicerContext
    ) -> media_pb2.Asset:
        record = await self.service.export_matte(
            request.track_asset_id, list(request.object_ids), request.project_id, wait_s(context)
        )
        return self._asset(record)

    @maps_errors
    async def StopTracking(
        self, request: segmentation_pb2.StopTrackingRequest, context: grpc.aio.ServicerContext
    ) -> segmentation_pb2.StopTrackingResponse:
        await self.service.stop_tracking(request.session_id, wait_s(context))
        return segmentation_pb2.StopTrackingResponse()
