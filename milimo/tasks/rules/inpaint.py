"""Rules of the `inpaint` kind: fill the masked part of an image or a clip with an image model."""

from __future__ import annotations

from collections.abc import Mapping

from milimo import validation
from milimo.errors import InvalidArgument
from milimo.tasks.inputs import InputAsset, InputRef
from milimo.tasks.registry import IMAGE_FAMILIES, SEGMENTATION_FAMILIES, Models, configured_model
from milimo.tasks.rules import common
from milimo.v1 import jobs_pb2

GROW_MAX = 64
OBJECT_ID_MAX = 1_000_000


def segmentation_prompt(field: str, prompt: jobs_pb2.SegmentationPrompt, models: Models) -> None:
    """Checks a segmentation prompt's model and shape; coordinates are checked against the image later."""
    config = configured_model(f"{field}.model", prompt.model, models, SEGMENTATION_FAMILIES, "segmentation model")
    validation.text(f"{field}.text", prompt.text, 1000)
    has_box = prompt.HasField("box")
    if prompt.text and (prompt.points or has_box):
        raise InvalidArgument(field, "give a text, or points and/or a box, not both")
    if not (prompt.text or prompt.points or has_box):
        raise InvalidArgument(field, "give points, a box or a text")
    if prompt.text and config.family != "sam3":
        raise InvalidArgument(f"{field}.text", f"{config.family} has no text prompts; give points or a box")
    for index, point in enumerate(prompt.points):
        if point.label not in (0, 1):
            raise InvalidArgument(
                f"{field}.points[{index}].label", f"must be 1 (object) or 0 (not it) (got {point.label})"
            )
    if has_box and not (prompt.box.x0 < prompt.box.x1 and prompt.box.y0 < prompt.box.y1):
        raise InvalidArgument(f"{field}.box", "needs x0 < x1 and y0 < y1")


def validate(request: jobs_pb2.JobRequest, models: Models) -> None:
    p = request.inpaint
    configured_model("inpaint.model", p.model, models, IMAGE_FAMILIES, "image model")
    validation.asset_id("inpaint.asset_id", p.asset_id)
    validation.prompt("inpaint.prompt", p.prompt)
    which = p.WhichOneof("mask")
    if which is None:
        raise InvalidArgument("inpaint.mask", "give mask_asset_id, segment or track_asset_id")
    if which == "mask_asset_id":
        validation.asset_id("inpaint.mask_asset_id", p.mask_asset_id)
    elif which == "track_asset_id":
        validation.asset_id("inpaint.track_asset_id", p.track_asset_id)
    else:
        segmentation_prompt("inpaint.segment", p.segment, models)
    validation.in_range("inpaint.segment_frame", p.segment_frame, 0, 10**9)
    for index, object_id in enumerate(p.object_ids):
        validation.in_range(f"inpaint.object_ids[{index}]", object_id, 0, OBJECT_ID_MAX)
    validation.in_range("inpaint.grow_pixels", p.grow_pixels, 0, GROW_MAX)
    common.steps_and_guidance("inpaint", p.steps, p.guidance, guidance_max=100.0)
    validation.real_range("inpaint.strength", p.strength, 0.0, 1.0)
    common.loras("inpaint.loras", p.loras)


def inputs(request: jobs_pb2.JobRequest) -> list[InputRef]:
    p = request.inpaint
    refs = [InputRef("inpaint.asset_id", p.asset_id, "visual"), *common.loras("inpaint.loras", p.loras)]
    if p.mask_asset_id:
        refs.append(InputRef("inpaint.mask_asset_id", p.mask_asset_id, "image"))
    if p.track_asset_id:
        refs.append(InputRef("inpaint.track_asset_id", p.track_asset_id, "track"))
    return refs


def check_inputs(request: jobs_pb2.JobRequest, assets: Mapping[str, InputAsset]) -> None:
    p = request.inpaint
    source = assets["inpaint.asset_id"]
    size = (source.media.get("width"), source.media.get("height"))
    if p.mask_asset_id:
        mask = assets["inpaint.mask_asset_id"]
        mask_size = (mask.media.get("width"), mask.media.get("height"))
        if mask_size != size:
            raise InvalidArgument(
                "inpaint.mask_asset_id", f"the mask is {mask_size[0]}x{mask_size[1]}, the source {size[0]}x{size[1]}"
            )
    if p.track_asset_id:
        if not source.is_video:
            raise InvalidArgument("inpaint.track_asset_id", "a track fills a video; this source is an image")
        track = assets["inpaint.track_asset_id"]
        if track.media.get("source_asset_id") != source.asset_id and (
            (track.media.get("width"), track.media.get("height"), track.media.get("frames")) != (*size, source.frames)
        ):
            raise InvalidArgument(
                "inpaint.track_asset_id",
                f"the track is of a {track.media.get('width')}x{track.media.get('height')} clip of "
                f"{track.media.get('frames')} frames; the source is {size[0]}x{size[1]}, {source.frames} frames",
            )
        known = set(track.media.get("object_ids", []))
        for index, object_id in enumerate(p.object_ids):
            if object_id not in known:
                raise InvalidArgument(
                    f"inpaint.object_ids[{index}]", f"object {object_id} is not in the track ({sorted(known)})"
                )
    if p.HasField("segment") and p.segment_frame >= source.frames:
        raise InvalidArgument(
            "inpaint.segment_frame", f"{p.segment_frame} is past the end of {source.asset_id} ({source.frames} frames)"
        )
