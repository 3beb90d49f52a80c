"""Helpers the diffusers families share: derived pipelines, latent upsamplers, single-file checkpoints, the end of
a load, video requests, frames, LoRAs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from milimo.config import ModelConfig
from milimo.errors import FailedPrecondition, InvalidArgument
from milimo.models import offload
from milimo.models.base import LoadedModel, Placement
from milimo.models.requests import LoraWeight, VideoCondition, VideoRequest

if TYPE_CHECKING:
    import torch

UPSAMPLER_DIR = "latent_upsampler"


class InvalidVideoRequest(InvalidArgument, ValueError):
    """A request field this model cannot honour; a ValueError too, for callers outside the daemon."""


def derive(cls: Any, base: Any, dtype: torch.dtype) -> Any:
    """Another pipeline class over the same modules. `from_pipe` casts the shared modules to its `dtype`
    (float32 unless told), so it gets the loaded one; its warning about that cast is silenced, as it is a no-op."""
    from diffusers.utils import logging as diffusers_logging

    verbosity = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        return cls.from_pipe(base, dtype=dtype)
    finally:
        diffusers_logging.set_verbosity(verbosity)


def load_upsampler(model_cls: Any, folder: Path, dtype: torch.dtype) -> object | None:
    """The latent upsampler in `folder/latent_upsampler`, saved as a model or as a whole upsample pipeline."""
    where = folder / UPSAMPLER_DIR
    if (where / "config.json").is_file():
        return model_cls.from_pretrained(where, dtype=dtype)
    if (where / UPSAMPLER_DIR / "config.json").is_file():
        return model_cls.from_pretrained(where, subfolder=UPSAMPLER_DIR, dtype=dtype)
    return None


def model_folder(path: Path) -> Path:
    """A model's diffusers folder: its configured path, or the folder holding its single-file checkpoint."""
    return path.parent if path.is_file() else path


def single_file_folder(config: ModelConfig, family: str, layout: str) -> Path:
    """The diffusers folder beside the single-file `.safetensors` checkpoint at `config.path`: it gives the
    components' configs and the components the file does not hold (Lightricks' repositories ship both)."""
    path = config.path
    if path.suffix != ".safetensors":
        raise FailedPrecondition(
            f"model {config.name!r}: {path} is a file but not a .safetensors checkpoint; point the path at a "
            "diffusers folder or at a single-file .safetensors checkpoint"
        )
    folder = path.parent
    if not (folder / "model_index.json").is_file() or not (folder / "transformer" / "config.json").is_file():
        raise FailedPrecondition(
            f"model {config.name!r}: the single-file checkpoint {path.name} needs the diffusers layout of {family} "
            f"({layout}) beside it in {folder}; fetch it with `milimo models pull {config.name}`"
        )
    return folder


def ready(loaded: LoadedModel, pipes: Iterable[Any], vae: Any) -> LoadedModel:
    """The end of every diffusers family's load: its pipelines quiet (progress goes through the task context),
    VAE tiling when the placement asks for it, and the model where it waits between calls."""
    for pipe in pipes:
        pipe.set_progress_bar_config(disable=True)
    if loaded.placement.vae_tiling:
        vae.enable_tiling()
    offload.place(loaded)
    return loaded


def assemble(
    config: ModelConfig, placement: Placement, base: Any, pipelines: Any, upsampler: object | None
) -> LoadedModel:
    """The loaded model of a video family: its base pipeline, the derived ones (`pipelines`, with
    `denoisers()` and `upsample`) and the upsampler, ready."""
    modules: dict[str, object] = {"pipeline": base, "pipelines": pipelines}
    if upsampler is not None:
        modules["latent_upsampler"] = upsampler
    pipes = [pipe for pipe in (*pipelines.denoisers(), pipelines.upsample) if pipe is not None]
    return ready(LoadedModel(config, modules, placement), pipes, base.vae)


def check_frames(field: str, frames: Any) -> None:
    if (
        not isinstance(frames, np.ndarray)
        or frames.ndim != 4
        or frames.shape[-1] != 3
        or frames.shape[0] < 1
        or frames.dtype != np.uint8
    ):
        shape = getattr(frames, "shape", None)
        raise InvalidVideoRequest(
            field, f"must be (frames, height, width, 3) uint8; got {shape} {getattr(frames, 'dtype', type(frames))}"
        )


def check_video_request(request: VideoRequest, temporal: int, size_multiple: int, size_why: str = "") -> None:
    """The rules every LTX family holds a request to: `temporal`k+1 frames, sizes on the latent grid
    (`size_multiple`, explained by `size_why`), conditions inside the video, LoRA files present."""
    if request.frames < 1 or (request.frames - 1) % temporal:
        raise InvalidVideoRequest(
            "frames", f"must be {temporal}k+1 (1, {temporal + 1}, {2 * temporal + 1}, …); got {request.frames}"
        )
    for name, value in (("width", request.width), ("height", request.height)):
        if value < size_multiple or value % size_multiple:
            raise InvalidVideoRequest(name, f"must be a positive multiple of {size_multiple}{size_why}; got {value}")
    if request.steps < 1:
        raise InvalidVideoRequest("steps", f"must be at least 1; got {request.steps}")
    if request.fps <= 0:
        raise InvalidVideoRequest("fps", f"must be positive; got {request.fps}")
    for i, condition in enumerate(request.conditions):
        check_frames(f"conditions[{i}].frames", condition.frames)
        if not 0 <= condition.frame_index < request.frames:
            raise InvalidVideoRequest(
                f"conditions[{i}].frame_index",
                f"must be from 0 to {request.frames - 1}; got {condition.frame_index}",
            )
        if not 0.0 <= condition.strength <= 1.0:
            raise InvalidVideoRequest(f"conditions[{i}].strength", f"must be from 0 to 1; got {condition.strength}")
    for i, lora in enumerate(request.loras):
        if not Path(lora.path).is_file():
            raise InvalidVideoRequest(f"loras[{i}].path", f"no LoRA file at {lora.path}")


def conditioning_kind(conditions: tuple[VideoCondition, ...]) -> str:
    """Which LTX pipeline the conditions call for: text_to_video, image_to_video (one full-strength first
    frame) or condition (anything else)."""
    if not conditions:
        return "text_to_video"
    only = conditions[0]
    if len(conditions) == 1 and only.frames.shape[0] == 1 and only.frame_index == 0 and only.strength == 1.0:
        return "image_to_video"
    return "condition"


def video_call_kwargs(request: VideoRequest) -> dict[str, Any]:
    """The arguments every LTX pipeline call of a request shares; the noise is seeded on the CPU, so a seed gives
    the same video on every device."""
    import torch

    return {
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt or None,
        "num_frames": request.frames,
        "frame_rate": float(request.fps),
        "guidance_scale": request.guidance,
        "generator": torch.Generator(device="cpu").manual_seed(request.seed),
    }


def pil_image(frame: np.ndarray) -> object:
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(frame))


def frames_to_uint8(video: torch.Tensor, request: VideoRequest) -> np.ndarray:
    """(F, 3, H, W) floats in [0, 1] -> the request's (frames, height, width, 3) uint8, resized when the
    pipeline's size differs (the two-stage path); a frame count other than the request's is a pipeline bug."""
    import torch

    height, width = request.height, request.width
    video = video.float()
    if video.shape[-2:] != (height, width):
        video = torch.nn.functional.interpolate(video, size=(height, width), mode="bilinear", antialias=True)
    video = (video.clamp(0, 1) * 255).round().to(torch.uint8)
    frames = video.permute(0, 2, 3, 1).contiguous().cpu().numpy()
    if frames.shape[0] != request.frames:
        raise RuntimeError(f"the pipeline returned {frames.shape[0]} frames, not the {request.frames} asked for")
    return frames


@contextmanager
def loras(pipe: Any, weights: tuple[LoraWeight, ...]) -> Iterator[None]:
    """The request's LoRAs in `pipe` for one generation; unloaded afterwards, even on error or cancel."""
    if not weights:
        yield
        return
    names = [f"milimo_lora_{i}" for i in range(len(weights))]
    try:
        for name, lora in zip(names, weights, strict=True):
            pipe.load_lora_weights(str(lora.path), adapter_name=name)
        pipe.set_adapters(names, adapter_weights=[lora.weight for lora in weights])
        yield
    finally:
        pipe.unload_lora_weights()
