"""Table definitions (SQLAlchemy Core). Alembic migrations create them; this module is the map."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Times are stored as UTC microseconds since the epoch: exact, sortable and portable.
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("pk", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("lane", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("request", sa.LargeBinary, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("started_us", sa.BigInteger),
    sa.Column("finished_us", sa.BigInteger),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("progress_step", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("progress_total", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("progress_message", sa.Text, nullable=False, server_default=""),
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("project_id", sa.String(32)),
    sa.Column("shot_id", sa.String(32)),
    sa.Column("retry_of", sa.String(32)),
    sa.Column("client_request_id", sa.String(128), unique=True),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("result_asset_ids", sa.JSON, nullable=False),
    sa.Index("ix_jobs_dispatch", "status", "lane", "priority", "pk"),
    sa.Index("ix_jobs_project", "project_id", "pk"),
)

job_events = sa.Table(
    "job_events",
    metadata,
    sa.Column("job_pk", sa.BigInteger, sa.ForeignKey("jobs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("time_us", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("blob", sa.LargeBinary),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("pk", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("fps_num", sa.Integer, nullable=False),
    sa.Column("fps_den", sa.Integer, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

# A project's scenes, in `position` order (0..n-1).
scenes = sa.Table(
    "scenes",
    metadata,
    sa.Column("pk", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("project_pk", sa.BigInteger, sa.ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("heading", sa.Text, nullable=False, server_default=""),
    sa.Column("setting", sa.String(16), nullable=False, server_default="unspecified"),  # a screenplay.Setting
    sa.Column("location", sa.Text, nullable=False, server_default=""),
    sa.Column("time_of_day", sa.Text, nullable=False, server_default=""),
    sa.Column("synopsis", sa.Text, nullable=False, server_default=""),
    sa.Column("transition", sa.Text, nullable=False, server_default=""),
    sa.Column("script_number", sa.String(32), nullable=False, server_default=""),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Index("ix_scenes_project_position", "project_pk", "position"),
)

# A project's shots, in `position` order (0..n-1) across the project; the shots of a scene are contiguous,
# in scene order (milimo.daemon.store.catalog keeps both true).
shots = sa.Table(
    "shots",
    metadata,
    sa.Column("pk", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("project_pk", sa.BigInteger, sa.ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("duration_frames", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("asset_id", sa.String(32)),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Column("scene_pk", sa.BigInteger, sa.ForeignKey("scenes.pk", ondelete="CASCADE")),
    sa.Column("action", sa.Text, nullable=False, server_default=""),
    sa.Column("dialogue", sa.JSON, nullable=False, server_default="[]"),  # DialogueLine fields, as dicts
    sa.Column("characters", sa.JSON, nullable=False, server_default="[]"),
    sa.Index("ix_shots_project_position", "project_pk", "position"),
    sa.Index("ix_shots_scene", "scene_pk"),
)

# Recurring characters, props and locations of a project.
elements = sa.Table(
    "elements",
    metadata,
    sa.Column("pk", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("project_pk", sa.BigInteger, sa.ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # a records.ElementKind
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("trigger", sa.String(64), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("reference_asset_ids", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)
# Unique per project ignoring case; the store checks first, with a clear error.
sa.Index("ix_elements_project_name", elements.c.project_pk, sa.func.lower(elements.c.name), unique=True)
sa.Index("ix_elements_project_trigger", elements.c.project_pk, sa.func.lower(elements.c.trigger), unique=True)

assets = sa.Table(
    "assets",
    metadata,
    sa.Column("pk", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mime_type", sa.String(128), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("project_id", sa.String(32)),
    sa.Column("job_id", sa.String(32)),
    sa.Column("media", sa.JSON, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Index("ix_assets_project", "project_id", "pk"),
    sa.Index("ix_assets_job", "job_id"),
)
