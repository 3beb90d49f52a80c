"""FLUX.1 on a tiny random-weight checkpoint: real diffusers pipelines, loaded back from disk."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from milimo.config import ModelConfig
from milimo.models.base import LoadedModel, MissingWeights, Placement
from milimo.models.families import family
from milimo.models.flux import FILL_DIR, REDUX_DIR, FluxFamily
from milimo.models.requests import ImageRequest, LoraWeight
from milimo.tasks.context import TaskCancelled
from tests.models.lora import random_lora
from tests.task_context import RecordingContext

pytestmark = pytest.mark.slow

CPU = Placement(device=torch.device("cpu"), dtype=torch.float32)
W, H = 32, 48


def picture(seed: int, height: int = H, width: int = W) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def request(**fields: object) -> ImageRequest:
    return ImageRequest(**{"prompt": "a red fox in snow", "width": W, "height": H, "steps": 2, **fields})


@pytest.fixture(scope="session")
def flux_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("flux-tiny")
    FluxFamily().make_tiny(target)
    return target


@pytest.fixture(scope="module")
def model(flux_dir: Path) -> LoadedModel:
    return FluxFamily().load(ModelConfig(name="flux-tiny", family="flux", path=flux_dir), CPU)


@pytest.fixture(scope="module")
def bare_model(flux_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """The same base weights without the fill/ and redux/ subfolders."""
    bare = tmp_path_factory.mktemp("flux-bare")
    for entry in flux_dir.iterdir():
        if entry.name not in (FILL_DIR, REDUX_DIR):
            (bare / entry.name).symlink_to(entry)
    return FluxFamily().load(ModelConfig(name="flux-bare", family="flux", path=bare), CPU)


@pytest.fixture(scope="module")
def lora_file(flux_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA on the tiny transformer's attention, with random (non-zero) up-projections."""
    from diffusers import FluxPipeline, FluxTransformer2DModel

    transformer = FluxTransformer2DModel.from_pretrained(flux_dir, subfolder="transformer")
    return random_lora(FluxPipeline, transformer, tmp_path_factory.mktemp("flux-lora"))


def generate(model: LoadedModel, ctx: RecordingContext | None = None, **fields: object) -> np.ndarray:
    image = FluxFamily().generate(model, request(**fields), ctx or RecordingContext()).image
    assert image.shape == (H, W, 3) and image.dtype == np.uint8
    return image


def test_registry_names_the_family():
    assert isinstance(family("flux"), FluxFamily)


def test_missing_weights_says_how_to_pull(tmp_path: Path):
    config = ModelConfig(name="flux-dev", family="flux", path=tmp_path / "absent")
    with pytest.raises(MissingWeights, match="milimo models pull flux-dev"):
        FluxFamily().load(config, CPU)


def test_text_to_image_is_seeded_and_reports_each_step(model: LoadedModel):
    ctx = RecordingContext()
    first = generate(model, ctx, seed=7)
    assert ctx.steps == [(1, 2), (2, 2)]
    assert np.array_equal(first, generate(model, seed=7))
    assert not np.array_equal(first, generate(model, seed=8))


def test_true_cfg_uses_the_negative_prompt(model: LoadedModel):
    plain = generate(model, seed=3)
    guided = generate(model, seed=3, true_cfg=4.0, negative_prompt="blurry")
    assert not np.array_equal(plain, guided)


def test_image_to_image_runs_the_strength_share_of_steps(model: LoadedModel):
    ctx = RecordingContext()
    generate(model, ctx, init_image=picture(1, 64, 40), steps=4, strength=0.5)  # resized to the request
    assert ctx.steps == [(1, 2), (2, 2)]


def test_fill_inpainting_keeps_every_pixel_outside_the_mask(model: LoadedModel):
    init = picture(2)
    mask = np.zeros((H, W), np.uint8)
    mask[8:40, 8:24] = 255
    ctx = RecordingContext()
    out = generate(model, ctx, init_image=init, mask=mask, true_cfg=2.0)
    assert np.array_equal(out[mask == 0], init[mask == 0])
    assert not np.array_equal(out[mask == 255], init[mask == 255])
    assert type(model.modules["pipelines"]["inpaint"]).__name__ == "FluxFillPipeline"
    assert any("true_cfg ignored" in line for line in ctx.logs)


def test_inpainting_without_fill_weights_uses_the_base_transformer(bare_model: LoadedModel):
    init = picture(3)
    mask = np.zeros((H, W), np.uint8)
    mask[:, W // 2 :] = 255
    out = generate(bare_model, init_image=init, mask=mask, steps=3, strength=0.9)
    assert np.array_equal(out[mask == 0], init[mask == 0])
    assert type(bare_model.modules["pipelines"]["inpaint"]).__name__ == "FluxInpaintPipeline"


def test_redux_references_condition_the_image(model: LoadedModel, bare_model: LoadedModel):
    plain = generate(model, seed=5)
    one = generate(model, seed=5, references=(picture(4, 40, 56),))
    two = generate(model, seed=5, references=(picture(4, 40, 56), picture(5, 24, 24)))
    assert not np.array_equal(plain, one) and not np.array_equal(one, two)
    # With true CFG the negative side carries the references too (same sequence length in every pipeline).
    generate(model, seed=5, references=(picture(4),), init_image=picture(6), true_cfg=2.0, negative_prompt="dark")
    with pytest.raises(ValueError, match="references"):
        generate(bare_model, references=(picture(4),))


def test_cancel_stops_within_one_step(model: LoadedModel):
    ctx = RecordingContext(cancel_after_reports=1)
    with pytest.raises(TaskCancelled):
        generate(model, ctx, steps=20)
    assert len(ctx.steps) == 1


def test_lora_applies_for_one_request_and_is_unloaded_even_on_cancel(model: LoadedModel, lora_file: Path):
    baseline = generate(model, seed=9)
    lora = (LoraWeight(path=str(lora_file), weight=1.0),)
    with_lora = generate(model, seed=9, loras=lora)
    assert not np.array_equal(baseline, with_lora)
    assert np.array_equal(baseline, generate(model, seed=9))
    with pytest.raises(TaskCancelled):
        generate(model, RecordingContext(cancel_after_reports=1), seed=9, loras=lora, steps=5)
    transformer = model.modules["pipeline"].transformer
    assert not any("lora" in name for name, _ in transformer.named_modules())
    assert np.array_equal(baseline, generate(model, seed=9))
    with pytest.raises(ValueError, match="loras"):
        generate(model, loras=(LoraWeight(path=str(lora_file.parent / "absent.safetensors")),))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"width": 40}, "width"),
        ({"height": 0}, "height"),
        ({"mask": np.zeros((H, W), np.uint8)}, "mask"),
        ({"init_image": picture(1), "mask": np.zeros((H, W + 16), np.uint8)}, "mask"),
        ({"init_image": picture(1), "strength": 0.0}, "strength"),
        ({"init_image": np.zeros((H, W), np.uint8)}, "init_image"),
    ],
)
def test_bad_requests_name_the_field(model: LoadedModel, fields: dict, field: str):
    with pytest.raises(ValueError, match=f"^{field}: "):
        FluxFamily().generate(model, dataclasses.replace(request(), **fields), RecordingContext())


def test_weights_are_counted_once(model: LoadedModel, bare_model: LoadedModel):
    # The derived pipelines share the base modules; only fill/ and redux/ add weights.
    assert model.nbytes() > bare_model.nbytes()
    extra = sum(
        t.numel() * t.element_size()
        for key in ("fill_transformer", "redux_image_encoder", "redux_image_embedder")
        for t in (*model.modules[key].parameters(), *model.modules[key].buffers())
    )
    assert model.nbytes() == bare_model.nbytes() + extra
