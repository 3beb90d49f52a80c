"""Small JPEG thumbnails of assets (a storyboard's shots), cached on disk by content and size.

A clip's thumbnail is its middle frame: the first frame of a generated shot is often its conditioning image or
a fade, and the middle shows what the shot is. Assets are immutable, so a thumbnail keyed by the bytes' hash and
the size never goes stale; the cache is a plain folder that can be deleted at any time.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from milimo.media import ops

DEFAULT_MAX_PIXELS = 256
MAX_PIXELS = 1024
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Thumbnail:
    jpeg: bytes
    width: int
    height: int


def thumbnail(source: Path, mime_type: str, max_pixels: int, cache_dir: Path, key: str) -> Thumbnail:
    """The thumbnail of `source` whose longer side is at most `max_pixels`, from the cache when it is there.

    `key` names the content (its sha256). Written to a hidden sibling and renamed, so a reader never sees half.
    """
    cached = cache_dir / key[:2] / f"{key}-{max_pixels}.jpg"
    if cached.is_file():
        data = cached.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            return Thumbnail(data, image.width, image.height)
    picture = _picture(source, mime_type)
    image = Image.fromarray(picture)
    image.thumbnail((max_pixels, max_pixels), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    data = buffer.getvalue()
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f".{cached.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(cached)
    return Thumbnail(data, image.width, image.height)


def _picture(source: Path, mime_type: str) -> np.ndarray:
    if mime_type.startswith("image/"):
        with Image.open(source) as image:
            return np.asarray(image.convert("RGB"))
    return ops.extract_frame(source, ops.probe(source).frames // 2)
