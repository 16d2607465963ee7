"""Server settings, read from ``DAYTWO_*`` environment variables.

Every setting has a default that works for one person on one machine: an
embedded SQLite database under the user's data directory and the server on
127.0.0.1.
"""

import os
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

_ENV_PREFIX = "DAYTWO_"


class ConfigError(ValueError):
    """A setting that cannot be used, with the variable that holds it."""


def default_data_dir() -> Path:
    """Return the directory for daytwo's embedded database and spool files."""
    import platformdirs

    return Path(platformdirs.user_data_dir("daytwo", appauthor=False))


class Settings(BaseModel):
    """How the server stores data and protects itself from overload."""

    database_url: str | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    default_project: str = "default"
    # Bytes of one request body, before and after decompression.
    max_request_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    max_decompressed_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    # Spans accepted but not yet committed; beyond this ingest answers 503.
    max_pending_spans: int = Field(default=50_000, gt=0)
    # FULL makes a commit durable across power loss, NORMAL across process crashes.
    sqlite_synchronous: str = Field(default="FULL", pattern="^(FULL|NORMAL|OFF)$")
    prices_file: Path | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> "Settings":
        """Build settings from ``DAYTWO_<NAME>`` variables, then apply ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(_ENV_PREFIX + name.upper())
            if raw not in (None, ""):
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            first = error.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "?"
            raise ConfigError(
                f"invalid setting {_ENV_PREFIX}{field.upper()}: {first['msg']}"
            ) from error

    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to SQLite inside ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'daytwo.sqlite'}"
