"""The daemon's models, fetched off the main thread and offered in the panel's model menu."""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from milimo.client.client import Client
from milimo.v1 import models_pb2

from .requests import ANIMATIC

VIDEO_FAMILIES = ("ltx2", "ltx-video")
USABLE = {
    models_pb2.MODEL_STATE_ON_DISK,
    models_pb2.MODEL_STATE_IN_RAM,
    models_pb2.MODEL_STATE_ON_ACCELERATOR,
}


@dataclass(frozen=True)
class ModelChoice:
    name: str
    family: str
    kinds: tuple[str, ...]


_known: list[ModelChoice] = []
# Blender keeps only references to enum item strings: the list must outlive the menu (documented pitfall).
_items: list[tuple[str, str, str]] = [(ANIMATIC, "Animatic", "A card with the prompt, rendered without a model")]


def fetch(client: Client) -> list[ModelChoice]:
    """The daemon's usable models (worker thread)."""
    reply = client.models.ListModels(models_pb2.ListModelsRequest(), timeout=10)
    return [
        ModelChoice(model.name, model.family, tuple(model.job_kinds)) for model in reply.models if model.state in USABLE
    ]


def remember(choices: list[ModelChoice]) -> None:
    """Main thread: keep what `fetch` found for the menus."""
    _known[:] = choices
    _items[:] = [_items[0]] + [
        (choice.name, choice.name, f"{choice.family} ({', '.join(choice.kinds)})")
        for choice in choices
        if choice.family in VIDEO_FAMILIES
    ]


def family_of(name: str) -> str:
    return next((choice.family for choice in _known if choice.name == name), "")


def segmenters() -> list[str]:
    return [choice.name for choice in _known if choice.family in ("sam3", "sam2")]


def image_models() -> list[str]:
    return [choice.name for choice in _known if "inpaint" in choice.kinds]


def enum_items(_self: object, _context: bpy.types.Context) -> list[tuple[str, str, str]]:
    return _items
