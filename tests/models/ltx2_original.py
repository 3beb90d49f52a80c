"""Write LTX-2 weights as Lightricks release them: one .safetensors in the original (non-diffusers) key layout.

Each function inverts one of diffusers' converters (diffusers/loaders/single_file_utils.py:
convert_ltx2_transformer_to_diffusers, convert_ltx2_vae_to_diffusers, convert_ltx2_audio_vae_to_diffusers), so
`from_single_file` reads the file back through the real conversion.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from safetensors.torch import save_file

# diffusers name -> original name, applied in this order (audio_time_embed becomes audio_adaln_single through
# the time_embed rule, audio_proj_in audio_patchify_proj through the proj_in one).
_TRANSFORMER_NAMES = (
    ("av_cross_attn_video_scale_shift", "av_ca_video_scale_shift_adaln_single"),
    ("av_cross_attn_video_a2v_gate", "av_ca_a2v_gate_adaln_single"),
    ("av_cross_attn_audio_scale_shift", "av_ca_audio_scale_shift_adaln_single"),
    ("av_cross_attn_audio_v2a_gate", "av_ca_v2a_gate_adaln_single"),
    ("video_a2v_cross_attn_scale_shift_table", "scale_shift_table_a2v_ca_video"),
    ("audio_a2v_cross_attn_scale_shift_table", "scale_shift_table_a2v_ca_audio"),
    ("time_embed", "adaln_single"),
    ("proj_in", "patchify_proj"),
    ("norm_q", "q_norm"),
    ("norm_k", "k_norm"),
)
_STATISTICS = (
    ("latents_mean", "per_channel_statistics.mean-of-means"),
    ("latents_std", "per_channel_statistics.std-of-means"),
)


def _renamed(key: str, names: tuple[tuple[str, str], ...]) -> str:
    for diffusers_name, original_name in names:
        key = key.replace(diffusers_name, original_name)
    return key


def transformer(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"model.diffusion_model.{_renamed(key, _TRANSFORMER_NAMES)}": value for key, value in state.items()}


def _vae_key(key: str) -> str:
    """The original video VAE numbers its encoder's stages and downsamplers in one sequence (down_blocks.0 to 7,
    then the middle as 8), and its decoder's from the middle on (up_blocks.0, then upsampler and stage in turn)."""
    key = re.sub(r"down_blocks\.(\d+)\.downsamplers\.0\.", lambda m: f"down_blocks.{2 * int(m[1]) + 1}.", key)
    key = re.sub(r"down_blocks\.(\d+)\.resnets\.", lambda m: f"down_blocks.{2 * int(m[1])}.resnets.", key)
    key = key.replace("encoder.mid_block.", "encoder.down_blocks.8.")
    key = re.sub(r"up_blocks\.(\d+)\.upsamplers\.0\.", lambda m: f"up_blocks.{2 * int(m[1]) + 1}.", key)
    key = re.sub(r"up_blocks\.(\d+)\.resnets\.", lambda m: f"up_blocks.{2 * int(m[1]) + 2}.resnets.", key)
    key = key.replace("decoder.mid_block.", "decoder.up_blocks.0.")
    return _renamed(key, (("resnets", "res_blocks"), *_STATISTICS))


def vae(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"vae.{_vae_key(key)}": value for key, value in state.items()}


def audio_vae(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"audio_vae.{_renamed(key, _STATISTICS)}": value for key, value in state.items()}


def write(path: Path, **parts: dict[str, torch.Tensor]) -> Path:
    """One file holding the given components' original-format tensors (`transformer=transformer(state)`...)."""
    tensors = {key: value.contiguous() for part in parts.values() for key, value in part.items()}
    save_file(tensors, str(path))
    return path
