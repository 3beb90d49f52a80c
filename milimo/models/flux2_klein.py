"""FLUX.2 [klein] (Black Forest Labs) through diffusers: text to image with reference images, and inpainting.

The model directory is a FLUX.2 klein checkpoint in diffusers' layout (FLUX.2-klein-4B, -9B, or their
undistilled base variants): a Qwen3 text encoder, the FLUX.2 VAE and transformer.

Which pipeline runs:
- no init_image: Flux2KleinPipeline; `references` are its conditioning images (several allowed);
- init_image: Flux2KleinInpaintPipeline with `strength`; without a mask the whole image is repainted
  (image to image), with one the result is composited over the init image by the mask, so pixels
  outside it are exactly the original. At most one reference here (the pipeline's `image_reference`).

Guidance: klein's guidance is true classifier-free guidance, which only the undistilled (base) models
run; the distilled ones ignore it. Its scale is `true_cfg` when above 1, else `guidance`, and
`negative_prompt` is the unconditional prompt (the pipeline's own default is the empty prompt).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from milimo.config import ModelConfig
from milimo.models import _images
from milimo.models._diffusers import ready
from milimo.models._images import InvalidImageRequest, Pipelines
from milimo.models.base import LoadedModel, Placement, require_weights
from milimo.models.offload import offloaded
from milimo.models.requests import ImageRequest, ImageResult
from milimo.models.steps import step_callback
from milimo.tasks.context import TaskContext

REFERENCE_MIN_SIDE = 64  # the pipeline refuses smaller reference images
REFERENCE_MAX_ASPECT = 8
EDIT_MAX_PIXELS = 1024 * 1024  # the inpaint pipeline shrinks larger init images to this area


class Flux2KleinFamily:
    family = "flux2-klein"

    def load(self, config: ModelConfig, placement: Placement) -> LoadedModel:
        path = require_weights(config)
        from diffusers import Flux2KleinInpaintPipeline, Flux2KleinPipeline

        base = Flux2KleinPipeline.from_pretrained(path, dtype=placement.dtype)
        pipelines = Pipelines(
            {"text": base, "inpaint": Flux2KleinInpaintPipeline.from_pipe(base, dtype=placement.dtype)}
        )
        loaded = LoadedModel(config, {"pipeline": base, "pipelines": pipelines}, placement)
        return ready(loaded, pipelines.by_kind.values(), base.vae)

    def inpaint_guidance(self, model: LoadedModel) -> float:
        """The guidance scale inpainting runs with when a request gives none (the inpaint pipeline's own, 8)."""
        return _images.default_guidance(model.modules["pipelines"]["inpaint"])

    def generate(self, model: LoadedModel, request: ImageRequest, ctx: TaskContext) -> ImageResult:
        pipelines: Pipelines = model.modules["pipelines"]
        base = pipelines["text"]
        _images.check_size(request, base.vae_scale_factor * 2)
        _images.check_edit(request)
        for i, reference in enumerate(request.references):
            name = f"references[{i}]"
            _images.check_picture(name, reference, min_side=REFERENCE_MIN_SIDE)
            height, width = reference.shape[:2]
            if max(width / height, height / width) > REFERENCE_MAX_ASPECT:
                raise InvalidImageRequest(name, f"aspect ratio must be at most {REFERENCE_MAX_ASPECT}:1")
        size = (request.width, request.height)
        scale = request.true_cfg if request.true_cfg > 1.0 else request.guidance
        kwargs: dict[str, Any] = {
            "prompt": request.prompt,
            "height": request.height,
            "width": request.width,
            "num_inference_steps": request.steps,
            "guidance_scale": scale,
            "generator": _images.generator(request.seed),
            "output_type": "np",
        }
        references = [_images.to_pil(reference) for reference in request.references]
        original = mask = None
        if request.init_image is None:
            pipe, steps = base, request.steps
            if references:
                kwargs["image"] = references
        else:
            if request.width * request.height > EDIT_MAX_PIXELS:
                raise InvalidImageRequest(
                    "width", f"with an init_image, width × height must be at most {EDIT_MAX_PIXELS} pixels"
                )
            if len(references) > 1:
                raise InvalidImageRequest("references", "with an init_image, at most one reference image")
            pipe = pipelines["inpaint"]
            steps = _images.denoising_steps(request.steps, request.strength)
            original = _images.to_pil(request.init_image, size)
            whole = np.full((request.height, request.width), 255, np.uint8)
            mask = _images.to_pil(request.mask if request.mask is not None else whole, size)
            kwargs.update(image=original, mask_image=mask, strength=request.strength)
            if references:
                kwargs["image_reference"] = references[0]
        ctx.raise_if_cancelled()

        with _images.loras(pipe, request.loras), offloaded(pipe, model.placement):
            if request.negative_prompt and scale > 1.0 and not pipe.config.is_distilled:
                kwargs["negative_prompt_embeds"] = pipe.encode_prompt(
                    request.negative_prompt, device=pipe._execution_device
                )[0]
            output = pipe(**kwargs, callback_on_step_end=step_callback(ctx, steps))
        image = _images.to_uint8(output.images)
        if request.mask is not None:
            image = _images.composite(original, image, mask)
        return ImageResult(image=image)

    def make_tiny(self, target: Path) -> None:
        """A random-weight FLUX.2 klein checkpoint (undistilled, so guidance runs) in the real layout.

        Its VAE downsamples by 8 like the real one, and its Qwen3 text encoder has the 27 layers the
        pipeline reads hidden states from (9, 18, 27), each 16 wide.
        """
        import torch
        from diffusers import (
            AutoencoderKLFlux2,
            FlowMatchEulerDiscreteScheduler,
            Flux2KleinPipeline,
            Flux2Transformer2DModel,
        )
        from transformers import Qwen3Config, Qwen3ForCausalLM

        latent_channels, hidden = 4, 16
        tokenizer = _tiny_qwen_tokenizer()
        torch.manual_seed(0)
        text_encoder = Qwen3ForCausalLM(
            Qwen3Config(
                vocab_size=len(tokenizer),
                hidden_size=hidden,
                intermediate_size=16,
                num_hidden_layers=27,
                num_attention_heads=2,
                num_key_value_heads=2,
                head_dim=8,
                max_position_embeddings=1024,
                tie_word_embeddings=True,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
            )
        )
        torch.manual_seed(0)
        transformer = Flux2Transformer2DModel(
            patch_size=1,
            in_channels=latent_channels * 4,
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=3 * hidden,
            timestep_guidance_channels=256,
            axes_dims_rope=(4, 4, 4, 4),
            guidance_embeds=False,
        )
        torch.manual_seed(0)
        vae = AutoencoderKLFlux2(
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(4, 4, 4, 4),
            layers_per_block=1,
            latent_channels=latent_channels,
            norm_num_groups=1,
            sample_size=64,
            use_quant_conv=False,
            use_post_quant_conv=False,
        )
        scheduler = FlowMatchEulerDiscreteScheduler(
            shift=3.0,
            use_dynamic_shifting=True,
            base_shift=0.5,
            max_shift=1.15,
            base_image_seq_len=256,
            max_image_seq_len=4096,
        )
        Flux2KleinPipeline(
            scheduler=scheduler,
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            transformer=transformer,
            is_distilled=False,
        ).save_pretrained(Path(target))


# Qwen3's chat template, cut to what the pipeline uses: user turns, the generation prompt, thinking off.
_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)


def _tiny_qwen_tokenizer() -> Any:
    """A byte-level BPE tokenizer of Qwen's kind over the 256 byte symbols, with its special tokens."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import Qwen2Tokenizer

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
    vocab = {token: i for i, token in enumerate([*specials, *sorted(ByteLevel.alphabet())])}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], chat_template=_CHAT_TEMPLATE, model_max_length=32768)
    tokenizer.add_special_tokens({"additional_special_tokens": specials[1:]})
    return tokenizer
