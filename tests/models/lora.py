"""A real LoRA file for a tiny transformer, as the image families' tests load them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def random_lora(pipeline_cls: Any, transformer: Any, folder: Path) -> Path:
    """A LoRA on the transformer's attention with random (non-zero) up-projections, saved by `pipeline_cls`."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(1)
    transformer.add_adapter(
        LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v"], init_lora_weights=False)
    )
    pipeline_cls.save_lora_weights(folder, transformer_lora_layers=get_peft_model_state_dict(transformer))
    return folder / "pytorch_lora_weights.safetensors"
