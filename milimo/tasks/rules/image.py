"""Rules of the `image` kind: a still from a configured image model, as a PNG."""

from __future__ import annotations

from collections.abc import Mapping

from milimo import validation
from milimo.errors import InvalidArgument
from milimo.tasks.inputs import InputAsset, InputRef
from milimo.tasks.registry import IMAGE_FAMILIES, Models, configured_model
from milimo.tasks.rules import common
from milimo.v1 import jobs_pb2

REFERENCES_MAX = 8
IMAGE_STEP = 16  # Flux packs 2x2 latent patches of 8x8 pixels


def image_dimension(field: str, value: int) -> int:
    if not validation.DIMENSION_MIN <= value <= validation.DIMENSION_MAX or value % IMAGE_STEP:
        raise InvalidArgument(
            field,
            f"must be a multiple of {IMAGE_STEP} from {validation.DIMENSION_MIN} to {validation.DIMENSION_MAX} "
            f"(got {value})",
        )
    return value


def validate(request: jobs_pb2.JobRequest, models: Models) -> None:
    i = request.image
    configured_model("image.model", i.model, models, IMAGE_FAMILIES, "image model")
    validation.prompt("image.prompt", i.prompt)
    validation.prompt("image.negative_prompt", i.negative_prompt)
    image_dimension("image.width", i.width)
    image_dimension("image.height", i.height)
    common.steps_and_guidance("image", i.steps, i.guidance)
    validation.real_range("image.true_cfg", i.true_cfg, 0.0, 20.0)
    if len(i.reference_asset_ids) > REFERENCES_MAX:
        raise InvalidArgument("image.reference_asset_ids", f"at most {REFERENCES_MAX} references")
    for index, asset_id in enumerate(i.reference_asset_ids):
        validation.asset_id(f"image.reference_asset_ids[{index}]", asset_id)
    if i.init_asset_id:
        validation.asset_id("image.init_asset_id", i.init_asset_id)
    validation.real_range("image.strength", i.strength, 0.0, 1.0)
    common.loras("image.loras", i.loras)


def inputs(request: jobs_pb2.JobRequest) -> list[InputRef]:
    i = request.image
    refs = common.loras("image.loras", i.loras)
    refs += [InputRef(f"image.reference_asset_ids[{n}]", a, "image") for n, a in enumerate(i.reference_asset_ids)]
    if i.init_asset_id:
        refs.append(InputRef("image.init_asset_id", i.init_asset_id, "image"))
    return refs


def check_inputs(request: jobs_pb2.JobRequest, assets: Mapping[str, InputAsset]) -> None:
    pass  # references and the init image are resized to the request's size
