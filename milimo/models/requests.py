"""Family-neutral generation requests and results (numpy in, numpy out; no gRPC, no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class VideoCondition:
    """Frames (F, H, W, 3) uint8 placed at `frame_index`; one frame is an image condition."""

    frames: np.ndarray
    frame_index: int = 0
    strength: float = 1.0


@dataclass(frozen=True)
class LoraWeight:
    path: str
    weight: float = 1.0


@dataclass(frozen=True)
class VideoRequest:
    prompt: str
    width: int
    height: int
    frames: int
    fps: Fraction
    steps: int = 30
    guidance: float = 3.0
    seed: int = 0
    negative_prompt: str = ""
    conditions: tuple[VideoCondition, ...] = ()
    loras: tuple[LoraWeight, ...] = ()
    upscale: bool = False  # the two-stage path through the latent upsampler, when the model has one
    control: VideoCondition | None = None  # an IC-LoRA control video (depth, pose, edges…), LTX-2


@dataclass
class VideoResult:
    frames: np.ndarray  # (F, H, W, 3) uint8
    fps: Fraction
    audio: np.ndarray | None = None  # (channels, samples) float32
    audio_sample_rate: int | None = None


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    width: int
    height: int
    steps: int = 28
    guidance: float = 3.5
    seed: int = 0
    negative_prompt: str = ""
    true_cfg: float = 1.0  # > 1 runs true classifier-free guidance with the negative prompt
    references: tuple[np.ndarray, ...] = ()  # (H, W, 3) uint8 reference images
    init_image: np.ndarray | None = None  # image to image
    strength: float = 0.8
    mask: np.ndarray | None = None  # (H, W) uint8, 255 = repaint; with init_image: inpainting
    loras: tuple[LoraWeight, ...] = field(default_factory=tuple)


@dataclass
class ImageResult:
    image: np.ndarray  # (H, W, 3) uint8
