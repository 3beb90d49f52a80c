"""Elements (a project's recurring characters, props and locations) written out in a job's prompt, with their
reference images.

When a generation job starts, the daemon puts the project's elements in `ctx.facts["elements"]`, a list of
`{"id", "kind", "name", "trigger", "description", "reference_asset_ids": [...]}`, and hands over every reference
image as an input (`ctx.input(asset_id)`). A job without them (no project, or one without elements) resolves
nothing. Each trigger a prompt mentions ("@mara", "@Mara's": any case, a whole mention as
`milimo.storyboard.matcher.TRIGGER_MENTION` reads one) becomes the element's name, followed at its first mention by
its description in brackets: "Mara (a tall woman in a red coat)". A mention no element answers stays as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from milimo.storyboard.matcher import TRIGGER_MENTION
from milimo.tasks.context import TaskContext

ARTICLES = frozenset({"a", "an", "the"})  # lower-cased at the start of a description written inside a sentence


@dataclass(frozen=True)
class Element:
    id: str
    kind: str  # "character" | "prop" | "location"
    name: str
    trigger: str  # "@Mara"
    description: str
    reference_asset_ids: tuple[str, ...]  # image assets

    @classmethod
    def from_fact(cls, fact: Mapping[str, Any]) -> Element:
        return cls(
            id=fact["id"],
            kind=fact["kind"],
            name=fact["name"],
            trigger=fact["trigger"],
            description=fact["description"],
            reference_asset_ids=tuple(fact["reference_asset_ids"]),
        )

    def written_out(self) -> str:
        """The name with the description in brackets, as a prompt reads it: "Mara (a tall woman in a red coat)"."""
        description = " ".join(self.description.split()).rstrip(".")
        if not description:
            return self.name
        first, _, rest = description.partition(" ")
        if first.lower() in ARTICLES:
            description = f"{first.lower()} {rest}".rstrip()
        return f"{self.name} ({description})"

    def as_media(self) -> dict[str, Any]:
        """What a result records of the element: enough to see what was rendered after the element changes."""
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "trigger": self.trigger,
            "description": self.description,
            "reference_asset_ids": list(self.reference_asset_ids),
        }


@dataclass(frozen=True)
class Reference:
    """A reference image of an element, (H, W, 3) RGB uint8."""

    element_id: str
    asset_id: str
    image: np.ndarray


@dataclass(frozen=True)
class ResolvedPrompt:
    """A prompt with its elements written out; the elements it mentions and their reference images, in order of
    first mention."""

    prompt: str
    elements: tuple[Element, ...] = ()
    references: tuple[Reference, ...] = ()


def project_elements(ctx: TaskContext) -> dict[str, Element]:
    """The project's elements the daemon handed the job, by trigger ignoring case."""
    return {element.trigger.casefold(): element for element in map(Element.from_fact, ctx.facts.get("elements", ()))}


def resolve(prompt: str, ctx: TaskContext, *, read_references: bool = True) -> ResolvedPrompt:
    """`prompt` with every element it mentions written out, and (unless not `read_references`) their reference
    images, read as the image job reads its inputs. Logs what was resolved and what was not."""
    known = project_elements(ctx)
    if not known:
        return ResolvedPrompt(prompt)
    used: dict[str, Element] = {}
    unknown: list[str] = []

    def write_out(mention: re.Match[str]) -> str:
        element = known.get(mention.group().casefold())
        if element is None:
            unknown.append(mention.group())
            return mention.group()
        if element.id in used:
            return element.name
        used[element.id] = element
        return element.written_out()

    text = TRIGGER_MENTION.sub(write_out, prompt)
    elements = tuple(used.values())
    references = _references(elements, ctx) if read_references else ()
    if elements:
        ctx.log(f"elements: {'; '.join(_described(element) for element in elements)}")
    if unknown:
        ctx.log(f"no element has the trigger {', '.join(dict.fromkeys(unknown))}; left as written")
    return ResolvedPrompt(text, elements, references)


def _references(elements: tuple[Element, ...], ctx: TaskContext) -> tuple[Reference, ...]:
    from milimo.tasks.image_job import read_picture  # the image job imports this module (through prompting)

    return tuple(
        Reference(element.id, asset_id, read_picture(ctx, asset_id))
        for element in elements
        for asset_id in element.reference_asset_ids
    )


def _described(element: Element) -> str:
    count = len(element.reference_asset_ids)
    images = f"{count} reference image{'s' if count != 1 else ''}" if count else "no reference image"
    return f"{element.trigger} is {element.name} ({element.kind} {element.id}, {images})"
