"""SAM 2 (family "sam2") through Meta's `sam2` package, from an official-style checkpoint.

The model's directory (or `path` naming the `.pt` itself) holds:

- the checkpoint, `<name>.pt`: `{"model": state_dict}`, as Meta publishes it (e.g. `sam2.1_hiera_large.pt`);
- the model's hydra config, `<name>.yaml` (e.g. `sam2.1_hiera_l.yaml`, as the facebook/sam2.1-* repositories ship
  it). Without one, a checkpoint named as Meta names it uses the config the package bundles for it.

One SAM2VideoPredictor is built with `build_sam2_video_predictor` and serves both still images (wrapped in a
SAM2ImagePredictor per call) and tracking sessions. SAM 2 has no text prompts.

On the CPU the video predictor runs under bfloat16 autocast: it stores its memories in bfloat16 and only works
under autocast (facebookresearch/sam2#308, #577). Still images run in float32 on the CPU.
"""

from __future__ import annotations

import contextlib
import importlib.util
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from milimo.config import ModelConfig
from milimo.errors import FailedPrecondition
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

TINY_NAME = "sam2.1_hiera_micro"

# The package's sam2.1_hiera_t.yaml shrunk: a 4-stage Hiera of width 16 on 128-pixel images, 64-wide features,
# 32-wide memories, one memory-attention layer.
TINY_CONFIG = """\
# @package _global_

model:
  _target_: sam2.modeling.sam2_base.SAM2Base
  image_encoder:
    _target_: sam2.modeling.backbones.image_encoder.ImageEncoder
    scalp: 1
    trunk:
      _target_: sam2.modeling.backbones.hieradet.Hiera
      embed_dim: 16
      num_heads: 1
      stages: [1, 1, 2, 1]
      global_att_blocks: [3]
      window_pos_embed_bkg_spatial_size: [4, 4]
      window_spec: [4, 4, 4, 2]
    neck:
      _target_: sam2.modeling.backbones.image_encoder.FpnNeck
      position_encoding:
        _target_: sam2.modeling.position_encoding.PositionEmbeddingSine
        num_pos_feats: 64
        normalize: true
        scale: null
        temperature: 10000
      d_model: 64
      backbone_channel_list: [128, 64, 32, 16]
      fpn_top_down_levels: [2, 3]
      fpn_interp_model: nearest

  memory_attention:
    _target_: sam2.modeling.memory_attention.MemoryAttention
    d_model: 64
    pos_enc_at_input: true
    layer:
      _target_: sam2.modeling.memory_attention.MemoryAttentionLayer
      activation: relu
      dim_feedforward: 64
      dropout: 0.1
      pos_enc_at_attn: false
      self_attention:
        _target_: sam2.modeling.sam.transformer.RoPEAttention
        rope_theta: 10000.0
        feat_sizes: [8, 8]
        embedding_dim: 64
        num_heads: 1
        downsample_rate: 1
        dropout: 0.1
      d_model: 64
      pos_enc_at_cross_attn_keys: true
      pos_enc_at_cross_attn_queries: false
      cross_attention:
        _target_: sam2.modeling.sam.transformer.RoPEAttention
        rope_theta: 10000.0
        feat_sizes: [8, 8]
        rope_k_repeat: True
        embedding_dim: 64
        num_heads: 1
        downsample_rate: 1
        dropout: 0.1
        kv_in_dim: 32
    num_layers: 1

  memory_encoder:
    _target_: sam2.modeling.memory_encoder.MemoryEncoder
    out_dim: 32
    in_dim: 64
    position_encoding:
      _target_: sam2.modeling.position_encoding.PositionEmbeddingSine
      num_pos_feats: 32
      normalize: true
      scale: null
      temperature: 10000
    mask_downsampler:
      _target_: sam2.modeling.memory_encoder.MaskDownSampler
      embed_dim: 64
      kernel_size: 3
      stride: 2
      padding: 1
    fuser:
      _target_: sam2.modeling.memory_encoder.Fuser
      layer:
        _target_: sam2.modeling.memory_encoder.CXBlock
        dim: 64
        kernel_size: 7
        padding: 3
        layer_scale_init_value: 1e-6
        use_dwconv: True
      num_layers: 1

  num_maskmem: 7
  image_size: 128
  sigmoid_scale_for_mem_enc: 20.0
  sigmoid_bias_for_mem_enc: -10.0
  use_mask_input_as_output_without_sam: true
  directly_add_no_mem_embed: true
  no_obj_embed_spatial: true
  use_high_res_features_in_sam: true
  multimask_output_in_sam: true
  iou_prediction_use_sigmoid: True
  use_obj_ptrs_in_encoder: true
  add_tpos_enc_to_obj_ptrs: true
  proj_tpos_enc_in_obj_ptrs: true
  use_signed_tpos_enc_to_obj_ptrs: true
  only_obj_ptrs_in_the_past_for_eval: true
  pred_obj_scores: true
  pred_obj_scores_mlp: true
  fixed_no_obj_ptr: true
  multimask_output_for_tracking: true
  use_multimask_token_for_obj_ptr: true
  multimask_min_pt_num: 0
  multimask_max_pt_num: 1
  use_mlp_for_obj_ptr_proj: true
  compile_image_encoder: False
"""

# Hydra's configuration is process-wide: one build at a time swaps it, then puts it back.
_hydra_lock = threading.Lock()


@contextlib.contextmanager
def _configs_from(folder: Path | None) -> Iterator[None]:
    """Make `folder` hydra's config directory for the duration (None: the package's own configs)."""
    import sam2  # noqa: F401  (initialises hydra with the package's configs)
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    with _hydra_lock:
        if folder is None:
            yield
            return
        saved = get_gh_backup()
        GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(config_dir=str(folder.resolve()), version_base="1.2"):
                yield
        finally:
            restore_gh_from_backup(saved)


def _checkpoint_files(config: ModelConfig) -> tuple[Path, Path | None, str]:
    """(checkpoint, folder of its hydra config or None for a bundled one, config name)."""
    from sam2.build_sam import HF_MODEL_ID_TO_FILENAMES

    path = require_weights(config)
    if path.is_file():
        checkpoint, folder = path, path.parent
    else:
        found = sorted(path.glob("*.pt"))
        if len(found) != 1:
            names = ", ".join(p.name for p in found) or "none"
            raise FailedPrecondition(f"model {config.name!r}: want one .pt checkpoint in {path} (found {names})")
        checkpoint, folder = found[0], path
    yamls = sorted(folder.glob("*.yaml"))
    same_stem = [y for y in yamls if y.stem == checkpoint.stem]
    if same_stem or len(yamls) == 1:
        return checkpoint, folder, (same_stem or yamls)[0].name
    bundled = {ckpt: cfg for cfg, ckpt in HF_MODEL_ID_TO_FILENAMES.values()}
    if checkpoint.name in bundled:
        return checkpoint, None, bundled[checkpoint.name]
    raise FailedPrecondition(
        f"model {config.name!r}: no hydra config for {checkpoint.name}; put the model's .yaml next to it"
        + (f" (found several: {', '.join(y.name for y in yamls)})" if yamls else "")
    )


class Sam2Family:
    family = "sam2"

    def load(self, config: ModelConfig, placement: Placement) -> LoadedModel:
        from sam2.build_sam import build_sam2_video_predictor

        checkpoint, folder, config_name = _checkpoint_files(config)
        try:
            with _configs_from(folder):
                model = build_sam2_video_predictor(config_name, str(checkpoint), device="cpu")
        except (OSError, RuntimeError, KeyError) as exc:
            raise FailedPrecondition(f"model {config.name!r}: cannot build SAM 2 from {checkpoint}: {exc}") from exc
        if importlib.util.find_spec("sam2._C") is None:
            # Without the package's CUDA extension, hole filling only warns on every frame: skip it.
            model.fill_hole_area = 0
        model.eval().requires_grad_(False)
        return LoadedModel(config, {"sam2": model, "segmenter": Sam2Segmenter(model, placement)}, placement)

    def make_tiny(self, target: Path) -> None:
        from sam2.build_sam import build_sam2

        target.mkdir(parents=True, exist_ok=True)
        (target / f"{TINY_NAME}.yaml").write_text(TINY_CONFIG)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            with _configs_from(target):
                model = build_sam2(f"{TINY_NAME}.yaml", None, device="cpu")
        torch.save({"model": model.state_dict()}, target / f"{TINY_NAME}.pt")


class Sam2Segmenter(Segmenter):
    family = "sam2"
    supports_text = False

    def __init__(self, model: Any, placement: Placement) -> None:
        self.model = model
        self.placement = placement

    def autocast(self, *, video: bool) -> contextlib.AbstractContextManager[object]:
        """Half precision on accelerators, as Meta runs SAM 2; on the CPU only for video (see the module doc)."""
        device = self.model.device
        if device.type == "cpu" and not video:
            return contextlib.nullcontext()
        half = self.placement.dtype if self.placement.dtype in (torch.float16, torch.bfloat16) else torch.bfloat16
        return torch.autocast(device.type, dtype=torch.bfloat16 if device.type == "cpu" else half)

    def _predictor(self) -> Any:
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        predictor = SAM2ImagePredictor(self.model)
        # The predictor assumes 1024-pixel models' feature sizes (strides 4, 8, 16): derive them from the model.
        size = self.model.image_size
        predictor._bb_feat_sizes = [(size // 4, size // 4), (size // 8, size // 8), (size // 16, size // 16)]
        return predictor

    @torch.inference_mode()
    def _segment(self, image: np.ndarray, points: list[Point], box: Box | None, text: str) -> list[Mask]:
        predictor = self._predictor()
        with self.autocast(video=False):
            predictor.set_image(image)
            masks, scores, _ = predictor.predict(
                point_coords=np.array([[x, y] for x, y, _ in points], dtype=np.float32) if points else None,
                point_labels=np.array([label for _, _, label in points], dtype=np.int32) if points else None,
                box=np.array(box, dtype=np.float32) if box is not None else None,
                # A lone point is ambiguous (a part or the whole): ask for the three candidates.
                multimask_output=len(points) == 1 and box is None,
            )
        found = [
            Mask(mask=mask.astype(bool), box=mask_box(mask.astype(bool)), score=float(score))
            for mask, score in zip(masks, scores, strict=True)
        ]
        return sorted(found, key=lambda m: m.score, reverse=True)

    def _start_session(self, frames: np.ndarray) -> TrackingSession:
        return Sam2TrackingSession(self, frames)


class Sam2TrackingSession(TrackingSession):
    """SAM2VideoPredictor's inference state over a clip; its frames are resized and kept on the CPU.

    The package reads a clip only from a folder of JPEG frames (or an MP4 through decord): the frames go
    through a temporary folder, written at quality 95 without chroma subsampling, removed once read.
    """

    def __init__(self, segmenter: Sam2Segmenter, frames: np.ndarray) -> None:
        from PIL import Image

        super().__init__(segmenter, *frames.shape[:3])
        self._segmenter = segmenter
        with tempfile.TemporaryDirectory(prefix="milimo-sam2-") as folder:
            for index, frame in enumerate(frames):
                Image.fromarray(frame).save(Path(folder) / f"{index:05d}.jpg", quality=95, subsampling=0)
            with torch.inference_mode(), segmenter.autocast(video=True):
                self._state = segmenter.model.init_state(video_path=folder, offload_video_to_cpu=True)

    def _add_prompt(
        self,
        frame_index: int,
        object_id: int,
        points: list[Point],
        box: Box | None,
        text: str,
        mask: np.ndarray | None,
    ) -> np.ndarray:
        model = self._segmenter.model
        with torch.inference_mode(), self._segmenter.autocast(video=True):
            if mask is not None:
                _, object_ids, masks = model.add_new_mask(self._state, frame_index, object_id, mask)
            else:
                _, object_ids, masks = model.add_new_points_or_box(
                    self._state,
                    frame_index,
                    object_id,
                    points=np.array([[x, y] for x, y, _ in points], dtype=np.float32) if points else None,
                    labels=np.array([label for _, _, label in points], dtype=np.int32) if points else None,
                    box=np.array(box, dtype=np.float32) if box is not None else None,
                )
        return (masks[list(object_ids).index(object_id), 0] > 0).cpu().numpy()

    def _propagate(self, start: int, *, reverse: bool) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        def context() -> contextlib.AbstractContextManager[object]:
            return self._segmenter.autocast(video=True)

        steps = self._segmenter.model.propagate_in_video(self._state, start_frame_idx=start, reverse=reverse)
        for frame_index, object_ids, masks in step_within(steps, context):
            yield frame_index, self._masks(object_ids, masks)

    @staticmethod
    def _masks(object_ids: list[int], masks: torch.Tensor) -> dict[int, np.ndarray]:
        binary = (masks[:, 0] > 0).cpu().numpy()
        return {obj: binary[i] for i, obj in enumerate(object_ids)}

    def _remove_object(self, object_id: int) -> None:
        with torch.inference_mode():
            self._segmenter.model.remove_object(self._state, object_id, need_output=False)

    def _close(self) -> None:
        with torch.inference_mode():
            self._segmenter.model.reset_state(self._state)
        self._state = None
        release_memory()
