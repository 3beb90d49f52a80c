"""Promptable segmentation: one interface over SAM 3 and SAM 2, for still images and for tracking through video.

Coordinates are pixels of the image as given, x to the right and y down. A point is `(x, y, label)` with label 1
for "this is the object" and 0 for "this is not"; a box is `(x0, y0, x1, y1)` with x0 < x1 and y0 < y1. Masks
always come back at the image's own size, as boolean arrays.

- `segment` returns candidate masks for the one object a prompt designates, best first.
- `detect` returns every object matching a text prompt (SAM 3 only: SAM 2 has no text prompts).
- `start_session` opens a tracking session over a clip: prompt objects on any frame, then propagate.

A family's `load` puts its `Segmenter` in `LoadedModel.modules["segmenter"]`; `segmenter_of` fetches it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from milimo.errors import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from milimo.models.base import LoadedModel

Point = tuple[float, float, int]
Box = tuple[float, float, float, float]
T = TypeVar("T")


@dataclass(frozen=True)
class Mask:
    """One object's mask at the image's size, its bounding box in pixels and the model's confidence in it."""

    mask: np.ndarray  # (H, W) bool
    box: Box  # (x0, y0, x1, y1), pixel edges: a mask covering only pixel (3, 5) has box (3, 5, 4, 6)
    score: float


def mask_box(mask: np.ndarray) -> Box:
    """The tight box around a mask's pixels, in pixel edges; (0, 0, 0, 0) for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))


def step_within(steps: Iterator[T], context: Callable[[], AbstractContextManager[object]]) -> Iterator[T]:
    """Advance `steps` inside a fresh `context()` each time, leaving it between items.

    Thread-wide modes such as `torch.autocast` must not stay switched on in the caller's code while a
    generator that entered them is suspended at a `yield`.
    """
    while True:
        with context():
            try:
                item = next(steps)
            except StopIteration:
                return
        yield item


def text_unsupported(family: str) -> InvalidArgument:
    return InvalidArgument("text", f"{family} has no text prompts; give points or a box, or use a SAM 3 model")


def check_image(image: np.ndarray, field: str = "image") -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InvalidArgument(field, f"must be an RGB uint8 array of shape (H, W, 3) (got {got})")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidArgument(field, f"must not be empty (got shape {image.shape})")
    return np.ascontiguousarray(image)


def check_frames(frames: np.ndarray) -> np.ndarray:
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        got = (
            f"{frames.dtype} array of shape {frames.shape}" if isinstance(frames, np.ndarray) else type(frames).__name__
        )
        raise InvalidArgument("frames", f"must be RGB uint8 frames of shape (F, H, W, 3) (got {got})")
    if min(frames.shape[:3]) < 1:
        raise InvalidArgument("frames", f"must hold at least one non-empty frame (got shape {frames.shape})")
    return np.ascontiguousarray(frames)


def check_points(points: Sequence[Sequence[float]], height: int, width: int) -> list[Point]:
    checked: list[Point] = []
    for i, point in enumerate(points):
        if len(point) != 3:
            raise InvalidArgument(f"points[{i}]", f"must be (x, y, label) (got {tuple(point)})")
        x, y, label = float(point[0]), float(point[1]), point[2]
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InvalidArgument(f"points[{i}]", f"coordinates must be finite (got {x}, {y})")
        if not (0 <= x <= width and 0 <= y <= height):
            raise InvalidArgument(f"points[{i}]", f"({x}, {y}) lies outside the {width}x{height} image")
        if label not in (0, 1):
            raise InvalidArgument(f"points[{i}]", f"label must be 1 (object) or 0 (not the object) (got {label!r})")
        checked.append((x, y, int(label)))
    return checked


def check_box(box: Sequence[float] | None) -> Box | None:
    if box is None:
        return None
    if len(box) != 4:
        raise InvalidArgument("box", f"must be (x0, y0, x1, y1) (got {tuple(box)})")
    x0, y0, x1, y1 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise InvalidArgument("box", f"coordinates must be finite (got {tuple(box)})")
    if not (x0 < x1 and y0 < y1):
        raise InvalidArgument("box", f"needs x0 < x1 and y0 < y1 (got {(x0, y0, x1, y1)})")
    return (x0, y0, x1, y1)


def check_text(text: str) -> str:
    """The prompt text, stripped; a text of only spaces is refused rather than read as no text."""
    if not isinstance(text, str):
        raise InvalidArgument("text", f"must be a string (got {type(text).__name__})")
    if text and not text.strip():
        raise InvalidArgument("text", "must not be blank")
    return text.strip()


def check_mask(mask: np.ndarray | None, height: int, width: int) -> np.ndarray | None:
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray) or mask.shape != (height, width):
        got = mask.shape if isinstance(mask, np.ndarray) else type(mask).__name__
        raise InvalidArgument("mask", f"must be an array of the frame's shape ({height}, {width}) (got {got})")
    return mask.astype(bool)


class TrackingSession(ABC):
    """Objects tracked through one clip. Prompt objects on any frames, then `propagate` for every frame's masks.

    Object ids are the caller's own integers. A new prompt for an object on a frame replaces its earlier prompt
    on that frame. Use the session as a context manager, or call `close`, to free the memory it holds.
    """

    def __init__(self, owner: Segmenter, num_frames: int, height: int, width: int) -> None:
        self.owner = owner
        self.num_frames = num_frames
        self.height = height
        self.width = width
        self._prompted: dict[int, set[int]] = {}  # object -> the frames it has a prompt on, in the order added
        self._closed = False

    @property
    def object_ids(self) -> list[int]:
        return list(self._prompted)

    def add_prompt(
        self,
        frame_index: int,
        object_id: int,
        *,
        points: Sequence[Sequence[float]] = (),
        box: Sequence[float] | None = None,
        text: str = "",
        mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Prompt `object_id` on `frame_index`; returns its mask on that frame, (H, W) bool.

        Give points and/or a box, or a mask, or (SAM 3) a text: text binds the object to the best match on
        that frame (use `Segmenter.detect` first to choose among matches yourself, then pass its mask).
        """
        self._check_open()
        if isinstance(frame_index, bool) or not isinstance(frame_index, int | np.integer):
            raise InvalidArgument("frame_index", f"must be an integer (got {frame_index!r})")
        if not 0 <= frame_index < self.num_frames:
            raise InvalidArgument("frame_index", f"must be from 0 to {self.num_frames - 1} (got {frame_index})")
        if isinstance(object_id, bool) or not isinstance(object_id, int | np.integer):
            raise InvalidArgument("object_id", f"must be an integer (got {object_id!r})")
        checked_points = check_points(points, self.height, self.width)
        checked_box = check_box(box)
        checked_mask = check_mask(mask, self.height, self.width)
        text = check_text(text)
        if text and not self.owner.supports_text:
            raise text_unsupported(self.owner.family)
        kinds = [name for name, given in (("text", text), ("mask", checked_mask is not None)) if given]
        if checked_points or checked_box is not None:
            kinds.append("points/box")
        if not kinds:
            raise InvalidArgument("prompt", "give points, a box, a mask or a text")
        if len(kinds) > 1:
            raise InvalidArgument("prompt", f"give one kind of prompt per call (got {' and '.join(kinds)})")
        result = self._add_prompt(int(frame_index), int(object_id), checked_points, checked_box, text, checked_mask)
        self._prompted.setdefault(int(object_id), set()).add(int(frame_index))
        return result

    def propagate(self) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Yield `(frame_index, {object_id: (H, W) bool mask})` for every frame of the clip.

        Frames come forward from the earliest prompted frame to the end, then backward to the first frame.
        """
        self._check_open()
        if not self._prompted:
            raise FailedPrecondition("tracking session: add a prompt before propagating")
        start = min(min(frames) for frames in self._prompted.values())
        yield from self._propagate(start, reverse=False)
        if start > 0:
            for frame_index, masks in self._propagate(start, reverse=True):
                if frame_index != start:  # already given going forward
                    yield frame_index, masks

    def remove_object(self, object_id: int) -> None:
        """Stop tracking `object_id`: it disappears from this session's prompts and masks."""
        self._check_open()
        if object_id not in self._prompted:
            raise InvalidArgument(
                "object_id", f"{object_id} is not tracked in this session (tracked: {self.object_ids})"
            )
        self._remove_object(int(object_id))
        del self._prompted[int(object_id)]

    def close(self) -> None:
        """Free the frames, features and memories the session holds; idempotent."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> TrackingSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise FailedPrecondition("tracking session: already closed")

    @abstractmethod
    def _add_prompt(
        self,
        frame_index: int,
        object_id: int,
        points: list[Point],
        box: Box | None,
        text: str,
        mask: np.ndarray | None,
    ) -> np.ndarray: ...

    @abstractmethod
    def _propagate(self, start: int, *, reverse: bool) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Every object's masks frame by frame from `start`, forward to the end or back to frame 0."""

    @abstractmethod
    def _remove_object(self, object_id: int) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...


class Segmenter(ABC):
    """A loaded promptable segmentation model (see the module docstring for coordinates and prompts)."""

    family: str
    supports_text: bool

    def segment(
        self,
        image: np.ndarray,
        *,
        points: Sequence[Sequence[float]] = (),
        box: Sequence[float] | None = None,
        text: str = "",
    ) -> list[Mask]:
        """Masks for the one object the prompt designates, best first.

        Points and/or a box select an object; a single point is ambiguous (part or whole), so it yields several
        candidates. A text (SAM 3) yields its best-matching object, with that match's score.
        """
        image = check_image(image)
        height, width = image.shape[:2]
        checked_points = check_points(points, height, width)
        checked_box = check_box(box)
        text = check_text(text)
        if text:
            self._require_text()
        elif not checked_points and checked_box is None:
            raise InvalidArgument("prompt", "give points, a box or a text")
        return self._segment(image, checked_points, checked_box, text)

    def detect(self, image: np.ndarray, text: str, *, threshold: float = 0.5) -> list[Mask]:
        """Every object matching `text` with a score above `threshold`, best first (SAM 3 only)."""
        self._require_text()
        image = check_image(image)
        text = check_text(text)
        if not text:
            raise InvalidArgument("text", "must name what to detect")
        if not 0.0 <= threshold <= 1.0:
            raise InvalidArgument("threshold", f"must be from 0 to 1 (got {threshold})")
        return self._detect(image, text, threshold)

    def start_session(self, frames: np.ndarray) -> TrackingSession:
        """A tracking session over `frames`, (F, H, W, 3) uint8 RGB."""
        return self._start_session(check_frames(frames))

    def _require_text(self) -> None:
        if not self.supports_text:
            raise text_unsupported(self.family)

    @abstractmethod
    def _segment(self, image: np.ndarray, points: list[Point], box: Box | None, text: str) -> list[Mask]: ...

    def _detect(self, image: np.ndarray, text: str, threshold: float) -> list[Mask]:
        raise NotImplementedError  # only families with supports_text implement it

    @abstractmethod
    def _start_session(self, frames: np.ndarray) -> TrackingSession: ...


def segmenter_of(model: LoadedModel) -> Segmenter:
    """The `Segmenter` of a loaded segmentation model."""
    segmenter = model.modules.get("segmenter")
    if not isinstance(segmenter, Segmenter):
        raise InvalidArgument("model", f"{model.name!r} ({model.config.family}) is not a segmentation model")
    return segmenter
