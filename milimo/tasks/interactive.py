"""The calls a worker answers beside its jobs: interactive segmentation and tracking sessions.

The daemon checks each request against the catalogue and sends plain values (file paths, numbers, tuples);
answers are plain values too, with masks as 8-bit grayscale PNGs (255 = object). Every use of a model goes
through the arbiter, waiting at most the call's `wait_s` while a job holds the accelerator.

A tracking session keeps its clip and the model's memory of its objects between calls. It ends with
`stop_session`, or once it has been idle for its timeout, which frees its memory; a call on an ended session
says why it ended.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from milimo.errors import FailedPrecondition, InvalidArgument, NotFound, SessionEnded, Unavailable
from milimo.media import ops
from milimo.media.tracks import Track, TrackReader, encode_mask_png, write_track
from milimo.models.devices import release_memory
from milimo.models.segmentation import Box, Mask, Segmenter, TrackingSession, mask_box, segmenter_of
from milimo.tasks.resources import WorkerResources

log = logging.getLogger(__name__)

Progress = Callable[[Any], None]
ENDED_REMEMBERED = 1000  # how many ended sessions can still say why they ended
# The arguments that name files, as paths into `args` ("image.path" is args["image"]["path"]): what each call
# reads, and what it writes. A worker that cannot see the daemon's files gets and returns these.
FILES_READ = {
    "segment": ("image.path",),
    "detect": ("image.path",),
    "start_session": ("path",),
    "export_matte": ("track",),
}
FILES_WRITTEN = {"save_track": ("path",), "export_matte": ("path",)}


def mask_payload(object_id: int, mask: np.ndarray, score: float = 0.0, box: Box | None = None) -> dict[str, Any]:
    """One object's mask as it travels to the daemon: its PNG, box (pixel edges) and score."""
    return {
        "object_id": object_id,
        "png": encode_mask_png(mask),
        "box": mask_box(mask) if box is None else tuple(box),
        "score": score,
    }


def load_image(source: dict[str, Any]) -> np.ndarray:
    """The RGB pixels of an image file, or of one frame of a video (`path`, `is_video`, `frame_index`)."""
    if source["is_video"]:
        return ops.extract_frame(source["path"], source["frame_index"])
    from PIL import Image

    try:
        with Image.open(source["path"]) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as exc:  # Pillow's UnidentifiedImageError is one
        raise FailedPrecondition(f"image.asset_id: the image cannot be read ({exc})") from exc


@dataclass
class _Session:
    id: str
    model: str
    tracking: TrackingSession
    source_asset_id: str
    fps: Fraction | None
    idle_timeout_s: float
    last_used: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while a call uses the session
    propagated: dict[int, dict[int, np.ndarray]] | None = None  # the last propagation, while prompts are unchanged
    propagated_ids: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "frames": self.tracking.num_frames,
            "width": self.tracking.width,
            "height": self.tracking.height,
            "object_ids": self.tracking.object_ids,
            "propagated": self.propagated is not None,
        }

    def expires_at(self) -> float:
        return self.last_used + self.idle_timeout_s


class Interactive:
    """Answers calls by method name; `busy_with()` names the job holding the accelerator, if any."""

    METHODS = (
        "segment",
        "detect",
        "start_session",
        "add_prompt",
        "propagate",
        "remove_object",
        "save_track",
        "export_matte",
        "stop_session",
    )

    def __init__(self, resources: WorkerResources, busy_with: Callable[[], str | None]) -> None:
        self.resources = resources
        self._busy_with = busy_with
        self._registry = threading.Condition()  # guards the two dicts below; notified when expiries change
        self._sessions: dict[str, _Session] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()
        self._reaper: threading.Thread | None = None

    def answer(self, method: str, args: dict[str, Any], wait_s: float, progress: Progress) -> Any:
        if method not in self.METHODS:
            raise InvalidArgument("method", f"{method!r} is not a call this worker answers")
        try:
            return getattr(self, method)(args, wait_s, progress)
        except ops.MediaError as exc:  # e.g. the asset was deleted while the call waited
            raise FailedPrecondition(f"a media file cannot be read: {exc}") from exc

    # ---- still images ---------------------------------------------------------------------------

    def segment(self, args: dict[str, Any], wait_s: float, progress: Progress) -> dict[str, Any]:
        image = load_image(args["image"])
        with self._segmenter(args["model"], wait_s) as segmenter:
            found = segmenter.segment(image, points=args["points"], box=args["box"], text=args["text"])
        return _masks_answer(image, found)

    def detect(self, args: dict[str, Any], wait_s: float, progress: Progress) -> dict[str, Any]:
        image = load_image(args["image"])
        with self._segmenter(args["model"], wait_s) as segmenter:
            found = segmenter.detect(image, args["text"], threshold=args["threshold"])
        return _masks_answer(image, found)

    # ---- tracking sessions ----------------------------------------------------------------------

    def start_session(self, args: dict[str, Any], wait_s: float, progress: Progress) -> dict[str, Any]:
        frames = ops.read_frames(args["path"])
        with self._segmenter(args["model"], wait_s) as segmenter:
            tracking = segmenter.start_session(frames)
        fps = None if args["fps"] is None else Fraction(*args["fps"])
        session = _Session(args["session_id"], args["model"], tracking, args["asset_id"], fps, args["idle_timeout_s"])
        with self._registry:
            self._sessions[session.id] = session
            self._start_reaper()
            self._registry.notify_all()
        return session.summary()

    def add_prompt(self, args: dict[str, Any], wait_s: float, progress: Progress) -> dict[str, Any]:
        with self._using(args["session_id"]) as session, self._session_model(session, wait_s):
            mask = session.tracking.add_prompt(
                args["frame_index"], args["object_id"], points=args["points"], box=args["box"], text=args["text"]
            )
            session.propagated = None
            return {"mask": mask_payload(args["object_id"], mask), "session": session.summary()}

    def propagate(self, args: dict[str, Any], wait_s: float, progress: Progress) -> dict[str, Any]:
        with self._using(args["session_id"]) as session, self._session_model(session, wait_s):
            total = session.tracking.num_frames
            progress({"done": 0, "total": total})
            masks: dict[int, dict[int, np.ndarray]] = {}
            for done, (frame, objects) in enumerate(session.tracking.propagate(), start=1):
                masks[frame] = objects
                payloads = [mask_payload(oid, mask) for oid, mask in sorted(objects.items())]
                progress({"done": done, "total": total, "frame_index": frame, "objects": payloads})
            session.propagated, session.propagated_ids = masks, session.tracking.object_ids
            return session.summary()

    def remove_object(self, args: dict[str, Any], wait_s: float, progress: Progress) -> dict[str, Any]:
        with self._using(args["session_id"]) as session, self._session_model(session, wait_s):
            session.tracking.remove_object(args["object_id"])
            session.propagated = None
            return session.summary()

    def save_track(self, args: dict[str, Any], wait_s: float, progress: Progress) -> dict[str, Any]:
        """Write the last propagation to `path` as a track file; returns the track asset's media facts."""
        with self._using(args["session_id"]) as session:
            if session.propagated is None:
                raise FailedPrecondition(
                    f"tracking session {session.id}: propagate the current prompts before saving the track"
                )
            tracking = session.tracking
            track = Track(
                source_asset_id=session.source_asset_id,
                model=session.model,
                width=tracking.width,
                height=tracking.height,
                frames=tracking.num_frames,
                object_ids=list(session.propagated_ids),
                masks={
                    frame: {oid: mask for oid, mask in objects.items() if mask.any()}
                    for frame, objects in session.propagated.items()
                },
                fps=session.fps,
            )
        write_track(track, Path(args["path"]))
        return track_media(track)

    def stop_session(self, args: dict[str, Any], wait_s: float, progress: Progress) -> None:
        with self._using(args["session_id"]) as session:
            self._end(session, "it was stopped")
            session.tracking.close()
        release_memory()

    # ---- saved tracks -------------------------------------------------------------------------

    def export_matte(self, args: dict[str, Any], wait_s: float, progress: Progress) -> dict[str, Any]:
        """Render a track file as white objects on black, at its clip's size, frame count and fps."""
        with TrackReader(args["track"]) as reader:
            track = reader.track
            if track.fps is None:
                raise FailedPrecondition("track_asset_id: the track records no frame rate, so no matte can be timed")
            unknown = sorted(set(args["object_ids"]) - set(track.object_ids))
            if unknown:
                raise InvalidArgument("object_ids", f"{unknown} are not in the track (objects: {track.object_ids})")
            wanted = args["object_ids"] or track.object_ids

            def mattes() -> Iterator[np.ndarray]:
                for frame in range(track.frames):
                    progress({"done": frame, "total": track.frames})  # stops here if the caller went away
                    matte = np.zeros((track.height, track.width), dtype=np.uint8)
                    for object_id, mask in reader.masks(frame).items():
                        if object_id in wanted:
                            matte[mask] = 255
                    yield np.repeat(matte[:, :, None], 3, axis=2)

            info = ops.encode_frames(mattes(), args["path"], track.fps)
        return {
            **info.as_media(),
            "source_asset_id": track.source_asset_id,
            "object_ids": list(wanted),
        }

    # ---- internals ----------------------------------------------------------------------------

    @contextmanager
    def _segmenter(self, model: str, wait_s: float) -> Iterator[Segmenter]:
        """The model's segmenter, held on the accelerator; UNAVAILABLE naming the job if it stays busy."""
        from milimo.models.arbiter import AcceleratorBusy

        with ExitStack() as holding:
            try:
                loaded = holding.enter_context(self.resources.arbiter.acquire(model, wait_s=wait_s))
            except AcceleratorBusy:
                job = self._busy_with()
                raise Unavailable(
                    f"the accelerator is busy with {f'job {job}' if job else 'another call'}; waited {wait_s:.0f} s. "
                    "Try again when it finishes"
                ) from None
            yield segmenter_of(loaded)

    @contextmanager
    def _session_model(self, session: _Session, wait_s: float) -> Iterator[None]:
        with self._segmenter(session.model, wait_s) as segmenter:
            if segmenter is not session.tracking.owner:
                # The model was released from RAM and loaded again: the session's memory belongs to the old copy.
                self._end(session, f"its model {session.model} was unloaded meanwhile")
                session.tracking.close()
                raise FailedPrecondition(
                    f"tracking session {session.id}: its model {session.model} was unloaded meanwhile; start again"
                )
            yield

    @contextmanager
    def _using(self, session_id: str) -> Iterator[_Session]:
        """Hold a live session for one call; its idle time starts again when the call ends."""
        with self._registry:
            session = self._sessions.get(session_id)
            if session is None:
                reason = self._ended.get(session_id)
                if reason is None:
                    raise NotFound("tracking session", session_id)
                raise SessionEnded(session_id, reason)
            session.lock.acquire()  # the reaper only takes a lock it can get at once, and never under this one
        try:
            yield session
        finally:
            session.last_used = time.monotonic()
            session.lock.release()
            with self._registry:
                self._registry.notify_all()

    def _end(self, session: _Session, reason: str) -> None:
        with self._registry:
            self._sessions.pop(session.id, None)
            self._ended[session.id] = reason
            while len(self._ended) > ENDED_REMEMBERED:
                self._ended.popitem(last=False)

    def _start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap, name="tracking-reaper", daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        """Close sessions idle past their timeout (a session in use is never idle)."""
        while True:
            with self._registry:
                now = time.monotonic()
                expired = []
                for session in list(self._sessions.values()):
                    if session.expires_at() <= now and session.lock.acquire(blocking=False):
                        self._end(session, f"it was idle for {session.idle_timeout_s:.0f} s")
                        expired.append(session)
                if not expired:
                    upcoming = [s.expires_at() for s in self._sessions.values()]
                    self._registry.wait(timeout=max(min(upcoming) - now, 0.05) if upcoming else None)
                    continue
            for session in expired:
                log.info("tracking session %s: idle for %.0f s, closing it", session.id, session.idle_timeout_s)
                session.tracking.close()
                session.lock.release()
            release_memory()


def track_media(track: Track) -> dict[str, Any]:
    """The media facts of a track asset (the inpaint job's submit rules read width, height, frames and the rest)."""
    media: dict[str, Any] = {
        "width": track.width,
        "height": track.height,
        "frames": track.frames,
        "source_asset_id": track.source_asset_id,
        "object_ids": list(track.object_ids),
        "model": track.model,
    }
    if track.fps is not None:
        media.update(fps_num=track.fps.numerator, fps_den=track.fps.denominator)
    return media


def _masks_answer(image: np.ndarray, found: list[Mask]) -> dict[str, Any]:
    height, width = image.shape[:2]
    masks = [mask_payload(rank, m.mask, m.score, m.box) for rank, m in enumerate(found)]
    return {"width": width, "height": height, "masks": masks}
