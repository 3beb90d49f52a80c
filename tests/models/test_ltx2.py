"""LTX-2 on real diffusers pipelines with a tiny random-weight checkpoint written and reloaded from disk."""

from __future__ import annotations

import re
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from milimo.config import ModelConfig
from milimo.errors import FailedPrecondition
from milimo.models.base import LoadedModel, MissingWeights, Placement
from milimo.models.ltx2 import UPSAMPLER_DIR, LTX2Family
from milimo.models.requests import LoraWeight, VideoCondition, VideoRequest, VideoResult
from milimo.tasks.context import TaskCancelled
from tests.models import ltx2_original
from tests.models.rounding import same_up_to_rounding
from tests.task_context import RecordingContext

CPU = Placement(device=torch.device("cpu"), dtype=torch.float32)


@pytest.fixture(scope="session")
def ltx2_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ltx2") / "tiny-ltx2"
    LTX2Family().make_tiny(path)
    return path


@pytest.fixture(scope="session")
def ltx2(ltx2_path) -> LoadedModel:
    return LTX2Family().load(ModelConfig(name="tiny-ltx2", family="ltx2", path=ltx2_path), CPU)


@pytest.fixture
def ctx(tmp_path) -> RecordingContext:
    return RecordingContext(tmp_path)


def request(cls=VideoRequest, **overrides) -> VideoRequest:
    fields = dict(prompt="a red car on a street", width=64, height=64, frames=9, fps=Fraction(24), steps=2, seed=7)
    fields.update(overrides)
    return cls(**fields)


def pattern(frames: int, height: int = 48, width: int = 80, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (frames, height, width, 3), dtype=np.uint8)


def generate(model, ctx, cls=VideoRequest, **overrides) -> VideoResult:
    result = LTX2Family().generate(model, request(cls, **overrides), ctx)
    assert result.fps == Fraction(24)
    return result


def assert_video(result: VideoResult, count: int = 9, height: int = 64, width: int = 64) -> None:
    assert result.frames.shape == (count, height, width, 3)
    assert result.frames.dtype == np.uint8
    assert result.frames.std() > 0  # a decoded picture, not a constant fill
    # Audio comes with every pipeline: (channels, samples) float32 lasting about as long as the video.
    audio, rate = result.audio, result.audio_sample_rate
    assert audio is not None and audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[0] == 2
    assert rate == 8000  # the tiny vocoder's
    assert audio.shape[1] == pytest.approx(count / 24 * rate, rel=0.15)
    assert np.isfinite(audio).all() and audio.std() > 0


def test_tiny_checkpoint_is_the_diffusers_layout(ltx2_path):
    for name in ("transformer", "vae", "audio_vae", "vocoder", "connectors", "text_encoder", UPSAMPLER_DIR):
        assert (ltx2_path / name / "config.json").is_file()
    assert (ltx2_path / "scheduler" / "scheduler_config.json").is_file()
    assert (ltx2_path / "model_index.json").is_file()
    assert list((ltx2_path / "tokenizer").iterdir())


def test_the_pipelines_share_one_set_of_weights(ltx2):
    pipes = ltx2.modules["pipelines"]
    for pipe in (pipes.image_to_video, pipes.condition, pipes.in_context):
        for name in ("transformer", "vae", "audio_vae", "vocoder", "connectors", "text_encoder"):
            assert getattr(pipe, name) is getattr(pipes.text_to_video, name)
    assert pipes.upsample.vae is pipes.text_to_video.vae
    unique = {id(m): m for m in ltx2.torch_modules()}
    assert len(unique) == len(ltx2.torch_modules())
    assert (pipes.spatial_ratio, pipes.temporal_ratio) == (32, 8)  # the real model's


def test_text_to_video_with_audio(ltx2, ctx):
    result = generate(ltx2, ctx)
    assert_video(result)
    assert [step for step, _ in ctx.steps] == [1, 2]
    assert "text to video" in ctx.logs[0]
    longer = generate(ltx2, ctx, frames=17)
    assert_video(longer, count=17)
    assert longer.audio.shape[1] > result.audio.shape[1]


def test_same_seed_same_output_other_seed_other_output(ltx2, ctx):
    first = generate(ltx2, ctx, seed=3)
    again = generate(ltx2, ctx, seed=3)
    assert np.array_equal(first.frames, again.frames) and np.array_equal(first.audio, again.audio)
    assert not np.array_equal(first.frames, generate(ltx2, ctx, seed=4).frames)


def test_image_to_video(ltx2, ctx):
    result = generate(ltx2, ctx, conditions=(VideoCondition(pattern(1)),))
    assert_video(result)
    assert "image to video" in ctx.logs[0]
    other = generate(ltx2, ctx, conditions=(VideoCondition(pattern(1, seed=5)),))
    assert not np.array_equal(result.frames, other.frames)  # the image steers the video


def test_first_and_last_keyframes(ltx2, ctx):
    keyframes = (VideoCondition(pattern(1, seed=1), frame_index=0), VideoCondition(pattern(1, seed=2), frame_index=8))
    assert_video(generate(ltx2, ctx, conditions=keyframes, width=96), width=96)
    assert "condition" in ctx.logs[0]


def test_video_clip_condition(ltx2, ctx):
    clip = VideoCondition(pattern(9, seed=3), frame_index=0, strength=0.8)
    assert_video(generate(ltx2, ctx, conditions=(clip,), frames=17), count=17)
    assert "condition" in ctx.logs[0]


def test_control_video_runs_in_context(ltx2, ctx):
    control = VideoCondition(pattern(9, seed=4))
    result = generate(ltx2, ctx, control=control)
    assert_video(result)
    assert "in context" in ctx.logs[0]
    other = generate(ltx2, ctx, control=VideoCondition(pattern(9, seed=5)))
    assert not np.array_equal(result.frames, other.frames)  # the control video steers it


def test_two_stage_upscale(ltx2, ctx):
    # 128x64 -> first pass at 64x32, video latents upsampled 2x, refined with the 3 stage-2 sigmas.
    assert_video(generate(ltx2, ctx, upscale=True, width=128, conditions=(VideoCondition(pattern(1)),)), width=128)
    reported = [step for step, _, message, _ in ctx.events if message != "upsampling latents"]
    assert reported == [1, 2, 3, 4, 5] and ctx.steps[-1][1] == 2 + 3
    assert any(message == "refining" for _, _, message, _ in ctx.events)


def test_cancel_stops_within_one_step(ltx2, tmp_path):
    ctx = RecordingContext(tmp_path, cancel_after_reports=1)
    with pytest.raises(TaskCancelled):
        generate(ltx2, ctx, steps=6)
    assert len(ctx.steps) <= 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"frames": 10}, "frames"),
        ({"width": 50}, "width"),
        ({"height": 16}, "height"),
        ({"upscale": True, "width": 96}, "width"),  # half of it must fit the latent grid too
        ({"steps": 0}, "steps"),
        ({"conditions": (VideoCondition(pattern(1), frame_index=9),)}, "conditions[0].frame_index"),
        ({"conditions": (VideoCondition(pattern(1), strength=1.5),)}, "conditions[0].strength"),
        ({"conditions": (VideoCondition(pattern(1).astype(np.float32)),)}, "conditions[0].frames"),
        ({"control": VideoCondition(pattern(9), strength=2.0)}, "control.strength"),
        ({"loras": (LoraWeight("/nonexistent/lora.safetensors"),)}, "loras[0].path"),
    ],
)
def test_invalid_requests_name_the_field(ltx2, ctx, overrides, field):
    with pytest.raises(ValueError, match=re.escape(field)):
        generate(ltx2, ctx, **overrides)
    assert ctx.steps == []


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_missing_weights_say_how_to_pull(tmp_path, where):
    path = tmp_path / "nothing-here"
    if where == "empty":
        path.mkdir()
    config = ModelConfig(name="ltx2-big", family="ltx2", path=path)
    with pytest.raises(MissingWeights, match=r"`milimo models pull ltx2-big`") as raised:
        LTX2Family().load(config, CPU)
    assert str(path) in str(raised.value)


def test_lora_is_applied_then_unloaded(ltx2, ctx, tmp_path):
    transformer = ltx2.modules["pipeline"].transformer
    before = {key: value.clone() for key, value in transformer.state_dict().items()}
    plain = generate(ltx2, ctx).frames
    generator = torch.Generator().manual_seed(11)
    tensors = {}
    for name, module in transformer.named_modules():
        if isinstance(module, torch.nn.Linear) and re.search(
            r"transformer_blocks\.\d+\.attn1\.(to_[qkv]|to_out\.0)$", name
        ):
            tensors[f"transformer.{name}.lora_A.weight"] = torch.randn(4, module.in_features, generator=generator)
            tensors[f"transformer.{name}.lora_B.weight"] = torch.randn(module.out_features, 4, generator=generator)
    assert tensors
    save_file(tensors, str(tmp_path / "lora.safetensors"))

    with_lora = generate(ltx2, ctx, loras=(LoraWeight(str(tmp_path / "lora.safetensors"), 0.8),)).frames
    assert not np.array_equal(plain, with_lora)
    after = transformer.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(before[key], after[key]) for key in before)


def test_loading_keeps_the_requested_dtype_in_every_pipeline(ltx2_path):
    config = ModelConfig(name="half", family="ltx2", path=ltx2_path)
    loaded = LTX2Family().load(config, Placement(torch.device("cpu"), torch.bfloat16))
    pipes = loaded.modules["pipelines"]
    assert pipes.in_context.transformer is pipes.text_to_video.transformer
    assert {p.dtype for m in loaded.torch_modules() for p in m.parameters()} == {torch.bfloat16}


def single_file_beside_the_layout(ltx2_path: Path, folder: Path, parts: tuple[str, ...]) -> Path:
    """A copy of the tiny model whose `parts` live only in one original-format .safetensors beside the layout."""
    shutil.copytree(ltx2_path, folder)
    originals = {}
    for name in parts:
        weights = folder / name / "diffusion_pytorch_model.safetensors"
        originals[name] = getattr(ltx2_original, name)(load_file(weights))
        weights.unlink()  # only the config stays: the weights must come from the single file
    return ltx2_original.write(folder / "ltx-2-tiny.safetensors", **originals)


@pytest.mark.parametrize("parts", [("transformer",), ("transformer", "vae", "audio_vae")])
def test_single_file_checkpoint_gives_the_same_video_and_audio(ltx2, ltx2_path, tmp_path, ctx, parts):
    checkpoint = single_file_beside_the_layout(ltx2_path, tmp_path / "single", parts)
    loaded = LTX2Family().load(ModelConfig(name="single", family="ltx2", path=checkpoint), CPU)
    for name in parts:
        expected = getattr(ltx2.modules["pipeline"], name).state_dict()
        actual = getattr(loaded.modules["pipeline"], name).state_dict()
        assert actual.keys() == expected.keys() and all(torch.equal(actual[k], expected[k]) for k in expected)
    assert loaded.modules["pipelines"].upsample is not None  # the folder's latent upsampler
    from_folder, from_file = generate(ltx2, ctx, seed=5), generate(loaded, ctx, seed=5)
    assert same_up_to_rounding(from_file.frames, from_folder.frames)
    assert same_up_to_rounding(from_file.audio, from_folder.audio)


def test_a_single_file_checkpoint_is_refused_when_it_cannot_be_read(ltx2_path, tmp_path):
    lone = tmp_path / "ltx-2-lone.safetensors"
    save_file({"model.diffusion_model.proj_out.weight": torch.zeros(4, 4)}, str(lone))
    with pytest.raises(FailedPrecondition, match=r"model_index\.json.*`milimo models pull lone`"):
        LTX2Family().load(ModelConfig(name="lone", family="ltx2", path=lone), CPU)

    checkpoint = single_file_beside_the_layout(ltx2_path, tmp_path / "vae-only", ("vae",))
    with pytest.raises(FailedPrecondition, match="holds no LTX-2 transformer weights"):
        LTX2Family().load(ModelConfig(name="vae-only", family="ltx2", path=checkpoint), CPU)

    state = load_file(ltx2_path / "transformer" / "diffusion_pytorch_model.safetensors")
    partial = {key: value for key, value in state.items() if not key.startswith("transformer_blocks.1.")}
    shallow = ltx2_original.write(
        checkpoint.parent / "shallow.safetensors", transformer=ltx2_original.transformer(partial)
    )
    with pytest.raises(FailedPrecondition, match="lacks some of the transformer weights"):
        LTX2Family().load(ModelConfig(name="shallow", family="ltx2", path=shallow), CPU)
