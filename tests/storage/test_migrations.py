from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from daytwo.storage import migrate
from daytwo.storage.tables import metadata


def test_migrations_build_exactly_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, metadata)

    assert differences == []


def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(engine: Engine) -> None:
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    migrate.upgrade(engine)

    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    assert migrate.current_revision(engine) == migrate.head_revision()
