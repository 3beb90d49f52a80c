"""The `image` job kind end to end, through the shared daemon with tiny FLUX.1 and FLUX.2 klein checkpoints."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
from PIL import Image

from milimo.config import ModelConfig
from milimo.media.ops import write_png
from milimo.tasks import image_job
from milimo.tasks.inputs import InputFile
from milimo.tasks.resources import WorkerResources, WorkerSettings
from milimo.v1 import common_pb2, jobs_pb2, media_pb2
from tests.task_context import RecordingContext

SUCCEEDED = jobs_pb2.JOB_STATUS_SUCCEEDED
IMAGE_MODELS = ["tiny-flux", "tiny-klein"]


def still(model: str = "tiny-flux", **fields: object) -> jobs_pb2.JobRequest:
    values = dict(model=model, prompt="a lighthouse at dusk", width=80, height=64, steps=2, seed=5)
    values.update(fields)
    return jobs_pb2.JobRequest(image=jobs_pb2.ImageRequest(**values))


def picture(seed: int, width: int = 64, height: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def upload_png(client, folder: Path, name: str, pixels: np.ndarray) -> str:
    return client.upload(write_png(folder / name, pixels)).id


def render(
    client, request: jobs_pb2.JobRequest, target: Path, events: list | None = None
) -> tuple[jobs_pb2.Job, np.ndarray]:
    """Run a job to the end (its events into `events`) and read back its one result as pixels."""
    job = client.wait(client.submit(request).id, on_event=None if events is None else events.append)
    assert job.status == SUCCEEDED, job.reason
    asset = client.media.Stat(media_pb2.StatRequest(asset_id=job.result_asset_ids[0]))
    assert asset.mime_type == "image/png"
    with Image.open(client.download(asset.id, target)) as image:
        assert image.format == "PNG"
        return job, np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("model", IMAGE_MODELS)
def test_text_references_and_an_init_image_each_give_a_png_of_the_requested_size(generation_daemon, tmp_path, model):
    client = generation_daemon.client()
    events: list[jobs_pb2.JobEvent] = []
    _, plain = render(client, still(model), tmp_path / "plain.png", events)
    assert plain.shape == (64, 80, 3) and plain.std() > 0
    steps = [e.progress for e in events if e.HasField("progress")]
    assert steps and (steps[-1].step, steps[-1].total) == (2, 2)

    references = [upload_png(client, tmp_path, f"ref{n}.png", picture(n, 64, 96)) for n in (1, 2)]
    _, guided = render(client, still(model, reference_asset_ids=references), tmp_path / "guided.png")
    assert guided.shape == (64, 80, 3) and not np.array_equal(plain, guided)

    init = upload_png(client, tmp_path, "init.png", picture(3, 160, 128))  # resized to the request's size
    _, edited = render(client, still(model, init_asset_id=init, strength=0.5), tmp_path / "edited.png")
    assert edited.shape == (64, 80, 3) and not np.array_equal(plain, edited)


def test_a_lora_changes_the_image(generation_daemon, tiny_models, tmp_path):
    from diffusers import FluxPipeline, FluxTransformer2DModel

    from tests.models.lora import random_lora

    transformer = FluxTransformer2DModel.from_pretrained(tiny_models.parent / "tiny-flux", subfolder="transformer")
    lora = generation_daemon.client().upload(random_lora(FluxPipeline, transformer, tmp_path))
    client = generation_daemon.client()
    _, plain = render(client, still(), tmp_path / "plain.png")
    loras = [jobs_pb2.LoraRef(asset_id=lora.id, weight=1.5)]
    _, styled = render(client, still(loras=loras), tmp_path / "styled.png")
    assert not np.array_equal(plain, styled)


def test_a_single_frame_video_request_is_answered_by_the_image_kind(generation_daemon, tmp_path):
    client = generation_daemon.client()
    one_frame = jobs_pb2.VideoShotRequest(
        model="tiny-ltx", prompt="a lighthouse", width=64, height=64, frames=1, steps=2, fps=common_pb2.Rational(num=24)
    )
    job, pixels = render(client, jobs_pb2.JobRequest(video=one_frame), tmp_path / "frame.png")
    assert job.kind == "image" and pixels.shape == (64, 64, 3)


def test_an_unknown_model_is_refused_naming_the_field(generation_daemon):
    client = generation_daemon.client()
    for request, field in [(still("nope"), "image.model"), (still("tiny-ltx"), "image.model")]:
        with pytest.raises(grpc.RpcError) as error:
            client.jobs.Submit(jobs_pb2.SubmitJobRequest(request=request))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.value.details().startswith(field)


def test_the_result_records_what_made_it(tiny_models, tmp_path):
    """Run in process, where the task's TaskOutput (and so the asset's stored media) can be read."""
    flux = ModelConfig(name="tiny-flux", family="flux", path=tiny_models.parent / "tiny-flux", device="cpu")
    resources = WorkerResources(WorkerSettings(models=(flux,)))
    init = write_png(tmp_path / "init.png", picture(4))
    ctx = RecordingContext(tmp_path, inputs={"a-init": InputFile("a-init", "image/png", "init.png", path=init)})
    request = still(init_asset_id="a-init", guidance=0, true_cfg=0, strength=0, seed=42, enhance_prompt=True)
    (output,) = image_job.run(request, ctx, resources)
    assert output.path.parent == tmp_path and output.mime_type == "image/png"
    assert output.media == {
        "width": 80,
        "height": 64,
        "frames": 1,
        "model": "tiny-flux",
        "seed": 42,
        "prompt": "a lighthouse at dusk",
        "negative_prompt": "",
        "steps": 2,
        "guidance": 3.5,
        "true_cfg": 1.0,
        "reference_asset_ids": [],
        "init_asset_id": "a-init",
        "strength": 0.8,
        "loras": [],
    }
    assert ctx.steps[-1] == (2, 2)  # 0.8 of 2 steps: diffusers runs both
    assert any("no enhancer configured" in line for line in ctx.logs)  # so the prompt is rendered as written
