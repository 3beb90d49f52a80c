"""The arbiter with real families: switching video and image models, and an OOM inside a denoising step."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

from milimo.config import ModelConfig
from milimo.models.arbiter import AcceleratorOutOfMemory, Arbiter
from milimo.models.families import family
from milimo.models.requests import ImageRequest, VideoRequest
from tests.task_context import RecordingContext

VIDEO = VideoRequest(prompt="a lighthouse at dusk", width=64, height=64, frames=9, fps=Fraction(24), steps=2)
IMAGE = ImageRequest(prompt="a lighthouse at dusk", width=32, height=32, steps=2)


class OutOfMemoryAtStep(RecordingContext):
    """Raises what CUDA raises when an allocation fails, from inside the pipeline's step callback."""

    def progress(self, step: int, total: int, message: str = "", preview: bytes | None = None) -> None:
        super().progress(step, total, message, preview)
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")


@pytest.fixture(scope="module")
def arbiter(tmp_path_factory: pytest.TempPathFactory) -> Arbiter:
    root = tmp_path_factory.mktemp("arbiter-models")
    configs = {}
    for name, family_name in (("video", "ltx-video"), ("image", "flux")):
        family(family_name).make_tiny(root / name)
        configs[name] = ModelConfig(name=name, family=family_name, path=root / name, device="cpu", dtype="float32")
    return Arbiter(configs, device="cpu")


def test_switching_models_keeps_one_on_the_accelerator(arbiter):
    for name in ("video", "image", "video"):
        with arbiter.acquire(name) as model:
            assert arbiter.ledger.on_accelerator() == [name]
            request = VIDEO if name == "video" else IMAGE
            family(model.config.family).generate(model, request, RecordingContext())
    assert arbiter.ledger.peak_resident == 1
    assert arbiter.state() == {"video": "on_accelerator", "image": "in_ram"}


def test_out_of_memory_inside_a_step_fails_that_job_only(arbiter):
    with pytest.raises(AcceleratorOutOfMemory), arbiter.acquire("video") as model:
        family("ltx-video").generate(model, VIDEO, OutOfMemoryAtStep())
    assert arbiter.state() == {"video": "on_disk", "image": "on_disk"}
    with arbiter.acquire("image") as model:  # the next job loads again and runs
        result = family("flux").generate(model, IMAGE, RecordingContext())
    assert result.image.shape == (32, 32, 3)


def test_vae_tiling_in_the_config_reaches_the_pipelines_vae(arbiter):
    tiled = ModelConfig(name="tiled", family="flux", path=arbiter.models["image"].path, device="cpu", vae_tiling=True)
    loaded = family("flux").load(tiled, arbiter.placement_for(tiled))
    assert loaded.modules["pipeline"].vae.use_tiling
    with arbiter.acquire("image") as model:  # the default leaves it off
        assert not model.modules["pipeline"].vae.use_tiling
