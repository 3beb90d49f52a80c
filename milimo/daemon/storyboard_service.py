"""The storyboard: scenes, the order of their shots, splitting shots, and elements. Validation and
transactions; no gRPC here. Every request is one write transaction, so one that fails changes nothing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from milimo import validation
from milimo.daemon.catalog_service import check_id
from milimo.daemon.records import (
    TRIGGER_PATTERN,
    Board,
    ElementKind,
    ElementRecord,
    SceneRecord,
    SceneShots,
    ShotRecord,
    default_description,
    default_trigger,
)
from milimo.daemon.store import catalog, storyboard
from milimo.daemon.store.database import Database
from milimo.errors import FailedPrecondition, InvalidArgument, NotFound
from milimo.storyboard.duration import estimate_shot_seconds
from milimo.storyboard.screenplay import DialogueLine, Setting, is_offscreen, parse_heading

SCENE_FIELDS = ("heading", "setting", "location", "time_of_day", "synopsis", "transition", "script_number")
HEADING_PARTS = ("setting", "location", "time_of_day")  # read from the heading when none is given
ELEMENT_FIELDS = ("kind", "name", "trigger", "description", "reference_asset_ids")
SCENE_TEXT_MAX = {"heading": 1000, "location": 500, "time_of_day": 200, "transition": 200, "script_number": 32}
ELEMENT_DESCRIPTION_MAX = 2000
POSITION_MAX = 1_000_000


class StoryboardService:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- the board --------------------------------------------------------------------------

    async def board(self, project_id: str) -> tuple[Board, list[ElementRecord]]:
        """The project's board in order, and its elements by name."""
        check_id("project_id", project_id, "p-", "project")
        return await self.db.read(lambda conn: _board(conn, project_id))

    # ---- scenes -----------------------------------------------------------------------------

    async def create_scene(self, project_id: str, values: dict[str, Any], position: int | None) -> SceneRecord:
        check_id("scene.project_id", project_id, "p-", "project")
        if position is not None:
            validation.in_range("scene.position", position, 0, POSITION_MAX)
        checked = _scene_values(values)
        return await self.db.write(lambda conn: storyboard.insert_scene(conn, project_id, position, checked))

    async def update_scene(self, scene_id: str, values: dict[str, Any]) -> SceneRecord:
        """Change the fields in `values`; a new heading without its setting, location or time of day sets
        all three from the heading."""
        check_id("scene.id", scene_id, "c-", "scene")
        checked = _scene_values(values)
        return await self.db.write(lambda conn: storyboard.update_scene(conn, scene_id, checked))

    async def delete_scene(self, scene_id: str) -> None:
        check_id("scene_id", scene_id, "c-", "scene")
        await self.db.write(lambda conn: storyboard.delete_scene(conn, scene_id))

    async def reorder_scenes(self, project_id: str, scene_ids: Sequence[str]) -> tuple[Board, list[ElementRecord]]:
        check_id("project_id", project_id, "p-", "project")

        def reorder(conn: Connection) -> tuple[Board, list[ElementRecord]]:
            storyboard.reorder_scenes(conn, project_id, scene_ids)
            return _board(conn, project_id)

        return await self.db.write(reorder)

    async def reorder_shots(self, scene_id: str, shot_ids: Sequence[str]) -> SceneShots:
        check_id("scene_id", scene_id, "c-", "scene")
        return await self.db.write(lambda conn: storyboard.reorder_shots(conn, scene_id, shot_ids))

    # ---- shots ------------------------------------------------------------------------------

    async def move_shot(self, shot_id: str, scene_id: str, index: int) -> tuple[Board, list[ElementRecord]]:
        check_id("shot_id", shot_id, "s-", "shot")
        check_id("scene_id", scene_id, "c-", "scene")
        if index < 0:
            raise InvalidArgument("index", f"must be 0 or more (got {index}); past the end appends")

        def move(conn: Connection) -> tuple[Board, list[ElementRecord]]:
            storyboard.move_shot(conn, shot_id, scene_id, index)
            return _board(conn, catalog.get_shot(conn, shot_id).project_id)

        return await self.db.write(move)

    async def split_shot(self, shot_id: str, action_offset: int, dialogue_index: int) -> tuple[ShotRecord, ShotRecord]:
        """Cut the shot in two (see `split_halves`); the second follows the first in the same scene."""
        check_id("shot_id", shot_id, "s-", "shot")

        def split(conn: Connection) -> tuple[ShotRecord, ShotRecord]:
            shot = catalog.get_shot(conn, shot_id)
            first, second = split_halves(shot, action_offset, dialogue_index)
            second["name"] = split_name(shot.name, storyboard.shot_names(conn, shot.project_id))
            return storyboard.split_shot(conn, shot_id, first, second)

        return await self.db.write(split)

    # ---- elements ---------------------------------------------------------------------------

    async def create_element(self, project_id: str, values: dict[str, Any]) -> ElementRecord:
        check_id("element.project_id", project_id, "p-", "project")
        checked = {"description": "", "reference_asset_ids": (), **_element_values(values)}
        if "kind" not in checked:
            raise InvalidArgument("element.kind", _KIND_RULE)
        if "name" not in checked:
            raise InvalidArgument("element.name", "must not be empty")
        if not checked.get("trigger"):
            checked["trigger"] = _trigger_from_name(checked["name"])

        def insert(conn: Connection) -> ElementRecord:
            _check_references(conn, checked["reference_asset_ids"])
            return storyboard.insert_element(conn, project_id, checked)

        return await self.db.write(insert)

    async def get_element(self, element_id: str) -> ElementRecord:
        check_id("element_id", element_id, "e-", "element")
        return await self.db.read(lambda conn: storyboard.get_element(conn, element_id))

    async def list_elements(self, project_id: str) -> list[ElementRecord]:
        check_id("project_id", project_id, "p-", "project")
        return await self.db.read(lambda conn: storyboard.list_elements(conn, project_id))

    async def update_element(self, element_id: str, values: dict[str, Any]) -> ElementRecord:
        """Change the fields in `values`; an empty trigger is made from the element's (new) name."""
        check_id("element.id", element_id, "e-", "element")
        checked = _element_values(values)

        def update(conn: Connection) -> ElementRecord:
            if "trigger" in checked and not checked["trigger"]:
                name = checked.get("name") or storyboard.get_element(conn, element_id).name
                checked["trigger"] = _trigger_from_name(name)
            _check_references(conn, checked.get("reference_asset_ids", ()))
            return storyboard.update_element(conn, element_id, checked)

        return await self.db.write(update)

    async def delete_element(self, element_id: str) -> None:
        check_id("element_id", element_id, "e-", "element")
        await self.db.write(lambda conn: storyboard.delete_element(conn, element_id))


def _board(conn: Connection, project_id: str) -> tuple[Board, list[ElementRecord]]:
    return storyboard.read_board(conn, project_id), storyboard.list_elements(conn, project_id)


# ---- scenes ---------------------------------------------------------------------------------------


def _scene_values(values: dict[str, Any]) -> dict[str, Any]:
    """Checked scene columns. A heading given without any of its parts (setting, location, time of day) sets
    all three from the heading."""
    checked: dict[str, Any] = {}
    for field in SCENE_FIELDS:
        if field not in values:
            continue
        if field == "setting":
            checked["setting"] = values["setting"].value
        elif field == "synopsis":
            checked["synopsis"] = validation.text("scene.synopsis", values["synopsis"])
        else:
            checked[field] = validation.text(f"scene.{field}", values[field], SCENE_TEXT_MAX[field])
    parts_given = checked.get("setting", Setting.UNSPECIFIED) != Setting.UNSPECIFIED or any(
        checked.get(part) for part in ("location", "time_of_day")
    )
    if "heading" in checked and not parts_given:
        setting, location, time_of_day = parse_heading(checked["heading"])
        checked.update(setting=setting.value, location=location, time_of_day=time_of_day)
    return checked


# ---- splitting a shot -----------------------------------------------------------------------------


def split_halves(shot: ShotRecord, action_offset: int, dialogue_index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields of a shot's two halves, cut at `action_offset` characters of its action and before dialogue
    line `dialogue_index`. Each half must keep some action or dialogue.

    The halves share the shot's frames in proportion to their estimated durations, at least one frame each.
    Neither keeps the take (it showed the whole shot). A character stays in the half that names them in its
    action or where they speak on screen; one neither half shows stays in both. A description that was the
    screenplay's (the action, or "SPEAKER: line") is made anew for each half; one written by hand stays on
    both."""
    validation.in_range("action_offset", action_offset, 0, len(shot.action))
    validation.in_range("dialogue_index", dialogue_index, 0, len(shot.dialogue))
    first_action = shot.action[:action_offset].rstrip()
    second_action = shot.action[action_offset:].strip()
    first_lines = shot.dialogue[:dialogue_index]
    second_lines = shot.dialogue[dialogue_index:]
    if second_lines and second_lines[0].dual:  # its partner line stays in the first shot
        line = second_lines[0]
        second_lines = (DialogueLine(line.speaker, line.text, line.parenthetical, line.extension), *second_lines[1:])
    if not (first_action or first_lines) or not (second_action or second_lines):
        raise InvalidArgument(
            "action_offset", "with dialogue_index, must leave some action or dialogue in each of the two shots"
        )
    if shot.duration_frames < 2:
        raise FailedPrecondition(
            f"shot {shot.id} lasts {shot.duration_frames} frame(s); a split needs at least 2, one for each half"
        )
    first_s = estimate_shot_seconds(first_action, first_lines)
    second_s = estimate_shot_seconds(second_action, second_lines)
    first_frames = min(max(round(shot.duration_frames * first_s / (first_s + second_s)), 1), shot.duration_frames - 1)
    parts = ((first_action, first_lines), (second_action, second_lines))
    casts = _casts(shot.characters, parts)
    frames = (first_frames, shot.duration_frames - first_frames)
    screenplay_description = shot.description in ("", default_description(shot.action, shot.dialogue))
    first, second = (
        {
            "action": action,
            "dialogue": tuple(lines),
            "characters": cast,
            "description": default_description(action, lines) if screenplay_description else shot.description,
            "duration_frames": count,
            "asset_id": None,
        }
        for (action, lines), cast, count in zip(parts, casts, frames, strict=True)
    )
    return first, second


def _shows(name: str, action: str, lines: Sequence[DialogueLine]) -> bool:
    """Whether `name` speaks on screen in `lines` or is named in `action`."""
    if any(line.speaker.casefold() == name.casefold() and not is_offscreen(line.extension) for line in lines):
        return True
    return re.search(rf"(?<![\w'’]){re.escape(name)}(?!\w)", action, re.IGNORECASE) is not None


def _casts(characters: Sequence[str], parts: Sequence[tuple[str, Sequence[DialogueLine]]]) -> list[tuple[str, ...]]:
    """Each part's characters: those it shows, and those no part shows."""
    shown = [{name for name in characters if _shows(name, action, lines)} for action, lines in parts]
    unseen = {name for name in characters if not any(name in names for names in shown)}
    return [tuple(name for name in characters if name in names or name in unseen) for names in shown]


_LETTER_SUFFIX = re.compile(r"^(?P<base>.*[\d ])[A-Z]\Z")


def split_name(name: str, taken: set[str]) -> str:
    """The second half's name: the first free letter after the shot's number, "3.2" -> "3.2B" ("3.2C" when
    3.2B exists; "12A" -> "12B"), and a spaced letter after other names, "Opening" -> "Opening B". An unnamed
    shot's second half is unnamed too."""
    if not name:
        return ""
    match = _LETTER_SUFFIX.match(name)
    base = match["base"] if match else name if name[-1].isdigit() else f"{name} "
    base = base[: validation.NAME_MAX - 1]
    candidates = [f"{base}{letter}" for letter in "BCDEFGHIJKLMNOPQRSTUVWXYZ"]
    return next((candidate for candidate in candidates if candidate not in taken), candidates[-1])


# ---- elements -------------------------------------------------------------------------------------

_KIND_RULE = "must be character, prop or location"
_TRIGGER_RULE = 'must be "@" and 1 to 63 letters, digits, "_" or "-"'


def _trigger_from_name(name: str) -> str:
    trigger = default_trigger(name)
    if not trigger:
        raise InvalidArgument("element.trigger", "the name has no letters or digits to make a trigger from; give one")
    return trigger


def _element_values(values: dict[str, Any]) -> dict[str, Any]:
    """Checked element fields; `kind` is an ElementKind, or None for the proto's unspecified kind."""
    checked: dict[str, Any] = {}
    if "kind" in values:
        if values["kind"] is None:
            raise InvalidArgument("element.kind", _KIND_RULE)
        checked["kind"] = ElementKind(values["kind"]).value
    if "name" in values:
        checked["name"] = validation.name("element.name", values["name"].strip())
    if "trigger" in values:
        trigger = values["trigger"].strip()
        if trigger and not TRIGGER_PATTERN.match(trigger):
            raise InvalidArgument("element.trigger", f"{_TRIGGER_RULE} (got {trigger[:70]!r})")
        checked["trigger"] = trigger
    if "description" in values:
        checked["description"] = validation.text("element.description", values["description"], ELEMENT_DESCRIPTION_MAX)
    if "reference_asset_ids" in values:
        checked["reference_asset_ids"] = _reference_ids(values["reference_asset_ids"])
    return checked


def _reference_ids(asset_ids: Sequence[str]) -> tuple[str, ...]:
    if len(asset_ids) > storyboard.REFERENCES_MAX:
        raise InvalidArgument(
            "element.reference_asset_ids", f"at most {storyboard.REFERENCES_MAX} images (got {len(asset_ids)})"
        )
    first_at: dict[str, int] = {}
    for index, asset_id in enumerate(asset_ids):
        field = f"element.reference_asset_ids[{index}]"
        validation.asset_id(field, asset_id)
        if asset_id in first_at:
            raise InvalidArgument(field, f"names the same asset as [{first_at[asset_id]}]")
        first_at[asset_id] = index
    return tuple(asset_ids)


def _check_references(conn: Connection, asset_ids: Sequence[str]) -> None:
    """Each reference is an image asset the catalogue holds."""
    for index, asset_id in enumerate(asset_ids):
        field = f"element.reference_asset_ids[{index}]"
        try:
            found = catalog.get_asset(conn, asset_id)
        except NotFound as error:
            raise InvalidArgument(field, f"there is no asset {asset_id}") from error
        if not found.mime_type.startswith("image/"):
            raise InvalidArgument(field, f"must be an image; {asset_id} is {found.mime_type}")
