"""SAM 3 (family "sam3") through transformers, from a checkpoint in the layout of `facebook/sam3`.

That checkpoint is one Sam3VideoModel: `config.json` (model_type "sam3_video", a detector and a tracker config),
`model.safetensors` (keys `detector_model.*`, `tracker_model.*`, `tracker_neck.*`), and the processor files
(`processor_config.json`, the CLIP tokenizer). Three transformers models read it:

- Sam3Model, the detector: text (and exemplar box) prompts -> every matching object (`detect`, `segment(text=)`);
- Sam3TrackerModel: points and boxes on a still image (`segment(points=, box=)`);
- Sam3TrackerVideoModel: points, boxes and masks tracked through a clip (`start_session`).

They hold the same image backbone, and the two trackers the same prompt encoder and mask decoder, so the
loader makes them share one copy of those tensors. Sam3TrackerModel is built on the meta device and given the
video tracker's tensors: in this transformers release `Sam3TrackerModel.from_pretrained` of a sam3_video
checkpoint leaves its prompt encoder and mask decoder randomly initialised (the `tracker_model.` prefix is not
mapped), which sharing also sidesteps.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from milimo.config import ModelConfig
from milimo.errors import FailedPrecondition, InvalidArgument
from milimo.models.base import LoadedModel, Placement, require_weights
from milimo.models.devices import release_memory
from milimo.models.segmentation import (
    Box,
    Mask,
    Point,
    Segmenter,
    TrackingSession,
    mask_box,
    step_within,
)

# The tiny checkpoint: a 112-pixel image (8x8 patches of 14) and 128-wide features. The tracker needs its
# features wider than its 64-channel memories (transformers hard-codes 64 for the memory attention's keys).
TINY_IMAGE = 112
TINY_PATCH = 14
TINY_HIDDEN = 128


class Sam3Family:
    family = "sam3"

    def load(self, config: ModelConfig, placement: Placement) -> LoadedModel:
        from transformers import (
            Sam3Model,
            Sam3Processor,
            Sam3TrackerProcessor,
            Sam3TrackerVideoModel,
            Sam3TrackerVideoProcessor,
        )

        path = str(require_weights(config))
        try:
            detector = Sam3Model.from_pretrained(path, dtype=placement.dtype, local_files_only=True)
            video_tracker = Sam3TrackerVideoModel.from_pretrained(path, dtype=placement.dtype, local_files_only=True)
            processor = Sam3Processor.from_pretrained(path, local_files_only=True)
            tracker_processor = Sam3TrackerProcessor.from_pretrained(path, local_files_only=True)
            video_processor = Sam3TrackerVideoProcessor.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise FailedPrecondition(
                f"model {config.name!r}: {path} does not hold a SAM 3 checkpoint in the transformers layout "
                f"(config.json, model.safetensors, processor and tokenizer files): {exc}"
            ) from exc
        _share(video_tracker, detector, require_equal=True)  # the image backbone
        tracker = _image_tracker(video_tracker)
        models = torch.nn.ModuleDict({"detector": detector, "tracker": tracker, "video_tracker": video_tracker})
        models.eval().requires_grad_(False)
        segmenter = Sam3Segmenter(
            detector, tracker, video_tracker, processor, tracker_processor, video_processor, placement
        )
        # One module holds all three, so shared tensors are counted and moved once.
        return LoadedModel(config, {"sam3": models, "segmenter": segmenter}, placement)

    def make_tiny(self, target: Path) -> None:
        from tokenizers import pre_tokenizers
        from transformers import (
            CLIPTokenizer,
            Sam3Config,
            Sam3ImageProcessor,
            Sam3TrackerVideoConfig,
            Sam3VideoConfig,
            Sam3VideoModel,
            Sam3VideoProcessor,
            Sam3VisionConfig,
            Sam3ViTConfig,
        )
        from transformers.models.sam2_video.video_processing_sam2_video import Sam2VideoVideoProcessor

        size, patch, hidden = TINY_IMAGE, TINY_PATCH, TINY_HIDDEN
        grid = size // patch
        # A byte-level BPE vocabulary without merges: every byte, alone and word-final, plus CLIP's two markers.
        alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
        tokens = [*alphabet, *(c + "</w>" for c in alphabet), "<|startoftext|>", "<|endoftext|>"]
        vocab = {token: i for i, token in enumerate(tokens)}
        start, end = vocab["<|startoftext|>"], vocab["<|endoftext|>"]

        def vision() -> Sam3VisionConfig:
            backbone = Sam3ViTConfig(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                image_size=size,
                patch_size=patch,
                window_size=4,
                global_attn_indexes=[1],
                pretrain_image_size=size,
            )
            sizes = [[4 * grid, 4 * grid], [2 * grid, 2 * grid], [grid, grid]]
            return Sam3VisionConfig(backbone_config=backbone, fpn_hidden_size=hidden, backbone_feature_sizes=sizes)

        small = {"num_attention_heads": 2, "intermediate_size": 64}
        detector = Sam3Config(
            vision_config=vision(),
            text_config={
                "vocab_size": len(vocab),
                "hidden_size": 32,
                "intermediate_size": 64,
                "projection_dim": 32,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "max_position_embeddings": 32,  # the processor pads every prompt to 32 tokens
                "hidden_act": "gelu",
                "bos_token_id": start,
                "eos_token_id": end,
                "pad_token_id": end,
            },
            geometry_encoder_config={"hidden_size": hidden, "num_layers": 1, **small},
            detr_encoder_config={"hidden_size": hidden, "num_layers": 1, **small},
            detr_decoder_config={"hidden_size": hidden, "num_layers": 1, "num_queries": 8, **small},
            mask_decoder_config={"hidden_size": hidden, "num_attention_heads": 2},
        )
        tracker = Sam3TrackerVideoConfig(
            vision_config=vision(),
            prompt_encoder_config={"hidden_size": hidden, "image_size": size, "patch_size": patch},
            mask_decoder_config={
                "hidden_size": hidden,
                "mlp_dim": 64,
                "num_attention_heads": 2,
                "iou_head_hidden_dim": 32,
            },
            memory_attention_hidden_size=hidden,
            memory_attention_num_layers=1,
            memory_attention_feed_forward_hidden_size=64,
            memory_attention_rope_feat_sizes=[grid, grid],
            memory_encoder_hidden_size=hidden,
            memory_encoder_output_channels=64,
            mask_downsampler_embed_dim=hidden,
            memory_fuser_num_layers=1,
            memory_fuser_embed_dim=hidden,
            memory_fuser_intermediate_dim=64,
            image_size=size,
        )
        config = Sam3VideoConfig(detector_config=detector, tracker_config=tracker, low_res_mask_size=4 * grid)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = Sam3VideoModel(config)
        target.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(target)
        square = {"height": size, "width": size}
        half = {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
        Sam3VideoProcessor(
            image_processor=Sam3ImageProcessor(size=square, mask_size={"height": 4 * grid, "width": 4 * grid}, **half),
            video_processor=Sam2VideoVideoProcessor(size=square, **half),
            tokenizer=CLIPTokenizer(vocab=vocab, merges=[]),
        ).save_pretrained(target)


def _share(target: torch.nn.Module, source: torch.nn.Module, *, require_equal: bool) -> list[str]:
    """Point `target`'s parameters and buffers at `source`'s where the names and shapes match.

    With `require_equal`, only tensors of equal value are shared (two models read from one checkpoint);
    without it (`target` an empty shell on the meta device), every tensor of `target` must find its match,
    whose dtype wins. Returns the names left unshared.
    """
    sources = {
        **dict(source.named_parameters(remove_duplicate=False)),
        **dict(source.named_buffers(remove_duplicate=False)),
    }
    left = []
    named = [*target.named_parameters(remove_duplicate=False), *target.named_buffers(remove_duplicate=False)]
    for name, tensor in named:
        match = sources.get(name)
        fits = match is not None and match.shape == tensor.shape
        if fits and require_equal:
            fits = match.dtype == tensor.dtype and match.device == tensor.device and torch.equal(match, tensor)
        if not fits:
            left.append(name)
            continue
        owner_name, _, leaf = name.rpartition(".")
        setattr(target.get_submodule(owner_name), leaf, match)
    return left


def _image_tracker(video_tracker: torch.nn.Module) -> torch.nn.Module:
    """A Sam3TrackerModel made of the video tracker's own tensors (no copy, no second read of the weights)."""
    from transformers import Sam3TrackerConfig, Sam3TrackerModel

    video_config = video_tracker.config
    config = Sam3TrackerConfig(
        vision_config=video_config.vision_config,
        prompt_encoder_config=video_config.prompt_encoder_config.to_dict(),
        mask_decoder_config=video_config.mask_decoder_config.to_dict(),
    )
    config._attn_implementation = video_config._attn_implementation
    with torch.device("meta"):
        tracker = Sam3TrackerModel(config)
    left = _share(tracker, video_tracker, require_equal=False)
    if left:
        raise RuntimeError(f"SAM 3 image tracker: no video tracker tensor for {left[:5]}")
    return tracker


class Sam3Segmenter(Segmenter):
    family = "sam3"
    supports_text = True

    def __init__(
        self,
        detector: Any,
        tracker: Any,
        video_tracker: Any,
        processor: Any,
        tracker_processor: Any,
        video_processor: Any,
        placement: Placement,
    ) -> None:
        self.detector = detector
        self.tracker = tracker
        self.video_tracker = video_tracker
        self.processor = processor
        self.tracker_processor = tracker_processor
        self.video_processor = video_processor
        self.placement = placement

    @property
    def device(self) -> torch.device:
        return next(self.detector.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.detector.parameters()).dtype

    def _inputs(self, encoding: Any) -> dict[str, Any]:
        """A processor's tensors on the model's device, floating ones in the model's dtype."""
        moved = {}
        for key, value in encoding.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.device, dtype=self.dtype if value.is_floating_point() else None)
            moved[key] = value
        return moved

    @torch.inference_mode()
    def _segment(self, image: np.ndarray, points: list[Point], box: Box | None, text: str) -> list[Mask]:
        if text:
            if points:
                raise InvalidArgument(
                    "points", "SAM 3 cannot combine points with a text prompt; give a box as an example instead"
                )
            return [self._best_match(image, text, box)]
        prompts: dict[str, Any] = {}
        if points:
            prompts["input_points"] = [[[[x, y] for x, y, _ in points]]]
            prompts["input_labels"] = [[[label for _, _, label in points]]]
        if box is not None:
            prompts["input_boxes"] = [[list(box)]]
        encoding = self.tracker_processor(images=image, return_tensors="pt", **prompts)
        # A lone point is ambiguous (a part or the whole): ask for the three candidates.
        multimask = len(points) == 1 and box is None
        outputs = self.tracker(**self._inputs(encoding), multimask_output=multimask)
        masks = self.tracker_processor.post_process_masks(outputs.pred_masks.float().cpu(), encoding["original_sizes"])
        scores = outputs.iou_scores[0, 0].float().cpu().tolist()
        found = [
            Mask(mask=mask, box=mask_box(mask), score=float(score))
            for mask, score in zip(masks[0][0].numpy().astype(bool), scores, strict=True)
        ]
        return sorted(found, key=lambda m: m.score, reverse=True)

    @torch.inference_mode()
    def _detect(self, image: np.ndarray, text: str, threshold: float) -> list[Mask]:
        encoding = self.processor(images=image, text=text, return_tensors="pt")
        outputs = self.detector(**self._inputs(encoding))
        return self._instances(outputs, image, threshold)

    def _best_match(self, image: np.ndarray, text: str, box: Box | None) -> Mask:
        """The single object that best matches `text` (and the example `box`), whatever its score."""
        prompts: dict[str, Any] = {}
        if box is not None:
            prompts = {"input_boxes": [[list(box)]], "input_boxes_labels": [[1]]}
        encoding = self.processor(images=image, text=text, return_tensors="pt", **prompts)
        outputs = self.detector(**self._inputs(encoding))
        scores = outputs.pred_logits.sigmoid()
        if outputs.presence_logits is not None:
            scores = scores * outputs.presence_logits.sigmoid()
        best = int(scores[0].argmax())
        for key in ("pred_logits", "pred_boxes", "pred_masks"):
            outputs[key] = outputs[key][:, best : best + 1]
        return self._instances(outputs, image, threshold=-1.0)[0]

    def _instances(self, outputs: Any, image: np.ndarray, threshold: float) -> list[Mask]:
        for key in ("pred_logits", "pred_boxes", "pred_masks", "presence_logits"):
            if outputs.get(key) is not None:
                outputs[key] = outputs[key].float()
        height, width = image.shape[:2]
        (found,) = self.processor.post_process_instance_segmentation(
            outputs, threshold=threshold, mask_threshold=0.5, target_sizes=[(height, width)]
        )
        masks = [
            Mask(mask=mask.cpu().numpy().astype(bool), box=tuple(float(v) for v in box), score=float(score))
            for mask, box, score in zip(found["masks"], found["boxes"].tolist(), found["scores"].tolist(), strict=True)
        ]
        return sorted(masks, key=lambda m: m.score, reverse=True)

    def _start_session(self, frames: np.ndarray) -> TrackingSession:
        return Sam3TrackingSession(self, frames)


class Sam3TrackingSession(TrackingSession):
    """Sam3TrackerVideoModel over a clip held in the processor's inference session.

    The frames are resized and kept on the CPU; features, memories and masks live on the model's device.
    """

    def __init__(self, segmenter: Sam3Segmenter, frames: np.ndarray) -> None:
        super().__init__(segmenter, *frames.shape[:3])
        self._segmenter = segmenter
        self._frames: np.ndarray | None = frames
        self._prompts: dict[int, dict[int, dict[str, Any]]] = {}  # object -> frame -> the processor's inputs
        with torch.inference_mode():
            self._session = segmenter.video_processor.init_video_session(
                video=frames,
                inference_device=segmenter.device,
                processing_device="cpu",
                video_storage_device="cpu",
                dtype=segmenter.dtype,
            )

    def _add_prompt(
        self,
        frame_index: int,
        object_id: int,
        points: list[Point],
        box: Box | None,
        text: str,
        mask: np.ndarray | None,
    ) -> np.ndarray:
        inputs: dict[str, Any] = {}
        if text:
            assert self._frames is not None
            with torch.inference_mode():
                mask = self._segmenter._best_match(self._frames[frame_index], text, None).mask
        if mask is not None:
            inputs["input_masks"] = mask
        if points:
            inputs["input_points"] = [[[[x, y] for x, y, _ in points]]]
            inputs["input_labels"] = [[[label for _, _, label in points]]]
        if box is not None:
            inputs["input_boxes"] = [[list(box)]]
        self._prompts.setdefault(object_id, {})[frame_index] = inputs
        return self._apply(frame_index, object_id, inputs)

    @torch.inference_mode()
    def _apply(self, frame_index: int, object_id: int, inputs: dict[str, Any]) -> np.ndarray:
        self._segmenter.video_processor.add_inputs_to_inference_session(
            inference_session=self._session, frame_idx=frame_index, obj_ids=object_id, **inputs
        )
        outputs = self._segmenter.video_tracker(inference_session=self._session, frame_idx=frame_index)
        return self._masks(outputs)[object_id]

    def _masks(self, outputs: Any) -> dict[int, np.ndarray]:
        masks = self._segmenter.video_processor.post_process_masks(
            [outputs.pred_masks.float().cpu()], original_sizes=[[self.height, self.width]]
        )[0]
        return {obj: masks[i, 0].numpy().astype(bool) for i, obj in enumerate(outputs.object_ids)}

    def _propagate(self, start: int, *, reverse: bool) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        steps = self._segmenter.video_tracker.propagate_in_video_iterator(
            self._session, start_frame_idx=start, reverse=reverse
        )
        for outputs in step_within(steps, torch.inference_mode):
            yield outputs.frame_idx, self._masks(outputs)

    def _remove_object(self, object_id: int) -> None:
        # The inference session indexes objects densely and cannot drop one: start its tracking over (the
        # frames' features stay cached) and give the remaining objects their prompts again.
        del self._prompts[object_id]
        self._session.reset_tracking_data()
        for other, frames in self._prompts.items():
            for frame_index in sorted(frames):
                self._apply(frame_index, other, frames[frame_index])

    def _close(self) -> None:
        self._session.reset_inference_session()
        self._session = None
        self._frames = None
        self._prompts.clear()
        release_memory()
