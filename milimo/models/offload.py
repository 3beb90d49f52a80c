"""CPU offload for the diffusers families: accelerate's hooks, armed for one pipeline call at a time.

`offload = "model"` moves each whole module (text encoder, transformer, VAE) to the accelerator when it runs and
back after; `"sequential"` streams every submodule's weights in for its forward pass (least memory, slowest).

A family's pipelines share their modules (`from_pipe`) and accelerate keeps one hook per module, so hooks armed on
several pipelines at load would leave only the last pipeline's in effect. Instead the pipeline about to run gets
them for that call, and loses them after it, finished, failed or cancelled, with every module back on the CPU
(diffusers' own clean-up at the end of `__call__` does not run when a step callback raises). Between calls an
offloaded model is a plain CPU model: LoRAs load into it without meeting hooks, and the arbiter can park it as is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from milimo.errors import InvalidArgument

if TYPE_CHECKING:
    from milimo.models.base import LoadedModel, Placement

MODES = ("none", "model", "sequential")


def check_mode(offload: str) -> None:
    if offload not in MODES:
        raise InvalidArgument("offload", f"must be one of {', '.join(MODES)} (got {offload!r})")


def place(model: LoadedModel) -> None:
    """Put a freshly loaded model where it waits between calls: on its device, or on the CPU when it offloads."""
    import torch

    placement = model.placement
    model.to(placement.device if placement.offload == "none" else torch.device("cpu"))


@contextmanager
def offloaded(pipe: Any, placement: Placement) -> Iterator[None]:
    """Run `pipe` (any diffusers pipeline) inside this block under the placement's offload; a no-op without one."""
    if placement.offload == "none":
        yield
        return
    if placement.offload == "model":
        pipe.enable_model_cpu_offload(device=placement.device)
    else:
        pipe.enable_sequential_cpu_offload(device=placement.device)
    try:
        yield
    finally:
        pipe.remove_all_hooks()  # sequential offload's hooks put the weights back on the CPU as they go
        pipe.to("cpu", silence_dtype_warnings=True)  # model offload leaves the last module where it ran
