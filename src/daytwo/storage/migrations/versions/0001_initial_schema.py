"""Create the initial schema: projects, traces, spans, payloads, scores, prices.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from daytwo.storage.sqlfunctions import POSTGRES_DEFINITIONS, POSTGRES_DROPS

# Portable JSON: JSONB on PostgreSQL, JSON text on SQLite; None stored as SQL NULL.
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for definition in POSTGRES_DEFINITIONS:
            op.execute(definition)
    _create_projects_and_payloads()
    _create_scores()
    _create_spans()
    _create_traces()


def _create_projects_and_payloads() -> None:
    """Create projects, price overrides and the payload tables."""
    op.create_table(
        "price_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("input_per_mtok", sa.Float(), nullable=False),
        sa.Column("output_per_mtok", sa.Float(), nullable=False),
        sa.Column("cache_read_per_mtok", sa.Float(), nullable=True),
        sa.Column("cache_write_per_mtok", sa.Float(), nullable=True),
        sa.Column("reasoning_per_mtok", sa.Float(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_overrides")),
        sa.UniqueConstraint("model", "provider", name=op.f("uq_price_overrides_model_provider")),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_projects_name")),
    )
    op.create_table(
        "span_payloads",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("span_id", sa.String(length=32), nullable=False),
        sa.Column("input", JSON, nullable=True),
        sa.Column("output", JSON, nullable=True),
        sa.Column("metadata", JSON, nullable=True),
        sa.Column("detail", JSON, nullable=True),
        sa.Column("attributes", JSON, nullable=True),
        sa.PrimaryKeyConstraint("project_id", "trace_id", "span_id", name=op.f("pk_span_payloads")),
    )
    op.create_table(
        "trace_payloads",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("input", JSON, nullable=True),
        sa.Column("output", JSON, nullable=True),
        sa.Column("metadata", JSON, nullable=True),
        sa.PrimaryKeyConstraint("project_id", "trace_id", name=op.f("pk_trace_payloads")),
    )


def _create_scores() -> None:
    """Create the scores table and its indexes."""
    op.create_table(
        "scores",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=8), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("span_id", sa.String(length=32), nullable=True),
        sa.Column("thread_id", sa.String(length=500), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("data_type", sa.String(length=12), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("string_value", sa.String(length=500), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_scores_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
    )
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scores_project_id_name_value"),
            ["project_id", "name", "value"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_scores_project_id_thread_id"), ["project_id", "thread_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scores_project_id_trace_id"), ["project_id", "trace_id"], unique=False
        )


def _create_spans() -> None:
    """Create the spans table and its indexes."""
    op.create_table(
        "spans",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=1000), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("start_time", sa.BigInteger(), nullable=True),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=True),
        sa.Column("error_type", sa.String(length=500), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("provider", sa.String(length=200), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), nullable=True),
        sa.Column("output_tokens", sa.BigInteger(), nullable=True),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=True),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=True),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=True),
        sa.Column("total_tokens", sa.BigInteger(), nullable=True),
        sa.Column("input_cost", sa.Float(), nullable=True),
        sa.Column("output_cost", sa.Float(), nullable=True),
        sa.Column("total_cost", sa.Float(), nullable=True),
        sa.Column("cost_source", sa.String(length=8), nullable=True),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("tags", JSON, nullable=True),
        sa.Column("input_preview", sa.Text(), nullable=True),
        sa.Column("output_preview", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_spans_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "trace_id", "id", name=op.f("pk_spans")),
    )
    with op.batch_alter_table("spans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spans_project_id_model_start_time"),
            ["project_id", "model", "start_time"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_spans_project_id_start_time"), ["project_id", "start_time"], unique=False
        )


def _create_traces() -> None:
    """Create the traces table and its indexes."""
    op.create_table(
        "traces",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=True),
        sa.Column("start_time", sa.BigInteger(), nullable=True),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=True),
        sa.Column("thread_id", sa.String(length=500), nullable=True),
        sa.Column("user_id", sa.String(length=500), nullable=True),
        sa.Column("tags", JSON, nullable=True),
        sa.Column("input_preview", sa.Text(), nullable=True),
        sa.Column("output_preview", sa.Text(), nullable=True),
        sa.Column("span_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("llm_count", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=True),
        sa.Column("output_tokens", sa.BigInteger(), nullable=True),
        sa.Column("total_tokens", sa.BigInteger(), nullable=True),
        sa.Column("total_cost", sa.Float(), nullable=True),
        sa.Column("cost_unknown_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_traces_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_traces")),
    )
    with op.batch_alter_table("traces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_traces_project_id_start_time"),
            ["project_id", "start_time"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_traces_project_id_thread_id_start_time"),
            ["project_id", "thread_id", "start_time"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_traces_project_id_user_id_start_time"),
            ["project_id", "user_id", "start_time"],
            unique=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for drop in POSTGRES_DROPS:
            op.execute(drop)
    with op.batch_alter_table("traces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_traces_project_id_user_id_start_time"))
        batch_op.drop_index(batch_op.f("ix_traces_project_id_thread_id_start_time"))
        batch_op.drop_index(batch_op.f("ix_traces_project_id_start_time"))

    op.drop_table("traces")
    with op.batch_alter_table("spans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spans_project_id_start_time"))
        batch_op.drop_index(batch_op.f("ix_spans_project_id_model_start_time"))

    op.drop_table("spans")
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scores_project_id_trace_id"))
        batch_op.drop_index(batch_op.f("ix_scores_project_id_thread_id"))
        batch_op.drop_index(batch_op.f("ix_scores_project_id_name_value"))

    op.drop_table("scores")
    op.drop_table("trace_payloads")
    op.drop_table("span_payloads")
    op.drop_table("projects")
    op.drop_table("price_overrides")
