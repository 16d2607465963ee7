"""Add prompts (immutable versions, labels and their audit log) and link spans to them.

Spans get ``prompt_name`` and ``prompt_version`` columns, filled from the
span's ``llm.prompt`` reference, with an index so that metrics per prompt
version read only the spans of that prompt.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

SPAN_INDEX = "ix_spans_project_id_prompt_name_prompt_version_start_time"


def upgrade() -> None:
    with op.batch_alter_table("spans") as batch:
        batch.add_column(sa.Column("prompt_name", sa.String(200)))
        batch.add_column(sa.Column("prompt_version", sa.String(64)))
    op.create_index(
        SPAN_INDEX, "spans", ["project_id", "prompt_name", "prompt_version", "start_time"]
    )
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_prompts"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_prompts_project_id_projects"
        ),
        sa.UniqueConstraint("project_id", "name", name="uq_prompts_project_id_name"),
    )
    op.create_table(
        "prompt_versions",
        sa.Column("prompt_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("template", Json, nullable=False),
        sa.Column("variables", Json, nullable=False),
        sa.Column("model", sa.String(200)),
        sa.Column("parameters", Json),
        sa.Column("author", sa.String(200)),
        sa.Column("message", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("prompt_id", "version", name="pk_prompt_versions"),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["prompts.id"], name="fk_prompt_versions_prompt_id_prompts"
        ),
        sa.UniqueConstraint("prompt_id", "hash", name="uq_prompt_versions_prompt_id_hash"),
    )
    op.create_table(
        "prompt_labels",
        sa.Column("prompt_id", sa.Integer, nullable=False),
        sa.Column("label", sa.String(50), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("split_version", sa.Integer),
        sa.Column("split_percent", sa.Float),
        sa.Column("updated_by", sa.String(200)),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("prompt_id", "label", name="pk_prompt_labels"),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["prompts.id"], name="fk_prompt_labels_prompt_id_prompts"
        ),
    )
    op.create_table(
        "prompt_label_events",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("prompt_id", sa.Integer, nullable=False),
        sa.Column("label", sa.String(50), nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("from_version", sa.Integer),
        sa.Column("from_split_version", sa.Integer),
        sa.Column("from_split_percent", sa.Float),
        sa.Column("to_version", sa.Integer, nullable=False),
        sa.Column("to_split_version", sa.Integer),
        sa.Column("to_split_percent", sa.Float),
        sa.Column("author", sa.String(200)),
        sa.Column("message", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_prompt_label_events"),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["prompts.id"], name="fk_prompt_label_events_prompt_id_prompts"
        ),
    )
    op.create_index(
        "ix_prompt_label_events_prompt_id_label_id",
        "prompt_label_events",
        ["prompt_id", "label", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_prompt_label_events_prompt_id_label_id", "prompt_label_events")
    op.drop_table("prompt_label_events")
    op.drop_table("prompt_labels")
    op.drop_table("prompt_versions")
    op.drop_table("prompts")
    op.drop_index(SPAN_INDEX, "spans")
    with op.batch_alter_table("spans") as batch:
        batch.drop_column("prompt_version")
        batch.drop_column("prompt_name")
