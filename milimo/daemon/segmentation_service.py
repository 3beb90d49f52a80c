"""Interactive segmentation and tracking sessions: the domain side of the Segmentation service. No gRPC here.

Requests are checked here against the catalogue (which model, which asset, inside the picture, which frame), so
errors name the request's field without a trip to the worker. The work itself runs as calls
(`milimo.tasks.interactive`) in the accelerator lane's worker, or a Ray GPU worker (`Dispatcher.calls` picks); files it
writes (saved tracks, mattes) become assets here, adopted into the media store and recorded in one transaction, as
job outputs are.

The daemon remembers which worker holds each tracking session, and sends the session's calls there: after that
worker restarts the session is gone, and a call on it says so.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection

from milimo import validation
from milimo.config import ModelConfig
from milimo.daemon.jobs.calls import CallTarget, CallWorker
from milimo.daemon.jobs.dispatcher import Dispatcher
from milimo.daemon.jobs.model import new_id
from milimo.daemon.media_store import MediaStore, sha256_of
from milimo.daemon.records import AssetRecord, NewAsset
from milimo.daemon.store import catalog
from milimo.daemon.store.database import Database
from milimo.errors import InvalidArgument, NotFound, SessionEnded
from milimo.media.tracks import Track, TrackReader, encode_mask_png
from milimo.models.segmentation import Box, Point, check_box, check_points, check_text, text_unsupported
from milimo.tasks.inputs import TRACK_MIME
from milimo.tasks.registry import SEGMENTATION_FAMILIES, configured_model

IDLE_TIMEOUT_DEFAULT_S, IDLE_TIMEOUT_MIN_S, IDLE_TIMEOUT_MAX_S = 600, 10, 3600
OBJECT_ID_MAX = 1_000_000
# A record the daemon still keeps this long past its idle timeout is surely closed in the worker too.
FORGET_AFTER_S = 60.0


@dataclass(frozen=True)
class Prompt:
    """What designates an object: points and/or a box, or (SAM 3) a text."""

    points: Sequence[Sequence[float]] = ()
    box: Sequence[float] | None = None
    text: str = ""


@dataclass(frozen=True)
class ImageRef:
    asset_id: str
    frame_index: int = 0  # for a video asset


@dataclass(frozen=True)
class SessionView:
    """A tracking session as the caller sees it."""

    id: str
    model: str
    asset_id: str
    frames: int
    width: int
    height: int
    object_ids: list[int]
    propagated: bool


@dataclass
class _SessionRecord:
    id: str
    model: str
    asset_id: str
    frames: int
    width: int
    height: int
    idle_timeout_s: float
    worker: CallWorker  # which worker holds it
    generation: Hashable | None  # which start of that worker
    last_used: float

    def view(self, summary: dict[str, Any]) -> SessionView:
        return SessionView(
            self.id,
            self.model,
            self.asset_id,
            summary["frames"],
            summary["width"],
            summary["height"],
            list(summary["object_ids"]),
            summary["propagated"],
        )


class SegmentationService:
    def __init__(self, db: Database, media: MediaStore, dispatcher: Dispatcher, models: dict[str, ModelConfig]) -> None:
        self.db = db
        self.media = media
        self.dispatcher = dispatcher
        self.models = models
        self._sessions: dict[str, _SessionRecord] = {}

    @property
    def _calls(self) -> CallTarget:
        return self.dispatcher.calls

    # ---- still images -------------------------------------------------------------------------

    async def segment(self, model: str, image: ImageRef, prompt: Prompt, wait_s: float) -> dict[str, Any]:
        """Masks for the one object the prompt designates, best first: {width, height, masks}."""
        config = self._model(model)
        source, width, height = await self._image(image)
        points, box, text = _checked_prompt(prompt, config, width, height)
        args = {"model": model, "image": source, "points": points, "box": box, "text": text}
        return await self._calls.pick(model).call("segment", args, wait_s=wait_s)

    async def detect(self, model: str, image: ImageRef, text: str, threshold: float, wait_s: float) -> dict[str, Any]:
        """Every object matching `text` above `threshold` (0 means 0.5), best first (SAM 3 only)."""
        config = self._model(model)
        text = check_text(text)
        if config.family != "sam3":
            raise text_unsupported(config.family)
        if not text:
            raise InvalidArgument("text", "must name what to detect")
        validation.real_range("threshold", threshold, 0.0, 1.0)
        source, _, _ = await self._image(image)
        args = {"model": model, "image": source, "text": text, "threshold": threshold or 0.5}
        return await self._calls.pick(model).call("detect", args, wait_s=wait_s)

    # ---- tracking sessions --------------------------------------------------------------------

    async def start_tracking(self, model: str, asset_id: str, idle_timeout_s: int, wait_s: float) -> SessionView:
        self._model(model)
        timeout = idle_timeout_s or IDLE_TIMEOUT_DEFAULT_S
        if not IDLE_TIMEOUT_MIN_S <= timeout <= IDLE_TIMEOUT_MAX_S:
            raise InvalidArgument(
                "idle_timeout_s",
                f"must be from {IDLE_TIMEOUT_MIN_S} to {IDLE_TIMEOUT_MAX_S}, or 0 for "
                f"{IDLE_TIMEOUT_DEFAULT_S} (got {idle_timeout_s})",
            )
        asset = await self._asset("asset_id", asset_id)
        frames = int(asset.media.get("frames", 0))
        if not asset.mime_type.startswith("video/") or frames < 1:
            raise InvalidArgument("asset_id", f"asset {asset_id} ({asset.mime_type}) is not a readable video")
        self._forget_stale()
        session_id = new_id("t")
        fps = (asset.media["fps_num"], asset.media["fps_den"]) if asset.media.get("fps_num") else None
        args = {
            "session_id": session_id,
            "model": model,
            "path": str(self.media.blob_path(asset.sha256)),
            "asset_id": asset_id,
            "fps": fps,
            "idle_timeout_s": float(timeout),
        }
        worker = self._calls.pick(model)
        summary = await worker.call("start_session", args, wait_s=wait_s)
        record = _SessionRecord(
            session_id,
            model,
            asset_id,
            summary["frames"],
            summary["width"],
            summary["height"],
            float(timeout),
            worker,
            worker.generation,
            time.monotonic(),
        )
        self._sessions[session_id] = record
        return record.view(summary)

    async def add_prompt(
        self, session_id: str, frame_index: int, object_id: int, prompt: Prompt, wait_s: float
    ) -> dict[str, Any]:
        """Prompt an object on a frame; returns its mask there: {object_id, png, box, score}."""
        record = self._record(session_id)
        if not 0 <= frame_index < record.frames:
            raise InvalidArgument("frame_index", f"must be from 0 to {record.frames - 1} (got {frame_index})")
        if not 0 <= object_id <= OBJECT_ID_MAX:
            raise InvalidArgument("object_id", f"must be from 0 to {OBJECT_ID_MAX} (got {object_id})")
        points, box, text = _checked_prompt(prompt, self.models[record.model], record.width, record.height)
        args = {
            "session_id": session_id,
            "frame_index": frame_index,
            "object_id": object_id,
            "points": points,
            "box": box,
            "text": text,
        }
        answer = await self._on_session(record, "add_prompt", args, wait_s)
        return answer["mask"]

    async def propagate(self, session_id: str, wait_s: float) -> AsyncIterator[dict[str, Any]]:
        """Progress of the propagation, each with the masks of the frame just propagated:
        {done, total[, frame_index, objects]}."""
        record = self._record(session_id)
        try:
            async for payload in record.worker.stream("propagate", {"session_id": session_id}, wait_s=wait_s):
                yield payload
        except NotFound:
            self._sessions.pop(session_id, None)
            raise
        finally:
            record.last_used = time.monotonic()

    async def remove_object(self, session_id: str, object_id: int, wait_s: float) -> SessionView:
        record = self._record(session_id)
        args = {"session_id": session_id, "object_id": object_id}
        return record.view(await self._on_session(record, "remove_object", args, wait_s))

    async def stop_tracking(self, session_id: str, wait_s: float) -> None:
        record = self._record(session_id)
        await self._on_session(record, "stop_session", {"session_id": session_id}, wait_s)
        self._sessions.pop(session_id, None)

    async def save_track(self, session_id: str, project_id: str, wait_s: float) -> AssetRecord:
        """The last propagation of a session as a track asset."""
        record = self._record(session_id)
        await self._check_project(project_id)
        with self._scratch() as folder:
            path = folder / f"{session_id}.track.zip"
            args = {"session_id": session_id, "path": str(path)}
            media = await self._on_session(record, "save_track", args, wait_s)
            return await self._adopt(path, TRACK_MIME, path.name, project_id, media)

    # ---- saved tracks -------------------------------------------------------------------------

    async def read_track(self, asset_id: str) -> AsyncIterator[Track | tuple[int, list[dict[str, Any]]]]:
        """The track's header (a `Track` without masks) first, then `(frame, [{object_id, png, box, score}])` for
        every frame, with every object of the track (an absent one has an empty mask)."""
        asset = await self._track_asset("asset_id", asset_id)
        reader = await asyncio.to_thread(TrackReader, self.media.blob_path(asset.sha256))
        try:
            yield reader.track
            for frame in range(reader.track.frames):
                yield frame, await asyncio.to_thread(_frame_payloads, reader, frame)
        finally:
            reader.close()

    async def export_matte(
        self, track_asset_id: str, object_ids: Sequence[int], project_id: str, wait_s: float
    ) -> AssetRecord:
        """A matte video of a saved track (white objects on black), as a video asset."""
        asset = await self._track_asset("track_asset_id", track_asset_id)
        await self._check_project(project_id)
        known = asset.media.get("object_ids", [])
        unknown = sorted(set(object_ids) - set(known))
        if unknown:
            raise InvalidArgument("object_ids", f"{unknown} are not in track {track_asset_id} (objects: {known})")
        with self._scratch() as folder:
            path = folder / f"{track_asset_id}-matte.mp4"
            args = {"track": str(self.media.blob_path(asset.sha256)), "object_ids": list(object_ids), "path": str(path)}
            media = await self._calls.pick("").call("export_matte", args, wait_s=wait_s)
            media["track_asset_id"] = track_asset_id
            return await self._adopt(path, "video/mp4", path.name, project_id, media)

    # ---- internals ----------------------------------------------------------------------------

    def _model(self, name: str) -> ModelConfig:
        return configured_model("model", name, self.models, SEGMENTATION_FAMILIES, "segmentation model")

    async def _asset(self, field: str, asset_id: str) -> AssetRecord:
        try:
            return await self.db.read(lambda conn: catalog.get_asset(conn, asset_id))
        except NotFound as error:
            raise InvalidArgument(field, f"there is no asset {asset_id[:100]!r}") from error

    async def _track_asset(self, field: str, asset_id: str) -> AssetRecord:
        asset = await self._asset(field, asset_id)
        if asset.mime_type != TRACK_MIME:
            raise InvalidArgument(field, f"asset {asset_id} ({asset.mime_type}) is not a saved track")
        return asset

    async def _image(self, image: ImageRef) -> tuple[dict[str, Any], int, int]:
        """The file of an image, or of a video with the frame to read, and the picture's width and height."""
        asset = await self._asset("image.asset_id", image.asset_id)
        width, height = int(asset.media.get("width", 0)), int(asset.media.get("height", 0))
        is_video = asset.mime_type.startswith("video/")
        frames = int(asset.media.get("frames", 0)) if is_video else 1
        if not (asset.mime_type.startswith(("image/", "video/")) and width and frames):
            raise InvalidArgument(
                "image.asset_id", f"asset {image.asset_id} ({asset.mime_type}) is not a readable image or video"
            )
        if not 0 <= image.frame_index < frames:
            what = "an image has one frame: use 0" if not is_video else f"must be from 0 to {frames - 1}"
            raise InvalidArgument("image.frame_index", f"{what} (got {image.frame_index})")
        source = {
            "path": str(self.media.blob_path(asset.sha256)),
            "is_video": is_video,
            "frame_index": image.frame_index,
        }
        return source, width, height

    async def _check_project(self, project_id: str) -> None:
        if not project_id:
            return
        try:
            await self.db.read(lambda conn: catalog.get_project(conn, project_id))
        except NotFound as error:
            raise InvalidArgument("project_id", f"there is no project {project_id[:100]!r}") from error

    def _record(self, session_id: str) -> _SessionRecord:
        record = self._sessions.get(session_id)
        if record is None:
            raise NotFound("tracking session", session_id[:100])
        if record.generation != record.worker.generation:
            del self._sessions[session_id]
            raise SessionEnded(session_id, "the worker restarted")
        return record

    async def _on_session(self, record: _SessionRecord, method: str, args: dict[str, Any], wait_s: float) -> Any:
        try:
            return await record.worker.call(method, args, wait_s=wait_s)
        except NotFound:  # the worker closed it (idle, or its model was unloaded)
            self._sessions.pop(record.id, None)
            raise
        finally:
            record.last_used = time.monotonic()

    def _forget_stale(self) -> None:
        now = time.monotonic()
        for session_id, record in list(self._sessions.items()):
            if now - record.last_used > record.idle_timeout_s + FORGET_AFTER_S:
                del self._sessions[session_id]

    @contextmanager
    def _scratch(self) -> Iterator[Path]:
        """A folder for one call's output, removed afterwards whatever happened."""
        path = self.media.scratch / f"call-{uuid.uuid4().hex}"
        path.mkdir(parents=True)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    async def _adopt(
        self, path: Path, mime_type: str, filename: str, project_id: str, media: dict[str, Any]
    ) -> AssetRecord:
        sha256 = await asyncio.to_thread(sha256_of, path)
        size = path.stat().st_size

        def insert(conn: Connection) -> AssetRecord:
            # Adopted inside the writer, so a concurrent deletion of equal bytes cannot interleave.
            self.media.adopt(path, sha256)
            return catalog.insert_asset(
                conn, NewAsset(sha256, size, mime_type, filename, project_id or None, None, media)
            )

        return await self.db.write(insert)


def _checked_prompt(
    prompt: Prompt, config: ModelConfig, width: int, height: int
) -> tuple[list[Point], Box | None, str]:
    points = check_points(prompt.points, height, width)
    box = check_box(prompt.box)
    if box is not None and (box[2] <= 0 or box[3] <= 0 or box[0] >= width or box[1] >= height):
        raise InvalidArgument("box", f"{box} lies outside the {width}x{height} image")
    text = check_text(prompt.text)
    if text and config.family != "sam3":
        raise text_unsupported(config.family)
    if text and (points or box is not None):
        raise InvalidArgument("text", "give either a text or points and a box, not both")
    if not (points or box or text):
        raise InvalidArgument("points", "give points, a box or a text")
    return points, box, text


def _frame_payloads(reader: TrackReader, frame: int) -> list[dict[str, Any]]:
    track = reader.track
    masks = reader.masks(frame)
    empty = np.zeros((track.height, track.width), dtype=bool)
    return [
        {
            "object_id": object_id,
            "png": encode_mask_png(masks.get(object_id, empty)),
            "box": reader.boxes.get(frame, {}).get(object_id, (0.0, 0.0, 0.0, 0.0)),
            "score": track.scores.get(frame, {}).get(object_id, 0.0),
        }
        for object_id in track.object_ids
    ]
