"""Media service: chunked, resumable transfer in the manner of google.bytestream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from milimo.daemon.catalog_service import CatalogService
from milimo.daemon.media_service import MediaService, UploadHeader
from milimo.daemon.servicers import convert
from milimo.daemon.servicers.status import maps_errors
from milimo.v1 import media_pb2, media_pb2_grpc


async def _chunks(
    requests: AsyncIterator[media_pb2.UploadChunk],
) -> AsyncIterator[tuple[UploadHeader | None, int, bytes, bool]]:
    async for chunk in requests:
        header = None
        if chunk.HasField("header"):
            h = chunk.header
            header = UploadHeader(h.sha256, h.size, h.filename, h.mime_type, h.project_id)
        yield header, chunk.offset, chunk.data, chunk.finish


class MediaServicer(media_pb2_grpc.MediaServicer):
    def __init__(self, media: MediaService, catalog: CatalogService) -> None:
        self.media = media
        self.catalog = catalog

    def _asset(self, record) -> media_pb2.Asset:  # noqa: ANN001
        return convert.asset(record, self.media.store.blob_path(record.sha256))

    @maps_errors
    async def Upload(
        self, request_iterator: AsyncIterator[media_pb2.UploadChunk], context: grpc.aio.ServicerContext
    ) -> media_pb2.Asset:
        return self._asset(await self.media.upload(_chunks(request_iterator)))

    @maps_errors
    async def QueryUpload(
        self, request: media_pb2.QueryUploadRequest, context: grpc.aio.ServicerContext
    ) -> media_pb2.UploadStatus:
        committed, complete = await self.media.query_upload(request.sha256, request.size)
        return media_pb2.UploadStatus(committed_size=committed, complete=complete)

    @maps_errors
    async def Download(self, request: media_pb2.DownloadRequest, context: grpc.aio.ServicerContext):  # noqa: ANN201
        asset = await self.catalog.get_asset(request.asset_id)
        async for offset, data in self.media.download(asset, request.offset, request.limit):
            yield media_pb2.DownloadChunk(offset=offset, data=data)

    @maps_errors
    async def Stat(self, request: media_pb2.StatRequest, context: grpc.aio.ServicerContext) -> media_pb2.Asset:
        return self._asset(await self.catalog.get_asset(request.asset_id))

    @maps_errors
    async def ImportPath(
        self, request: media_pb2.ImportPathRequest, context: grpc.aio.ServicerContext
    ) -> media_pb2.Asset:
        return self._asset(await self.media.import_path(request.path, request.project_id, request.mime_type))
