"""Uploads, downloads and imports of media: the domain side of the Media service. No gRPC here."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from milimo import validation
from milimo.daemon.media_store import SHA256_PATTERN, MediaStore
from milimo.daemon.records import AssetRecord, NewAsset
from milimo.daemon.store import catalog
from milimo.daemon.store.database import Database
from milimo.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound, OutOfRange

CHUNK_MAX = 1024 * 1024
UPLOAD_SIZE_MAX = 64 * 1024**3
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadHeader:
    sha256: str
    size: int
    filename: str
    mime_type: str
    project_id: str


def _check_sha(field: str, sha256: str) -> str:
    if not SHA256_PATTERN.match(sha256):
        raise InvalidArgument(field, "must be 64 lowercase hex characters (the file's SHA-256)")
    return sha256


def _check_size(field: str, size: int) -> int:
    return validation.in_range(field, size, 0, UPLOAD_SIZE_MAX)


def describe_image(path: Path) -> dict:
    """Width and height from the image's header (Pillow reads no pixels for this)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as exc:
        log.info("no image info for %s: %s", path.name, exc)
        return {}
    return {"width": width, "height": height, "frames": 1}


def describe_media(path: Path, mime_type: str) -> dict:
    """Picture facts for image and video files; an unreadable file just has none."""
    if mime_type.startswith("image/"):
        return describe_image(path)
    if not mime_type.startswith("video/"):
        return {}
    from milimo.media import ops

    try:
        info = ops.probe(path)
    except ops.MediaError as exc:
        log.info("no media info for %s: %s", path.name, exc)
        return {}
    return info.as_media()


class MediaService:
    def __init__(self, db: Database, media: MediaStore) -> None:
        self.db = db
        self.store = media
        self._uploading: set[str] = set()

    async def query_upload(self, sha256: str, size: int) -> tuple[int, bool]:
        _check_sha("sha256", sha256)
        _check_size("size", size)
        if self.store.has_blob(sha256):
            return size, True
        return await asyncio.to_thread(self.store.committed, sha256), False

    async def upload(self, chunks: AsyncIterator[tuple[UploadHeader | None, int, bytes, bool]]) -> AssetRecord:
        """Consume (header, offset, data, finish) tuples; the first must carry the header."""
        header: UploadHeader | None = None
        # The upload's sha256 as its bytes pass, when this stream writes all of them (nothing was committed
        # before it), so that finishing need not read the file again; a resumed upload is hashed from the file.
        digest = None
        try:
            async for chunk_header, offset, data, finish in chunks:
                if header is None:
                    header = await self._begin(chunk_header)
                    if await asyncio.to_thread(self.store.committed, header.sha256) == 0:
                        digest = hashlib.sha256()
                if len(data) > CHUNK_MAX:
                    raise InvalidArgument("data", f"a chunk holds at most {CHUNK_MAX} bytes (got {len(data)})")
                if data and not self.store.has_blob(header.sha256):
                    if offset + len(data) > header.size:
                        raise OutOfRange(
                            f"offset: {offset}+{len(data)} bytes runs past the declared size {header.size}"
                        )
                    written = digest.update if digest is not None else None
                    await asyncio.to_thread(self.store.append, header.sha256, offset, data, written)
                if finish:
                    return await self._finish(header, digest.hexdigest() if digest is not None else "")
            if header is None:
                raise InvalidArgument("header", "the first message of an upload must carry the header")
            raise FailedPrecondition("finish: the stream ended before a message with finish set")
        finally:
            if header is not None:
                self._uploading.discard(header.sha256)

    async def _begin(self, header: UploadHeader | None) -> UploadHeader:
        if header is None or not header.sha256:
            raise InvalidArgument("header", "the first message of an upload must carry the header")
        _check_sha("header.sha256", header.sha256)
        _check_size("header.size", header.size)
        filename = validation.name("header.filename", header.filename)
        if "/" in filename or "\\" in filename or filename in (".", ".."):
            raise InvalidArgument("header.filename", "must be a plain file name, without directories")
        validation.text("header.mime_type", header.mime_type, 128)
        project_id = validation.optional_id("header.project_id", header.project_id)
        if project_id:
            await self.db.read(lambda conn: catalog.get_project(conn, project_id))
        if header.sha256 in self._uploading:
            raise Aborted(f"an upload of {header.sha256[:12]}… is already in progress; resume after it ends")
        self._uploading.add(header.sha256)
        return header

    async def _finish(self, header: UploadHeader, hashed: str) -> AssetRecord:
        path = self.store.blob_path(header.sha256)
        if not self.store.has_blob(header.sha256):
            path = await asyncio.to_thread(self.store.finish_upload, header.sha256, header.size, hashed)
        elif path.stat().st_size != header.size:
            raise InvalidArgument("header.size", f"the file with this sha256 has {path.stat().st_size} bytes")
        mime = header.mime_type or mimetypes.guess_type(header.filename)[0] or "application/octet-stream"
        media = await asyncio.to_thread(describe_media, path, mime)
        new = NewAsset(header.sha256, header.size, mime, header.filename, header.project_id or None, None, media)
        return await self.db.write(lambda conn: self._insert_held(conn, new))

    def _insert_held(self, conn: Connection, new: NewAsset) -> AssetRecord:
        """Insert an asset for bytes the store holds; checked in the writer, where deletions also happen."""
        if not self.store.has_blob(new.sha256):
            raise Aborted("the file's bytes were deleted while it was uploaded; upload it again")
        return catalog.insert_asset(conn, new)

    async def download(self, asset: AssetRecord, offset: int, limit: int) -> AsyncIterator[tuple[int, bytes]]:
        if offset < 0 or offset > asset.size:
            raise OutOfRange(f"offset: {offset} is outside the asset's {asset.size} bytes")
        if limit < 0:
            raise InvalidArgument("limit", "must be 0 (to the end) or more")
        end = asset.size if limit == 0 else min(asset.size, offset + limit)
        path = self.store.blob_path(asset.sha256)
        if not path.is_file():
            raise NotFound("bytes of asset", asset.id)
        with path.open("rb") as f:
            f.seek(offset)
            position = offset
            while position < end:
                data = await asyncio.to_thread(f.read, min(CHUNK_MAX, end - position))
                if not data:
                    break
                yield position, data
                position += len(data)

    async def import_path(self, relative: str, project_id: str, mime_type: str) -> AssetRecord:
        path = self.store.resolve_inside(relative)
        if not path.is_file():
            raise NotFound("file", relative)
        validation.text("mime_type", mime_type, 128)
        project = validation.optional_id("project_id", project_id)
        sha, size = await asyncio.to_thread(self.store.copy_in, path)
        mime = mime_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        media = await asyncio.to_thread(describe_media, self.store.blob_path(sha), mime)
        new = NewAsset(sha, size, mime, path.name, project, None, media)

        def insert(conn: Connection) -> AssetRecord:
            if project:
                catalog.get_project(conn, project)
            return self._insert_held(conn, new)

        return await self.db.write(insert)
