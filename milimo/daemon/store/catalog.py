"""SQL of projects, shots and assets (the storyboard's scenes and elements are in `storyboard.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from milimo.daemon.jobs.model import new_id, now_us
from milimo.daemon.records import AssetRecord, NewAsset, ProjectRecord, ShotRecord
from milimo.daemon.store.tables import assets, elements, projects, scenes, shots
from milimo.errors import InvalidArgument, NotFound
from milimo.storyboard.screenplay import DialogueLine

# ---- assets ---------------------------------------------------------------------------------


def _asset(row: Row) -> AssetRecord:
    m = row._mapping
    return AssetRecord(
        id=m["id"],
        sha256=m["sha256"],
        size=m["size"],
        mime_type=m["mime_type"],
        filename=m["filename"],
        project_id=m["project_id"],
        job_id=m["job_id"],
        media=dict(m["media"]),
        created_us=m["created_us"],
    )


def insert_asset(conn: Connection, new: NewAsset) -> AssetRecord:
    asset_id = new_id("a")
    conn.execute(
        assets.insert().values(
            id=asset_id,
            sha256=new.sha256,
            size=new.size,
            mime_type=new.mime_type,
            filename=new.filename,
            project_id=new.project_id,
            job_id=new.job_id,
            media=new.media,
            created_us=now_us(),
        )
    )
    return get_asset(conn, asset_id)


def get_asset(conn: Connection, asset_id: str) -> AssetRecord:
    row = conn.execute(sa.select(assets).where(assets.c.id == asset_id)).first()
    if row is None:
        raise NotFound("asset", asset_id)
    return _asset(row)


def list_assets(
    conn: Connection, *, project_id: str, job_id: str, limit: int, before_pk: int | None
) -> list[tuple[int, AssetRecord]]:
    query = sa.select(assets).order_by(assets.c.pk.desc()).limit(limit)
    if project_id:
        query = query.where(assets.c.project_id == project_id)
    if job_id:
        query = query.where(assets.c.job_id == job_id)
    if before_pk is not None:
        query = query.where(assets.c.pk < before_pk)
    return [(row.pk, _asset(row)) for row in conn.execute(query)]


def update_asset(conn: Connection, asset_id: str, changes: dict[str, Any]) -> AssetRecord:
    get_asset(conn, asset_id)
    if changes:
        conn.execute(assets.update().where(assets.c.id == asset_id).values(**changes))
    return get_asset(conn, asset_id)


def delete_asset(conn: Connection, asset_id: str) -> str | None:
    """Delete the row; return the sha256 when no other asset still refers to the same bytes."""
    asset = get_asset(conn, asset_id)
    conn.execute(assets.delete().where(assets.c.id == asset_id))
    conn.execute(shots.update().where(shots.c.asset_id == asset_id).values(asset_id=None))
    _drop_element_reference(conn, asset_id)
    others = conn.execute(sa.select(sa.func.count()).where(assets.c.sha256 == asset.sha256)).scalar_one()
    return asset.sha256 if others == 0 else None


def _drop_element_reference(conn: Connection, asset_id: str) -> None:
    # Ids are fixed-length and unique, so a text search of the JSON finds exactly the elements that name it.
    referring = conn.execute(
        sa.select(elements.c.pk, elements.c.reference_asset_ids).where(
            sa.cast(elements.c.reference_asset_ids, sa.Text).contains(asset_id, autoescape=True)
        )
    )
    for pk, reference_ids in referring.all():
        kept = [ident for ident in reference_ids if ident != asset_id]
        conn.execute(elements.update().where(elements.c.pk == pk).values(reference_asset_ids=kept))


def sha256_in_use(conn: Connection, sha256: str) -> bool:
    return conn.execute(sa.select(assets.c.pk).where(assets.c.sha256 == sha256).limit(1)).first() is not None


# ---- projects -------------------------------------------------------------------------------


def _project(row: Row) -> ProjectRecord:
    m = row._mapping
    return ProjectRecord(
        id=m["id"],
        name=m["name"],
        description=m["description"],
        width=m["width"],
        height=m["height"],
        fps=Fraction(m["fps_num"], m["fps_den"]),
        created_us=m["created_us"],
        updated_us=m["updated_us"],
    )


def _project_columns(values: dict[str, Any]) -> dict[str, Any]:
    columns = dict(values)
    if "fps" in columns:
        fps: Fraction = columns.pop("fps")
        columns["fps_num"], columns["fps_den"] = fps.numerator, fps.denominator
    return columns


def insert_project(conn: Connection, values: dict[str, Any]) -> ProjectRecord:
    project_id = new_id("p")
    stamp = now_us()
    conn.execute(
        projects.insert().values(id=project_id, created_us=stamp, updated_us=stamp, **_project_columns(values))
    )
    return get_project(conn, project_id)


def project_pk(conn: Connection, project_id: str) -> int:
    pk = conn.execute(sa.select(projects.c.pk).where(projects.c.id == project_id)).scalar()
    if pk is None:
        raise NotFound("project", project_id)
    return pk


def get_project(conn: Connection, project_id: str) -> ProjectRecord:
    row = conn.execute(sa.select(projects).where(projects.c.id == project_id)).first()
    if row is None:
        raise NotFound("project", project_id)
    return _project(row)


def list_projects(conn: Connection, *, limit: int, before_pk: int | None) -> list[tuple[int, ProjectRecord]]:
    query = sa.select(projects).order_by(projects.c.pk.desc()).limit(limit)
    if before_pk is not None:
        query = query.where(projects.c.pk < before_pk)
    return [(row.pk, _project(row)) for row in conn.execute(query)]


def update_project(conn: Connection, project_id: str, changes: dict[str, Any]) -> ProjectRecord:
    project_pk(conn, project_id)
    if changes:
        columns = {**_project_columns(changes), "updated_us": now_us()}
        conn.execute(projects.update().where(projects.c.id == project_id).values(**columns))
    return get_project(conn, project_id)


def delete_project(conn: Connection, project_id: str) -> None:
    pk = project_pk(conn, project_id)
    conn.execute(shots.delete().where(shots.c.project_pk == pk))
    conn.execute(scenes.delete().where(scenes.c.project_pk == pk))
    conn.execute(elements.delete().where(elements.c.project_pk == pk))
    conn.execute(assets.update().where(assets.c.project_id == project_id).values(project_id=None))
    conn.execute(projects.delete().where(projects.c.pk == pk))


# ---- shots ----------------------------------------------------------------------------------
#
# A project's shots are ordered by `position`, 0..n-1 without gaps, across the whole project, and the shots
# of a scene are contiguous, in scene order. Every function that writes shots keeps both true. A shot placed
# by position joins the scene of the place it lands in: that of the shot it lands before, or at the end the
# project's last scene. In a project without scenes, shots have no scene.

_shot_columns = [c for c in shots.c if c.name not in ("pk", "project_pk", "scene_pk")]


def shot_query() -> sa.Select:
    """Shots as `shot_record` reads them."""
    return (
        sa.select(*_shot_columns, projects.c.id.label("project_id"), scenes.c.id.label("scene_id"))
        .join(projects, projects.c.pk == shots.c.project_pk)
        .outerjoin(scenes, scenes.c.pk == shots.c.scene_pk)
    )


def shot_record(row: Row) -> ShotRecord:
    m = row._mapping
    return ShotRecord(
        id=m["id"],
        project_id=m["project_id"],
        position=m["position"],
        name=m["name"],
        description=m["description"],
        duration_frames=m["duration_frames"],
        asset_id=m["asset_id"],
        metadata=dict(m["metadata"]),
        created_us=m["created_us"],
        updated_us=m["updated_us"],
        scene_id=m["scene_id"],
        action=m["action"],
        dialogue=tuple(DialogueLine(**line) for line in m["dialogue"]),
        characters=tuple(m["characters"]),
    )


def shot_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Shot fields as column values: dialogue lines become JSON objects."""
    columns = dict(values)
    if "dialogue" in columns:
        columns["dialogue"] = [asdict(line) for line in columns["dialogue"]]
    if "characters" in columns:
        columns["characters"] = list(columns["characters"])
    return columns


def get_shot(conn: Connection, shot_id: str) -> ShotRecord:
    row = conn.execute(shot_query().where(shots.c.id == shot_id)).first()
    if row is None:
        raise NotFound("shot", shot_id)
    return shot_record(row)


def shot_row(conn: Connection, shot_id: str) -> Row:
    """The shot's place: pk, project_pk, position and scene_pk."""
    row = conn.execute(
        sa.select(shots.c.pk, shots.c.project_pk, shots.c.position, shots.c.scene_pk).where(shots.c.id == shot_id)
    ).first()
    if row is None:
        raise NotFound("shot", shot_id)
    return row


def shot_count(conn: Connection, project_pk: int) -> int:
    return conn.execute(sa.select(sa.func.count()).where(shots.c.project_pk == project_pk)).scalar_one()


def shift_shots(conn: Connection, project_pk: int, start: int, delta: int, end: int | None = None) -> None:
    """Add `delta` to the positions of the project's shots from `start` (up to `end`, excluded)."""
    where = [shots.c.project_pk == project_pk, shots.c.position >= start]
    if end is not None:
        where.append(shots.c.position < end)
    conn.execute(shots.update().where(*where).values(position=shots.c.position + delta))


def move_shot_to(conn: Connection, project_pk: int, shot_pk: int, old: int, new: int) -> None:
    """Put the shot at `old` at `new`, shifting those in between by one so positions stay 0..n-1."""
    if new < old:
        in_between = sa.and_(shots.c.position >= new, shots.c.position < old)
        shift = shots.c.position + 1
    else:
        in_between = sa.and_(shots.c.position > old, shots.c.position <= new)
        shift = shots.c.position - 1
    conn.execute(
        shots.update().where(shots.c.project_pk == project_pk, shots.c.pk != shot_pk, in_between).values(position=shift)
    )
    conn.execute(shots.update().where(shots.c.pk == shot_pk).values(position=new))


def last_scene_pk(conn: Connection, project_pk: int) -> int | None:
    return conn.execute(
        sa.select(scenes.c.pk).where(scenes.c.project_pk == project_pk).order_by(scenes.c.position.desc()).limit(1)
    ).scalar()


def scene_at(conn: Connection, project_pk: int, position: int) -> int | None:
    """The scene a shot placed at `position` joins: that of the shot there now, or past the end the last scene."""
    here = conn.execute(
        sa.select(shots.c.scene_pk).where(shots.c.project_pk == project_pk, shots.c.position == position)
    ).first()
    return here.scene_pk if here is not None else last_scene_pk(conn, project_pk)


def scene_span(conn: Connection, scene_pk: int) -> tuple[int, int]:
    """The positions [start, end) of a scene's shots: they follow every shot of the scenes before it."""
    scene = conn.execute(sa.select(scenes.c.project_pk, scenes.c.position).where(scenes.c.pk == scene_pk)).one()
    before = conn.execute(
        sa.select(sa.func.count())
        .select_from(shots.join(scenes, scenes.c.pk == shots.c.scene_pk))
        .where(scenes.c.project_pk == scene.project_pk, scenes.c.position < scene.position)
    ).scalar_one()
    own = conn.execute(sa.select(sa.func.count()).where(shots.c.scene_pk == scene_pk)).scalar_one()
    return before, before + own


def _scene_for_new_shot(conn: Connection, project_pk: int, scene_id: str) -> int:
    row = conn.execute(sa.select(scenes.c.pk, scenes.c.project_pk).where(scenes.c.id == scene_id)).first()
    if row is None:
        raise NotFound("scene", scene_id)
    if row.project_pk != project_pk:
        raise InvalidArgument("shot.scene_id", f"scene {scene_id} belongs to another project")
    return row.pk


def insert_shot(
    conn: Connection, project_id: str, position: int | None, values: dict[str, Any], scene_id: str | None = None
) -> ShotRecord:
    """A new shot at `position` (None or past the end: last), joining the scene of the place it lands in.
    With `scene_id` it goes to the end of that scene, unless `position` is inside the scene (or just after it)."""
    project = project_pk(conn, project_id)
    if scene_id is None:
        target = shot_count(conn, project) if position is None else min(position, shot_count(conn, project))
        scene_pk = scene_at(conn, project, target)
    else:
        scene_pk = _scene_for_new_shot(conn, project, scene_id)
        start, end = scene_span(conn, scene_pk)
        target = position if position is not None and start <= position <= end else end
    shift_shots(conn, project, target, +1)
    shot_id = new_id("s")
    stamp = now_us()
    conn.execute(
        shots.insert().values(
            id=shot_id,
            project_pk=project,
            scene_pk=scene_pk,
            position=target,
            created_us=stamp,
            updated_us=stamp,
            **shot_columns(values),
        )
    )
    return get_shot(conn, shot_id)


def list_shots(conn: Connection, project_id: str, *, limit: int, after_position: int) -> list[ShotRecord]:
    project = project_pk(conn, project_id)
    query = (
        shot_query()
        .where(shots.c.project_pk == project, shots.c.position > after_position)
        .order_by(shots.c.position)
        .limit(limit)
    )
    return [shot_record(row) for row in conn.execute(query)]


def update_shot(conn: Connection, shot_id: str, changes: dict[str, Any]) -> ShotRecord:
    """Change the shot's fields; a new `position` (clamped to the project's shots) moves it, and it joins the
    scene of the place it lands in."""
    shot = shot_row(conn, shot_id)
    columns = shot_columns(changes)
    position = columns.pop("position", None)
    if position is not None:
        new = min(position, shot_count(conn, shot.project_pk) - 1)
        if new != shot.position:
            move_shot_to(conn, shot.project_pk, shot.pk, shot.position, new)
            columns["scene_pk"] = scene_at(conn, shot.project_pk, new + 1)
    if columns or position is not None:
        conn.execute(shots.update().where(shots.c.pk == shot.pk).values(updated_us=now_us(), **columns))
    return get_shot(conn, shot_id)


def delete_shot(conn: Connection, shot_id: str) -> None:
    shot = shot_row(conn, shot_id)
    conn.execute(shots.delete().where(shots.c.pk == shot.pk))
    shift_shots(conn, shot.project_pk, shot.position + 1, -1)


def set_shot_take(conn: Connection, shot_id: str, asset_id: str) -> None:
    """Make a finished job's asset the shot's current take (if the shot still exists)."""
    conn.execute(shots.update().where(shots.c.id == shot_id).values(asset_id=asset_id, updated_us=now_us()))
