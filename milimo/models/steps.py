"""Progress and cancellation for diffusers pipelines, through `callback_on_step_end`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from milimo.models.offload import offloaded
from milimo.tasks.context import TaskContext

if TYPE_CHECKING:
    from milimo.models.base import Placement


def step_callback(
    ctx: TaskContext,
    total_steps: int,
    *,
    message: str = "denoising",
    preview_every: int = 0,
    preview: Callable[[object, dict], bytes] | None = None,
    offset: int = 0,
    overall_total: int | None = None,
) -> Callable:
    """A `callback_on_step_end` that reports each step and stops within one step of a cancel.

    Raising from the callback leaves the pipeline at once (no final VAE decode), which is what a
    cancel wants. `offset`/`overall_total` let several passes (chunks, stages) share one bar.
    `preview(pipe, callback_kwargs)` returns a small JPEG every `preview_every` steps.
    """

    def on_step_end(pipe: object, step: int, timestep: object, callback_kwargs: dict) -> dict:
        ctx.raise_if_cancelled()
        done = offset + step + 1
        jpeg = None
        if preview is not None and preview_every and (step + 1) % preview_every == 0:
            jpeg = preview(pipe, callback_kwargs)
        ctx.progress(done, overall_total or total_steps, message, jpeg)
        return callback_kwargs

    return on_step_end


def low_resolution_pass(
    pipe: Any, placement: Placement, ctx: TaskContext, steps: int, total: int, **arguments: Any
) -> Any:
    """A two-stage shot's first pass: `steps` steps of latents at the low resolution `arguments` give, reported as
    the first `steps` of `total`; then "upsampling latents", the next stage, is announced."""
    with offloaded(pipe, placement):
        out = pipe(
            num_inference_steps=steps,
            output_type="latent",
            callback_on_step_end=step_callback(ctx, steps, message="denoising (low resolution)", overall_total=total),
            **arguments,
        )
    ctx.raise_if_cancelled()
    ctx.progress(steps, total, "upsampling latents")
    return out
