"""FLUX.1 (Black Forest Labs) through diffusers: text to image, image to image, inpainting, Redux references.

The model directory is a FLUX.1 checkpoint in diffusers' layout (e.g. FLUX.1-dev) with two optional
subfolders, each in its own diffusers layout:

- `fill/`: a FLUX.1 Fill checkpoint (FLUX.1-Fill-dev); only its `transformer/` is read, the text encoders
  and VAE are the base model's. With it, inpainting runs FluxFillPipeline; without it, FluxInpaintPipeline
  on the base transformer.
- `redux/`: a FLUX.1 Redux prior (FLUX.1-Redux-dev: image_encoder, feature_extractor, image_embedder).
  Reference images need it; their embeddings join the prompt's (the prior runs the base text encoders),
  several references are averaged, and with true_cfg the negative prompt gets the same references, so
  the guidance pushes along the text.

Which pipeline runs:
- no init_image: FluxPipeline (true_cfg > 1 adds true classifier-free guidance with negative_prompt);
- init_image: FluxImg2ImgPipeline with `strength`;
- init_image + mask: Fill (or inpaint) pipeline; the result is composited over the init image by the
  mask, so pixels outside the mask are exactly the original.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from milimo.config import ModelConfig
from milimo.models import _images
from milimo.models._diffusers import ready
from milimo.models._images import InvalidImageRequest, Pipelines
from milimo.models.base import LoadedModel, Placement, require_weights
from milimo.models.offload import offloaded
from milimo.models.requests import ImageRequest, ImageResult
from milimo.models.steps import step_callback
from milimo.tasks.context import TaskContext

FILL_DIR = "fill"
REDUX_DIR = "redux"


class FluxFamily:
    family = "flux"

    # ---- loading ----------------------------------------------------------------------------

    def load(self, config: ModelConfig, placement: Placement) -> LoadedModel:
        path = require_weights(config)
        from diffusers import (
            FluxFillPipeline,
            FluxImg2ImgPipeline,
            FluxInpaintPipeline,
            FluxPipeline,
            FluxPriorReduxPipeline,
            FluxTransformer2DModel,
        )

        dtype = placement.dtype
        base = FluxPipeline.from_pretrained(path, dtype=dtype)
        modules: dict[str, object] = {"pipeline": base}
        pipelines = Pipelines({"text": base, "image": FluxImg2ImgPipeline.from_pipe(base, dtype=dtype)})

        fill_dir = path / FILL_DIR
        if (fill_dir / "transformer").is_dir():
            fill_transformer = FluxTransformer2DModel.from_pretrained(fill_dir, subfolder="transformer", dtype=dtype)
            modules["fill_transformer"] = fill_transformer
            pipelines.by_kind["inpaint"] = FluxFillPipeline.from_pipe(base, transformer=fill_transformer, dtype=dtype)
        else:
            pipelines.by_kind["inpaint"] = FluxInpaintPipeline.from_pipe(base, dtype=dtype)

        redux_dir = path / REDUX_DIR
        if (redux_dir / "model_index.json").is_file():
            redux = FluxPriorReduxPipeline.from_pretrained(
                redux_dir,
                text_encoder=base.text_encoder,
                tokenizer=base.tokenizer,
                text_encoder_2=base.text_encoder_2,
                tokenizer_2=base.tokenizer_2,
                dtype=dtype,
            )
            modules["redux_image_encoder"] = redux.image_encoder
            modules["redux_image_embedder"] = redux.image_embedder
            pipelines.by_kind["redux"] = redux

        modules["pipelines"] = pipelines
        return ready(LoadedModel(config, modules, placement), pipelines.by_kind.values(), base.vae)

    # ---- generation -------------------------------------------------------------------------

    def inpaint_guidance(self, model: LoadedModel) -> float:
        """The guidance scale inpainting runs with when a request gives none (FLUX.1 Fill's own is 30)."""
        return _images.default_guidance(model.modules["pipelines"]["inpaint"])

    def generate(self, model: LoadedModel, request: ImageRequest, ctx: TaskContext) -> ImageResult:
        pipelines: Pipelines = model.modules["pipelines"]
        base = pipelines["text"]
        _images.check_size(request, base.vae_scale_factor * 2)
        _images.check_edit(request)
        for i, reference in enumerate(request.references):
            _images.check_picture(f"references[{i}]", reference)
        if request.references and "redux" not in pipelines:
            raise InvalidImageRequest(
                "references", f"model {model.name!r} has no Redux prior (a FLUX.1 Redux checkpoint in {REDUX_DIR}/)"
            )
        size = (request.width, request.height)
        ctx.raise_if_cancelled()

        kwargs: dict[str, Any] = {
            "height": request.height,
            "width": request.width,
            "num_inference_steps": request.steps,
            "guidance_scale": request.guidance,
            "generator": _images.generator(request.seed),
            "output_type": "np",
        }
        if not request.references:
            kwargs["prompt"] = request.prompt

        original = mask = None
        if request.init_image is None:
            kind, steps = "text", request.steps
        else:
            original = _images.to_pil(request.init_image, size)
            kwargs.update(image=original, strength=request.strength)
            steps = _images.denoising_steps(request.steps, request.strength)
            kind = "image"
            if request.mask is not None:
                kind = "inpaint"
                mask = _images.to_pil(request.mask, size)
                kwargs["mask_image"] = mask
        pipe = pipelines[kind]

        true_cfg = request.true_cfg > 1.0
        if true_cfg and "true_cfg_scale" not in _call_parameters(pipe):
            ctx.log(f"{type(pipe).__name__} has no true classifier-free guidance; true_cfg ignored")
            true_cfg = False
        if true_cfg:
            kwargs["true_cfg_scale"] = request.true_cfg
            if not request.references:
                kwargs["negative_prompt"] = request.negative_prompt

        with _images.loras(pipe, request.loras):  # a LoRA's text-encoder part reaches the Redux prompt too
            if request.references:
                embeds, pooled = self._redux(pipelines, model.placement, request, request.prompt)
                kwargs.update(prompt_embeds=embeds, pooled_prompt_embeds=pooled)
                if true_cfg:  # the same references on the unconditional side: guidance moves by text
                    embeds, pooled = self._redux(pipelines, model.placement, request, request.negative_prompt)
                    kwargs.update(negative_prompt_embeds=embeds, negative_pooled_prompt_embeds=pooled)
            with offloaded(pipe, model.placement):
                output = pipe(**kwargs, callback_on_step_end=step_callback(ctx, steps))
        image = _images.to_uint8(output.images)
        if mask is not None:
            image = _images.composite(original, image, mask)
        return ImageResult(image=image)

    def _redux(self, pipelines: Pipelines, placement: Placement, request: ImageRequest, prompt: str) -> tuple:
        """Embeddings of `prompt` joined by the references' (several references are averaged), and the pooled."""
        redux = pipelines["redux"]
        count = len(request.references)
        weights = [1.0 / count] * count
        with offloaded(redux, placement):
            out = redux(
                image=[_images.to_pil(reference) for reference in request.references],
                prompt=prompt,
                prompt_embeds_scale=weights,
                pooled_prompt_embeds_scale=weights,
            )
        return out.prompt_embeds, out.pooled_prompt_embeds

    # ---- a tiny checkpoint for tests --------------------------------------------------------

    def make_tiny(self, target: Path) -> None:
        """A random-weight FLUX.1 checkpoint with `fill/` and `redux/`, in the real layout, a few MB in all.

        Its VAE downsamples by 8 like the real one, so sizes follow the real rule (multiples of 16).
        """
        import torch
        from diffusers import (
            AutoencoderKL,
            FlowMatchEulerDiscreteScheduler,
            FluxFillPipeline,
            FluxPipeline,
            FluxPriorReduxPipeline,
            FluxTransformer2DModel,
        )
        from diffusers.pipelines.flux.modeling_flux import ReduxImageEncoder
        from transformers import (
            CLIPTextConfig,
            CLIPTextModel,
            SiglipImageProcessor,
            SiglipVisionConfig,
            SiglipVisionModel,
            T5Config,
            T5EncoderModel,
        )

        target = Path(target)
        latent_channels, text_dim = 4, 32
        clip_tokenizer, t5_tokenizer = _tiny_tokenizers()

        def transformer(in_channels: int) -> FluxTransformer2DModel:
            torch.manual_seed(0)
            return FluxTransformer2DModel(
                patch_size=1,
                in_channels=in_channels,
                out_channels=latent_channels * 4,
                num_layers=1,
                num_single_layers=1,
                attention_head_dim=16,
                num_attention_heads=2,
                joint_attention_dim=text_dim,
                pooled_projection_dim=text_dim,
                guidance_embeds=True,
                axes_dims_rope=(4, 4, 8),
            )

        torch.manual_seed(0)
        clip = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(clip_tokenizer),
                hidden_size=text_dim,
                intermediate_size=37,
                num_hidden_layers=2,
                num_attention_heads=4,
                max_position_embeddings=clip_tokenizer.model_max_length,
                projection_dim=text_dim,
                bos_token_id=clip_tokenizer.bos_token_id,
                eos_token_id=clip_tokenizer.eos_token_id,
                pad_token_id=clip_tokenizer.pad_token_id,
            )
        )
        torch.manual_seed(0)
        t5 = T5EncoderModel(
            T5Config(
                vocab_size=len(t5_tokenizer),
                d_model=text_dim,
                d_kv=8,
                d_ff=37,
                num_layers=2,
                num_heads=4,
                relative_attention_num_buckets=8,
                pad_token_id=t5_tokenizer.pad_token_id,
                eos_token_id=t5_tokenizer.eos_token_id,
            )
        )
        torch.manual_seed(0)
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(4, 4, 4, 4),
            layers_per_block=1,
            latent_channels=latent_channels,
            norm_num_groups=1,
            sample_size=64,
            use_quant_conv=False,
            use_post_quant_conv=False,
            shift_factor=0.0609,
            scaling_factor=1.5035,
        )
        scheduler = FlowMatchEulerDiscreteScheduler(
            shift=3.0,
            use_dynamic_shifting=True,
            base_shift=0.5,
            max_shift=1.15,
            base_image_seq_len=256,
            max_image_seq_len=4096,
        )
        shared = {
            "scheduler": scheduler,
            "vae": vae,
            "text_encoder": clip,
            "tokenizer": clip_tokenizer,
            "text_encoder_2": t5,
            "tokenizer_2": t5_tokenizer,
        }
        FluxPipeline(transformer=transformer(latent_channels * 4), **shared).save_pretrained(target)

        # Fill's transformer also reads the masked image's latents and the 8x8-folded mask, packed 2x2.
        vae_scale = 2 ** (len(vae.config.block_out_channels) - 1)
        fill_in = 2 * latent_channels * 4 + vae_scale * vae_scale * 4
        FluxFillPipeline(transformer=transformer(fill_in), **shared).save_pretrained(target / FILL_DIR)

        torch.manual_seed(0)
        siglip = SiglipVisionModel(
            SiglipVisionConfig(
                hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=32
            )
        )
        processor = SiglipImageProcessor(size={"height": 32, "width": 32})
        torch.manual_seed(0)
        embedder = ReduxImageEncoder(redux_dim=16, txt_in_features=text_dim)
        FluxPriorReduxPipeline(
            image_encoder=siglip, feature_extractor=processor, image_embedder=embedder
        ).save_pretrained(target / REDUX_DIR)


def _call_parameters(pipe: Any) -> set[str]:
    import inspect

    return set(inspect.signature(type(pipe).__call__).parameters)


def _tiny_tokenizers() -> tuple[Any, Any]:
    """CLIP (byte-level BPE) and T5 (unigram) tokenizers over small vocabularies, built here, not downloaded."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer, T5Tokenizer

    alphabet = sorted(ByteLevel.alphabet())
    clip_vocab = ["<|startoftext|>", "<|endoftext|>", *alphabet, *(c + "</w>" for c in alphabet)]
    clip = CLIPTokenizer(vocab={token: i for i, token in enumerate(clip_vocab)}, merges=[], model_max_length=77)
    characters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-()"
    t5_vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    t5_vocab += [(c, -3.0) for c in characters] + [("▁" + c, -3.5) for c in characters]
    t5 = T5Tokenizer(vocab=t5_vocab, extra_ids=0, model_max_length=512)
    return clip, t5
