"""Helpers the diffusers families share: derived pipelines, latent upsamplers, placement, frames, LoRAs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from milimo.config import ModelConfig
from milimo.errors import InvalidArgument
from milimo.models.base import LoadedModel, Placement
from milimo.models.requests import LoraWeight

if TYPE_CHECKING:
    import torch

UPSAMPLER_DIR = "latent_upsampler"


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


def place(loaded: LoadedModel, denoisers: tuple[Any, ...], upsample: Any | None, placement: Placement) -> None:
    """Move to the device, or arm diffusers' CPU offload hooks on every denoising pipeline."""
    device = placement.device
    if placement.offload == "none":
        loaded.to(device)
        return
    if placement.offload == "model":
        for pipe in denoisers:  # the hooks sit on the shared modules; each pipeline re-arms them
            pipe.enable_model_cpu_offload(device=device)
    elif placement.offload == "sequential":
        for pipe in denoisers:
            pipe.enable_sequential_cpu_offload(device=device)
    else:
        raise InvalidArgument("offload", f"must be none, model or sequential (got {placement.offload!r})")
    if upsample is not None:  # small, and outside the offload sequence
        upsample.latent_upsampler.to(device)
    loaded.device = device


def assemble(
    config: ModelConfig, placement: Placement, base: Any, pipelines: Any, upsampler: object | None
) -> LoadedModel:
    """The loaded model of a video family: its base pipeline, the derived ones (`pipelines`, with
    `denoisers()` and `upsample`) and the upsampler, quiet and placed."""
    modules: dict[str, object] = {"pipeline": base, "pipelines": pipelines}
    if upsampler is not None:
        modules["latent_upsampler"] = upsampler
    loaded = LoadedModel(config, modules, placement)
    for pipe in (*pipelines.denoisers(), pipelines.upsample):
        if pipe is not None:
            pipe.set_progress_bar_config(disable=True)  # progress goes through the task context
    if placement.vae_tiling:
        base.vae.enable_tiling()
    place(loaded, pipelines.denoisers(), pipelines.upsample, placement)
    return loaded


def pil_image(frame: np.ndarray) -> object:
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(frame))


def frames_to_uint8(video: torch.Tensor, width: int, height: int) -> np.ndarray:
    """(F, 3, H, W) floats in [0, 1] -> (F, height, width, 3) uint8, resized when the pipeline's size differs."""
    import torch

    video = video.float()
    if video.shape[-2:] != (height, width):
        video = torch.nn.functional.interpolate(video, size=(height, width), mode="bilinear", antialias=True)
    video = (video.clamp(0, 1) * 255).round().to(torch.uint8)
    return video.permute(0, 2, 3, 1).contiguous().cpu().numpy()


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
