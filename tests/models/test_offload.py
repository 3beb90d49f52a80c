"""CPU offload armed per call, the same way for the video and the image families.

Under offload = "model" and "sequential" every pipeline kind of every diffusers family gives exactly what it gives
without offload for the same seed, and leaves no hooks behind, even when a run is cancelled. The models run on the
machine's accelerator when it has one (where offload moves modules for real), else on the CPU (accelerate's hooks
work there too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from milimo.config import ModelConfig
from milimo.errors import InvalidArgument
from milimo.models.base import LoadedModel, Placement
from milimo.models.devices import pick_device
from milimo.models.families import family
from milimo.models.requests import ImageRequest, LoraWeight, VideoCondition, VideoRequest
from milimo.tasks.context import TaskCancelled
from tests.models.lora import random_lora
from tests.models.rounding import same_up_to_rounding
from tests.task_context import RecordingContext

pytestmark = pytest.mark.slow

DEVICE = pick_device()
MODES = (
    "model",
    pytest.param(
        "sequential",
        marks=pytest.mark.skipif(
            DEVICE.type == "cpu",
            reason="diffusers offloads to an indexed device, 'cpu:0' here, and torch turns parameters moved there into "
            "plain tensors, on which accelerate's sequential hooks fail (accelerate#2314); the arbiter runs models on "
            "the CPU without offload",
        ),
    ),
)


def picture(seed: int, height: int, width: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def clip(frames: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (frames, 48, 80, 3), dtype=np.uint8)


def video(**fields: Any) -> VideoRequest:
    base = dict(prompt="a red car on a street", width=64, height=64, frames=9, fps=Fraction(24), steps=2, seed=7)
    return VideoRequest(**{**base, **fields})


def image(**fields: Any) -> ImageRequest:
    return ImageRequest(**{"prompt": "a red fox in snow", "width": 32, "height": 48, "steps": 2, "seed": 7, **fields})


def mask() -> np.ndarray:
    out = np.zeros((48, 32), np.uint8)
    out[8:40, 8:24] = 255
    return out


IMAGE_TO_VIDEO = (VideoCondition(clip(1, 1)),)
KEYFRAMES = (VideoCondition(clip(1, 1), frame_index=0), VideoCondition(clip(1, 2), frame_index=8))

# (family, pipeline kind) -> the request that runs that kind; "upsample" is the two-stage path, whose
# condition pipeline and latent upsample pipeline take turns with the hooks.
CASES: dict[tuple[str, str], Any] = {
    ("ltx-video", "text_to_video"): video(),
    ("ltx-video", "image_to_video"): video(conditions=IMAGE_TO_VIDEO),
    ("ltx-video", "condition"): video(conditions=KEYFRAMES),
    ("ltx-video", "upsample"): video(upscale=True, width=96, steps=3, conditions=IMAGE_TO_VIDEO),
    ("ltx2", "text_to_video"): video(),
    ("ltx2", "image_to_video"): video(conditions=IMAGE_TO_VIDEO),
    ("ltx2", "condition"): video(conditions=KEYFRAMES),
    ("ltx2", "in_context"): video(control=VideoCondition(clip(9, 3))),
    ("ltx2", "upsample"): video(upscale=True, width=128, conditions=IMAGE_TO_VIDEO),
    ("flux", "text"): image(true_cfg=2.0, negative_prompt="blurry"),
    ("flux", "image"): image(init_image=picture(1, 48, 32), strength=0.7),
    ("flux", "inpaint"): image(init_image=picture(2, 48, 32), mask=mask()),
    ("flux", "redux"): image(references=(picture(3, 40, 56),)),
    ("flux2-klein", "text"): image(references=(picture(4, 64, 64),), true_cfg=2.0, negative_prompt="blurry"),
    ("flux2-klein", "inpaint"): image(init_image=picture(5, 48, 32), mask=mask()),
}


@dataclass(frozen=True)
class Output:
    pictures: np.ndarray
    audio: np.ndarray | None = None

    def same_as(self, other: Output) -> bool:
        return same_up_to_rounding(self.pictures, other.pictures) and same_up_to_rounding(self.audio, other.audio)


class HooksSeen(RecordingContext):
    """Notes at each progress report whether the model's modules carry accelerate's hooks."""

    def __init__(self, model: LoadedModel) -> None:
        super().__init__()
        self.model = model
        self.hooked: list[bool] = []

    def progress(self, step: int, total: int, message: str = "", preview: bytes | None = None) -> None:
        super().progress(step, total, message, preview)
        self.hooked.append(any(hasattr(module, "_hf_hook") for module in self.model.torch_modules()))


def run(model: LoadedModel, request: Any, ctx: RecordingContext | None = None) -> Output:
    result = family(model.config.family).generate(model, request, ctx or RecordingContext())
    if isinstance(request, VideoRequest):
        return Output(result.frames, result.audio)
    return Output(result.image)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("offload-models")
    paths = {}
    for name in ("ltx-video", "ltx2", "flux", "flux2-klein"):
        family(name).make_tiny(root / name)
        paths[name] = root / name
    return paths


@pytest.fixture(scope="module")
def load(checkpoints: dict[str, Path]) -> Iterator[Callable[[str, str], LoadedModel]]:
    """`load(family, offload)`: the family's tiny model loaded with that offload, once per module."""
    cache: dict[tuple[str, str], LoadedModel] = {}

    def loaded(name: str, offload: str) -> LoadedModel:
        if (name, offload) not in cache:
            config = ModelConfig(name=f"{name}-{offload}", family=name, path=checkpoints[name], offload=offload)
            placement = Placement(device=DEVICE, dtype=torch.float32, offload=offload)
            cache[(name, offload)] = family(name).load(config, placement)
        return cache[(name, offload)]

    yield loaded
    cache.clear()


@pytest.fixture(scope="module")
def without_offload(load: Callable[[str, str], LoadedModel]) -> Callable[[str, str], Output]:
    """What each case gives with offload = "none", computed once."""
    outputs: dict[tuple[str, str], Output] = {}

    def output(name: str, kind: str) -> Output:
        if (name, kind) not in outputs:
            outputs[(name, kind)] = run(load(name, "none"), CASES[(name, kind)])
        return outputs[(name, kind)]

    return output


def assert_resting_on_the_cpu(model: LoadedModel) -> None:
    """Between calls an offloaded model is a plain CPU model: no hooks, every weight real and on the CPU."""
    for module in model.torch_modules():
        assert not any(hasattr(sub, "_hf_hook") for sub in module.modules()), type(module).__name__
        for tensor in (*module.parameters(), *module.buffers()):
            assert tensor.device.type == "cpu", type(module).__name__


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "kind"), list(CASES))
def test_offload_gives_the_same_result_for_every_pipeline_kind(load, without_offload, name, kind, mode):
    model = load(name, mode)
    ctx = HooksSeen(model)
    assert run(model, CASES[(name, kind)], ctx).same_as(without_offload(name, kind))
    assert any(ctx.hooked)  # offloaded while it ran
    assert_resting_on_the_cpu(model)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "kind"), [("ltx-video", "upsample"), ("ltx2", "text_to_video"), ("flux", "redux")])
def test_a_cancelled_run_puts_every_module_back(load, without_offload, name, kind, mode):
    model = load(name, mode)
    with pytest.raises(TaskCancelled):
        run(model, CASES[(name, kind)], RecordingContext(cancel_after_reports=1))
    assert_resting_on_the_cpu(model)
    assert run(model, CASES[(name, kind)]).same_as(without_offload(name, kind))  # the next run is unharmed


@pytest.mark.parametrize("mode", MODES)
def test_loras_load_into_an_offloaded_model(load, checkpoints, tmp_path, mode):
    from diffusers import FluxPipeline, FluxTransformer2DModel

    transformer = FluxTransformer2DModel.from_pretrained(checkpoints["flux"], subfolder="transformer")
    lora = (LoraWeight(str(random_lora(FluxPipeline, transformer, tmp_path)), 0.8),)
    plain = CASES[("flux", "text")]
    with_lora = image(true_cfg=2.0, negative_prompt="blurry", loras=lora)
    expected = run(load("flux", "none"), with_lora)
    assert not expected.same_as(run(load("flux", "none"), plain))
    model = load("flux", mode)
    assert run(model, with_lora).same_as(expected)
    assert run(model, plain).same_as(run(load("flux", "none"), plain))  # unloaded after the run
    assert_resting_on_the_cpu(model)


def test_an_unknown_offload_is_refused_naming_the_field():
    with pytest.raises(InvalidArgument, match="none, model, sequential") as raised:
        Placement(device=torch.device("cpu"), dtype=torch.float32, offload="disk")
    assert raised.value.field == "offload"
