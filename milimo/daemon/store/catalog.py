"""SQL of projects, shots and assets."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from milimo.daemon.jobs.model import new_id, now_us
from milimo.daemon.records import AssetRecord, NewAsset, ProjectRecord, ShotRecord
from milimo.daemon.store.tables import assets, projects, shots
from milimo.errors import NotFound

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
    others = conn.execute(sa.select(sa.func.count()).where(assets.c.sha256 == asset.sha256)).scalar_one()
    return asset.sha256 if others == 0 else None


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


def _project_pk(conn: Connection, project_id: str) -> int:
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
    _project_pk(conn, project_id)
    if changes:
        columns = {**_project_columns(changes), "updated_us": now_us()}
        conn.execute(projects.update().where(projects.c.id == project_id).values(**columns))
    return get_project(conn, project_id)


def delete_project(conn: Connection, project_id: str) -> None:
    pk = _project_pk(conn, project_id)
    conn.execute(shots.delete().where(shots.c.project_pk == pk))
    conn.execute(assets.update().where(assets.c.project_id == project_id).values(project_id=None))
    conn.execute(projects.delete().where(projects.c.pk == pk))


# ---- shots ----------------------------------------------------------------------------------

_shot_columns = [c for c in shots.c if c.name not in ("pk", "project_pk")]


def _shot_query() -> sa.Select:
    return sa.select(*_shot_columns, projects.c.id.label("project_id")).join(
        projects, projects.c.pk == shots.c.project_pk
    )


def _shot(row: Row) -> ShotRecord:
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
    )


def get_shot(conn: Connection, shot_id: str) -> ShotRecord:
    row = conn.execute(_shot_query().where(shots.c.id == shot_id)).first()
    if row is None:
        raise NotFound("shot", shot_id)
    return _shot(row)


def _shot_count(conn: Connection, project_pk: int) -> int:
    return conn.execute(sa.select(sa.func.count()).where(shots.c.project_pk == project_pk)).scalar_one()


def _move_shot(conn: Connection, project_pk: int, shot_pk: int, old: int, new: int) -> None:
    """Shift the shots between `old` and `new` by one so positions stay 0..n-1 without gaps."""
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


def insert_shot(conn: Connection, project_id: str, position: int | None, values: dict[str, Any]) -> ShotRecord:
    project_pk = _project_pk(conn, project_id)
    count = _shot_count(conn, project_pk)
    shot_id = new_id("s")
    stamp = now_us()
    shot_pk = conn.execute(
        shots.insert()
        .values(id=shot_id, project_pk=project_pk, position=count, created_us=stamp, updated_us=stamp, **values)
        .returning(shots.c.pk)
    ).scalar_one()
    if position is not None and position < count:
        _move_shot(conn, project_pk, shot_pk, count, max(position, 0))
    return get_shot(conn, shot_id)


def list_shots(conn: Connection, project_id: str, *, limit: int, after_position: int) -> list[ShotRecord]:
    project_pk = _project_pk(conn, project_id)
    query = (
        _shot_query()
        .where(shots.c.project_pk == project_pk, shots.c.position > after_position)
        .order_by(shots.c.position)
        .limit(limit)
    )
    return [_shot(row) for row in conn.execute(query)]


def update_shot(conn: Connection, shot_id: str, changes: dict[str, Any]) -> ShotRecord:
    shot = get_shot(conn, shot_id)
    changes = dict(changes)
    position = changes.pop("position", None)
    row = conn.execute(sa.select(shots.c.pk, shots.c.project_pk).where(shots.c.id == shot_id)).one()
    if position is not None and position != shot.position:
        last = _shot_count(conn, row.project_pk) - 1
        _move_shot(conn, row.project_pk, row.pk, shot.position, min(max(position, 0), last))
    if changes or position is not None:
        conn.execute(shots.update().where(shots.c.pk == row.pk).values(updated_us=now_us(), **changes))
    return get_shot(conn, shot_id)


def delete_shot(conn: Connection, shot_id: str) -> None:
    shot = get_shot(conn, shot_id)
    row = conn.execute(sa.select(shots.c.pk, shots.c.project_pk).where(shots.c.id == shot_id)).one()
    conn.execute(shots.delete().where(shots.c.pk == row.pk))
    conn.execute(
        shots.update()
        .where(shots.c.project_pk == row.project_pk, shots.c.position > shot.position)
        .values(position=shots.c.position - 1)
    )


def set_shot_take(conn: Connection, shot_id: str, asset_id: str) -> None:
    """Make a finished job's asset the shot's current take (if the shot still exists)."""
    conn.execute(shots.update().where(shots.c.id == shot_id).values(asset_id=asset_id, updated_us=now_us()))
