"""Which accelerator this machine has, the dtype each device runs best in, and giving freed memory back.

torch is imported inside the functions: the daemon imports modules that use `release_memory` without running
a model, and must not pay for torch.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def pick_device(preference: str = "auto") -> torch.device:
    """`auto` takes CUDA, then Apple's MPS, then the CPU; anything else is used as named."""
    import torch

    if preference != "auto":
        return torch.device(preference)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(device: torch.device, preference: str = "auto") -> torch.dtype:
    """bf16 on CUDA GPUs that have it, fp16 on MPS and older GPUs, fp32 on the CPU."""
    import torch

    if preference != "auto":
        return getattr(torch, preference)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32


def release_memory() -> None:
    """Give the memory of dropped models and tensors back: collect the garbage that still holds them, then empty
    the accelerator allocator's cache so other processes (and the next model) can have it."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()  # a no-op while CUDA is not initialised
    if torch.backends.mps.is_available():
        torch.mps.empty_cache()
