"""LTX-Video 0.9.x on diffusers: text, image, keyframe and video-clip conditioned video, optional two-stage upscale.

On disk a model is a diffusers folder (model_index.json, transformer/, vae/, text_encoder/, tokenizer/,
scheduler/), optionally with the spatial latent upsampler in `latent_upsampler/` (a model folder, or a whole
LTXLatentUpsamplePipeline folder). `config.path` may also name a single-file `.safetensors` transformer
checkpoint in the original LTX-Video format; the other components then come from the diffusers layout in the
folder that holds it (as in Lightricks' own repository, which ships both).

Which pipeline runs follows from the request:

- no conditions: LTXPipeline (text to video);
- one single-frame condition at frame 0 with full strength: LTXImageToVideoPipeline;
- anything else (several conditions, keyframes elsewhere, video clips, partial strengths): LTXConditionPipeline;
- `upscale`: the diffusers two-stage recipe with LTXConditionPipeline: denoise at about 2/3 of the size, upsample
  the latents 2x with LTXLatentUpsamplePipeline, refine the upsampled latents with a few partial-strength steps,
  then resize the frames to exactly the requested size.

All pipelines share one set of weights (`from_pipe`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from milimo.config import ModelConfig
from milimo.errors import FailedPrecondition
from milimo.models._diffusers import (
    UPSAMPLER_DIR,
    InvalidVideoRequest,
    assemble,
    check_video_request,
    conditioning_kind,
    derive,
    frames_to_uint8,
    load_upsampler,
    loras,
    model_folder,
    pil_image,
    single_file_folder,
    video_call_kwargs,
)
from milimo.models.base import LoadedModel, Placement, require_weights
from milimo.models.offload import offloaded
from milimo.models.requests import VideoCondition, VideoRequest, VideoResult
from milimo.models.steps import low_resolution_pass, step_callback
from milimo.tasks.context import TaskContext

if TYPE_CHECKING:
    import torch


# The diffusers layout of a model folder (beside a single-file checkpoint too).
LAYOUT = "model_index.json, transformer/, vae/, text_encoder/, tokenizer/, scheduler/"

# The two-stage recipe (diffusers' LTX-Video 0.9.7 docs): first pass at 2/3 of the size, refinement with
# `REFINE_STRENGTH` of at most `REFINE_STEPS` steps.
STAGE_ONE_SCALE = 2 / 3
REFINE_STEPS = 10
REFINE_STRENGTH = 0.4

# Timestep-conditioned VAEs (0.9.1 and later) decode best with a little noise (LTX-Video's recommended values).
DECODE_TIMESTEP = 0.05
DECODE_NOISE_SCALE = 0.025
IMAGE_COND_NOISE_SCALE = 0.025

# The tiny checkpoint's tokenizer vocabulary (plus single characters, so any prompt tokenizes).
_TINY_WORDS = (
    "a an the of and in on with at to from over under into is are "
    "cat dog bird fish man woman child car boat train city street forest river sea sky sun moon "
    "red green blue white black small big slow fast walks runs flies swims jumps camera pans zooms"
)


@dataclass(frozen=True)
class LTXPipelines:
    """The pipelines of one loaded model; they share the same modules (so not counted twice in LoadedModel)."""

    text_to_video: Any  # LTXPipeline
    image_to_video: Any  # LTXImageToVideoPipeline
    condition: Any  # LTXConditionPipeline
    upsample: Any | None  # LTXLatentUpsamplePipeline, when the model has a latent upsampler

    @property
    def temporal_ratio(self) -> int:
        return int(self.text_to_video.vae_temporal_compression_ratio)

    @property
    def spatial_ratio(self) -> int:
        return int(self.text_to_video.vae_spatial_compression_ratio)

    def denoisers(self) -> tuple[Any, ...]:
        return (self.text_to_video, self.image_to_video, self.condition)


class LTXVideoFamily:
    family = "ltx-video"

    # ---------------------------------------------------------------- tiny checkpoint

    def make_tiny(self, target: Path, *, width: int = 32, layers: int = 2) -> None:
        """A seeded random-weight LTX-Video in the diffusers layout, with a latent upsampler: for tests only.

        Real compression ratios (32 spatial, 8 temporal), so the same size rules hold as for the real model.
        `width` and `layers` size the transformer (benchmarks build a mid-size one; width a multiple of 4).
        """
        import torch
        from diffusers import (
            AutoencoderKLLTXVideo,
            FlowMatchEulerDiscreteScheduler,
            LTXPipeline,
            LTXVideoTransformer3DModel,
        )
        from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel
        from transformers import T5Config, T5EncoderModel, T5Tokenizer

        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        words = _TINY_WORDS.split()
        vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
        vocab += [(f"▁{word}", -3.0) for word in words]
        vocab += [(char, -6.0) for char in "abcdefghijklmnopqrstuvwxyz0123456789.,"]
        tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            text_encoder = T5EncoderModel(
                T5Config(
                    vocab_size=len(vocab),
                    d_model=32,
                    d_ff=64,
                    d_kv=8,
                    num_layers=1,
                    num_heads=4,
                    relative_attention_num_buckets=8,
                )
            )
            torch.manual_seed(1)
            transformer = LTXVideoTransformer3DModel(
                in_channels=8,
                out_channels=8,
                num_attention_heads=4,
                attention_head_dim=width // 4,
                cross_attention_dim=width,
                num_layers=layers,
                caption_channels=32,
            )
            torch.manual_seed(2)
            vae = AutoencoderKLLTXVideo(
                latent_channels=8,
                block_out_channels=(8, 8, 8, 8),
                decoder_block_out_channels=(8, 8, 8, 8),
                layers_per_block=(1, 1, 1, 1, 1),
                decoder_layers_per_block=(1, 1, 1, 1, 1),
                spatio_temporal_scaling=(True, True, True, False),
                decoder_spatio_temporal_scaling=(True, True, True, False),
                decoder_inject_noise=(False, False, False, False, False),
                upsample_residual=(False, False, False, False),
                upsample_factor=(1, 1, 1, 1),
                timestep_conditioning=True,
                patch_size=4,
                patch_size_t=1,
                encoder_causal=True,
                decoder_causal=False,
            )
            torch.manual_seed(3)
            upsampler = LTXLatentUpsamplerModel(in_channels=8, mid_channels=32, num_blocks_per_stage=1)

        pipeline = LTXPipeline(
            transformer=transformer,
            vae=vae,
            scheduler=FlowMatchEulerDiscreteScheduler(),
            text_encoder=text_encoder,
            tokenizer=tokenizer,
        )
        pipeline.save_pretrained(target)
        upsampler.save_pretrained(target / UPSAMPLER_DIR)

    # ---------------------------------------------------------------- loading

    def load(self, config: ModelConfig, placement: Placement) -> LoadedModel:
        path = require_weights(config)
        from diffusers import LTXConditionPipeline, LTXImageToVideoPipeline, LTXLatentUpsamplePipeline, LTXPipeline
        from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

        folder = model_folder(path)
        if path.is_file():
            transformer = _single_file_transformer(config, path, placement.dtype)
            base = LTXPipeline.from_pretrained(folder, transformer=transformer, dtype=placement.dtype)
        else:
            base = LTXPipeline.from_pretrained(folder, dtype=placement.dtype)

        upsampler = load_upsampler(LTXLatentUpsamplerModel, folder, placement.dtype)
        upsample = None if upsampler is None else LTXLatentUpsamplePipeline(vae=base.vae, latent_upsampler=upsampler)
        pipelines = LTXPipelines(
            text_to_video=base,
            image_to_video=derive(LTXImageToVideoPipeline, base, placement.dtype),
            condition=derive(LTXConditionPipeline, base, placement.dtype),
            upsample=upsample,
        )
        return assemble(config, placement, base, pipelines, upsampler)

    # ---------------------------------------------------------------- generation

    def generate(self, model: LoadedModel, request: VideoRequest, ctx: TaskContext) -> VideoResult:
        pipelines: LTXPipelines = model.modules["pipelines"]  # type: ignore[assignment]
        _validate(request, pipelines, model.config)
        ctx.raise_if_cancelled()

        common = video_call_kwargs(request)
        if pipelines.text_to_video.vae.config.timestep_conditioning:
            common["decode_timestep"] = DECODE_TIMESTEP
            common["decode_noise_scale"] = DECODE_NOISE_SCALE

        kind = conditioning_kind(request.conditions)
        pipe = pipelines.condition if request.upscale else getattr(pipelines, kind)
        ctx.log(f"{model.name}: {kind.replace('_', ' ')}{' with two-stage upscale' if request.upscale else ''}")

        with loras(pipe, request.loras):
            if request.upscale:
                video = _two_stage(pipelines, model.placement, request, ctx, common)
            else:
                callback = step_callback(ctx, request.steps)
                kwargs = dict(common)
                if kind == "image_to_video":
                    kwargs["image"] = pil_image(request.conditions[0].frames[0])
                elif kind == "condition":
                    kwargs["conditions"] = _conditions(request.conditions)
                    kwargs["image_cond_noise_scale"] = _image_cond_noise(pipe)
                with offloaded(pipe, model.placement):
                    video = pipe(
                        width=request.width,
                        height=request.height,
                        num_inference_steps=request.steps,
                        output_type="pt",
                        callback_on_step_end=callback,
                        **kwargs,
                    ).frames
        return VideoResult(frames=frames_to_uint8(video[0], request), fps=request.fps)


# -------------------------------------------------------------------- loading helpers


def _single_file_transformer(config: ModelConfig, path: Path, dtype: torch.dtype) -> object:
    """The transformer from an original-format LTX-Video `.safetensors`; its shape is read from the file."""
    from diffusers import LTXVideoTransformer3DModel
    from safetensors import safe_open

    folder = single_file_folder(config, "LTX-Video", LAYOUT)
    blocks: set[int] = set()
    inner_dim = None
    with safe_open(str(path), framework="pt") as f:
        for key in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
            found = re.search(r"(?:^|\.)transformer_blocks\.(\d+)\.", key)
            if found:
                blocks.add(int(found.group(1)))
            if key.endswith("patchify_proj.weight"):
                inner_dim = f.get_slice(key).get_shape()[0]
    if not blocks or inner_dim is None:
        raise FailedPrecondition(f"model {config.name!r}: {path} holds no LTX-Video transformer weights")
    heads = LTXVideoTransformer3DModel.load_config(folder, subfolder="transformer")["num_attention_heads"]
    return LTXVideoTransformer3DModel.from_single_file(
        str(path),
        config=str(folder),
        subfolder="transformer",
        local_files_only=True,
        dtype=dtype,
        # 2B and 13B checkpoints differ in depth and width; the rest of the config is shared.
        num_layers=max(blocks) + 1,
        attention_head_dim=inner_dim // heads,
        cross_attention_dim=inner_dim,
    )


# -------------------------------------------------------------------- generation helpers


def _validate(request: VideoRequest, pipelines: LTXPipelines, config: ModelConfig) -> None:
    check_video_request(request, pipelines.temporal_ratio, pipelines.spatial_ratio)
    if request.upscale and pipelines.upsample is None:
        raise InvalidVideoRequest(
            "upscale",
            f"model {config.name!r} has no latent upsampler (expected in {model_folder(config.path) / UPSAMPLER_DIR})",
        )


def _conditions(conditions: tuple[VideoCondition, ...]) -> list[object]:
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    out = []
    for condition in conditions:
        if condition.frames.shape[0] == 1:
            media = {"image": pil_image(condition.frames[0])}
        else:  # the pipeline trims a clip to 8k+1 frames that fit after frame_index
            media = {"video": [pil_image(frame) for frame in condition.frames]}
        out.append(LTXVideoCondition(frame_index=condition.frame_index, strength=condition.strength, **media))
    return out


def _image_cond_noise(pipe: Any) -> float:
    return IMAGE_COND_NOISE_SCALE if pipe.vae.config.timestep_conditioning else 0.15


def _stage_one_size(size: int, spatial: int) -> int:
    return max(spatial, int(size * STAGE_ONE_SCALE) // spatial * spatial)


def _two_stage(
    pipelines: LTXPipelines, placement: Placement, request: VideoRequest, ctx: TaskContext, common: dict
) -> Any:
    """Low-resolution latents, 2x latent upsampling, a short refinement at the upsampled size."""
    pipe, spatial = pipelines.condition, pipelines.spatial_ratio
    width, height = _stage_one_size(request.width, spatial), _stage_one_size(request.height, spatial)
    refine_total = min(REFINE_STEPS, max(3, request.steps))
    refine_steps = int(refine_total * REFINE_STRENGTH)  # as the pipeline counts them: at least 1, as total >= 3
    total = request.steps + refine_steps

    conditioning: dict[str, Any] = {}
    if request.conditions:
        conditioning = {
            "conditions": _conditions(request.conditions),
            "image_cond_noise_scale": _image_cond_noise(pipe),
        }
    latents = low_resolution_pass(
        pipe, placement, ctx, request.steps, total, width=width, height=height, **conditioning, **common
    ).frames
    upsample = pipelines.upsample
    with offloaded(upsample, placement):
        upsampled = upsample(latents=latents, width=2 * width, height=2 * height, output_type="latent").frames
    ctx.raise_if_cancelled()
    with offloaded(pipe, placement):
        return pipe(
            width=2 * width,
            height=2 * height,
            latents=upsampled,
            denoise_strength=REFINE_STRENGTH,
            num_inference_steps=refine_total,
            output_type="pt",
            callback_on_step_end=step_callback(
                ctx, refine_steps, message="refining", offset=request.steps, overall_total=total
            ),
            **conditioning,
            **common,
        ).frames
