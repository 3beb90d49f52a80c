"""The hook through which "elements" (recurring characters, props, locations) are resolved in a prompt.

Every generation job calls `resolve(prompt)` before prompt enhancement (see `milimo.tasks.prompting`). Until the
storyboard issue plugs in a resolver, the prompt passes unchanged and brings no reference images.

What the storyboard issue must provide:
- an `ElementResolver` whose `resolve` replaces each element a prompt mentions (e.g. "@mara") with the element's
  written description, and returns the element's reference images (RGB uint8 arrays) beside the prompt;
- its registration with `set_resolver` in the worker process, with the project's elements at hand (the daemon
  looks them up when a job starts and hands them over in `ctx.facts`, as it does for a cut's shots);
- somewhere for the references to go: `prepare_prompt` returns only the text today, so the jobs that can use
  reference images (image: `ImageRequest.references`; video: an image condition) take them from `resolve` then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class ResolvedPrompt:
    """A prompt with its elements written out, and the reference images of those elements (H, W, 3) uint8."""

    prompt: str
    references: tuple[np.ndarray, ...] = ()


class ElementResolver(Protocol):
    def resolve(self, prompt: str) -> ResolvedPrompt:
        """The prompt with every element it mentions resolved; unknown mentions are left as written."""


class NoElements:
    """The default: prompts mention no elements, so they pass unchanged."""

    def resolve(self, prompt: str) -> ResolvedPrompt:
        return ResolvedPrompt(prompt)


_resolver: ElementResolver = NoElements()


def set_resolver(resolver: ElementResolver) -> ElementResolver:
    """Resolve elements with `resolver` from now on in this process; returns the one it replaces."""
    global _resolver
    previous, _resolver = _resolver, resolver
    return previous


def resolve(prompt: str) -> ResolvedPrompt:
    return _resolver.resolve(prompt)
