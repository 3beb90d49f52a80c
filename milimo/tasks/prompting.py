"""The prompt a generation job renders: elements resolved, then, when asked, rewritten by the daemon's enhancer.

Elements are written out by `milimo.tasks.elements`; the jobs that use reference images (image, video) take the
mentioned elements' images too, from `prepare_prompt_and_references`; `prepare_prompt` gives the text alone.

The enhancer is the daemon's `enhancer` setting: "" (none), "ollama:MODEL" (a model pulled into Ollama at
`ollama_host`), or the name of a configured gemma3 model, borrowed from the worker's arbiter for the call. It is a
nicety, never a reason to fail a job: whatever goes wrong, the job logs a warning and renders the prompt it had.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from milimo.models.prompts import OllamaBackend, PromptBackend, clean_reply, enhance_prompt
from milimo.tasks import elements
from milimo.tasks.context import TaskContext
from milimo.tasks.resources import WorkerResources

log = logging.getLogger(__name__)

OLLAMA_PREFIX = "ollama:"

STORY_SYSTEM_PROMPT = (
    "You write prompts for a text-to-video model that renders one long, continuous shot in parts; each part "
    "starts where the previous one ends. Given the idea of the whole shot and the prompts of the parts so far, "
    "write the prompt of the next part as a single paragraph of 60 to 150 words. Keep the same subjects, setting, "
    "camera, lighting and style, and every element the user named; carry the action one plausible step further "
    "from where the last part ends. No cuts, no scene changes, no sound or dialogue. Reply with the prompt itself "
    "and nothing else: no title, no preamble, no quotation marks, no notes."
)


def enhancer(resources: WorkerResources) -> PromptBackend | None:
    """The daemon's prompt enhancer, or None when none is configured."""
    name = resources.settings.enhancer
    if not name:
        return None
    if name.startswith(OLLAMA_PREFIX):
        return OllamaBackend(name.removeprefix(OLLAMA_PREFIX), host=resources.settings.ollama_host)
    from milimo.models.gemma import GemmaBackend

    return GemmaBackend.from_arbiter(resources.arbiter, name)


@dataclass(frozen=True)
class PreparedPrompt:
    """The prompt a job renders, and the elements it mentions with their reference images (first mention first)."""

    text: str
    elements: tuple[elements.Element, ...] = ()
    references: tuple[elements.Reference, ...] = ()


def prepare_prompt_and_references(
    prompt: str,
    *,
    kind: Literal["video", "image"],
    enhance: bool,
    ctx: TaskContext,
    resources: WorkerResources,
    image: np.ndarray | None = None,
) -> PreparedPrompt:
    """`prompt` with its elements resolved and, when `enhance`, rewritten by the enhancer (which sees `image`, the
    shot's first frame or a reference, else the first element's reference, when it is a vision model), with the
    elements' reference images. Never raises for enhancement."""
    resolved = elements.resolve(prompt, ctx)
    shown = image if image is not None else next((reference.image for reference in resolved.references), None)
    text = enhanced(resolved.prompt, kind=kind, enhance=enhance, ctx=ctx, resources=resources, image=shown)
    return PreparedPrompt(text, resolved.elements, resolved.references)


def prepare_prompt(
    prompt: str,
    *,
    kind: Literal["video", "image"],
    enhance: bool,
    ctx: TaskContext,
    resources: WorkerResources,
    image: np.ndarray | None = None,
) -> str:
    """The text alone, for jobs that take no reference images (inpainting): the elements' images are not read."""
    resolved = elements.resolve(prompt, ctx, read_references=False)
    return enhanced(resolved.prompt, kind=kind, enhance=enhance, ctx=ctx, resources=resources, image=image)


def enhanced(
    prompt: str,
    *,
    kind: Literal["video", "image"],
    enhance: bool,
    ctx: TaskContext,
    resources: WorkerResources,
    image: np.ndarray | None = None,
) -> str:
    """`prompt` rewritten by the enhancer when `enhance`; as it is, with a warning, when that cannot be had."""
    if not enhance:
        return prompt
    backend = enhancer(resources)
    if backend is None:
        _warn(
            ctx,
            "prompt enhancement was asked for, but the daemon has no enhancer configured; using the prompt as written",
        )
        return prompt
    png = None if image is None else _png(image)
    timeout = resources.settings.enhance_timeout_s
    return enhance_prompt(prompt, kind=kind, backend=backend, timeout_s=timeout, ctx=ctx, image=png).text


def continue_story(
    shot_prompt: str, previous: Sequence[str], *, parts: int, ctx: TaskContext, resources: WorkerResources
) -> str:
    """The prompt of part `len(previous) + 1` of `parts` of a chained shot, written by the enhancer from the shot's
    idea and the parts so far; the previous part's prompt, with a warning, when it cannot be had."""
    part, fallback = len(previous) + 1, previous[-1]
    backend = enhancer(resources)
    if backend is None:
        _warn(
            ctx,
            f"continuing the story needs a prompt enhancer and none is configured; part {part} repeats the last prompt",
        )
        return fallback
    timeout = resources.settings.enhance_timeout_s
    start = time.monotonic()
    try:
        reply, _ = backend.complete(
            STORY_SYSTEM_PROMPT,
            story_message(shot_prompt, previous, parts),
            image=None,
            deadline=start + timeout,
        )
        text = clean_reply(reply)
        if not text:
            raise ValueError("the model's reply was empty")
    except Exception as exc:  # enhancement must not fail the job
        reason = str(exc) or type(exc).__name__
        _warn(ctx, f"continuing the story with {backend.source} failed ({reason}); part {part} repeats the last prompt")
        return fallback
    ctx.log(f"part {part} of the story written by {backend.source} in {time.monotonic() - start:.1f}s: {text}")
    return text


def story_message(shot_prompt: str, previous: Sequence[str], parts: int) -> str:
    so_far = "\n\n".join(f"Part {i}: {text}" for i, text in enumerate(previous, start=1))
    return (
        f"The whole shot: {shot_prompt.strip()}\n\n{so_far}\n\nWrite the prompt of part {len(previous) + 1} of {parts}."
    )


def _warn(ctx: TaskContext, warning: str) -> None:
    log.warning("%s", warning)
    ctx.log(f"warning: {warning}")


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()
