"""SAM 3 (transformers) and SAM 2 (Meta's sam2 package) on tiny random-weight checkpoints, loaded back from disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from milimo.config import ModelConfig
from milimo.errors import FailedPrecondition, InvalidArgument
from milimo.models.base import LoadedModel, MissingWeights, Placement
from milimo.models.sam2 import TINY_NAME, Sam2Family
from milimo.models.sam3 import Sam3Family
from milimo.models.segmentation import Mask, Segmenter, mask_box, segmenter_of

pytestmark = pytest.mark.slow

CPU = Placement(device=torch.device("cpu"), dtype=torch.float32)
H, W = 48, 64
FAMILIES = {"sam3": Sam3Family, "sam2": Sam2Family}


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models on a shared machine run far faster on one thread than fighting for several."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session", params=sorted(FAMILIES))
def checkpoint(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    name = request.param
    target = tmp_path_factory.mktemp(f"{name}-tiny")
    FAMILIES[name]().make_tiny(target)
    return name, target


@pytest.fixture(scope="module")
def model(checkpoint: tuple[str, Path]) -> LoadedModel:
    name, path = checkpoint
    return FAMILIES[name]().load(ModelConfig(name=f"{name}-tiny", family=name, path=path), CPU)


@pytest.fixture
def segmenter(model: LoadedModel) -> Segmenter:
    return segmenter_of(model)


def picture(seed: int, shape: tuple[int, ...] = (H, W, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def assert_masks(masks: list[Mask], count: int | None = None) -> None:
    assert isinstance(masks, list)
    if count is not None:
        assert len(masks) == count
    for found in masks:
        assert found.mask.shape == (H, W) and found.mask.dtype == np.bool_
        x0, y0, x1, y1 = found.box
        assert 0 <= x0 <= x1 <= W + 1 and 0 <= y0 <= y1 <= H + 1
        assert np.isfinite(found.score)
    assert [m.score for m in masks] == sorted((m.score for m in masks), reverse=True)


def test_the_tiny_checkpoint_is_on_disk_in_the_real_layout(checkpoint: tuple[str, Path]):
    name, path = checkpoint
    files = {p.name for p in path.iterdir()}
    if name == "sam3":
        assert {"config.json", "model.safetensors", "processor_config.json", "tokenizer.json"} <= files
    else:
        assert files == {f"{TINY_NAME}.pt", f"{TINY_NAME}.yaml"}
        assert set(torch.load(path / f"{TINY_NAME}.pt", weights_only=True)) == {"model"}


def test_loads_as_a_segmenter(model: LoadedModel, segmenter: Segmenter):
    assert segmenter.family == model.config.family
    assert model.nbytes() > 0
    assert segmenter.supports_text == (model.config.family == "sam3")


@pytest.mark.parametrize(
    ("prompt", "count"),
    [
        ({"points": [(20, 16, 1)]}, 3),  # one point is ambiguous: three candidates
        ({"box": (8, 6, 40, 30)}, 1),
        ({"points": [(20, 16, 1), (50, 40, 0)], "box": (8, 6, 40, 30)}, 1),
    ],
)
def test_points_and_boxes_give_masks_at_the_image_size(segmenter: Segmenter, prompt: dict, count: int):
    assert_masks(segmenter.segment(picture(1), **prompt), count)


SAM3_ONLY = pytest.mark.parametrize("checkpoint", ["sam3"], indirect=True)
SAM2_ONLY = pytest.mark.parametrize("checkpoint", ["sam2"], indirect=True)


@SAM3_ONLY
def test_a_text_prompt_gives_its_best_match_and_detect_every_match(segmenter: Segmenter):
    image = picture(2)
    assert_masks(segmenter.segment(image, text="a red ball"), 1)
    assert_masks(segmenter.segment(image, text="a red ball", box=(8, 6, 40, 30)), 1)
    everything = segmenter.detect(image, "a red ball", threshold=0.0)
    assert_masks(everything)
    assert len(everything) == 8  # the tiny detector's 8 queries all pass a zero threshold
    assert_masks(segmenter.detect(image, "a red ball"))
    with pytest.raises(InvalidArgument, match="points"):
        segmenter.segment(image, text="a red ball", points=[(5, 5, 1)])


@SAM2_ONLY
def test_sam2_refuses_text(segmenter: Segmenter):
    for call in (
        lambda: segmenter.segment(picture(3), text="a cat"),
        lambda: segmenter.detect(picture(3), "a cat"),
        lambda: segmenter.start_session(picture(3, (2, H, W, 3))).add_prompt(0, 1, text="a cat"),
    ):
        with pytest.raises(InvalidArgument, match="sam2 has no text prompts") as caught:
            call()
        assert caught.value.field == "text"


def test_a_tracking_session_from_prompts_to_close(segmenter: Segmenter):
    frames = picture(4, (4, H, W, 3))
    session = segmenter.start_session(frames)
    drawn = np.zeros((H, W), dtype=bool)
    drawn[10:30, 20:50] = True
    for mask in (
        session.add_prompt(1, 7, points=[(20, 16, 1)]),
        session.add_prompt(2, 8, box=(8, 6, 40, 30)),
        session.add_prompt(1, 9, mask=drawn),
    ):
        assert mask.shape == (H, W) and mask.dtype == np.bool_
    objects = [7, 8, 9]
    if segmenter.supports_text:
        session.add_prompt(3, 10, text="a red ball")
        objects.append(10)
    assert session.object_ids == objects

    def tracked() -> dict[int, dict[int, np.ndarray]]:
        seen = {}
        for frame_index, masks in session.propagate():
            assert frame_index not in seen
            seen[frame_index] = masks
        return seen

    # Forward from frame 1, the earliest prompt, then back to frame 0.
    seen = tracked()
    assert list(seen) == [1, 2, 3, 0]
    for masks in seen.values():
        assert sorted(masks) == objects
        assert all(m.shape == (H, W) and m.dtype == np.bool_ for m in masks.values())

    session.remove_object(8)
    assert all(sorted(masks) == [o for o in objects if o != 8] for masks in tracked().values())
    with pytest.raises(InvalidArgument, match="not tracked"):
        session.remove_object(8)

    session.close()
    session.close()  # idempotent
    with pytest.raises(FailedPrecondition, match="closed"):
        session.add_prompt(0, 7, points=[(20, 16, 1)])
    with pytest.raises(FailedPrecondition, match="closed"):
        next(session.propagate())


def test_bad_prompts_are_refused_before_the_model_runs(segmenter: Segmenter):
    image = picture(5)
    with pytest.raises(InvalidArgument, match="image"):
        segmenter.segment(image.astype(np.float32), points=[(1, 1, 1)])
    with pytest.raises(InvalidArgument, match="prompt"):
        segmenter.segment(image)
    with pytest.raises(InvalidArgument, match="text: must not be blank"):
        segmenter.segment(image, text="  ")
    with pytest.raises(InvalidArgument, match=r"points\[0\]"):
        segmenter.segment(image, points=[(W + 5, 1, 1)])
    with pytest.raises(InvalidArgument, match=r"points\[0\]"):
        segmenter.segment(image, points=[(1, 1, 2)])
    with pytest.raises(InvalidArgument, match="box"):
        segmenter.segment(image, box=(30, 5, 10, 20))
    with pytest.raises(InvalidArgument, match="frames"):
        segmenter.start_session(image)
    with segmenter.start_session(picture(6, (2, H, W, 3))) as session:
        with pytest.raises(FailedPrecondition, match="add a prompt"):
            next(session.propagate())
        with pytest.raises(InvalidArgument, match="frame_index"):
            session.add_prompt(2, 1, points=[(1, 1, 1)])
        with pytest.raises(InvalidArgument, match="one kind"):
            session.add_prompt(0, 1, points=[(1, 1, 1)], mask=np.ones((H, W), dtype=bool))
        with pytest.raises(InvalidArgument, match="mask"):
            session.add_prompt(0, 1, mask=np.ones((H + 1, W), dtype=bool))


@SAM3_ONLY
def test_sam3_models_share_one_copy_of_the_backbone(model: LoadedModel):
    models = model.modules["sam3"]
    detector, tracker, video = models["detector"], models["tracker"], models["video_tracker"]
    weight = "vision_encoder.backbone.embeddings.patch_embeddings.projection.weight"
    assert detector.get_parameter(weight) is video.get_parameter(weight) is tracker.get_parameter(weight)
    decoder = "mask_decoder.iou_token.weight"
    assert tracker.get_parameter(decoder) is video.get_parameter(decoder)
    # The image tracker holds no tensor of its own.
    video_ids = {id(t) for t in (*video.parameters(), *video.buffers())}
    assert all(id(t) in video_ids for t in (*tracker.parameters(), *tracker.buffers()))


@SAM2_ONLY
def test_sam2_loads_from_the_checkpoint_file_itself(checkpoint: tuple[str, Path]):
    _, path = checkpoint
    loaded = Sam2Family().load(ModelConfig(name="sam2-file", family="sam2", path=path / f"{TINY_NAME}.pt"), CPU)
    assert segmenter_of(loaded).family == "sam2"


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_missing_weights_say_how_to_fetch_them(name: str, tmp_path: Path):
    config = ModelConfig(name=f"my-{name}", family=name, path=tmp_path / "absent")
    with pytest.raises(MissingWeights, match=f"milimo models pull my-{name}"):
        FAMILIES[name]().load(config, CPU)


def test_mask_box_is_the_tight_box_in_pixel_edges():
    mask = np.zeros((H, W), dtype=bool)
    assert mask_box(mask) == (0.0, 0.0, 0.0, 0.0)
    mask[5, 3] = True
    assert mask_box(mask) == (3.0, 5.0, 4.0, 6.0)
    mask[9, 20] = True
    assert mask_box(mask) == (3.0, 5.0, 21.0, 10.0)
