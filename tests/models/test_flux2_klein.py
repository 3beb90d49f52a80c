"""FLUX.2 klein on a tiny random-weight checkpoint: real diffusers pipelines, loaded back from disk."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from milimo.config import ModelConfig
from milimo.models.base import LoadedModel, MissingWeights, Placement
from milimo.models.families import family
from milimo.models.flux2_klein import Flux2KleinFamily
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
def klein_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("flux2-klein-tiny")
    Flux2KleinFamily().make_tiny(target)
    return target


@pytest.fixture(scope="module")
def model(klein_dir: Path) -> LoadedModel:
    return Flux2KleinFamily().load(ModelConfig(name="klein-tiny", family="flux2-klein", path=klein_dir), CPU)


@pytest.fixture(scope="module")
def lora_file(klein_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA on the tiny transformer's attention, with random (non-zero) up-projections."""
    from diffusers import Flux2KleinPipeline, Flux2Transformer2DModel

    transformer = Flux2Transformer2DModel.from_pretrained(klein_dir, subfolder="transformer")
    return random_lora(Flux2KleinPipeline, transformer, tmp_path_factory.mktemp("klein-lora"))


def generate(model: LoadedModel, ctx: RecordingContext | None = None, **fields: object) -> np.ndarray:
    image = Flux2KleinFamily().generate(model, request(**fields), ctx or RecordingContext()).image
    assert image.shape == (H, W, 3) and image.dtype == np.uint8
    return image


def test_registry_names_the_family():
    assert isinstance(family("flux2-klein"), Flux2KleinFamily)


def test_missing_weights_says_how_to_pull(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    config = ModelConfig(name="klein-4b", family="flux2-klein", path=empty)
    with pytest.raises(MissingWeights, match="milimo models pull klein-4b"):
        Flux2KleinFamily().load(config, CPU)


def test_text_to_image_is_seeded_and_reports_each_step(model: LoadedModel):
    ctx = RecordingContext()
    first = generate(model, ctx, seed=7)
    assert ctx.steps == [(1, 2), (2, 2)]
    assert np.array_equal(first, generate(model, seed=7))
    assert not np.array_equal(first, generate(model, seed=8))


def test_guidance_and_negative_prompt_change_the_image(model: LoadedModel):
    plain = generate(model, seed=3, guidance=1.0)
    guided = generate(model, seed=3, guidance=4.0)
    negative = generate(model, seed=3, guidance=4.0, negative_prompt="blurry")
    assert not np.array_equal(plain, guided) and not np.array_equal(guided, negative)
    assert np.array_equal(guided, generate(model, seed=3, guidance=1.0, true_cfg=4.0))


def test_reference_images_condition_the_image(model: LoadedModel):
    plain = generate(model, seed=5)
    one = generate(model, seed=5, references=(picture(4, 64, 96),))
    two = generate(model, seed=5, references=(picture(4, 64, 96), picture(5, 80, 64)))
    assert not np.array_equal(plain, one) and not np.array_equal(one, two)


def test_image_to_image_runs_the_strength_share_of_steps(model: LoadedModel):
    ctx = RecordingContext()
    generate(model, ctx, init_image=picture(1, 64, 40), steps=4, strength=0.5)  # resized to the request
    assert ctx.steps == [(1, 2), (2, 2)]


def test_inpainting_keeps_every_pixel_outside_the_mask(model: LoadedModel):
    init = picture(2)
    mask = np.zeros((H, W), np.uint8)
    mask[8:40, 8:24] = 255
    out = generate(model, init_image=init, mask=mask, strength=1.0, references=(picture(6, 64, 64),))
    assert np.array_equal(out[mask == 0], init[mask == 0])
    assert not np.array_equal(out[mask == 255], init[mask == 255])


def test_cancel_stops_within_one_step(model: LoadedModel):
    ctx = RecordingContext(cancel_after_reports=1)
    with pytest.raises(TaskCancelled):
        generate(model, ctx, steps=20)
    assert len(ctx.steps) == 1


def test_lora_applies_for_one_request_and_is_unloaded_even_on_cancel(model: LoadedModel, lora_file: Path):
    baseline = generate(model, seed=9)
    lora = (LoraWeight(path=str(lora_file), weight=1.0),)
    assert not np.array_equal(baseline, generate(model, seed=9, loras=lora))
    assert np.array_equal(baseline, generate(model, seed=9))
    with pytest.raises(TaskCancelled):
        generate(model, RecordingContext(cancel_after_reports=1), seed=9, loras=lora, steps=5, init_image=picture(1))
    transformer = model.modules["pipeline"].transformer
    assert not any("lora" in name for name, _ in transformer.named_modules())
    assert np.array_equal(baseline, generate(model, seed=9))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"width": 24}, "width"),
        ({"height": -16}, "height"),
        ({"steps": 0}, "steps"),
        ({"mask": np.zeros((H, W), np.uint8)}, "mask"),
        ({"init_image": picture(1), "mask": np.zeros((H + 1, W), np.uint8)}, "mask"),
        ({"references": (picture(1, 32, 64),)}, r"references\[0\]"),
        ({"references": (picture(1, 64, 640),)}, r"references\[0\]"),
        ({"init_image": picture(1), "references": (picture(1, 64, 64), picture(2, 64, 64))}, "references"),
        ({"init_image": picture(1), "width": 1040, "height": 1024}, "width"),
    ],
)
def test_bad_requests_name_the_field(model: LoadedModel, fields: dict, field: str):
    with pytest.raises(ValueError, match=f"^{field}: "):
        Flux2KleinFamily().generate(model, dataclasses.replace(request(), **fields), RecordingContext())
