"""Bring a database's schema to the newest revision with Alembic."""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from daytwo.storage.engine import write_transaction

logger = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).with_name("migrations")
# An arbitrary constant naming daytwo's migration lock among PostgreSQL advisory locks.
_LOCK_KEY = 0x64617974776F


def alembic_config() -> Config:
    """Return an Alembic configuration pointing at daytwo's migrations."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (the newest by default).

    Several server processes may start at once on one database; the first to
    take the lock migrates, and the others then find the schema up to date.
    """
    if current_revision(engine) == head_revision() and revision == "head":
        return
    config = alembic_config()
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    logger.info("database schema at revision %s", current_revision(engine))


def downgrade(engine: Engine, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base`` removes every table)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
