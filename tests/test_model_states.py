"""Live model states: the arbiter reports every move, and ListModels shows where each model is now."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from PIL import Image

from milimo.config import ModelConfig
from milimo.models.arbiter import AcceleratorBusy, Arbiter
from milimo.models.base import LoadedModel, Placement
from milimo.v1 import jobs_pb2, models_pb2
from milimo.v1 import segmentation_pb2 as seg
from tests.daemon_process import DaemonProcess

ON_ACCELERATOR, IN_RAM = models_pb2.MODEL_STATE_ON_ACCELERATOR, models_pb2.MODEL_STATE_IN_RAM


def linear_model(config: ModelConfig, placement: Placement) -> LoadedModel:
    """A real (small) torch module per model, so moves between devices are real."""
    return LoadedModel(config, {"net": torch.nn.Linear(64, 64)}, placement)


def test_the_arbiter_reports_each_move_once():
    heard: list[dict[str, str]] = []
    names = ("a", "b")
    configs = {name: ModelConfig(name=name, family="test", path=Path("/nonexistent")) for name in names}
    arbiter = Arbiter(configs, device="cpu", loader=linear_model, on_change=heard.append)
    with arbiter.acquire("a"):
        pass
    with arbiter.acquire("a"):  # nothing moved: nothing to report
        pass
    with arbiter.acquire("b"):
        pass
    arbiter.release_all()
    assert heard == [
        {"a": "on_accelerator", "b": "on_disk"},
        {"a": "in_ram", "b": "on_accelerator"},
        {"a": "on_disk", "b": "on_disk"},
    ]


def test_a_bounded_wait_for_a_busy_accelerator_gives_up():
    configs = {"a": ModelConfig(name="a", family="test", path=Path("/nonexistent"))}
    arbiter = Arbiter(configs, device="cpu", loader=linear_model)
    holding, release = threading.Event(), threading.Event()

    def job() -> None:
        with arbiter.acquire("a"):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=job)
    thread.start()
    try:
        assert holding.wait(10)
        with pytest.raises(AcceleratorBusy), arbiter.acquire("a", wait_s=0.1):
            pass
    finally:
        release.set()
        thread.join()
    with arbiter.acquire("a", wait_s=0.1) as model:  # free again
        assert model.name == "a"


def states(client) -> dict[str, int]:
    return {m.name: m.state for m in client.models.ListModels(models_pb2.ListModelsRequest()).models}


def test_list_models_shows_the_model_in_use_and_the_ones_parked(generation_daemon: DaemonProcess, tmp_path: Path):
    client = generation_daemon.client()
    path = tmp_path / "still.png"
    Image.new("RGB", (64, 48), (90, 40, 200)).save(path)
    source = seg.ImageSource(asset_id=client.upload(path).id)
    point = jobs_pb2.PointPrompt(x=20, y=20, label=1)

    client.segmentation.Segment(seg.SegmentRequest(model="tiny-sam2", image=source, points=[point]))
    assert states(client)["tiny-sam2"] == ON_ACCELERATOR
    client.segmentation.Segment(seg.SegmentRequest(model="tiny-sam3", image=source, points=[point]))
    now = states(client)
    assert (now["tiny-sam3"], now["tiny-sam2"]) == (ON_ACCELERATOR, IN_RAM)

    still = jobs_pb2.ImageRequest(model="tiny-flux", prompt="a lamp", width=64, height=64, steps=2, seed=1)
    job = client.wait(client.submit(jobs_pb2.JobRequest(image=still)).id)
    assert job.status == jobs_pb2.JOB_STATUS_SUCCEEDED, job.reason
    now = states(client)
    assert (now["tiny-flux"], now["tiny-sam3"], now["tiny-sam2"]) == (ON_ACCELERATOR, IN_RAM, IN_RAM)
    assert client.models.GetModel(models_pb2.GetModelRequest(name="tiny-sam3")).state == IN_RAM
    assert now["animatic"] == models_pb2.MODEL_STATE_BUILTIN
