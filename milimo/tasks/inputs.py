"""Assets a job reads: which fields of a request name them, what each must be, and how a task finds the files.

A request names inputs by asset id. The daemon checks them when the job is submitted (the asset exists and is
of the right sort, so the error names the field), and again when the job starts, when it hands the worker each
asset's file in the media store. Tasks ask their context for an `InputFile` by asset id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from milimo.errors import InvalidArgument

Sort = Literal["image", "video", "visual", "lora", "track", "screenplay", "project"]  # "project": a project id
TRACK_MIME = "application/vnd.milimo.track+zip"
SCREENPLAY_SUFFIXES = (".fountain", ".spmd", ".fdx", ".txt", ".text", ".md")


@dataclass(frozen=True)
class InputRef:
    """`field` of the request (e.g. `video.conditions[0].asset_id`) names `asset_id`, which must be a `sort`."""

    field: str
    asset_id: str
    sort: Sort


@dataclass(frozen=True)
class InputAsset:
    """What the daemon knows of an input asset: enough for submit-time checks, without reading the file."""

    asset_id: str
    mime_type: str
    filename: str
    media: dict[str, Any] = field(default_factory=dict)  # width, height, frames, fps_num, fps_den, has_audio

    @property
    def is_video(self) -> bool:
        return self.mime_type.startswith("video/")

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")

    @property
    def frames(self) -> int:
        """Frames of a video; an image is one frame."""
        return 1 if self.is_image else int(self.media.get("frames", 0))


@dataclass(frozen=True)
class InputFile(InputAsset):
    """An input asset with its file in the media store (read-only: other assets may share the bytes)."""

    path: Path = Path()


def check_sort(ref: InputRef, asset: InputAsset) -> None:
    """Refuse an asset that is not what the field needs, naming the field."""
    if ref.sort == "image":
        ok, wanted = asset.is_image and bool(asset.media.get("width")), "an image (PNG, JPEG, WebP…)"
    elif ref.sort == "video":
        ok, wanted = asset.is_video and bool(asset.media.get("frames")), "a readable video"
    elif ref.sort == "visual":
        ok = (asset.is_image and bool(asset.media.get("width"))) or (asset.is_video and bool(asset.media.get("frames")))
        wanted = "an image or a readable video"
    elif ref.sort == "screenplay":
        ok = asset.filename.lower().endswith(SCREENPLAY_SUFFIXES) or asset.mime_type.startswith("text/")
        wanted = f"a script ({', '.join(SCREENPLAY_SUFFIXES)} or text)"
    elif ref.sort == "lora":
        ok, wanted = asset.filename.endswith(".safetensors"), "a LoRA in a .safetensors file"
    else:
        ok, wanted = asset.mime_type == TRACK_MIME, "a saved track (Segmentation.SaveTrack)"
    if not ok:
        raise InvalidArgument(
            ref.field, f"asset {ref.asset_id} ({asset.mime_type}, {asset.filename!r}) is not {wanted}"
        )


def input_named(files: dict[str, InputFile], asset_id: str) -> InputFile:
    """The file of `asset_id` among a job's inputs; a task asking for another one is a bug, said plainly."""
    if asset_id not in files:
        raise InvalidArgument("asset_id", f"{asset_id} is not among this job's inputs ({', '.join(files) or 'none'})")
    return files[asset_id]
