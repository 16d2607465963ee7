"""Give dataset items a position, so that they list in the order they were added.

Items used to list by id, which is insertion order only for ids made apart in
time: UUIDv7 ids made in the same millisecond, and ids people choose, sort any
way. Existing items take the row id of their item's first row, the order in
which the rows were inserted.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_dataset_items_dataset_id_position"


def upgrade() -> None:
    with op.batch_alter_table("dataset_items") as batch:
        batch.add_column(sa.Column("position", sa.Integer))
    items = sa.table(
        "dataset_items",
        sa.column("row_id", sa.Integer),
        sa.column("dataset_id", sa.Integer),
        sa.column("item_id", sa.String),
        sa.column("position", sa.Integer),
    )
    earliest = items.alias("earliest")
    first_row = (
        sa.select(sa.func.min(earliest.c.row_id))
        .where(earliest.c.dataset_id == items.c.dataset_id, earliest.c.item_id == items.c.item_id)
        .scalar_subquery()
    )
    op.execute(items.update().values(position=first_row))
    with op.batch_alter_table("dataset_items") as batch:
        batch.alter_column("position", existing_type=sa.Integer, nullable=False)
    op.create_index(INDEX, "dataset_items", ["dataset_id", "position"])


def downgrade() -> None:
    op.drop_index(INDEX, "dataset_items")
    with op.batch_alter_table("dataset_items") as batch:
        batch.drop_column("position")
