"""Price overrides kept in the database, merged with those from a config file.

Every server process keeps its own `PriceBook`; overrides changed through the
API of one process reach the others when they next refresh (every few
seconds), so several stateless servers agree without talking to each other.
"""

import threading
import time

from sqlalchemy import Engine, select

from daytwo.pricing import PriceBook, PriceOverride
from daytwo.storage.tables import price_overrides

_PRICE_FIELDS = (
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_per_mtok",
    "reasoning_per_mtok",
)


class PriceOverrideStore:
    """Read and change price overrides; file overrides lose to database ones."""

    def __init__(
        self, engine: Engine, file_overrides: list[PriceOverride], max_age: float = 5.0
    ) -> None:
        self.engine = engine
        self.file_overrides = file_overrides
        self.max_age = max_age
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def stored(self) -> list[PriceOverride]:
        """Return the overrides stored in the database."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(price_overrides).order_by(price_overrides.c.id))
            return [_override(row._mapping) for row in rows]

    def load(self) -> list[PriceOverride]:
        """Return every override in force: the file's, replaced by the database's."""
        merged = {(o.model, o.provider): o for o in self.file_overrides}
        merged.update({(o.model, o.provider): o for o in self.stored()})
        return list(merged.values())

    def refresh_if_stale(self, book: PriceBook) -> None:
        """Reload ``book``'s overrides when they are older than ``max_age`` seconds."""
        with self._lock:
            if time.monotonic() - self._loaded_at < self.max_age:
                return
            book.replace_overrides(self.load())
            self._loaded_at = time.monotonic()

    def put(self, override: PriceOverride) -> None:
        """Create or replace the override for its model and provider."""
        row = {
            "model": override.model,
            "provider": override.provider or "",
            "created_at": time.time_ns() // 1000,
            **{name: getattr(override, name) for name in _PRICE_FIELDS},
        }
        with self.engine.begin() as connection:
            connection.execute(
                price_overrides.delete().where(
                    price_overrides.c.model == row["model"],
                    price_overrides.c.provider == row["provider"],
                )
            )
            connection.execute(price_overrides.insert().values(**row))
        self._loaded_at = 0.0

    def delete(self, model: str, provider: str | None) -> bool:
        """Remove an override; return False if there was none."""
        with self.engine.begin() as connection:
            result = connection.execute(
                price_overrides.delete().where(
                    price_overrides.c.model == model,
                    price_overrides.c.provider == (provider or ""),
                )
            )
        self._loaded_at = 0.0
        return result.rowcount > 0


def _override(row: object) -> PriceOverride:
    values = dict(row)  # type: ignore[call-overload]
    return PriceOverride(
        model=values["model"],
        provider=values["provider"] or None,
        **{name: values[name] for name in _PRICE_FIELDS},
    )
