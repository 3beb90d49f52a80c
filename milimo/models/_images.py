"""What the image families share: request checks, numpy <-> PIL, compositing, seeds, pipelines, LoRAs.

Images cross the family boundary as numpy: (H, W, 3) uint8 pictures and (H, W) uint8 masks, 255 = repaint.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from milimo.errors import InvalidArgument
from milimo.models._diffusers import loras as diffusers_loras
from milimo.models.requests import ImageRequest, LoraWeight

if TYPE_CHECKING:
    import torch


class InvalidImageRequest(InvalidArgument, ValueError):
    """A request field breaks a rule of the model; a ValueError too, as the pipelines' own checks are."""


def check_size(request: ImageRequest, multiple: int) -> None:
    for name in ("width", "height"):
        value = getattr(request, name)
        if value < multiple or value % multiple:
            raise InvalidImageRequest(name, f"must be a positive multiple of {multiple} (got {value})")
    if request.steps < 1:
        raise InvalidImageRequest("steps", f"must be at least 1 (got {request.steps})")


def check_picture(name: str, array: np.ndarray, min_side: int = 1) -> None:
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        shape = getattr(array, "shape", None)
        raise InvalidImageRequest(
            name, f"must be an (H, W, 3) uint8 array (got {shape}, {getattr(array, 'dtype', '')})"
        )
    if min(array.shape[:2]) < min_side:
        raise InvalidImageRequest(name, f"each side must be at least {min_side} pixels (got {array.shape[:2]})")


def check_edit(request: ImageRequest) -> None:
    """init_image, mask and strength: the mask needs an init image of its own size."""
    if request.init_image is None:
        if request.mask is not None:
            raise InvalidImageRequest("mask", "needs an init_image to repaint")
        return
    check_picture("init_image", request.init_image)
    if request.mask is not None:
        mask = request.mask
        if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.ndim != 2:
            raise InvalidImageRequest("mask", f"must be an (H, W) uint8 array (got {getattr(mask, 'shape', None)})")
        if mask.shape != request.init_image.shape[:2]:
            raise InvalidImageRequest(
                "mask", f"must match the init_image size {request.init_image.shape[:2]} (got {mask.shape})"
            )
    if not 0.0 < request.strength <= 1.0:
        raise InvalidImageRequest("strength", f"must be above 0 and at most 1 (got {request.strength})")


def denoising_steps(steps: int, strength: float) -> int:
    """How many steps an image-to-image pipeline runs: diffusers skips the first (1 - strength) of them."""
    return steps - int(max(steps - min(steps * strength, steps), 0))


def to_pil(array: np.ndarray, size: tuple[int, int] | None = None) -> Image.Image:
    """An (H, W, 3) or (H, W) uint8 array as a PIL image, resized to `size` (width, height) if it differs."""
    image = Image.fromarray(np.ascontiguousarray(array))
    if size is not None and image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS if image.mode == "RGB" else Image.Resampling.BILINEAR)
    return image


def to_uint8(images: Any) -> np.ndarray:
    """The first image of a pipeline's `output_type="np"` output, (H, W, 3) floats in [0, 1], as uint8."""
    array = np.asarray(images[0], dtype=np.float32)
    return (array * 255.0).round().clip(0, 255).astype(np.uint8)


def composite(original: Image.Image, generated: np.ndarray, mask: Image.Image) -> np.ndarray:
    """Blend `generated` over `original` by the mask, so pixels outside it (mask 0) are exactly the original."""
    base = np.asarray(original.convert("RGB"), dtype=np.float32)
    alpha = np.asarray(mask.convert("L"), dtype=np.float32)[..., None] / 255.0
    blended = base * (1.0 - alpha) + generated.astype(np.float32) * alpha
    return blended.round().clip(0, 255).astype(np.uint8)


def default_guidance(pipe: Any) -> float:
    """The guidance scale `pipe` runs with when a request gives none: its own `__call__` default."""
    return float(inspect.signature(type(pipe).__call__).parameters["guidance_scale"].default)


def generator(seed: int) -> torch.Generator:
    """A CPU generator: the same seed gives the same noise on every device."""
    import torch

    return torch.Generator(device="cpu").manual_seed(seed)


@dataclass
class Pipelines:
    """A family's pipelines over one set of weights (derived with `from_pipe`, so they share modules).

    Kept in `LoadedModel.modules` as one entry that is neither a module nor a pipeline, so the shared
    weights are counted and moved once, through the entries that own them.
    """

    by_kind: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> Any:
        return self.by_kind[kind]

    def __contains__(self, kind: str) -> bool:
        return kind in self.by_kind


@contextmanager
def loras(pipe: Any, weights: tuple[LoraWeight, ...]) -> Iterator[None]:
    """The request's LoRAs in `pipe` for one generation, once every path is checked (unloaded after, even on error)."""
    for lora in weights:
        if not Path(lora.path).exists():
            raise InvalidImageRequest("loras", f"no LoRA weights at {lora.path}")
    with diffusers_loras(pipe, weights):
        yield
