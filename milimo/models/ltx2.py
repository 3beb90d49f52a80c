"""LTX-2 on diffusers: video with synchronised audio from text, an image, keyframes, clips or an IC-LoRA control video.

On disk a model is a diffusers folder (model_index.json, transformer/, vae/, audio_vae/, vocoder/, connectors/,
text_encoder/ (Gemma 3), tokenizer/, scheduler/), optionally with the spatial latent upsampler in
`latent_upsampler/` (a model folder, or a whole LTX2LatentUpsamplePipeline folder). `config.path` may also name a
single-file `.safetensors` checkpoint in the original LTX-2 format, as Lightricks release them (a fine-tune, or the
distilled model, beside the diffusers layout of Lightricks/LTX-2): its transformer, and its video and audio VAEs
when it holds them, are read from it with diffusers' `from_single_file`; the text encoder, connectors, vocoder,
tokenizer and scheduler, and the configs, come from the diffusers layout in the folder that holds it.

Which pipeline runs follows from the request:

- a control video (`VideoRequest.control`): LTX2InContextPipeline, the request's LoRAs being the IC-LoRA;
- no conditions: LTX2Pipeline (text to video, with audio);
- one single-frame condition at frame 0 with full strength: LTX2ImageToVideoPipeline;
- anything else (several conditions, keyframes elsewhere, video clips, partial strengths): LTX2ConditionPipeline;
  LTX-2 places a condition by latent frame, so a keyframe at frame f lands on latent ceil(f / 8) (frames 1-8 are
  latent 1, 9-16 latent 2…): the last frame of a 8k+1-frame video is exact, frames in between snap to their group;
- `upscale`: the two-stage recipe with LTX2ConditionPipeline: denoise at half the size, upsample the video latents
  2x with LTX2LatentUpsamplePipeline, refine video and audio latents with the short stage-2 sigma schedule, then
  resize the frames to exactly the requested size.

Every pipeline returns the audio track too: VideoResult.audio is the vocoder's waveform, (channels, samples) float32,
at the vocoder's sample rate. All pipelines share one set of weights (`from_pipe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from milimo.config import ModelConfig
from milimo.errors import FailedPrecondition
from milimo.models._diffusers import (
    UPSAMPLER_DIR,
    InvalidVideoRequest,
    assemble,
    check_frames,
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

__all__ = ["InvalidVideoRequest", "LTX2Family", "LTX2Pipelines"]


# Stage 2 of the two-stage recipe: the distilled refinement sigmas of diffusers' LTX-2 utilities.
STAGE_TWO_SIGMAS = (0.909375, 0.725, 0.421875)

# LTX-2 applies spatio-temporal guidance at block 28 of 48; shallower transformers use their middle block.
STG_BLOCK = 28

# The diffusers layout of a model folder (beside a single-file checkpoint too).
LAYOUT = (
    "model_index.json, transformer/, vae/, audio_vae/, vocoder/, connectors/, text_encoder/, tokenizer/, scheduler/"
)

# The components a single-file checkpoint may hold: the prefix of their keys in the original format (diffusers'
# converters strip it), and the diffusers class that reads them. The transformer's is required.
SINGLE_FILE_PARTS = {
    "transformer": ("model.diffusion_model.", "LTX2VideoTransformer3DModel"),
    "vae": ("vae.", "AutoencoderKLLTX2Video"),
    "audio_vae": ("audio_vae.", "AutoencoderKLLTX2Audio"),
}

# Gemma's special tokens, at their usual low ids, for the tiny checkpoint's tokenizer.
_TINY_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>")


@dataclass(frozen=True)
class LTX2Pipelines:
    """The pipelines of one loaded model; they share the same modules (so not counted twice in LoadedModel)."""

    text_to_video: Any  # LTX2Pipeline
    image_to_video: Any  # LTX2ImageToVideoPipeline
    condition: Any  # LTX2ConditionPipeline
    in_context: Any  # LTX2InContextPipeline
    upsample: Any | None  # LTX2LatentUpsamplePipeline, when the model has a latent upsampler

    @property
    def temporal_ratio(self) -> int:
        return int(self.text_to_video.vae_temporal_compression_ratio)

    @property
    def spatial_ratio(self) -> int:
        return int(self.text_to_video.vae_spatial_compression_ratio)

    @property
    def sample_rate(self) -> int:
        return int(self.text_to_video.vocoder.config.output_sampling_rate)

    def denoisers(self) -> tuple[Any, ...]:
        return (self.text_to_video, self.image_to_video, self.condition, self.in_context)


class LTX2Family:
    family = "ltx2"

    # ---------------------------------------------------------------- tiny checkpoint

    def make_tiny(self, target: Path) -> None:
        """A seeded random-weight LTX-2 in the diffusers layout, with a latent upsampler: for tests only.

        Real compression ratios (32 spatial, 8 temporal; audio at 100 mel frames a second, 4x compressed), so the
        same size rules hold as for the real model. The vocoder upsamples mel frames 80x: 8 kHz audio.
        """
        import torch
        from diffusers import (
            AutoencoderKLLTX2Audio,
            AutoencoderKLLTX2Video,
            FlowMatchEulerDiscreteScheduler,
            LTX2Pipeline,
            LTX2VideoTransformer3DModel,
        )
        from diffusers.pipelines.ltx2 import LTX2LatentUpsamplerModel, LTX2TextConnectors
        from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
        from transformers import (
            Gemma3Config,
            Gemma3ForConditionalGeneration,
            Gemma3TextConfig,
            GemmaTokenizer,
            SiglipVisionConfig,
        )

        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        vocab = {token: i for i, token in enumerate(_TINY_SPECIALS)}
        for byte in range(256):
            vocab[f"<0x{byte:02X}>"] = len(vocab)
        for char in ["▁", *(chr(c) for c in range(33, 127))]:
            vocab.setdefault(char, len(vocab))
        tokenizer = GemmaTokenizer(vocab=vocab, merges=[], add_bos_token=True)

        text_layers, text_width = 2, 16
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            text_encoder = Gemma3ForConditionalGeneration(
                Gemma3Config(
                    text_config=Gemma3TextConfig(
                        vocab_size=len(vocab),
                        hidden_size=text_width,
                        intermediate_size=32,
                        num_hidden_layers=text_layers,
                        num_attention_heads=2,
                        num_key_value_heads=1,
                        head_dim=8,
                        max_position_embeddings=2048,
                        sliding_window=64,
                        pad_token_id=vocab["<pad>"],
                        bos_token_id=vocab["<bos>"],
                        eos_token_id=vocab["<eos>"],
                    ),
                    vision_config=SiglipVisionConfig(
                        hidden_size=16,
                        intermediate_size=32,
                        num_hidden_layers=1,
                        num_attention_heads=2,
                        image_size=28,
                        patch_size=14,
                    ),
                    mm_tokens_per_image=4,
                )
            )
            torch.manual_seed(1)
            transformer = LTX2VideoTransformer3DModel(
                in_channels=8,
                out_channels=8,
                patch_size=1,
                patch_size_t=1,
                num_attention_heads=2,
                attention_head_dim=8,
                cross_attention_dim=16,
                audio_in_channels=4,  # audio latent channels x latent mel bins
                audio_out_channels=4,
                audio_num_attention_heads=2,
                audio_attention_head_dim=4,
                audio_cross_attention_dim=8,
                num_layers=2,
                qk_norm="rms_norm_across_heads",
                caption_channels=text_width,
                rope_double_precision=False,
                rope_type="split",
            )
            torch.manual_seed(2)
            connectors = LTX2TextConnectors(
                caption_channels=text_width,
                text_proj_in_factor=text_layers + 1,
                video_connector_num_attention_heads=2,
                video_connector_attention_head_dim=8,
                video_connector_num_layers=1,
                video_connector_num_learnable_registers=None,
                audio_connector_num_attention_heads=2,
                audio_connector_attention_head_dim=8,
                audio_connector_num_layers=1,
                audio_connector_num_learnable_registers=None,
                connector_rope_base_seq_len=32,
                rope_theta=10000.0,
                rope_double_precision=False,
                causal_temporal_positioning=False,
                rope_type="split",
            )
            torch.manual_seed(3)
            vae = AutoencoderKLLTX2Video(
                latent_channels=8,
                block_out_channels=(8, 8, 8, 8),
                decoder_block_out_channels=(8, 8, 8),
                layers_per_block=(1, 1, 1, 1, 1),
                decoder_layers_per_block=(1, 1, 1, 1),
                spatio_temporal_scaling=(True, True, True, True),
                decoder_spatio_temporal_scaling=(True, True, True),
                decoder_inject_noise=(False, False, False, False),
                upsample_residual=(False, False, False),
                upsample_factor=(1, 1, 1),
                timestep_conditioning=False,
                patch_size=4,
                patch_size_t=1,
                encoder_causal=True,
                decoder_causal=False,
                spatial_compression_ratio=32,  # as the real config states them (the defaults assume 4 scalings)
                temporal_compression_ratio=8,
            )
            torch.manual_seed(4)
            audio_vae = AutoencoderKLLTX2Audio(
                base_channels=4,
                output_channels=2,
                ch_mult=(1,),
                num_res_blocks=1,
                attn_resolutions=None,
                in_channels=2,
                resolution=32,
                latent_channels=2,
                norm_type="pixel",
                causality_axis="height",
                dropout=0.0,
                mid_block_add_attention=False,
                sample_rate=16000,
                mel_hop_length=160,
                is_causal=True,
                mel_bins=8,
            )
            torch.manual_seed(5)
            vocoder = LTX2Vocoder(
                in_channels=audio_vae.config.output_channels * audio_vae.config.mel_bins,
                hidden_channels=16,
                out_channels=2,
                upsample_kernel_sizes=[10, 8, 8],
                upsample_factors=[5, 4, 4],
                resnet_kernel_sizes=[3],
                resnet_dilations=[[1, 3]],
                leaky_relu_negative_slope=0.1,
                output_sampling_rate=8000,
            )
            torch.manual_seed(6)
            upsampler = LTX2LatentUpsamplerModel(
                in_channels=8, mid_channels=32, num_blocks_per_stage=1, use_rational_resampler=False
            )

        pipeline = LTX2Pipeline(
            transformer=transformer,
            vae=vae,
            audio_vae=audio_vae,
            scheduler=FlowMatchEulerDiscreteScheduler(),
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            connectors=connectors,
            vocoder=vocoder,
        )
        pipeline.save_pretrained(target)
        upsampler.save_pretrained(target / UPSAMPLER_DIR)

    # ---------------------------------------------------------------- loading

    def load(self, config: ModelConfig, placement: Placement) -> LoadedModel:
        path = require_weights(config)
        from diffusers import (
            LTX2ConditionPipeline,
            LTX2ImageToVideoPipeline,
            LTX2InContextPipeline,
            LTX2LatentUpsamplePipeline,
            LTX2Pipeline,
        )
        from diffusers.pipelines.ltx2 import LTX2LatentUpsamplerModel

        folder = model_folder(path)
        from_file = _single_file_components(config, placement.dtype) if path.is_file() else {}
        base = LTX2Pipeline.from_pretrained(folder, dtype=placement.dtype, **from_file)
        upsampler = load_upsampler(LTX2LatentUpsamplerModel, folder, placement.dtype)
        pipelines = LTX2Pipelines(
            text_to_video=base,
            image_to_video=derive(LTX2ImageToVideoPipeline, base, placement.dtype),
            condition=derive(LTX2ConditionPipeline, base, placement.dtype),
            in_context=derive(LTX2InContextPipeline, base, placement.dtype),
            upsample=None
            if upsampler is None
            else LTX2LatentUpsamplePipeline(vae=base.vae, latent_upsampler=upsampler),
        )
        return assemble(config, placement, base, pipelines, upsampler)

    # ---------------------------------------------------------------- generation

    def generate(self, model: LoadedModel, request: VideoRequest, ctx: TaskContext) -> VideoResult:
        pipelines: LTX2Pipelines = model.modules["pipelines"]  # type: ignore[assignment]
        _validate(request, pipelines, model.config)
        ctx.raise_if_cancelled()

        common = video_call_kwargs(request)
        common["spatio_temporal_guidance_blocks"] = [_stg_block(pipelines.text_to_video.transformer)]

        kind = "in_context" if request.control is not None else conditioning_kind(request.conditions)
        if request.upscale:
            pipe = pipelines.in_context if kind == "in_context" else pipelines.condition
        else:
            pipe = getattr(pipelines, kind)
        ctx.log(f"{model.name}: {kind.replace('_', ' ')}{' with two-stage upscale' if request.upscale else ''}")

        conditioning: dict[str, Any] = {}
        if kind == "image_to_video" and not request.upscale:
            conditioning["image"] = pil_image(request.conditions[0].frames[0])
        elif request.conditions:
            conditioning["conditions"] = _conditions(request.conditions, pipelines.temporal_ratio)
        if kind == "in_context":
            conditioning["reference_conditions"] = [_reference(request.control)]

        with loras(pipe, request.loras):
            if request.upscale:
                output = _two_stage(pipe, pipelines, model.placement, request, ctx, common, conditioning)
            else:
                with offloaded(pipe, model.placement):
                    output = pipe(
                        width=request.width,
                        height=request.height,
                        num_inference_steps=request.steps,
                        output_type="pt",
                        callback_on_step_end=step_callback(ctx, request.steps),
                        **conditioning,
                        **common,
                    )
        frames = frames_to_uint8(output.frames[0], request)
        audio = output.audio[0].float().cpu().numpy().astype(np.float32)
        return VideoResult(frames=frames, fps=request.fps, audio=audio, audio_sample_rate=pipelines.sample_rate)


# -------------------------------------------------------------------- loading helpers


def _single_file_components(config: ModelConfig, dtype: torch.dtype) -> dict[str, object]:
    """The components an original-format LTX-2 `.safetensors` holds, each read with diffusers' `from_single_file`
    under the config of its folder beside the file.

    Each component's tensors are read alone and handed over as a dict: the official file holds the transformer, both
    VAEs and more, and diffusers' LTX-2 converters neither filter by component nor would spare loading the whole
    file once per component.
    """
    import diffusers
    from diffusers.loaders import FromOriginalModelMixin
    from safetensors import safe_open

    # diffusers 0.42 lists AutoencoderKLLTX2Audio as single-file loadable (with its converter) but leaves
    # FromOriginalModelMixin out of its bases; the mixin's loader finds the converter by the class it is given.
    from_single_file = FromOriginalModelMixin.from_single_file.__func__

    path = config.path
    folder = single_file_folder(config, "LTX-2", LAYOUT)
    components: dict[str, object] = {}
    with safe_open(str(path), framework="pt") as f:
        keys = list(f.keys())
        for name, (prefix, class_name) in SINGLE_FILE_PARTS.items():
            tensors = {key: f.get_tensor(key) for key in keys if key.startswith(prefix)}
            if not tensors:
                if name == "transformer":
                    raise FailedPrecondition(f"model {config.name!r}: {path} holds no LTX-2 transformer weights")
                continue  # the folder's
            cls = getattr(diffusers, class_name)
            try:
                components[name] = from_single_file(
                    cls, tensors, config=str(folder), subfolder=name, local_files_only=True, dtype=dtype
                )
            except NotImplementedError as exc:  # diffusers leaves weights the file lacks on "meta", then moves them
                raise FailedPrecondition(
                    f"model {config.name!r}: {path.name} lacks some of the {name} weights that the config in "
                    f"{folder / name} calls for; is it a checkpoint of another LTX-2 version?"
                ) from exc
    return components


# -------------------------------------------------------------------- generation helpers


def _validate(request: VideoRequest, pipelines: LTX2Pipelines, config: ModelConfig) -> None:
    spatial = pipelines.spatial_ratio
    if request.upscale:  # the two-stage path denoises at half the size first: both sizes must fit the latent grid
        check_video_request(
            request, pipelines.temporal_ratio, 2 * spatial, " (twice the VAE's, for the two-stage upscale)"
        )
    else:
        check_video_request(request, pipelines.temporal_ratio, spatial)
    control = request.control
    if control is not None:
        check_frames("control.frames", control.frames)
        if control.frame_index != 0:
            raise InvalidVideoRequest(
                "control.frame_index", f"a control video starts at frame 0; got {control.frame_index}"
            )
        if not 0.0 <= control.strength <= 1.0:
            raise InvalidVideoRequest("control.strength", f"must be from 0 to 1; got {control.strength}")
    if request.upscale and pipelines.upsample is None:
        raise InvalidVideoRequest(
            "upscale",
            f"model {config.name!r} has no latent upsampler (expected in {model_folder(config.path) / UPSAMPLER_DIR})",
        )


def _stg_block(transformer: Any) -> int:
    layers = int(transformer.config.num_layers)
    return STG_BLOCK if layers > STG_BLOCK else layers // 2


def _media(frames: np.ndarray) -> object:
    return pil_image(frames[0]) if frames.shape[0] == 1 else [pil_image(frame) for frame in frames]


def _latent_index(frame_index: int, temporal: int) -> int:
    """The latent frame holding pixel frame `frame_index`: LTX-2 places conditions by latent index (frame 0 is
    latent 0, frames 1..8 latent 1, 9..16 latent 2…), so a keyframe lands on its group of `temporal` frames."""
    return -(-frame_index // temporal)


def _conditions(conditions: tuple[VideoCondition, ...], temporal: int) -> list[object]:
    from diffusers.pipelines.ltx2 import LTX2VideoCondition

    # A clip is trimmed by the pipeline to the frames that fit after its index.
    return [
        LTX2VideoCondition(frames=_media(c.frames), index=_latent_index(c.frame_index, temporal), strength=c.strength)
        for c in conditions
    ]


def _reference(control: VideoCondition) -> object:
    from diffusers.pipelines.ltx2 import LTX2ReferenceCondition

    return LTX2ReferenceCondition(frames=[pil_image(frame) for frame in control.frames], strength=control.strength)


def _two_stage(
    pipe: Any,
    pipelines: LTX2Pipelines,
    placement: Placement,
    request: VideoRequest,
    ctx: TaskContext,
    common: dict,
    conditioning: dict,
) -> Any:
    """Half-size video and audio latents, 2x video latent upsampling, a short refinement of both at full size."""
    width, height = request.width // 2, request.height // 2
    refine_steps = len(STAGE_TWO_SIGMAS)
    total = request.steps + refine_steps
    first = low_resolution_pass(
        pipe, placement, ctx, request.steps, total, width=width, height=height, **conditioning, **common
    )
    upsample = pipelines.upsample
    with offloaded(upsample, placement):
        upsampled = upsample(
            latents=first.frames, width=width, height=height, num_frames=request.frames, output_type="latent"
        ).frames
    ctx.raise_if_cancelled()
    with offloaded(pipe, placement):
        return pipe(
            width=request.width,
            height=request.height,
            latents=upsampled,
            audio_latents=first.audio,
            sigmas=list(STAGE_TWO_SIGMAS),
            noise_scale=STAGE_TWO_SIGMAS[0],
            num_inference_steps=refine_steps,
            output_type="pt",
            callback_on_step_end=step_callback(
                ctx, refine_steps, message="refining", offset=request.steps, overall_total=total
            ),
            **conditioning,
            **common,
        )
