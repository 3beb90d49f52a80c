"""The daemon's models, fetched off the main thread and offered in the panel's model menus: video models for shots,
segmentation models for tracking, image models that inpaint."""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from milimo.client.client import Client
from milimo.v1 import models_pb2

from .requests import ANIMATIC

VIDEO_FAMILIES = ("ltx2", "ltx-video")
SEGMENT_FAMILIES = ("sam3", "sam2")
AUTOMATIC = "automatic"  # the segmentation and inpainting menus' default: the first suitable model
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
_segment_items: list[tuple[str, str, str]] = [
    (AUTOMATIC, "Automatic", "The first segmentation model that takes the prompt (SAM 3 for a text)")
]
_inpaint_items: list[tuple[str, str, str]] = [(AUTOMATIC, "Automatic", "The first image model that can inpaint")]


def fetch(client: Client) -> list[ModelChoice]:
    """The daemon's usable models (worker thread)."""
    reply = client.models.ListModels(models_pb2.ListModelsRequest(), timeout=10)
    return [
        ModelChoice(model.name, model.family, tuple(model.job_kinds)) for model in reply.models if model.state in USABLE
    ]


def remember(choices: list[ModelChoice]) -> None:
    """Main thread: keep what `fetch` found for the menus."""
    _known[:] = choices
    _items[1:] = [_item(choice) for choice in choices if choice.family in VIDEO_FAMILIES]
    _segment_items[1:] = [_item(choice) for choice in choices if choice.family in SEGMENT_FAMILIES]
    _inpaint_items[1:] = [_item(choice) for choice in choices if "inpaint" in choice.kinds]


def _item(choice: ModelChoice) -> tuple[str, str, str]:
    return (choice.name, choice.name, f"{choice.family} ({', '.join(choice.kinds)})")


def family_of(name: str) -> str:
    return next((choice.family for choice in _known if choice.name == name), "")


def segmenters() -> list[str]:
    return [choice.name for choice in _known if choice.family in SEGMENT_FAMILIES]


def image_models() -> list[str]:
    return [choice.name for choice in _known if "inpaint" in choice.kinds]


def enum_items(_self: object, _context: bpy.types.Context) -> list[tuple[str, str, str]]:
    return _items


def segment_enum_items(_self: object, _context: bpy.types.Context) -> list[tuple[str, str, str]]:
    return _segment_items


def inpaint_enum_items(_self: object, _context: bpy.types.Context) -> list[tuple[str, str, str]]:
    return _inpaint_items
