"""SQL of the storyboard: scenes and the order of their shots, elements, and a screenplay read into a project.

Shots themselves are in `catalog.py`, which keeps their order: positions 0..n-1 across the project, the shots
of a scene contiguous and in scene order. Everything here keeps that true as well. A project without scenes
has shots without a scene; its first scene takes them in.

Functions that check a request's lists (reorders) raise InvalidArgument naming the request's field, because
only the transaction knows what the project holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from milimo.daemon.jobs.model import new_id, now_us
from milimo.daemon.records import (
    Board,
    ElementKind,
    ElementRecord,
    SceneRecord,
    SceneShots,
    ShotRecord,
    default_description,
    default_trigger,
)
from milimo.daemon.store import catalog
from milimo.daemon.store.tables import elements, projects, scenes, shots
from milimo.errors import AlreadyExists, InvalidArgument, NotFound
from milimo.storyboard.introductions import character_introduction, location_description
from milimo.storyboard.screenplay import Screenplay, Setting
from milimo.validation import NAME_MAX

REFERENCES_MAX = 8

# ---- scenes ---------------------------------------------------------------------------------------

_scene_columns = [c for c in scenes.c if c.name not in ("pk", "project_pk")]


def _scene_query() -> sa.Select:
    return sa.select(*_scene_columns, projects.c.id.label("project_id")).join(
        projects, projects.c.pk == scenes.c.project_pk
    )


def _scene(row: Row) -> SceneRecord:
    m = row._mapping
    return SceneRecord(
        id=m["id"],
        project_id=m["project_id"],
        position=m["position"],
        heading=m["heading"],
        setting=Setting(m["setting"]),
        location=m["location"],
        time_of_day=m["time_of_day"],
        synopsis=m["synopsis"],
        transition=m["transition"],
        script_number=m["script_number"],
        created_us=m["created_us"],
        updated_us=m["updated_us"],
    )


def _scene_row(conn: Connection, scene_id: str) -> Row:
    """The scene's place: pk, project_pk and position."""
    row = conn.execute(
        sa.select(scenes.c.pk, scenes.c.project_pk, scenes.c.position).where(scenes.c.id == scene_id)
    ).first()
    if row is None:
        raise NotFound("scene", scene_id)
    return row


def get_scene(conn: Connection, scene_id: str) -> SceneRecord:
    row = conn.execute(_scene_query().where(scenes.c.id == scene_id)).first()
    if row is None:
        raise NotFound("scene", scene_id)
    return _scene(row)


def _scene_count(conn: Connection, project_pk: int) -> int:
    return conn.execute(sa.select(sa.func.count()).where(scenes.c.project_pk == project_pk)).scalar_one()


def _insert_scene(conn: Connection, project_pk: int, position: int, values: dict[str, Any]) -> tuple[str, int]:
    """A new empty scene at `position` (0..the scene count), as its id and pk; the project's first scene takes
    in its shots."""
    first = _scene_count(conn, project_pk) == 0
    conn.execute(
        scenes.update()
        .where(scenes.c.project_pk == project_pk, scenes.c.position >= position)
        .values(position=scenes.c.position + 1)
    )
    scene_id, stamp = new_id("c"), now_us()
    scene_pk = conn.execute(
        scenes.insert()
        .values(id=scene_id, project_pk=project_pk, position=position, created_us=stamp, updated_us=stamp, **values)
        .returning(scenes.c.pk)
    ).scalar_one()
    if first:
        conn.execute(
            shots.update().where(shots.c.project_pk == project_pk, shots.c.scene_pk.is_(None)).values(scene_pk=scene_pk)
        )
    return scene_id, scene_pk


def insert_scene(conn: Connection, project_id: str, position: int | None, values: dict[str, Any]) -> SceneRecord:
    """A new empty scene at `position` (None or past the end: last). A project's first scene takes in the
    shots the project already has."""
    project_pk = catalog.project_pk(conn, project_id)
    count = _scene_count(conn, project_pk)
    scene_id, _ = _insert_scene(conn, project_pk, count if position is None else min(position, count), values)
    return get_scene(conn, scene_id)


def update_scene(conn: Connection, scene_id: str, changes: dict[str, Any]) -> SceneRecord:
    row = _scene_row(conn, scene_id)
    if changes:
        conn.execute(scenes.update().where(scenes.c.pk == row.pk).values(updated_us=now_us(), **changes))
    return get_scene(conn, scene_id)


def delete_scene(conn: Connection, scene_id: str) -> None:
    """Delete the scene and its shots (their takes stay in the catalogue); close both gaps."""
    row = _scene_row(conn, scene_id)
    start, end = catalog.scene_span(conn, row.pk)
    conn.execute(shots.delete().where(shots.c.scene_pk == row.pk))
    catalog.shift_shots(conn, row.project_pk, end, start - end)
    conn.execute(scenes.delete().where(scenes.c.pk == row.pk))
    conn.execute(
        scenes.update()
        .where(scenes.c.project_pk == row.project_pk, scenes.c.position > row.position)
        .values(position=scenes.c.position - 1)
    )


def _check_order(field: str, given: Sequence[str], current: Sequence[str], what: str) -> None:
    """`given` must name each of `current` exactly once."""
    known, seen = set(current), set()
    for index, ident in enumerate(given):
        if ident in seen:
            raise InvalidArgument(f"{field}[{index}]", f"names {ident[:40]!r} a second time")
        if ident not in known:
            raise InvalidArgument(f"{field}[{index}]", f"{ident[:40]!r} is not a {what}")
        seen.add(ident)
    missing = [ident for ident in current if ident not in seen]
    if missing:
        raise InvalidArgument(field, f"must name every {what} once; missing {', '.join(missing[:5])}")


def reorder_scenes(conn: Connection, project_id: str, scene_ids: Sequence[str]) -> None:
    """Put the project's scenes in the order given; each scene's shots move with it."""
    project_pk = catalog.project_pk(conn, project_id)
    rows = conn.execute(
        sa.select(scenes.c.pk, scenes.c.id, scenes.c.position)
        .where(scenes.c.project_pk == project_pk)
        .order_by(scenes.c.position)
    ).all()
    _check_order("scene_ids", scene_ids, [row.id for row in rows], f"scene of project {project_id}")
    sizes = dict(
        conn.execute(
            sa.select(shots.c.scene_pk, sa.func.count())
            .where(shots.c.project_pk == project_pk, shots.c.scene_pk.is_not(None))
            .group_by(shots.c.scene_pk)
        ).all()
    )
    old_start, start = {}, 0
    for row in rows:
        old_start[row.pk] = start
        start += sizes.get(row.pk, 0)
    by_id = {row.id: row for row in rows}
    new_start = 0
    for position, scene_id in enumerate(scene_ids):
        row = by_id[scene_id]
        # A scene's shots are contiguous, so one statement moves them all by the same offset.
        if new_start != old_start[row.pk]:
            conn.execute(
                shots.update()
                .where(shots.c.scene_pk == row.pk)
                .values(position=shots.c.position + (new_start - old_start[row.pk]))
            )
        if position != row.position:
            conn.execute(scenes.update().where(scenes.c.pk == row.pk).values(position=position))
        new_start += sizes.get(row.pk, 0)


def _scene_shot_rows(conn: Connection, scene_pk: int) -> list[Row]:
    return conn.execute(
        sa.select(shots.c.pk, shots.c.id, shots.c.position)
        .where(shots.c.scene_pk == scene_pk)
        .order_by(shots.c.position)
    ).all()


def reorder_shots(conn: Connection, scene_id: str, shot_ids: Sequence[str]) -> SceneShots:
    """Put the scene's shots in the order given, in the positions they already hold."""
    scene = _scene_row(conn, scene_id)
    rows = _scene_shot_rows(conn, scene.pk)
    _check_order("shot_ids", shot_ids, [row.id for row in rows], f"shot of scene {scene_id}")
    if rows:
        first, by_id = rows[0].position, {row.id: row for row in rows}
        for offset, shot_id in enumerate(shot_ids):
            row = by_id[shot_id]
            if row.position != first + offset:
                conn.execute(shots.update().where(shots.c.pk == row.pk).values(position=first + offset))
    return scene_shots(conn, scene_id)


def move_shot(conn: Connection, shot_id: str, scene_id: str, index: int) -> None:
    """Move the shot to `index` (past the end: last) among the shots of `scene_id`, counted once the shot has
    left its place."""
    shot = catalog.shot_row(conn, shot_id)
    scene = _scene_row(conn, scene_id)
    if scene.project_pk != shot.project_pk:
        raise InvalidArgument("scene_id", f"scene {scene_id} is in another project than shot {shot_id}")
    start, end = catalog.scene_span(conn, scene.pk)
    if shot.position < start:  # the shot leaves a place before the scene, which moves up by one
        start, end = start - 1, end - 1
    elif shot.position < end:  # the shot leaves the scene itself
        end -= 1
    catalog.move_shot_to(conn, shot.project_pk, shot.pk, shot.position, start + min(index, end - start))
    conn.execute(shots.update().where(shots.c.pk == shot.pk).values(scene_pk=scene.pk, updated_us=now_us()))


def split_shot(
    conn: Connection, shot_id: str, first: dict[str, Any], second: dict[str, Any]
) -> tuple[ShotRecord, ShotRecord]:
    """Change the shot to its first half (`first`) and insert its second half (`second`) right after it, in the
    same scene, with a copy of its metadata."""
    shot = catalog.shot_row(conn, shot_id)
    metadata = conn.execute(sa.select(shots.c.metadata).where(shots.c.pk == shot.pk)).scalar_one()
    stamp = now_us()
    conn.execute(shots.update().where(shots.c.pk == shot.pk).values(updated_us=stamp, **catalog.shot_columns(first)))
    catalog.shift_shots(conn, shot.project_pk, shot.position + 1, +1)
    second_id = new_id("s")
    conn.execute(
        shots.insert().values(
            id=second_id,
            project_pk=shot.project_pk,
            scene_pk=shot.scene_pk,
            position=shot.position + 1,
            metadata=metadata,
            created_us=stamp,
            updated_us=stamp,
            **catalog.shot_columns(second),
        )
    )
    return catalog.get_shot(conn, shot_id), catalog.get_shot(conn, second_id)


def shot_names(conn: Connection, project_id: str) -> set[str]:
    project_pk = catalog.project_pk(conn, project_id)
    return set(conn.execute(sa.select(shots.c.name).where(shots.c.project_pk == project_pk)).scalars())


# ---- the board ------------------------------------------------------------------------------------


def _shots_by_scene(shot_rows: Iterable[Row]) -> dict[str | None, list[ShotRecord]]:
    grouped: dict[str | None, list[ShotRecord]] = {}
    for row in shot_rows:
        shot = catalog.shot_record(row)
        grouped.setdefault(shot.scene_id, []).append(shot)
    return grouped


def scene_shots(conn: Connection, scene_id: str) -> SceneShots:
    scene = get_scene(conn, scene_id)
    rows = conn.execute(catalog.shot_query().where(scenes.c.id == scene_id).order_by(shots.c.position))
    return SceneShots(scene, tuple(catalog.shot_record(row) for row in rows))


def read_board(conn: Connection, project_id: str) -> Board:
    """The project's scenes in order, each with its shots in order (and the shots of a project without scenes)."""
    project = catalog.get_project(conn, project_id)
    project_pk = catalog.project_pk(conn, project_id)
    scene_rows = conn.execute(_scene_query().where(scenes.c.project_pk == project_pk).order_by(scenes.c.position))
    shot_rows = conn.execute(catalog.shot_query().where(shots.c.project_pk == project_pk).order_by(shots.c.position))
    grouped = _shots_by_scene(shot_rows)
    board_scenes = tuple(SceneShots(scene, tuple(grouped.get(scene.id, ()))) for scene in map(_scene, scene_rows))
    return Board(project, board_scenes, tuple(grouped.get(None, ())))


# ---- elements -------------------------------------------------------------------------------------

_element_columns = [c for c in elements.c if c.name not in ("pk", "project_pk")]


def _element_query() -> sa.Select:
    return sa.select(*_element_columns, projects.c.id.label("project_id")).join(
        projects, projects.c.pk == elements.c.project_pk
    )


def _element(row: Row) -> ElementRecord:
    m = row._mapping
    return ElementRecord(
        id=m["id"],
        project_id=m["project_id"],
        kind=ElementKind(m["kind"]),
        name=m["name"],
        trigger=m["trigger"],
        description=m["description"],
        reference_asset_ids=tuple(m["reference_asset_ids"]),
        created_us=m["created_us"],
        updated_us=m["updated_us"],
    )


def _element_columns_of(values: dict[str, Any]) -> dict[str, Any]:
    columns = dict(values)
    if "reference_asset_ids" in columns:
        columns["reference_asset_ids"] = list(columns["reference_asset_ids"])
    return columns


def get_element(conn: Connection, element_id: str) -> ElementRecord:
    row = conn.execute(_element_query().where(elements.c.id == element_id)).first()
    if row is None:
        raise NotFound("element", element_id)
    return _element(row)


def list_elements(conn: Connection, project_id: str) -> list[ElementRecord]:
    """The project's elements by name (ignoring case; sorted here, as the backends' collations differ)."""
    project_pk = catalog.project_pk(conn, project_id)
    rows = conn.execute(_element_query().where(elements.c.project_pk == project_pk))
    return sorted(map(_element, rows), key=lambda element: (element.name.casefold(), element.name))


def _taken(conn: Connection, project_pk: int, except_pk: int | None = None) -> tuple[set[str], set[str]]:
    """The casefolded names and triggers of the project's elements."""
    query = sa.select(elements.c.name, elements.c.trigger).where(elements.c.project_pk == project_pk)
    if except_pk is not None:
        query = query.where(elements.c.pk != except_pk)
    rows = conn.execute(query).all()
    return {row.name.casefold() for row in rows}, {row.trigger.casefold() for row in rows}


def _check_unique(conn: Connection, project_pk: int, name: str, trigger: str, except_pk: int | None = None) -> None:
    names, triggers = _taken(conn, project_pk, except_pk)
    if name.casefold() in names:
        raise AlreadyExists(f"element.name: the project already has an element named {name!r} (ignoring case)")
    if trigger.casefold() in triggers:
        raise AlreadyExists(f"element.trigger: another element of the project has the trigger {trigger!r}")


def insert_element(conn: Connection, project_id: str, values: dict[str, Any]) -> ElementRecord:
    """A new element; `values` holds kind, name, trigger, description and reference_asset_ids, checked."""
    project_pk = catalog.project_pk(conn, project_id)
    _check_unique(conn, project_pk, values["name"], values["trigger"])
    element_id, stamp = new_id("e"), now_us()
    conn.execute(
        elements.insert().values(
            id=element_id, project_pk=project_pk, created_us=stamp, updated_us=stamp, **_element_columns_of(values)
        )
    )
    return get_element(conn, element_id)


def update_element(conn: Connection, element_id: str, changes: dict[str, Any]) -> ElementRecord:
    current = get_element(conn, element_id)
    if changes:
        row = conn.execute(sa.select(elements.c.pk, elements.c.project_pk).where(elements.c.id == element_id)).one()
        name, trigger = changes.get("name", current.name), changes.get("trigger", current.trigger)
        _check_unique(conn, row.project_pk, name, trigger, except_pk=row.pk)
        columns = {**_element_columns_of(changes), "updated_us": now_us()}
        conn.execute(elements.update().where(elements.c.pk == row.pk).values(**columns))
    return get_element(conn, element_id)


def delete_element(conn: Connection, element_id: str) -> None:
    get_element(conn, element_id)
    conn.execute(elements.delete().where(elements.c.id == element_id))


def append_element_reference(conn: Connection, element_id: str, asset_id: str) -> ElementRecord:
    """Add an image to the element's references (a finished VisualizeElement job's still). An element keeps at
    most REFERENCES_MAX references: the oldest goes to make room. NotFound when the element is gone."""
    row = conn.execute(
        sa.select(elements.c.pk, elements.c.reference_asset_ids).where(elements.c.id == element_id)
    ).first()
    if row is None:
        raise NotFound("element", element_id)
    references = [ident for ident in row.reference_asset_ids if ident != asset_id] + [asset_id]
    conn.execute(
        elements.update()
        .where(elements.c.pk == row.pk)
        .values(reference_asset_ids=references[-REFERENCES_MAX:], updated_us=now_us())
    )
    return get_element(conn, element_id)


# ---- a screenplay into a project ------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def title_case(text: str) -> str:
    """ "MARA" -> "Mara", "HARBOUR DINER - KITCHEN" -> "Harbour Diner - Kitchen", "O'BRIEN" -> "O'brien"."""
    return _WORD.sub(lambda word: word[0].capitalize(), text.lower())


def apply_screenplay(
    conn: Connection, project_id: str, screenplay: Screenplay, *, replace: bool, create_elements: bool
) -> dict[str, int]:
    """Read a parsed screenplay into the project: a scene per scene and a shot per shot, after the project's
    scenes (or instead of its scenes and shots with `replace`; takes and assets stay either way). Returns how
    many scenes, shots and elements were added.

    Shots are named "scene.shot" ("12A.2" where the script prints scene numbers); their description is the
    action, or "SPEAKER: first line" for a shot of dialogue only; their duration is the estimate at the
    project's frame rate, at least one frame. A project that has shots but no scenes first gets a scene
    without a heading holding them, so the script's scenes start clean.

    `create_elements` adds a character per speaking character ("MARA" -> "Mara", trigger "@Mara") and a
    location per distinct scene location, in title case, skipping names and triggers the project already
    has (ignoring case) and names that cannot make an element (too long, or no letters for a trigger). Each is
    described as the script describes it (`milimo.storyboard.introductions`).
    """
    project = catalog.get_project(conn, project_id)
    project_pk = catalog.project_pk(conn, project_id)
    if replace:
        conn.execute(shots.delete().where(shots.c.project_pk == project_pk))
        conn.execute(scenes.delete().where(scenes.c.project_pk == project_pk))
    scene_count = _scene_count(conn, project_pk)
    if scene_count == 0 and screenplay.scenes and catalog.shot_count(conn, project_pk):
        _insert_scene(conn, project_pk, 0, {})
        scene_count = 1
    position = catalog.shot_count(conn, project_pk)
    shot_rows: list[dict[str, Any]] = []
    stamp = now_us()
    for offset, scene in enumerate(screenplay.scenes):
        values = {
            "heading": scene.heading,
            "setting": scene.setting.value,
            "location": scene.location,
            "time_of_day": scene.time_of_day,
            "synopsis": scene.synopsis,
            "transition": scene.transition,
            "script_number": scene.script_number[:32],
        }
        _, scene_pk = _insert_scene(conn, project_pk, scene_count + offset, values)
        number = scene.script_number or str(scene.number)
        for shot in scene.shots:
            shot_rows.append(
                {
                    "id": new_id("s"),
                    "project_pk": project_pk,
                    "scene_pk": scene_pk,
                    "position": position,
                    "name": f"{number}.{shot.number}"[:NAME_MAX],
                    "description": default_description(shot.action, shot.dialogue),
                    "duration_frames": max(1, round(shot.duration_s * project.fps)),
                    "metadata": {},
                    "created_us": stamp,
                    "updated_us": stamp,
                    **catalog.shot_columns(
                        {"action": shot.action, "dialogue": shot.dialogue, "characters": shot.characters}
                    ),
                }
            )
            position += 1
    if shot_rows:
        conn.execute(shots.insert(), shot_rows)
    added_elements = _add_screenplay_elements(conn, project_pk, screenplay) if create_elements else 0
    return {"scenes": len(screenplay.scenes), "shots": len(shot_rows), "elements": added_elements}


def _add_screenplay_elements(conn: Connection, project_pk: int, screenplay: Screenplay) -> int:
    names, triggers = _taken(conn, project_pk)
    wanted = [(ElementKind.CHARACTER, name, character_introduction(screenplay, name)) for name in screenplay.characters]
    wanted += [
        (ElementKind.LOCATION, location, location_description(screenplay, location))
        for location in dict.fromkeys(scene.location for scene in screenplay.scenes if scene.location)
    ]
    added, stamp = 0, now_us()
    for kind, raw, description in wanted:
        name = title_case(raw.strip())
        trigger = default_trigger(name)
        if not trigger or len(name) > NAME_MAX or name.casefold() in names or trigger.casefold() in triggers:
            continue
        conn.execute(
            elements.insert().values(
                id=new_id("e"),
                project_pk=project_pk,
                kind=kind.value,
                name=name,
                trigger=trigger,
                description=description,
                reference_asset_ids=[],
                created_us=stamp,
                updated_us=stamp,
            )
        )
        names.add(name.casefold())
        triggers.add(trigger.casefold())
        added += 1
    return added
