"""Alembic environment: run migrations on the connection daytwo hands over."""

from alembic import context
from sqlalchemy import Connection

from daytwo.storage.tables import metadata

target_metadata = metadata


def run_migrations_online() -> None:
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("daytwo runs its migrations through daytwo.storage.migrate")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
