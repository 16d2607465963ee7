"""Add datasets (versioned items) and experiments (runs over them, item by item).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_datasets_project_id_projects"
        ),
        sa.UniqueConstraint("project_id", "name", name="uq_datasets_project_id_name"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("dataset_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("change", sa.String(500), nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "version", name="pk_dataset_versions"),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_dataset_versions_dataset_id_datasets"
        ),
    )
    op.create_table(
        "dataset_items",
        sa.Column("row_id", sa.Integer, autoincrement=True),
        sa.Column("dataset_id", sa.Integer, nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("added_in", sa.Integer, nullable=False),
        sa.Column("removed_in", sa.Integer),
        sa.Column("input", Json),
        sa.Column("expected", Json),
        sa.Column("context", Json),
        sa.Column("metadata", Json),
        sa.Column("source_trace_id", sa.String(32)),
        sa.Column("source_span_id", sa.String(32)),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("row_id", name="pk_dataset_items"),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_dataset_items_dataset_id_datasets"
        ),
        sa.UniqueConstraint(
            "dataset_id", "item_id", "added_in", name="uq_dataset_items_dataset_id_item_id_added_in"
        ),
    )
    op.create_index(
        "ix_dataset_items_dataset_id_removed_in_item_id",
        "dataset_items",
        ["dataset_id", "removed_in", "item_id"],
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("dataset_id", sa.Integer),
        sa.Column("dataset_version", sa.Integer),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("metadata", Json),
        sa.Column("config", Json),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_experiments"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_experiments_project_id_projects"
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_experiments_dataset_id_datasets"
        ),
    )
    op.create_index(
        "ix_experiments_project_id_created_at", "experiments", ["project_id", "created_at"]
    )
    op.create_index("ix_experiments_project_id_name", "experiments", ["project_id", "name"])
    op.create_table(
        "experiment_items",
        sa.Column("experiment_id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("repetition", sa.Integer, nullable=False),
        sa.Column("trace_id", sa.String(32)),
        sa.Column("input", Json),
        sa.Column("expected", Json),
        sa.Column("output", Json),
        sa.Column("error", sa.Text),
        sa.Column("scores", Json),
        sa.Column("latency_ms", sa.Float),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "experiment_id", "item_id", "repetition", name="pk_experiment_items"
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name="fk_experiment_items_experiment_id_experiments",
        ),
    )


def downgrade() -> None:
    op.drop_table("experiment_items")
    op.drop_index("ix_experiments_project_id_name", "experiments")
    op.drop_index("ix_experiments_project_id_created_at", "experiments")
    op.drop_table("experiments")
    op.drop_index("ix_dataset_items_dataset_id_removed_in_item_id", "dataset_items")
    op.drop_table("dataset_items")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
