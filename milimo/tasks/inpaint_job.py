"""The `inpaint` job kind: fill the masked part of an image or a clip with an image model's inpainting pipeline.

The mask is an uploaded PNG (on a clip, the same for every frame), a segmentation prompt (on a clip, given on
`segment_frame` and tracked through every frame), or a saved track. It is grown by `grow_pixels`, and each fill
is composited over its source, so every pixel outside the grown mask keeps its exact value (in a clip, to within
the one final encode's noise). A clip is filled frame by frame with the same seed, which keeps the fill steady;
frames whose mask is empty are copied without running the model.

The model works at the source's size in multiples of 16, shrunk to at most a megapixel (FLUX's native size, and
klein's limit for edits); the fill is resized back to the source's size before compositing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from PIL import Image

from milimo.errors import InvalidArgument
from milimo.media.ops import DEFAULT_AUDIO_RATE, encode_frames, probe, read_audio, read_frames, write_png
from milimo.media.tracks import read_track
from milimo.models.base import LoadedModel
from milimo.models.families import family
from milimo.models.requests import ImageRequest, LoraWeight
from milimo.models.segmentation import segmenter_of
from milimo.tasks.context import ContextView, TaskContext
from milimo.tasks.image_job import fields_named_under, lora_parameters, lora_weights, read_picture
from milimo.tasks.inputs import InputFile
from milimo.tasks.masks import as_uint8, best_mask, composite, grow, load_mask
from milimo.tasks.prompting import prepare_prompt
from milimo.tasks.registry import TaskOutput
from milimo.tasks.resources import WorkerResources
from milimo.tasks.rules.image import IMAGE_STEP
from milimo.v1 import jobs_pb2

DEFAULT_STEPS, DEFAULT_STRENGTH = 28, 1.0
WORK_PIXELS_MAX = 1024 * 1024
TRACKED_OBJECT = 1  # the one object a segmentation prompt on a clip designates


def run(request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
    p = request.inpaint
    source = ctx.input(p.asset_id)
    if source.is_video:
        return [inpaint_clip(p, source, ctx, resources)]
    return [inpaint_picture(p, ctx, resources)]


# ---- an image -------------------------------------------------------------------------------


def inpaint_picture(p: jobs_pb2.InpaintRequest, ctx: TaskContext, resources: WorkerResources) -> TaskOutput:
    picture = read_picture(ctx, p.asset_id)
    height, width = picture.shape[:2]
    if p.HasField("segment"):
        ctx.log(f"segmenting with {p.segment.model}")
        with resources.arbiter.acquire(p.segment.model) as sam, fields_named_under("inpaint.segment"):
            candidates = segmenter_of(sam).segment(picture, **segmentation_prompt(p.segment))
        mask = best_mask(candidates, "inpaint.segment")
    else:
        mask = load_mask(ctx.input(p.mask_asset_id).path, "inpaint.mask_asset_id", (width, height))
    mask = grow(mask, p.grow_pixels)
    if not mask.any():
        raise InvalidArgument(mask_field(p), "the mask selects no pixels: there is nothing to fill")
    with filler(p, ctx, resources) as fill:
        result = fill(picture, mask, ctx)
    ctx.raise_if_cancelled()
    out = write_png(ctx.scratch_dir / "inpainted.png", result)
    media = {"width": width, "height": height, "frames": 1, **parameters(p, fill.prompt, fill.guidance)}
    return TaskOutput(path=out, mime_type="image/png", media=media)


# ---- a clip ---------------------------------------------------------------------------------


def inpaint_clip(
    p: jobs_pb2.InpaintRequest, source: InputFile, ctx: TaskContext, resources: WorkerResources
) -> TaskOutput:
    info = probe(source.path)
    frames = read_frames(source.path)
    masks = clip_masks(p, frames, ctx, resources)
    to_fill = sum(1 for mask in masks if mask.any())
    if not to_fill:
        raise InvalidArgument(mask_field(p), "the mask selects no pixels on any frame: there is nothing to fill")
    sound = read_audio(source.path)
    audio, rate = sound if sound is not None else (None, DEFAULT_AUDIO_RATE)
    out = ctx.scratch_dir / "inpainted.mp4"
    with filler(p, ctx, resources) as fill:
        bar = FrameSteps(ctx, to_fill)

        def filled_frames() -> Iterator[np.ndarray]:
            for frame, mask in zip(frames, masks, strict=True):
                ctx.raise_if_cancelled()
                if mask.any():
                    frame = fill(frame, mask, bar)
                    bar.done += 1
                yield frame

        encoded = encode_frames(filled_frames(), out, info.fps, audio=audio, audio_sample_rate=rate)
    ctx.raise_if_cancelled()
    media = {
        **encoded.as_media(),
        "frames_filled": to_fill,
        **parameters(p, fill.prompt, fill.guidance),
    }
    return TaskOutput(path=out, mime_type="video/mp4", media=media)


def clip_masks(
    p: jobs_pb2.InpaintRequest, frames: np.ndarray, ctx: TaskContext, resources: WorkerResources
) -> list[np.ndarray]:
    """One (H, W) bool mask per frame of the clip, grown by `grow_pixels`."""
    count, height, width = frames.shape[:3]
    which = p.WhichOneof("mask")
    if which == "mask_asset_id":
        mask = load_mask(ctx.input(p.mask_asset_id).path, "inpaint.mask_asset_id", (width, height))
        return [grow(mask, p.grow_pixels)] * count  # one array for every frame: it is only read
    if which == "track_asset_id":
        track = read_track(ctx.input(p.track_asset_id).path)
        if (track.width, track.height) != (width, height):
            raise InvalidArgument(
                "inpaint.track_asset_id", f"the track is {track.width}x{track.height}, the clip {width}x{height}"
            )
        wanted = list(p.object_ids) or None
        return [grow(track.union(index, wanted), p.grow_pixels) for index in range(count)]
    return [grow(mask, p.grow_pixels) for mask in tracked_masks(p, frames, ctx, resources)]


def tracked_masks(
    p: jobs_pb2.InpaintRequest, frames: np.ndarray, ctx: TaskContext, resources: WorkerResources
) -> list[np.ndarray]:
    """The object the segmentation prompt designates on `segment_frame`, tracked through every frame."""
    count = len(frames)
    masks = np.zeros(frames.shape[:3], dtype=bool)  # a frame the object is absent from stays empty
    ctx.log(f"tracking with {p.segment.model}")
    with (
        resources.arbiter.acquire(p.segment.model) as sam,
        fields_named_under("inpaint.segment"),
        segmenter_of(sam).start_session(frames) as session,
    ):
        session.add_prompt(p.segment_frame, TRACKED_OBJECT, **segmentation_prompt(p.segment))
        for done, (index, objects) in enumerate(session.propagate(), start=1):
            ctx.raise_if_cancelled()
            if TRACKED_OBJECT in objects:
                masks[index] = objects[TRACKED_OBJECT]
            ctx.progress(done, count, "tracking the mask")
    return list(masks)


class FrameSteps(ContextView):
    """The context one frame's fill runs with: its steps land on the job's one bar over every filled frame."""

    def __init__(self, ctx: TaskContext, frames: int) -> None:
        super().__init__(ctx)
        self.frames = frames
        self.done = 0  # frames filled before the current one

    def progress(self, step: int, total: int, message: str = "", preview: bytes | None = None) -> None:
        message = f"frame {self.done + 1} of {self.frames}: {message}"
        self._ctx.progress(self.done * total + step, self.frames * total, message, preview)


# ---- filling --------------------------------------------------------------------------------


class Filler:
    """The image model's inpainting of one picture at a time; the result is the source outside the mask."""

    def __init__(
        self, model: LoadedModel, p: jobs_pb2.InpaintRequest, prompt: str, loras: tuple[LoraWeight, ...]
    ) -> None:
        self.model = model
        self.family = family(model.config.family)
        self.request = p
        self.loras = loras
        self.guidance = p.guidance or self.family.inpaint_guidance(model)
        self.prompt = prompt

    def __call__(self, picture: np.ndarray, mask: np.ndarray, ctx: TaskContext) -> np.ndarray:
        height, width = mask.shape
        work_width, work_height = work_size(width, height)
        request = ImageRequest(
            prompt=self.prompt,
            width=work_width,
            height=work_height,
            steps=self.request.steps or DEFAULT_STEPS,
            guidance=self.guidance,
            seed=self.request.seed,
            init_image=picture,
            mask=as_uint8(mask),
            strength=self.request.strength or DEFAULT_STRENGTH,
            loras=self.loras,
        )
        with fields_named_under("inpaint"):
            filled = self.family.generate(self.model, request, ctx).image
        if filled.shape[:2] != (height, width):
            filled = np.asarray(Image.fromarray(filled).resize((width, height), Image.Resampling.LANCZOS))
        return composite(picture, filled, mask)


@contextmanager
def filler(p: jobs_pb2.InpaintRequest, ctx: TaskContext, resources: WorkerResources) -> Iterator[Filler]:
    """A `Filler` over the request's image model, held through the arbiter for the block."""
    prompt = prepare_prompt(p.prompt, kind="image", enhance=False, ctx=ctx, resources=resources)
    loras = lora_weights(ctx, p.loras)
    ctx.log(f"loading {p.model}")
    with resources.arbiter.acquire(p.model) as model:
        yield Filler(model, p, prompt, loras)


def work_size(width: int, height: int) -> tuple[int, int]:
    """The size the model fills at: the source's, within WORK_PIXELS_MAX, rounded down to multiples of 16."""
    scale = min(1.0, math.sqrt(WORK_PIXELS_MAX / (width * height)))
    return (
        max(IMAGE_STEP, math.floor(width * scale / IMAGE_STEP) * IMAGE_STEP),
        max(IMAGE_STEP, math.floor(height * scale / IMAGE_STEP) * IMAGE_STEP),
    )


# ---- the request ----------------------------------------------------------------------------


def segmentation_prompt(prompt: jobs_pb2.SegmentationPrompt) -> dict[str, Any]:
    """A SegmentationPrompt as the segmenter's keyword arguments: points, box and text."""
    box = prompt.box
    return {
        "points": [(point.x, point.y, point.label) for point in prompt.points],
        "box": (box.x0, box.y0, box.x1, box.y1) if prompt.HasField("box") else None,
        "text": prompt.text,
    }


def mask_field(p: jobs_pb2.InpaintRequest) -> str:
    return f"inpaint.{p.WhichOneof('mask')}"


def parameters(p: jobs_pb2.InpaintRequest, prompt: str, guidance: float) -> dict[str, Any]:
    """Everything the result depends on, with defaults filled in and the prompt as rendered, to make it again."""
    found: dict[str, Any] = {
        "model": p.model,
        "seed": p.seed,
        "prompt": prompt,
        "steps": p.steps or DEFAULT_STEPS,
        "guidance": guidance,
        "strength": p.strength or DEFAULT_STRENGTH,
        "grow_pixels": p.grow_pixels,
        "source_asset_id": p.asset_id,
        "loras": lora_parameters(p.loras),
    }
    if prompt != p.prompt:
        found["prompt_as_written"] = p.prompt
    which = p.WhichOneof("mask")
    if which == "mask_asset_id":
        found["mask_asset_id"] = p.mask_asset_id
    elif which == "track_asset_id":
        found.update(track_asset_id=p.track_asset_id, object_ids=list(p.object_ids))
    else:
        found["segment"] = {"model": p.segment.model, **segmentation_prompt(p.segment)}
        found["segment_frame"] = p.segment_frame
    return found
