"""LTX-Video on real diffusers pipelines with a tiny random-weight checkpoint written and reloaded from disk."""

from __future__ import annotations

import re
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from milimo.config import ModelConfig
from milimo.errors import FailedPrecondition
from milimo.models.base import LoadedModel, MissingWeights, Placement
from milimo.models.families import family
from milimo.models.ltx_video import UPSAMPLER_DIR, LTXVideoFamily
from milimo.models.requests import LoraWeight, VideoCondition, VideoRequest
from milimo.tasks.context import TaskCancelled
from tests.task_context import RecordingContext

CPU = Placement(device=torch.device("cpu"), dtype=torch.float32)


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ltx") / "tiny-ltx"
    LTXVideoFamily().make_tiny(path)
    return path


@pytest.fixture(scope="session")
def model(tiny_path) -> LoadedModel:
    return family("ltx-video").load(ModelConfig(name="tiny-ltx", family="ltx-video", path=tiny_path), CPU)


@pytest.fixture
def ctx(tmp_path) -> RecordingContext:
    return RecordingContext(tmp_path)


def request(**overrides) -> VideoRequest:
    fields = dict(prompt="a red car on a street", width=64, height=64, frames=9, fps=Fraction(24), steps=2, seed=7)
    fields.update(overrides)
    return VideoRequest(**fields)


def pattern(frames: int, height: int = 48, width: int = 80, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (frames, height, width, 3), dtype=np.uint8)


def generate(model, ctx, **overrides) -> np.ndarray:
    result = LTXVideoFamily().generate(model, request(**overrides), ctx)
    assert result.fps == Fraction(24)
    return result.frames


def assert_video(frames: np.ndarray, count: int = 9, height: int = 64, width: int = 64) -> None:
    assert frames.shape == (count, height, width, 3)
    assert frames.dtype == np.uint8
    assert frames.std() > 0  # a decoded picture, not a constant fill


def test_tiny_checkpoint_is_the_diffusers_layout(tiny_path):
    for name in ("transformer", "vae", "text_encoder", "scheduler", UPSAMPLER_DIR):
        assert (tiny_path / name / ("scheduler_config.json" if name == "scheduler" else "config.json")).is_file()
    assert (tiny_path / "model_index.json").is_file()
    assert list((tiny_path / "transformer").glob("*.safetensors"))
    assert list((tiny_path / "tokenizer").iterdir())


def test_the_pipelines_share_one_set_of_weights(model):
    pipes = model.modules["pipelines"]
    for pipe in (pipes.image_to_video, pipes.condition):
        assert pipe.transformer is pipes.text_to_video.transformer
        assert pipe.vae is pipes.text_to_video.vae
        assert pipe.text_encoder is pipes.text_to_video.text_encoder
    assert pipes.upsample.vae is pipes.text_to_video.vae
    unique = {id(m): m for m in model.torch_modules()}
    assert len(unique) == len(model.torch_modules())  # each module counted once in nbytes()
    assert model.nbytes() > 0


def test_text_to_video(model, ctx):
    frames = generate(model, ctx)
    assert_video(frames)
    assert [step for step, _ in ctx.steps] == [1, 2]
    assert "text to video" in ctx.logs[0]


def test_same_seed_same_video_other_seed_other_video(model, ctx):
    first = generate(model, ctx, seed=3)
    assert np.array_equal(first, generate(model, ctx, seed=3))
    assert not np.array_equal(first, generate(model, ctx, seed=4))


def test_image_to_video(model, ctx):
    frames = generate(model, ctx, conditions=(VideoCondition(pattern(1)),))
    assert_video(frames)
    assert "image to video" in ctx.logs[0]
    other = generate(model, ctx, conditions=(VideoCondition(pattern(1, seed=5)),))
    assert not np.array_equal(frames, other)  # the image steers the video


def test_first_and_last_keyframes_interpolate(model, ctx):
    keyframes = (VideoCondition(pattern(1, seed=1), frame_index=0), VideoCondition(pattern(1, seed=2), frame_index=8))
    frames = generate(model, ctx, conditions=keyframes, width=96)
    assert_video(frames, width=96)
    assert "condition" in ctx.logs[0]
    other = (keyframes[0], VideoCondition(pattern(1, seed=5), frame_index=8))
    assert not np.array_equal(frames, generate(model, ctx, conditions=other, width=96))  # the last keyframe counts


def test_video_clip_condition(model, ctx):
    clip = VideoCondition(pattern(9, seed=3), frame_index=0, strength=0.8)
    frames = generate(model, ctx, conditions=(clip,), frames=17)
    assert_video(frames, count=17)
    assert "condition" in ctx.logs[0]


def test_two_stage_upscale(model, ctx):
    # 96x64 -> first pass at 64x32, latents upsampled to 128x64, refined, then resized to 96x64.
    frames = generate(model, ctx, upscale=True, width=96, steps=3, conditions=(VideoCondition(pattern(1)),))
    assert_video(frames, width=96)
    reported = [step for step, _, message, _ in ctx.events if message != "upsampling latents"]
    total = ctx.steps[-1][1]
    assert reported == list(range(1, total + 1)) and total == 3 + 1  # 3 low-resolution steps, then 1 refining
    assert any(message == "refining" for _, _, message, _ in ctx.events)


def test_cancel_stops_within_one_step(model, tmp_path):
    ctx = RecordingContext(tmp_path, cancel_after_reports=1)
    with pytest.raises(TaskCancelled):
        generate(model, ctx, steps=6)
    assert len(ctx.steps) <= 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"frames": 10}, "frames"),
        ({"frames": 0}, "frames"),
        ({"width": 50}, "width"),
        ({"height": 16}, "height"),
        ({"steps": 0}, "steps"),
        ({"conditions": (VideoCondition(pattern(1), frame_index=9),)}, "conditions[0].frame_index"),
        ({"conditions": (VideoCondition(pattern(1), strength=1.5),)}, "conditions[0].strength"),
        ({"conditions": (VideoCondition(pattern(1).astype(np.float32)),)}, "conditions[0].frames"),
        ({"loras": (LoraWeight("/nonexistent/lora.safetensors"),)}, "loras[0].path"),
    ],
)
def test_invalid_requests_name_the_field(model, ctx, overrides, field):
    with pytest.raises(ValueError, match=re.escape(field)):
        generate(model, ctx, **overrides)
    assert ctx.steps == []


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_missing_weights_say_how_to_pull(tmp_path, where):
    path = tmp_path / "nothing-here"
    if where == "empty":
        path.mkdir()
    config = ModelConfig(name="ltx-big", family="ltx-video", path=path)
    with pytest.raises(MissingWeights, match=r"`milimo models pull ltx-big`") as raised:
        LTXVideoFamily().load(config, CPU)
    assert str(path) in str(raised.value)


def test_upscale_needs_an_upsampler_and_vae_tiling_applies(tiny_path, tmp_path, ctx):
    bare = tmp_path / "no-upsampler"
    shutil.copytree(tiny_path, bare, ignore=shutil.ignore_patterns(UPSAMPLER_DIR))
    config = ModelConfig(name="bare", family="ltx-video", path=bare)
    loaded = LTXVideoFamily().load(config, Placement(torch.device("cpu"), torch.float32, vae_tiling=True))
    assert loaded.modules["pipelines"].upsample is None
    assert loaded.modules["pipeline"].vae.use_tiling
    with pytest.raises(ValueError, match="upscale"):
        generate(loaded, ctx, upscale=True)


def write_tiny_lora(model: LoadedModel, path: Path, rank: int = 4) -> Path:
    """A diffusers-format LoRA over every attention projection of the tiny transformer."""
    transformer = model.modules["pipeline"].transformer
    generator = torch.Generator().manual_seed(11)
    tensors = {}
    for name, module in transformer.named_modules():
        if isinstance(module, torch.nn.Linear) and re.search(r"attn[12]\.(to_[qkv]|to_out\.0)$", name):
            tensors[f"transformer.{name}.lora_A.weight"] = torch.randn(rank, module.in_features, generator=generator)
            tensors[f"transformer.{name}.lora_B.weight"] = torch.randn(module.out_features, rank, generator=generator)
    assert tensors
    save_file(tensors, str(path))
    return path


def test_lora_is_applied_then_unloaded(model, ctx, tmp_path):
    transformer = model.modules["pipeline"].transformer
    before = {key: value.clone() for key, value in transformer.state_dict().items()}
    plain = generate(model, ctx)
    lora = write_tiny_lora(model, tmp_path / "tiny-lora.safetensors")

    with_lora = generate(model, ctx, loras=(LoraWeight(str(lora), 0.8),))
    assert not np.array_equal(plain, with_lora)

    after = transformer.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(before[key], after[key]) for key in before)
    assert np.array_equal(plain, generate(model, ctx))


def test_lora_is_unloaded_when_the_task_is_cancelled(model, tmp_path):
    transformer = model.modules["pipeline"].transformer
    keys = set(transformer.state_dict())
    lora = write_tiny_lora(model, tmp_path / "tiny-lora.safetensors")
    ctx = RecordingContext(tmp_path, cancel_after_reports=1)
    with pytest.raises(TaskCancelled):
        generate(model, ctx, steps=4, loras=(LoraWeight(str(lora)),))
    assert set(transformer.state_dict()) == keys


def test_single_file_transformer_checkpoint(tiny_path, tmp_path, ctx):
    """An original-format .safetensors transformer beside the diffusers layout, of another depth and width."""
    from diffusers import LTXVideoTransformer3DModel

    folder = tmp_path / "single"
    shutil.copytree(tiny_path, folder)
    torch.manual_seed(5)
    other = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        num_attention_heads=4,
        attention_head_dim=16,
        cross_attention_dim=64,
        num_layers=1,
        caption_channels=32,
    )
    original_names = {"proj_in": "patchify_proj", "time_embed": "adaln_single", "norm_q": "q_norm", "norm_k": "k_norm"}
    original = {}
    for key, value in other.state_dict().items():
        for diffusers_name, original_name in original_names.items():
            key = key.replace(diffusers_name, original_name)
        original[f"model.diffusion_model.{key}"] = value.contiguous()
    checkpoint = folder / "ltxv-tiny.safetensors"
    save_file(original, str(checkpoint))

    config = ModelConfig(name="single", family="ltx-video", path=checkpoint)
    loaded = LTXVideoFamily().load(config, CPU)
    transformer = loaded.modules["pipeline"].transformer
    assert transformer.config.num_layers == 1 and transformer.config.attention_head_dim == 16
    assert all(torch.equal(value, transformer.state_dict()[key]) for key, value in other.state_dict().items())
    assert_video(generate(loaded, ctx))


def test_a_lone_single_file_checkpoint_asks_for_the_diffusers_layout(tmp_path):
    checkpoint = tmp_path / "ltxv-lone.safetensors"
    save_file({"patchify_proj.weight": torch.zeros(4, 4)}, str(checkpoint))
    config = ModelConfig(name="lone", family="ltx-video", path=checkpoint)
    with pytest.raises(FailedPrecondition, match=r"model_index\.json.*`milimo models pull lone`"):
        LTXVideoFamily().load(config, CPU)


def test_loading_keeps_the_requested_dtype_in_every_pipeline(tiny_path):
    config = ModelConfig(name="half", family="ltx-video", path=tiny_path)
    loaded = LTXVideoFamily().load(config, Placement(torch.device("cpu"), torch.bfloat16))
    pipes = loaded.modules["pipelines"]
    assert pipes.condition.transformer is pipes.text_to_video.transformer
    assert {p.dtype for m in loaded.torch_modules() for p in m.parameters()} == {torch.bfloat16}
