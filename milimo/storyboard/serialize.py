"""A `Screenplay` as JSON and back: the `screenplay` job's result, which the daemon reads into the storyboard.

The form is the dataclasses' own fields (`dataclasses.asdict`), with the setting as its string value. Version 1.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from milimo.storyboard.screenplay import DialogueLine, Scene, Screenplay, Setting, Shot

VERSION = 1
MIME_TYPE = "application/vnd.milimo.screenplay+json"


def screenplay_to_json(screenplay: Screenplay) -> bytes:
    document = {"version": VERSION, **asdict(screenplay)}
    document["title_page"] = dict(screenplay.title_page)
    return json.dumps(document, ensure_ascii=False).encode()


def screenplay_from_json(data: bytes | str) -> Screenplay:
    """The screenplay `screenplay_to_json` wrote. Raises ValueError for another form or version."""
    document: dict[str, Any] = json.loads(data)
    if document.get("version") != VERSION:
        raise ValueError(f"not a version {VERSION} screenplay document")
    return Screenplay(
        title=document["title"],
        scenes=tuple(_scene(scene) for scene in document["scenes"]),
        parser=document["parser"],
        title_page=dict(document["title_page"]),
        warnings=tuple(document["warnings"]),
    )


def _scene(scene: dict[str, Any]) -> Scene:
    return Scene(
        number=scene["number"],
        heading=scene["heading"],
        setting=Setting(scene["setting"]),
        location=scene["location"],
        time_of_day=scene["time_of_day"],
        shots=tuple(_shot(shot) for shot in scene["shots"]),
        script_number=scene["script_number"],
        transition=scene["transition"],
        synopsis=scene["synopsis"],
    )


def _shot(shot: dict[str, Any]) -> Shot:
    return Shot(
        number=shot["number"],
        action=shot["action"],
        dialogue=tuple(DialogueLine(**line) for line in shot["dialogue"]),
        characters=tuple(shot["characters"]),
        duration_s=shot["duration_s"],
    )
