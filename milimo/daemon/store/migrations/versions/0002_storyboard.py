"""storyboard: scenes, elements, and the screenplay fields of shots

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scenes",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_pk", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), server_default="", nullable=False),
        sa.Column("setting", sa.String(length=16), server_default="unspecified", nullable=False),
        sa.Column("location", sa.Text(), server_default="", nullable=False),
        sa.Column("time_of_day", sa.Text(), server_default="", nullable=False),
        sa.Column("synopsis", sa.Text(), server_default="", nullable=False),
        sa.Column("transition", sa.Text(), server_default="", nullable=False),
        sa.Column("script_number", sa.String(length=32), server_default="", nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_pk"], ["projects.pk"], name=op.f("fk_scenes_project_pk_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_scenes")),
        sa.UniqueConstraint("id", name=op.f("uq_scenes_id")),
    )
    with op.batch_alter_table("scenes", schema=None) as batch_op:
        batch_op.create_index("ix_scenes_project_position", ["project_pk", "position"], unique=False)

    op.create_table(
        "elements",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_pk", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("reference_asset_ids", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_pk"], ["projects.pk"], name=op.f("fk_elements_project_pk_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_elements")),
        sa.UniqueConstraint("id", name=op.f("uq_elements_id")),
    )
    # Names and triggers are unique per project ignoring case. The store checks it first (with Unicode case
    # folding, and a clear error); these expression indexes, which SQLite and PostgreSQL both have, back it.
    op.create_index("ix_elements_project_name", "elements", ["project_pk", sa.text("lower(name)")], unique=True)
    op.create_index("ix_elements_project_trigger", "elements", ["project_pk", sa.text("lower(trigger)")], unique=True)

    # Existing shots get no scene (their project has none yet) and empty screenplay fields.
    with op.batch_alter_table("shots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scene_pk", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("action", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("dialogue", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("characters", sa.JSON(), server_default="[]", nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_shots_scene_pk_scenes"), "scenes", ["scene_pk"], ["pk"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_shots_scene", ["scene_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shots", schema=None) as batch_op:
        batch_op.drop_index("ix_shots_scene")
        batch_op.drop_constraint(batch_op.f("fk_shots_scene_pk_scenes"), type_="foreignkey")
        batch_op.drop_column("characters")
        batch_op.drop_column("dialogue")
        batch_op.drop_column("action")
        batch_op.drop_column("scene_pk")
    op.drop_index("ix_elements_project_trigger", table_name="elements")
    op.drop_index("ix_elements_project_name", table_name="elements")
    op.drop_table("elements")
    with op.batch_alter_table("scenes", schema=None) as batch_op:
        batch_op.drop_index("ix_scenes_project_position")
    op.drop_table("scenes")
