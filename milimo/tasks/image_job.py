"""The `image` job kind: a still from a configured image model (text to image, references, image to image), as a PNG.

The elements the prompt mentions bring their reference images, after the request's own, as far as the model takes
them (`generate_with_elements`); the result records which it took.

Also home to what the inpaint kind shares with it: reading input pictures and LoRAs, and naming a model-layer
error's field in the job's request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
from PIL import Image

from milimo.errors import InvalidArgument
from milimo.media.ops import write_png
from milimo.models.base import LoadedModel, ModelFamily
from milimo.models.families import family
from milimo.models.requests import ImageRequest, ImageResult, LoraWeight
from milimo.tasks.context import TaskContext
from milimo.tasks.elements import Reference
from milimo.tasks.prompting import prepare_prompt_and_references
from milimo.tasks.registry import TaskOutput
from milimo.tasks.resources import WorkerResources
from milimo.v1 import jobs_pb2

DEFAULT_STEPS, DEFAULT_GUIDANCE, DEFAULT_TRUE_CFG, DEFAULT_STRENGTH = 28, 3.5, 1.0, 0.8


def run(request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
    i = request.image
    references = tuple(read_picture(ctx, asset_id) for asset_id in i.reference_asset_ids)
    init_image = read_picture(ctx, i.init_asset_id) if i.init_asset_id else None
    shown = init_image if init_image is not None else next(iter(references), None)
    prepared = prepare_prompt_and_references(
        i.prompt, kind="image", enhance=i.enhance_prompt, ctx=ctx, resources=resources, image=shown
    )
    still = ImageRequest(
        prompt=prepared.text,
        negative_prompt=i.negative_prompt,
        width=i.width,
        height=i.height,
        steps=i.steps or DEFAULT_STEPS,
        guidance=i.guidance or DEFAULT_GUIDANCE,
        true_cfg=i.true_cfg or DEFAULT_TRUE_CFG,
        seed=i.seed,
        references=references,
        init_image=init_image,
        strength=i.strength or DEFAULT_STRENGTH,
        loras=lora_weights(ctx, i.loras),
    )
    config = resources.models[i.model]
    ctx.log(f"loading {i.model}")
    with resources.arbiter.acquire(i.model) as model, fields_named_under("image"):
        result, used = generate_with_elements(family(config.family), model, still, prepared.references, ctx)
    ctx.raise_if_cancelled()
    out = write_png(ctx.scratch_dir / "image.png", result.image)
    media = {
        "width": i.width,
        "height": i.height,
        "frames": 1,
        "model": i.model,
        "seed": i.seed,
        "prompt": prepared.text,
        "negative_prompt": i.negative_prompt,
        "steps": still.steps,
        "guidance": still.guidance,
        "true_cfg": still.true_cfg,
        "reference_asset_ids": list(i.reference_asset_ids),
        "init_asset_id": i.init_asset_id,
        "strength": still.strength if i.init_asset_id else None,
        "loras": lora_parameters(i.loras),
    }
    if prepared.text != i.prompt:
        media["prompt_as_written"] = i.prompt
    if prepared.elements:
        media["elements"] = [element.as_media() for element in prepared.elements]
        media["element_reference_asset_ids"] = [reference.asset_id for reference in used]  # after the request's own
    return [TaskOutput(path=out, mime_type="image/png", media=media)]


def generate_with_elements(
    generator: ModelFamily,
    model: LoadedModel,
    still: ImageRequest,
    extra: tuple[Reference, ...],
    ctx: TaskContext,
) -> tuple[ImageResult, tuple[Reference, ...]]:
    """The image, with the elements' reference images after the request's own, as many as the model takes: all,
    else the first, else none, with a warning. The model layer alone knows what a model takes (FLUX.1 needs its
    Redux prior for any, klein takes one beside an init image, each has its size rules) and refuses a request
    before any work, so asking it costs nothing. Returns the result and the references it took."""
    offered = extra
    while True:
        try:
            taken = replace(still, references=still.references + tuple(reference.image for reference in offered))
            return generator.generate(model, taken, ctx), offered
        except InvalidArgument as refusal:
            if not offered or not refusal.field.startswith("references"):
                raise  # the request's own references, or another field: the job's error
            fewer = offered[:1] if len(offered) > 1 else ()
            ctx.log(
                f"warning: {model.name} does not take the {len(offered)} reference image(s) of the prompt's elements "
                f"here ({refusal}); {'trying the first alone' if fewer else 'rendering without them'}"
            )
            offered = fewer


def read_picture(ctx: TaskContext, asset_id: str) -> np.ndarray:
    """An input image asset as (H, W, 3) RGB uint8."""
    with Image.open(ctx.input(asset_id).path) as image:
        return np.array(image.convert("RGB"))  # writable: torch warns on read-only arrays


def lora_weights(ctx: TaskContext, loras: Iterable[jobs_pb2.LoraRef]) -> tuple[LoraWeight, ...]:
    """The request's LoRAs as files in the media store; a weight of 0 means 1."""
    return tuple(LoraWeight(path=str(ctx.input(lora.asset_id).path), weight=lora.weight or 1.0) for lora in loras)


def lora_parameters(loras: Iterable[jobs_pb2.LoraRef]) -> list[dict]:
    return [{"asset_id": lora.asset_id, "weight": lora.weight or 1.0} for lora in loras]


@contextmanager
def fields_named_under(kind: str) -> Iterator[None]:
    """Model-layer errors name a field of the model's request (`references`); say it is the job's (`image.…`)."""
    try:
        yield
    except InvalidArgument as error:
        raise InvalidArgument(f"{kind}.{error.field}", error.rule) from error
