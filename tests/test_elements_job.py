"""Elements in generation jobs: trigger words written out from the job's facts, and the elements' reference images
reaching the tiny FLUX.2 klein and FLUX.1 pipelines (as far as each takes them) and a tiny LTX shot's first frame.

Tasks run in process with the facts and input files the daemon hands a job, so the recorded media can be read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from milimo.config import ModelConfig
from milimo.media.ops import write_png
from milimo.tasks import image_job, video_job
from milimo.tasks.elements import resolve
from milimo.tasks.inputs import InputFile
from milimo.tasks.resources import WorkerResources, WorkerSettings
from milimo.tasks.video_job import ELEMENT_START_STRENGTH
from milimo.v1 import common_pb2, jobs_pb2
from tests.task_context import RecordingContext

MARA_WRITTEN = "Mara (a tall woman in a red coat)"


def element(ident: str, kind: str, name: str, trigger: str, description: str, references: tuple[str, ...]) -> dict:
    """An element as the daemon puts it in a job's facts."""
    return {
        "id": ident,
        "kind": kind,
        "name": name,
        "trigger": trigger,
        "description": description,
        "reference_asset_ids": list(references),
    }


def picture(seed: int, width: int = 64, height: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


class Project:
    """A project's elements, their reference images written as files, and contexts for jobs of the project."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pixels: dict[str, np.ndarray] = {}
        self.inputs: dict[str, InputFile] = {}
        self.elements = [
            element("el-mara", "character", "Mara", "@Mara", "A tall woman in a red coat.", ("a-mara-1", "a-mara-2")),
            element("el-lamp", "prop", "Storm Lamp", "@lamp", "", ("a-lamp",)),
            element("el-ned", "character", "Ned", "@ned", "a boy with no pictures", ()),
        ]
        for asset_id, seed, width in (("a-mara-1", 1, 64), ("a-mara-2", 2, 64), ("a-lamp", 3, 96)):
            self.image(asset_id, seed, width)

    def image(self, asset_id: str, seed: int, width: int = 64, height: int = 64) -> None:
        """An image asset of the project, handed to its jobs as an input."""
        pixels = picture(seed, width, height)
        path = write_png(self.folder / f"{asset_id}.png", pixels)
        self.pixels[asset_id] = pixels
        self.inputs[asset_id] = InputFile(asset_id, "image/png", path.name, {"width": width, "height": height}, path)

    def ctx(self, *, without_references: bool = False) -> RecordingContext:
        """A job's context; `without_references`: the same elements with no reference images."""
        scratch = self.folder / f"scratch-{len(list(self.folder.glob('scratch-*')))}"
        scratch.mkdir()
        elements = [{**e, "reference_asset_ids": []} for e in self.elements] if without_references else self.elements
        return RecordingContext(scratch, inputs=self.inputs, facts={"elements": elements})


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


# ---- the prompt ---------------------------------------------------------------------------------------------


def test_triggers_become_names_with_descriptions_and_bring_their_references(project):
    ctx = project.ctx()
    resolved = resolve("@lamp glows. @mara waits by the @LAMP; @Mara's coat drips, @ned watches.", ctx)
    assert resolved.prompt == (
        f"Storm Lamp glows. {MARA_WRITTEN} waits by the Storm Lamp; Mara's coat drips, Ned (a boy with no pictures) "
        "watches."
    )
    assert [e.id for e in resolved.elements] == ["el-lamp", "el-mara", "el-ned"]  # in order of first mention
    assert [(r.element_id, r.asset_id) for r in resolved.references] == [
        ("el-lamp", "a-lamp"),
        ("el-mara", "a-mara-1"),
        ("el-mara", "a-mara-2"),
    ]
    for reference in resolved.references:
        assert reference.image.dtype == np.uint8 and np.array_equal(reference.image, project.pixels[reference.asset_id])
    [line] = ctx.logs
    assert line.startswith("elements: @lamp is Storm Lamp (prop el-lamp, 1 reference image); @Mara is Mara")
    assert "@ned is Ned (character el-ned, no reference image)" in line


def test_an_unknown_trigger_stays_as_written(project):
    ctx = project.ctx()
    resolved = resolve("@nobody hands @Mara a note for me@mara.com", ctx)
    assert resolved.prompt == f"@nobody hands {MARA_WRITTEN} a note for me@mara.com"
    assert [e.id for e in resolved.elements] == ["el-mara"]
    assert ctx.logs[-1] == "no element has the trigger @nobody; left as written"


def test_a_job_without_elements_resolves_nothing(tmp_path):
    ctx = RecordingContext(tmp_path)
    resolved = resolve("@Mara at dawn", ctx)
    assert (resolved.prompt, resolved.elements, resolved.references, ctx.logs) == ("@Mara at dawn", (), (), [])


# ---- the image job ------------------------------------------------------------------------------------------


def image_model(tiny_models: Path, name: str, family_name: str, path: Path | None = None) -> WorkerResources:
    config = ModelConfig(name=name, family=family_name, path=path or tiny_models.parent / name, device="cpu")
    return WorkerResources(WorkerSettings(models=(config,)))


def still(model: str, **fields: object) -> jobs_pb2.JobRequest:
    values = dict(model=model, prompt="@Mara under a @lamp", width=64, height=64, steps=2, seed=9)
    values.update(fields)
    return jobs_pb2.JobRequest(image=jobs_pb2.ImageRequest(**values))


def pixels_of(output) -> np.ndarray:
    from PIL import Image

    with Image.open(output.path) as image:
        return np.asarray(image.convert("RGB"))


def test_the_elements_references_reach_the_klein_pipeline(project, tiny_models):
    resources = image_model(tiny_models, "tiny-klein", "flux2-klein")
    [guided] = image_job.run(still("tiny-klein"), project.ctx(), resources)
    [plain] = image_job.run(still("tiny-klein"), project.ctx(without_references=True), resources)

    prompt = f"{MARA_WRITTEN} under a Storm Lamp"
    assert guided.media["prompt"] == plain.media["prompt"] == prompt
    assert guided.media["prompt_as_written"] == "@Mara under a @lamp"
    assert guided.media["reference_asset_ids"] == []  # the request's own
    assert guided.media["element_reference_asset_ids"] == ["a-mara-1", "a-mara-2", "a-lamp"]
    assert plain.media["element_reference_asset_ids"] == []
    assert [e["id"] for e in guided.media["elements"]] == ["el-mara", "el-lamp"]
    assert guided.media["elements"][0] == project.elements[0]
    assert not np.array_equal(pixels_of(guided), pixels_of(plain))  # same seed, same text: the references did it


def test_beside_an_init_image_klein_takes_only_the_first_reference(project, tiny_models):
    project.image("a-init", 5)
    ctx = project.ctx()
    request = still("tiny-klein", init_asset_id="a-init", strength=0.7)
    [output] = image_job.run(request, ctx, image_model(tiny_models, "tiny-klein", "flux2-klein"))
    assert output.media["element_reference_asset_ids"] == ["a-mara-1"]
    [warning] = [line for line in ctx.logs if line.startswith("warning:")]
    assert "does not take the 3 reference image(s)" in warning and warning.endswith("trying the first alone")


def test_a_model_that_takes_no_references_renders_without_them(project, tiny_models, tmp_path):
    """FLUX.1 takes references only through its Redux prior: the tiny checkpoint without its redux/ folder."""
    flux = tiny_models.parent / "tiny-flux"
    without_redux = tmp_path / "flux-without-redux"
    without_redux.mkdir()
    for part in flux.iterdir():
        if part.name != "redux":
            (without_redux / part.name).symlink_to(part)
    ctx = project.ctx()
    [output] = image_job.run(still("tiny-flux"), ctx, image_model(tiny_models, "tiny-flux", "flux", without_redux))
    assert output.media["element_reference_asset_ids"] == []
    warnings = [line for line in ctx.logs if line.startswith("warning:")]
    assert [w.endswith("trying the first alone") for w in warnings] == [True, False]
    assert "has no Redux prior" in warnings[-1] and warnings[-1].endswith("rendering without them")


# ---- the video job ------------------------------------------------------------------------------------------


@pytest.fixture
def ltx(tiny_models: Path) -> WorkerResources:
    config = ModelConfig(name="tiny-ltx", family="ltx-video", path=tiny_models.parent / "tiny-ltx", device="cpu")
    return WorkerResources(WorkerSettings(models=(config,)))


def shot(**fields: object) -> jobs_pb2.JobRequest:
    values = dict(model="tiny-ltx", prompt="@ned runs to @mara", width=64, height=64, frames=9, steps=2, seed=3)
    values.update(fields)
    return jobs_pb2.JobRequest(video=jobs_pb2.VideoShotRequest(fps=common_pb2.Rational(num=24), **values))


def pipelines(ctx: RecordingContext) -> list[str]:
    """Which pipeline each pass of the model ran, as the model layer logs it."""
    return [line.removeprefix("tiny-ltx: ") for line in ctx.logs if line.startswith("tiny-ltx: ")]


def test_the_first_mentioned_elements_reference_starts_the_shot(project, ltx):
    """Ned has no pictures, so Mara's first one is frame 0, at a strength under 1 (so a "condition" pass)."""
    ctx = project.ctx()
    [output] = video_job.run(shot(), ctx, ltx)
    assert output.media["prompt_used"] == f"Ned (a boy with no pictures) runs to {MARA_WRITTEN}"
    assert [e["id"] for e in output.media["elements"]] == ["el-ned", "el-mara"]
    assert output.media["element_condition"] == {
        "element_id": "el-mara",
        "asset_id": "a-mara-1",
        "frame_index": 0,
        "strength": ELEMENT_START_STRENGTH,
    }
    assert output.media["conditions"] == []  # the request's own
    assert "frame 0 from element el-mara's reference image a-mara-1 at strength 0.6" in ctx.logs
    assert pipelines(ctx) == ["condition"]


def test_a_shot_with_its_own_first_frame_keeps_it(project, ltx):
    project.image("a-start", 7, 100, 60)
    ctx = project.ctx()
    [output] = video_job.run(shot(conditions=[jobs_pb2.Conditioning(asset_id="a-start")]), ctx, ltx)
    assert output.media["element_condition"] is None and [e["id"] for e in output.media["elements"]] == [
        "el-ned",
        "el-mara",
    ]
    assert [c["asset_id"] for c in output.media["conditions"]] == ["a-start"]
    assert pipelines(ctx) == ["image to video"]  # its own frame alone, at full strength


def test_a_chained_shot_starts_its_first_chunk_only_from_the_element(project, ltx):
    """Chunks of 9 frames overlapping by 1: the second starts from the first's last frame, not the element."""
    ctx = project.ctx()
    request = shot(frames=17, chain=jobs_pb2.ChainOptions(chunk_frames=9, overlap_frames=1))
    [output] = video_job.run(request, ctx, ltx)
    assert len(output.media["chain"]["chunks"]) == 2 and output.media["element_condition"]["asset_id"] == "a-mara-1"
    assert pipelines(ctx) == ["condition", "image to video"]
