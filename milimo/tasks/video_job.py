"""The `video` job kind: a shot from a configured LTX model, through the arbiter, encoded once.

The request becomes the model layer's `VideoRequest`: LoRA and conditioning assets read from the files the
daemon handed over, conditions fitted to the shot's size, the prompt prepared (elements, enhancement). A shot with
no condition at frame 0 of its own starts from the first reference image of the first element its prompt mentions
(a chained shot: its first chunk's prompt, for its first chunk). Any frame count works: the model makes the next
count it takes and the extra frames are dropped from the tail. A shot longer than one pass of the model, or one that
asks for a chain, is made in chunks (see `milimo.tasks.chain`). The result records everything needed to make it
again or vary it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from milimo.media.ops import read_frames
from milimo.models.families import family
from milimo.models.requests import VideoCondition, VideoRequest
from milimo.tasks import chain
from milimo.tasks.chain import ChainPlan, ChunkProgress
from milimo.tasks.context import TaskContext
from milimo.tasks.elements import Reference
from milimo.tasks.image_job import lora_weights
from milimo.tasks.prompting import PreparedPrompt, continue_story, prepare_prompt_and_references
from milimo.tasks.registry import TaskOutput
from milimo.tasks.resources import WorkerResources
from milimo.tasks.rules.video import condition_frames
from milimo.tasks.shot_writer import ShotWriter
from milimo.v1 import jobs_pb2

DEFAULT_STEPS, DEFAULT_GUIDANCE = 30, 3.0
# An element's reference is a likeness (a portrait, a product shot), not the shot's opening frame: under full
# strength the shot would open on the reference's framing; at 0.6 it keeps the look and leaves room to compose.
ELEMENT_START_STRENGTH = 0.6


def run(request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
    v = request.video
    config = resources.models[v.model]
    fps = Fraction(v.fps.num, v.fps.den or 1)
    rule = chain.FRAME_RULES[config.family]
    plan = chain.plan_chain(v.frames, rule, chunk_frames=v.chain.chunk_frames, overlap=v.chain.overlap_frames)
    conditions = tuple(read_condition(c, ctx, v.width, v.height) for c in v.conditions)
    control = read_control(v, ctx, plan)
    prepared = shot_prompts(v, plan, conditions, ctx, resources)
    prompts = [chunk.text for chunk in prepared]
    start = element_start(prepared[0], conditions, v.width, v.height, ctx)
    used_conditions = conditions if start is None else (*conditions, start.condition)
    shot = VideoRequest(
        prompt=prompts[0],
        negative_prompt=v.negative_prompt,
        width=v.width,
        height=v.height,
        frames=v.frames,
        fps=fps,
        steps=v.steps or DEFAULT_STEPS,
        guidance=v.guidance or DEFAULT_GUIDANCE,
        seed=v.seed,
        loras=lora_weights(ctx, v.loras),
        upscale=v.upscale,
    )
    if plan.chained:
        ctx.log(
            f"{v.frames} frames in {len(plan.chunks)} chunks of up to {plan.chunk_frames} overlapping by {plan.overlap}"
        )

    assembly = chain.Assembly(plan, fps)
    generator = family(config.family)
    out = ctx.scratch_dir / "shot.mp4"
    with ShotWriter(out, fps, v.frames) as writer:  # encodes each chunk while the model makes the next
        with resources.arbiter.acquire(v.model) as model:
            progress = ChunkProgress(ctx, len(plan.chunks))
            previous: np.ndarray | None = None
            for chunk, prompt in zip(plan.chunks, prompts, strict=True):
                progress.begin(chunk)
                own = chain.conditions_in(chunk, used_conditions)
                if previous is not None:  # the last decoded frames of the chunk before, where this one starts
                    own = (VideoCondition(previous[-plan.overlap :], 0, 1.0), *own)
                pass_ = replace(
                    shot,
                    prompt=prompt,
                    frames=chunk.frames,
                    seed=chain.chunk_seed(v.seed, chunk),
                    conditions=own,
                    control=None if control is None else _control_for(chunk, control, rule),
                )
                result = generator.generate(model, pass_, progress)
                writer.put(assembly.add(chunk, result))
                previous = result.frames
                if plan.chained:
                    ctx.log(
                        f"chunk {chunk.index + 1}/{len(plan.chunks)}: frames {chunk.first_kept}-{chunk.end - 1} done"
                    )
        ctx.raise_if_cancelled()
        info = writer.finish(ctx)
    media = {
        **info.as_media(),
        **recipe(v, config.family, shot, prompts, plan, conditions),
        **element_recipe(prepared, start),
    }
    return [TaskOutput(path=out, mime_type="video/mp4", media=media)]


# ---- inputs -----------------------------------------------------------------------------------------


def fit_frame(frame: Any, width: int, height: int) -> np.ndarray:
    """An image (PIL or RGB array) scaled to cover width x height and cropped to it around its centre, RGB uint8."""
    from PIL import Image, ImageOps

    image = frame if isinstance(frame, Image.Image) else Image.fromarray(frame)
    return np.asarray(ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS))


def _fit_all(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack([fit_frame(frame, width, height) for frame in frames])


def read_condition(condition: jobs_pb2.Conditioning, ctx: TaskContext, width: int, height: int) -> VideoCondition:
    """An image condition as one frame, a clip as its frames from `source_start_frame`, at the shot's size."""
    from PIL import Image, ImageOps

    source = ctx.input(condition.asset_id)
    if source.is_image:
        with Image.open(source.path) as image:
            frames = fit_frame(ImageOps.exif_transpose(image), width, height)[None]  # as a photo is meant to be seen
    else:
        count = condition_frames(condition, source)
        frames = _fit_all(read_frames(source.path, condition.source_start_frame, count), width, height)
    return VideoCondition(frames, condition.frame_index, condition.strength or 1.0)


def read_control(v: jobs_pb2.VideoShotRequest, ctx: TaskContext, plan: ChainPlan) -> VideoCondition | None:
    """The IC-LoRA control video at the shot's size, as far as the chunks reach (all of it when shorter)."""
    if not v.control_asset_id:
        return None
    source = ctx.input(v.control_asset_id)
    reach = plan.chunks[-1].start + plan.chunks[-1].frames
    frames = _fit_all(read_frames(source.path, 0, min(source.frames, reach)), v.width, v.height)
    return VideoCondition(frames, 0, v.control_strength or 1.0)


def _control_for(chunk: chain.Chunk, control: VideoCondition, rule: chain.FrameRule) -> VideoCondition | None:
    """The stretch of the control video under the chunk, in a frame count the model's VAE encodes (k*step+1)."""
    under = control.frames[chunk.start : chunk.start + chunk.frames]
    if not under.shape[0]:
        return None
    return VideoCondition(under[: rule.floor(under.shape[0])], 0, control.strength)


@dataclass(frozen=True)
class ElementStart:
    """An element's reference image as the shot's frame 0."""

    reference: Reference
    condition: VideoCondition


def element_start(
    first: PreparedPrompt, conditions: tuple[VideoCondition, ...], width: int, height: int, ctx: TaskContext
) -> ElementStart | None:
    """The first reference image of the first element the first chunk's prompt mentions (one with images), fitted
    to the shot's size, as frame 0, when the shot has no condition there of its own."""
    if not first.references or any(condition.frame_index == 0 for condition in conditions):
        return None
    reference = first.references[0]
    ctx.log(
        f"frame 0 from element {reference.element_id}'s reference image {reference.asset_id} "
        f"at strength {ELEMENT_START_STRENGTH}"
    )
    frame = fit_frame(reference.image, width, height)[None]
    return ElementStart(reference, VideoCondition(frame, 0, ELEMENT_START_STRENGTH))


# ---- prompts ----------------------------------------------------------------------------------------


def shot_prompts(
    v: jobs_pb2.VideoShotRequest,
    plan: ChainPlan,
    conditions: tuple[VideoCondition, ...],
    ctx: TaskContext,
    resources: WorkerResources,
) -> list[PreparedPrompt]:
    """The prompt of each chunk, prepared: the user's list, the story continued by the enhancer, or the shot's.

    Everything is asked of the enhancer here, before the video model takes the accelerator."""
    count = len(plan.chunks)
    if v.chain.chunk_prompts:
        given = chain.chunk_prompts(v.chain.chunk_prompts, count)
        prepared = {
            text: prepare_prompt_and_references(
                text, kind="video", enhance=v.enhance_prompt, ctx=ctx, resources=resources
            )
            for text in dict.fromkeys(given)
        }
        return [prepared[text] for text in given]
    start = next((c.frames[0] for c in conditions if c.frame_index == 0), None)
    first = prepare_prompt_and_references(
        v.prompt, kind="video", enhance=v.enhance_prompt, ctx=ctx, resources=resources, image=start
    )
    prompts = [first.text]
    while v.chain.continue_story and len(prompts) < count:
        prompts.append(continue_story(prompts[0], prompts, parts=count, ctx=ctx, resources=resources))
    return [first, *(PreparedPrompt(text) for text in chain.chunk_prompts(prompts, count)[1:])]


# ---- the result ---------------------------------------------------------------------------------------


def recipe(
    v: jobs_pb2.VideoShotRequest,
    family_name: str,
    shot: VideoRequest,
    prompts: list[str],
    plan: ChainPlan,
    conditions: tuple[VideoCondition, ...],
) -> dict[str, Any]:
    """What made the shot, for reproducing or varying it: the request's choices with their defaults filled in,
    the prompts actually rendered (after enhancement) and the chunk plan."""
    return {
        "model": v.model,
        "family": family_name,
        "seed": v.seed,
        "prompt": v.prompt,
        "prompt_used": prompts[0],
        "chunk_prompts": prompts,
        "negative_prompt": v.negative_prompt,
        "enhance_prompt": v.enhance_prompt,
        "steps": shot.steps,
        "guidance": round(shot.guidance, 6),
        "upscale": v.upscale,
        "loras": [{"asset_id": lora.asset_id, "weight": round(lora.weight or 1.0, 6)} for lora in v.loras],
        "conditions": [
            {
                "asset_id": c.asset_id,
                "frame_index": c.frame_index,
                "strength": round(used.strength, 6),
                "source_start_frame": c.source_start_frame,
                "source_frames": used.frames.shape[0],
            }
            for c, used in zip(v.conditions, conditions, strict=True)
        ],
        "control": {"asset_id": v.control_asset_id, "strength": round(v.control_strength or 1.0, 6)}
        if v.control_asset_id
        else None,
        "chain": plan.as_media(v.seed),
    }


def element_recipe(prepared: list[PreparedPrompt], start: ElementStart | None) -> dict[str, Any]:
    """The elements the chunks' prompts mention (first mention first), as they were, and the reference image that
    became frame 0; nothing when no prompt mentions one."""
    used = {element.id: element for chunk in prepared for element in chunk.elements}
    if not used:
        return {}
    return {
        "elements": [element.as_media() for element in used.values()],
        "element_condition": None
        if start is None
        else {
            "element_id": start.reference.element_id,
            "asset_id": start.reference.asset_id,
            "frame_index": 0,
            "strength": ELEMENT_START_STRENGTH,
        },
    }
