"""Saved tracks: the masks of tracked objects through a clip, in one zip file.

A track file is a zip whose members are stored, not deflated (PNGs are compressed already):

- `track.json`: `format` (`TRACK_FORMAT`), `source_asset_id`, `model`, `width`, `height`, `frames`, `fps`
  (`{"num", "den"}` or null), `object_ids`, and `masks`: per frame (key: the frame index as a string) and
  object (key: the object id as a string) the mask's `box` (x0, y0, x1, y1 pixel edges) and `score` (or null).
- `masks/{frame:06d}-{object_id}.png`: one 8-bit grayscale PNG per frame and object present on it, 255 = object.

An object absent from a frame has no PNG and no entry: an empty mask is written as absence, and `Track.mask`
gives an all-false mask for it. Files are written to a hidden sibling and renamed into place when complete.
"""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from milimo.errors import FailedPrecondition
from milimo.models.segmentation import Box, mask_box

TRACK_FORMAT = "milimo-track/1"
MANIFEST = "track.json"


class TrackError(FailedPrecondition):
    """A file is not a readable track; the message names the file and what is wrong with it."""


@dataclass
class Track:
    """Masks of `object_ids` through a clip of `frames` frames of `width` x `height` pixels.

    `masks[frame][object_id]` is an (H, W) bool array for each object present on that frame; `scores` holds the
    model's confidence in a mask where it gave one.
    """

    source_asset_id: str
    model: str
    width: int
    height: int
    frames: int
    object_ids: list[int]
    masks: dict[int, dict[int, np.ndarray]]
    fps: Fraction | None = None
    scores: dict[int, dict[int, float]] = field(default_factory=dict)

    def mask(self, frame: int, object_id: int) -> np.ndarray:
        """`object_id`'s mask on `frame`, all false where the object is absent."""
        found = self.masks.get(frame, {}).get(object_id)
        return found if found is not None else np.zeros((self.height, self.width), dtype=bool)

    def union(self, frame: int, object_ids: list[int] | None = None) -> np.ndarray:
        """The pixels of `frame` covered by any of `object_ids` (default: every object), (H, W) bool."""
        wanted = self.object_ids if object_ids is None else object_ids
        out = np.zeros((self.height, self.width), dtype=bool)
        for object_id, mask in self.masks.get(frame, {}).items():
            if object_id in wanted:
                out |= mask
        return out


def encode_mask_png(mask: np.ndarray) -> bytes:
    """An (H, W) bool mask as an 8-bit grayscale PNG, 255 = object."""
    buffer = io.BytesIO()
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(buffer, format="PNG")  # 2-D uint8: mode "L"
    return buffer.getvalue()


def decode_mask_png(data: bytes) -> np.ndarray:
    """A grayscale PNG mask as an (H, W) bool array (pixels at 128 or above are the object)."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L")) >= 128


def write_track(track: Track, path: str | os.PathLike[str]) -> Path:
    """Write `track` to `path` atomically (a hidden sibling, renamed into place when complete)."""
    _check_track(track)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(MANIFEST, json.dumps(_manifest(track), indent=1))
            for frame in sorted(track.masks):
                for object_id, mask in sorted(track.masks[frame].items()):
                    if mask.any():
                        archive.writestr(_mask_name(frame, object_id), encode_mask_png(mask))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_track(path: str | os.PathLike[str]) -> Track:
    """Read and check a whole track file; a file that is not one raises `TrackError` saying why."""
    with TrackReader(path) as reader:
        track = reader.track
        for frame in range(track.frames):
            if masks := reader.masks(frame):
                track.masks[frame] = masks
        return track


class TrackReader:
    """A track file opened for reading one frame at a time; the manifest and the list of masks are checked on
    opening, each mask when it is read. `track` holds the header and the scores, with no masks."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._archive = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile as exc:
            raise TrackError(f"{self.path.name}: not a Milimo track (not a readable zip: {exc})") from exc
        except OSError as exc:
            raise TrackError(f"{self.path.name}: cannot read the track ({exc})") from exc
        try:
            names = set(self._archive.namelist())
            if MANIFEST not in names:
                raise TrackError(f"{self.path.name}: not a Milimo track (the zip holds no {MANIFEST})")
            header = _read_manifest(self.path, self._read(MANIFEST))
            self.track = _track_of(header)
            self.boxes: dict[int, dict[int, Box]] = {
                frame: {oid: box for oid, (box, _) in objects.items()} for frame, objects in header["masks"].items()
            }
            self._check_members(names - {MANIFEST})
        except BaseException:
            self._archive.close()
            raise

    def pngs(self, frame: int) -> dict[int, bytes]:
        """The stored PNG of each object present on `frame`, as written (not decoded)."""
        return {oid: self._read(_mask_name(frame, oid)) for oid in sorted(self.boxes.get(frame, {}))}

    def masks(self, frame: int) -> dict[int, np.ndarray]:
        """Each object present on `frame` with its (H, W) bool mask, checked to be a PNG of the track's size."""
        masks = {}
        for object_id, data in self.pngs(frame).items():
            name = _mask_name(frame, object_id)
            try:
                mask = decode_mask_png(data)
            except (OSError, ValueError) as exc:
                raise TrackError(f"{self.path.name}: {name} is not a readable PNG ({exc})") from exc
            width, height = self.track.width, self.track.height
            if mask.shape != (height, width):
                raise TrackError(f"{self.path.name}: {name} is {mask.shape[1]}x{mask.shape[0]}, not {width}x{height}")
            masks[object_id] = mask
        return masks

    def close(self) -> None:
        self._archive.close()

    def __enter__(self) -> TrackReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, name: str) -> bytes:
        try:
            return self._archive.read(name)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            raise TrackError(f"{self.path.name}: {name} cannot be read ({exc})") from exc

    def _check_members(self, members: set[str]) -> None:
        track = self.track
        listed = {_mask_name(frame, oid) for frame, objects in self.boxes.items() for oid in objects}
        for name in sorted(members - listed):
            raise TrackError(f"{self.path.name}: unexpected member {name!r} (not listed in {MANIFEST})")
        for name in sorted(listed - members):
            raise TrackError(f"{self.path.name}: {MANIFEST} lists {name} but the zip has no such mask")
        for frame, objects in self.boxes.items():
            if not 0 <= frame < track.frames or not set(objects) <= set(track.object_ids):
                raise TrackError(
                    f"{self.path.name}: {MANIFEST} lists masks of frame {frame} objects {sorted(objects)}, outside "
                    f"the track (frames 0..{track.frames - 1}, objects {track.object_ids})"
                )


def _check_track(track: Track) -> None:
    if track.width < 1 or track.height < 1 or track.frames < 1:
        raise ValueError(f"track of {track.width}x{track.height}, {track.frames} frames: sizes must be positive")
    for frame, objects in track.masks.items():
        if not 0 <= frame < track.frames:
            raise ValueError(f"track mask on frame {frame}: the clip has {track.frames} frames")
        for object_id, mask in objects.items():
            if object_id not in track.object_ids:
                raise ValueError(f"track mask of object {object_id}: not among object_ids {track.object_ids}")
            if mask.shape != (track.height, track.width):
                raise ValueError(f"track mask {frame}/{object_id} has shape {mask.shape}, not the clip's size")


def _mask_name(frame: int, object_id: int) -> str:
    return f"masks/{frame:06d}-{object_id}.png"


def _manifest(track: Track) -> dict[str, Any]:
    masks: dict[str, dict[str, Any]] = {}
    for frame in sorted(track.masks):
        present = {oid: m for oid, m in sorted(track.masks[frame].items()) if m.any()}
        if present:
            masks[str(frame)] = {
                str(oid): {"box": list(mask_box(m)), "score": track.scores.get(frame, {}).get(oid)}
                for oid, m in present.items()
            }
    fps = None if track.fps is None else {"num": track.fps.numerator, "den": track.fps.denominator}
    return {
        "format": TRACK_FORMAT,
        "source_asset_id": track.source_asset_id,
        "model": track.model,
        "width": track.width,
        "height": track.height,
        "frames": track.frames,
        "fps": fps,
        "object_ids": list(track.object_ids),
        "masks": masks,
    }


def _read_manifest(path: Path, data: bytes) -> dict[str, Any]:
    try:
        header = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrackError(f"{path.name}: {MANIFEST} is not valid JSON ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != TRACK_FORMAT:
        got = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise TrackError(f"{path.name}: {MANIFEST} is not a {TRACK_FORMAT} manifest (format: {got!r})")
    for key, kind in (("source_asset_id", str), ("model", str), ("width", int), ("height", int), ("frames", int)):
        if not isinstance(header.get(key), kind) or isinstance(header.get(key), bool):
            raise TrackError(f"{path.name}: {MANIFEST} field {key!r} must be a {kind.__name__}")
    ids = header.get("object_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise TrackError(f"{path.name}: {MANIFEST} field 'object_ids' must be a list of integers")
    header["masks"] = _listed_masks(path, header.get("masks"))
    fps = header.get("fps")
    if fps is not None and not (
        isinstance(fps, dict) and all(isinstance(fps.get(k), int) and fps[k] > 0 for k in ("num", "den"))
    ):
        raise TrackError(f"{path.name}: {MANIFEST} field 'fps' must be null or positive integers num and den")
    if min(header["width"], header["height"], header["frames"]) < 1:
        raise TrackError(f"{path.name}: {MANIFEST} width, height and frames must be positive")
    return header


def _track_of(header: dict[str, Any]) -> Track:
    fps = header["fps"]
    return Track(
        source_asset_id=header["source_asset_id"],
        model=header["model"],
        width=header["width"],
        height=header["height"],
        frames=header["frames"],
        object_ids=list(header["object_ids"]),
        masks={},
        fps=None if fps is None else Fraction(fps["num"], fps["den"]),
        scores={
            frame: {oid: score for oid, (_, score) in objects.items() if score is not None}
            for frame, objects in header["masks"].items()
            if any(score is not None for _, score in objects.values())
        },
    )


def _listed_masks(path: Path, listed: object) -> dict[int, dict[int, tuple[Box, float | None]]]:
    """The manifest's `masks` as {frame: {object_id: (box, score or None)}}, refusing anything else."""
    rule = f"{path.name}: {MANIFEST} field 'masks' must map frame indices to object ids to {{box, score}}"
    if not isinstance(listed, dict):
        raise TrackError(rule)
    out: dict[int, dict[int, tuple[Box, float | None]]] = {}
    for frame, objects in listed.items():
        if not frame.isdigit() or not isinstance(objects, dict):
            raise TrackError(rule)
        for object_id, entry in objects.items():
            if not object_id.isdigit() or not isinstance(entry, dict):
                raise TrackError(rule)
            box, score = entry.get("box"), entry.get("score")
            if not (isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)):
                raise TrackError(f"{path.name}: {MANIFEST} box of frame {frame} object {object_id} is not 4 numbers")
            if score is not None and not _is_number(score):
                raise TrackError(f"{path.name}: {MANIFEST} score of frame {frame} object {object_id} is not a number")
            out.setdefault(int(frame), {})[int(object_id)] = (
                (float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                None if score is None else float(score),
            )
    return out


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
