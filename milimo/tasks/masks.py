"""Inpainting masks: (H, W) bool arrays, True where the picture is repainted.

Loaded from a mask PNG (white, >= 128, is repainted), taken from a segmentation, grown to cover an object's
edges, and used to composite a fill over its source so every pixel outside the mask keeps its exact value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from milimo.errors import InvalidArgument
from milimo.models.segmentation import Mask

REPAINT_THRESHOLD = 128


def load_mask(path: Path, field: str, size: tuple[int, int]) -> np.ndarray:
    """The mask in the PNG at `path`, which must be `size` (width, height); `field` names it in errors."""
    with Image.open(path) as image:
        if image.size != size:
            raise InvalidArgument(field, f"the mask is {image.size[0]}x{image.size[1]}, the source {size[0]}x{size[1]}")
        gray = np.asarray(image.convert("L"))
    return gray >= REPAINT_THRESHOLD


def best_mask(candidates: Sequence[Mask], field: str) -> np.ndarray:
    """The first (best-scored) of a segmentation's candidate masks; a prompt that found nothing is an error."""
    if not candidates:
        raise InvalidArgument(field, "the segmentation found no object for this prompt")
    return candidates[0].mask.astype(bool)


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """The mask dilated by a disk: every pixel within `pixels` (Euclidean) of a masked pixel joins it.

    Exact, and linear in the image per row offset: each row offset `dy` of the disk is a horizontal run of
    half-width isqrt(r² - dy²), found for all pixels at once from cumulative sums along the rows.
    """
    if pixels <= 0 or not mask.any():
        return mask.copy()
    height, width = mask.shape
    # counts[:, j] = masked pixels among padded columns [0, j]; source column x sits at padded column x + pixels + 1.
    padded = np.pad(mask, ((0, 0), (pixels + 1, pixels)))
    counts = np.cumsum(padded, axis=1, dtype=np.int32)
    grown = mask.copy()
    for dy in range(min(pixels, height - 1) + 1):
        half = math.isqrt(pixels * pixels - dy * dy)
        # Any masked pixel in columns [x - half, x + half] of the row, moved dy rows down and up.
        right, left = counts[:, pixels + 1 + half :][:, :width], counts[:, pixels - half :][:, :width]
        run = (right - left) > 0
        grown[dy:] |= run[: height - dy]
        grown[: height - dy] |= run[dy:]
    return grown


def composite(source: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`filled` inside the mask, `source` exactly everywhere else; both (H, W, 3) uint8."""
    return np.where(mask[..., None], filled, source)


def as_uint8(mask: np.ndarray) -> np.ndarray:
    """The mask as the model layer takes it: (H, W) uint8, 255 = repaint."""
    return np.where(mask, np.uint8(255), np.uint8(0))
