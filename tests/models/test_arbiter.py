"""The arbiter: one model on the accelerator, LRU parking within a RAM budget, OOM recovery."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from milimo.config import ModelConfig
from milimo.errors import InvalidArgument, ResourceExhausted
from milimo.models.arbiter import AcceleratorOutOfMemory, Arbiter
from milimo.models.base import LoadedModel, Placement

MB = 1024 * 1024


def configs(*names: str) -> dict[str, ModelConfig]:
    return {name: ModelConfig(name=name, family="test", path=Path("/nonexistent")) for name in names}


class CountingLoader:
    """Loads a real torch module of 1 MB per model (fp32 weights), counting loads from "disk"."""

    def __init__(self) -> None:
        self.loads: list[str] = []

    def __call__(self, config: ModelConfig, placement: Placement) -> LoadedModel:
        self.loads.append(config.name)
        net = torch.nn.Linear(512, 512, bias=False)  # 512*512*4 bytes = 1 MB
        return LoadedModel(config, {"net": net}, placement)


def test_one_model_on_the_accelerator_and_lru_parking():
    loader = CountingLoader()
    arbiter = Arbiter(configs("video", "image", "llm"), device="cpu", ram_budget_bytes=2 * MB, loader=loader)
    for name in ["video", "image", "video", "llm", "image", "video"]:
        with arbiter.acquire(name) as model:
            assert model.name == name
            assert arbiter.ledger.on_accelerator() == [name]
            assert model.modules["net"](torch.ones(1, 512)).shape == (1, 512)
    assert arbiter.ledger.peak_resident == 1
    # video, image: loaded; video: from RAM; llm: loaded; image, video: from RAM (budget holds two)
    assert loader.loads == ["video", "image", "llm"]
    assert arbiter.state() == {"video": "on_accelerator", "image": "in_ram", "llm": "in_ram"}


def test_parked_models_past_the_budget_are_released_oldest_first():
    loader = CountingLoader()
    arbiter = Arbiter(configs("a", "b", "c"), device="cpu", ram_budget_bytes=1 * MB, loader=loader)
    for name in ["a", "b", "c"]:
        with arbiter.acquire(name):
            pass
    assert arbiter.state() == {"a": "on_disk", "b": "in_ram", "c": "on_accelerator"}
    with arbiter.acquire("a"):
        pass
    assert loader.loads == ["a", "b", "c", "a"]


def test_out_of_memory_inside_a_step_frees_everything_and_fails_only_that_job():
    loader = CountingLoader()
    arbiter = Arbiter(configs("video", "image"), device="cpu", loader=loader)
    with arbiter.acquire("image"):
        pass
    with pytest.raises(AcceleratorOutOfMemory) as error, arbiter.acquire("video") as model:
        model.modules["net"](torch.ones(1, 512))
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    assert isinstance(error.value, ResourceExhausted) and "offload" in str(error.value)
    assert arbiter.state() == {"video": "on_disk", "image": "on_disk"} and not arbiter.ledger.placements
    # The next job runs normally, loading again.
    with arbiter.acquire("video") as model:
        assert model.modules["net"](torch.ones(1, 512)).shape == (1, 512)
    assert loader.loads == ["image", "video", "video"]


def test_other_errors_keep_the_models_loaded():
    arbiter = Arbiter(configs("video"), device="cpu", loader=CountingLoader())
    with pytest.raises(ValueError), arbiter.acquire("video"):
        raise ValueError("a bad request")
    assert arbiter.state() == {"video": "on_accelerator"}


def test_unknown_model_names_the_configured_ones():
    arbiter = Arbiter(configs("video"), device="cpu", loader=CountingLoader())
    with pytest.raises(InvalidArgument) as error, arbiter.acquire("nope"):
        pass
    assert "video" in str(error.value) and error.value.field == "model"


def test_offload_is_checked_and_left_out_on_the_cpu():
    arbiter = Arbiter(configs("video"), device="cpu", loader=CountingLoader())
    config = dataclasses.replace(arbiter.models["video"], offload="sequential")
    assert arbiter.placement_for(config).offload == "none"  # nothing to move between RAM and the CPU
    with pytest.raises(InvalidArgument) as error:
        arbiter.placement_for(dataclasses.replace(config, offload="disk"))
    assert error.value.field == "offload" and "none, model, sequential" in error.value.rule
