"""Add the indexes that keyset pages sorted by cost, latency or tokens read.

Without them a page of traces sorted by cost sorts every trace of the project:
about 100 ms per page at 200,000 traces on SQLite, against under 5 ms with.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: dict[str, list[tuple[str, ...]]] = {
    "traces": [
        ("project_id", "total_cost", "id"),
        ("project_id", "duration_ms", "id"),
        ("project_id", "total_tokens", "id"),
    ],
    "spans": [
        ("project_id", "total_cost"),
        ("project_id", "duration_ms"),
    ],
}


def _name(table: str, columns: tuple[str, ...]) -> str:
    # The naming convention of daytwo.storage.tables: ix_<table>_<column>_<column>...
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    for table, indexes in INDEXES.items():
        for columns in indexes:
            op.create_index(_name(table, columns), table, list(columns))


def downgrade() -> None:
    for table, indexes in INDEXES.items():
        for columns in indexes:
            op.drop_index(_name(table, columns), table_name=table)
