"""Rules of the `video` kind: a shot from a configured LTX model, possibly chained over several passes."""

from __future__ import annotations

from collections.abc import Mapping

from milimo import validation
from milimo.errors import InvalidArgument
from milimo.tasks.chain import FRAME_RULES
from milimo.tasks.inputs import InputAsset, InputRef
from milimo.tasks.registry import IMAGE_FAMILIES, VIDEO_FAMILIES, Models, configured_model
from milimo.tasks.rules import common
from milimo.v1 import jobs_pb2

CONDITIONS_MAX = 16
CHUNK_PROMPTS_MAX = 100


def validate(request: jobs_pb2.JobRequest, models: Models) -> None:
    v = request.video
    config = configured_model("video.model", v.model, models, VIDEO_FAMILIES, "video model")
    validation.prompt("video.prompt", v.prompt)
    validation.prompt("video.negative_prompt", v.negative_prompt)
    validation.dimension("video.width", v.width)
    validation.dimension("video.height", v.height)
    validation.frames("video.frames", v.frames)
    validation.fps("video.fps", v.fps.num, v.fps.den)
    common.steps_and_guidance("video", v.steps, v.guidance)
    common.loras("video.loras", v.loras)
    if len(v.conditions) > CONDITIONS_MAX:
        raise InvalidArgument("video.conditions", f"at most {CONDITIONS_MAX} conditions (got {len(v.conditions)})")
    for index, condition in enumerate(v.conditions):
        here = f"video.conditions[{index}]"
        validation.asset_id(f"{here}.asset_id", condition.asset_id)
        validation.in_range(f"{here}.frame_index", condition.frame_index, 0, v.frames - 1)
        validation.real_range(f"{here}.strength", condition.strength, 0.0, 1.0)
        validation.in_range(f"{here}.source_start_frame", condition.source_start_frame, 0, 10**9)
        validation.in_range(f"{here}.source_frames", condition.source_frames, 0, v.frames)
    if v.control_asset_id:
        validation.asset_id("video.control_asset_id", v.control_asset_id)
        if config.family != "ltx2":
            raise InvalidArgument(
                "video.control_asset_id", f"IC-LoRA control needs an LTX-2 model ({v.model!r} is {config.family})"
            )
    validation.real_range("video.control_strength", v.control_strength, 0.0, 1.0)
    if v.upscale and config.family == "ltx2" and (v.width % 64 or v.height % 64):
        # The two-stage path halves the size for its first stage, whose latents must still fill 32-pixel patches.
        raise InvalidArgument(
            "video.upscale",
            f"LTX-2's two-stage path needs width and height in multiples of 64 (got {v.width}x{v.height})",
        )
    if v.HasField("chain"):
        _validate_chain(v, FRAME_RULES[config.family].one_pass)


def _validate_chain(v: jobs_pb2.VideoShotRequest, one_pass: int) -> None:
    chain = v.chain
    validation.in_range("video.chain.chunk_frames", chain.chunk_frames, 0, v.frames)
    chunk = chain.chunk_frames or min(v.frames, one_pass)
    if chain.overlap_frames and not 1 <= chain.overlap_frames < chunk:
        raise InvalidArgument(
            "video.chain.overlap_frames",
            f"must be from 1 to chunk_frames - 1 ({chunk - 1}) (got {chain.overlap_frames})",
        )
    if len(chain.chunk_prompts) > CHUNK_PROMPTS_MAX:
        raise InvalidArgument("video.chain.chunk_prompts", f"at most {CHUNK_PROMPTS_MAX} prompts")
    for index, prompt in enumerate(chain.chunk_prompts):
        validation.prompt(f"video.chain.chunk_prompts[{index}]", prompt)
    if chain.continue_story and chain.chunk_prompts:
        raise InvalidArgument("video.chain", "give chunk_prompts or continue_story, not both")


def inputs(request: jobs_pb2.JobRequest) -> list[InputRef]:
    v = request.video
    refs = common.loras("video.loras", v.loras)
    refs += [InputRef(f"video.conditions[{i}].asset_id", c.asset_id, "visual") for i, c in enumerate(v.conditions)]
    if v.control_asset_id:
        refs.append(InputRef("video.control_asset_id", v.control_asset_id, "video"))
    return refs


def condition_frames(condition: jobs_pb2.Conditioning, asset: InputAsset) -> int:
    """How many frames a condition places: one for an image, else `source_frames` or the rest of the clip."""
    if asset.is_image:
        return 1
    return condition.source_frames or asset.frames - condition.source_start_frame


def check_inputs(request: jobs_pb2.JobRequest, assets: Mapping[str, InputAsset]) -> None:
    v = request.video
    for index, condition in enumerate(v.conditions):
        here = f"video.conditions[{index}]"
        asset = assets[f"{here}.asset_id"]
        if asset.is_video and condition.source_start_frame >= asset.frames:
            raise InvalidArgument(
                f"{here}.source_start_frame",
                f"{condition.source_start_frame} is past the end of {asset.asset_id} ({asset.frames} frames)",
            )
        count = condition_frames(condition, asset)
        if asset.is_video and condition.source_start_frame + count > asset.frames:
            raise InvalidArgument(
                f"{here}.source_frames",
                f"{count} frames from {condition.source_start_frame} run past the end of {asset.asset_id} "
                f"({asset.frames} frames)",
            )
        if condition.frame_index + count > v.frames:
            raise InvalidArgument(
                f"{here}.frame_index",
                f"{count} conditioning frames at {condition.frame_index} run past the last frame ({v.frames - 1})",
            )


def as_still(request: jobs_pb2.JobRequest, models: Models) -> jobs_pb2.JobRequest:
    """A single-frame video request as the image request that answers it, with the first image model."""
    v = request.video
    image_models = [name for name, config in models.items() if config.family in IMAGE_FAMILIES]
    if not image_models:
        raise InvalidArgument("video.frames", "a single frame is made by an image model, and none is configured")
    for field, given in (("conditions", v.conditions), ("control_asset_id", v.control_asset_id), ("loras", v.loras)):
        if given:
            raise InvalidArgument(
                f"video.{field}",
                f"a single frame is made by the image model {image_models[0]!r}; submit an image job to use {field}",
            )
    return jobs_pb2.JobRequest(
        image=jobs_pb2.ImageRequest(
            model=image_models[0],
            prompt=v.prompt,
            negative_prompt=v.negative_prompt,
            width=v.width,
            height=v.height,
            steps=v.steps,
            guidance=v.guidance,
            seed=v.seed,
            enhance_prompt=v.enhance_prompt,
        )
    )
