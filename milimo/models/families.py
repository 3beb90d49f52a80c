"""The registry of model families: name -> implementation, imported only when first used."""

from __future__ import annotations

import importlib

from milimo.errors import InvalidArgument
from milimo.models.base import ModelFamily

FAMILIES: dict[str, str] = {
    "ltx-video": "milimo.models.ltx_video:LTXVideoFamily",
    "ltx2": "milimo.models.ltx2:LTX2Family",
    "flux": "milimo.models.flux:FluxFamily",
    "flux2-klein": "milimo.models.flux2_klein:Flux2KleinFamily",
    "gemma3": "milimo.models.gemma:Gemma3Family",
    "sam3": "milimo.models.sam3:Sam3Family",
    "sam2": "milimo.models.sam2:Sam2Family",
}


def family(name: str) -> ModelFamily:
    if name not in FAMILIES:
        raise InvalidArgument("family", f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")
    module_name, class_name = FAMILIES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)()
