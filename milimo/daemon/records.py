"""Domain records of the catalogue: projects, shots, assets, and the storyboard's scenes and elements.
No gRPC or SQL here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from milimo.storyboard.screenplay import DialogueLine, Setting
from milimo.validation import PROMPT_MAX


@dataclass(frozen=True)
class AssetRecord:
    id: str
    sha256: str
    size: int
    mime_type: str
    filename: str
    project_id: str | None
    job_id: str | None
    media: dict[str, Any]
    created_us: int


@dataclass(frozen=True)
class NewAsset:
    sha256: str
    size: int
    mime_type: str
    filename: str
    project_id: str | None = None
    job_id: str | None = None
    media: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectRecord:
    id: str
    name: str
    description: str
    width: int
    height: int
    fps: Fraction
    created_us: int
    updated_us: int


@dataclass(frozen=True)
class ShotRecord:
    id: str
    project_id: str
    position: int
    name: str
    description: str
    duration_frames: int
    asset_id: str | None
    metadata: dict[str, str]
    created_us: int
    updated_us: int
    scene_id: str | None = None  # None in a project without scenes
    action: str = ""
    dialogue: tuple[DialogueLine, ...] = ()
    characters: tuple[str, ...] = ()


SUMMARY_MAX = 120  # characters of the first line in a dialogue-only shot's description


def default_description(action: str, dialogue: Sequence[DialogueLine]) -> str:
    """A shot's description (the prompt it is generated from) when it comes from a screenplay: its action, or
    for a shot of dialogue only "SPEAKER: first line", shortened."""
    if action.strip():
        return action.strip()[:PROMPT_MAX]
    if not dialogue:
        return ""
    line = dialogue[0].text.strip() or f"({dialogue[0].parenthetical})"
    if len(line) > SUMMARY_MAX:
        line = line[: SUMMARY_MAX - 1].rstrip() + "…"
    return f"{dialogue[0].speaker}: {line}"


@dataclass(frozen=True)
class SceneRecord:
    id: str
    project_id: str
    position: int
    heading: str
    setting: Setting
    location: str
    time_of_day: str
    synopsis: str
    transition: str
    script_number: str
    created_us: int
    updated_us: int


@dataclass(frozen=True)
class SceneShots:
    scene: SceneRecord
    shots: tuple[ShotRecord, ...]  # in order


@dataclass(frozen=True)
class Board:
    """A project's storyboard in order. `loose_shots` are the shots of a project that has no scenes: once a
    project has a scene, every shot belongs to one."""

    project: ProjectRecord
    scenes: tuple[SceneShots, ...]
    loose_shots: tuple[ShotRecord, ...]

    @property
    def shots(self) -> tuple[ShotRecord, ...]:
        """Every shot of the project, in order."""
        return self.loose_shots + tuple(shot for scene in self.scenes for shot in scene.shots)


class ElementKind(StrEnum):
    CHARACTER = "character"
    PROP = "prop"
    LOCATION = "location"


# "@" and 1..63 letters, digits, "_" or "-" (\w is Unicode-aware: "@Zoë" is a trigger).
TRIGGER_PATTERN = re.compile(r"^@[\w-]{1,63}\Z")


def default_trigger(name: str) -> str:
    """ "@" + the name without its spaces and punctuation: "Old Harbour Diner" -> "@OldHarbourDiner"; "" when
    nothing of the name is left."""
    kept = "".join(ch for ch in name if ch.isalnum())[:63]
    return f"@{kept}" if kept else ""


@dataclass(frozen=True)
class ElementRecord:
    id: str
    project_id: str
    kind: ElementKind
    name: str
    trigger: str
    description: str
    reference_asset_ids: tuple[str, ...]
    created_us: int
    updated_us: int
