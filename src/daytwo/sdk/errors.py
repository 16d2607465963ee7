"""How the SDK fails: loudly at its public boundary, quietly below it.

Misuse (an unknown span kind, a sample rate of 2) raises ``ConfigError`` or
``ValueError`` at the call that made it, with a sentence saying what to fix.
Anything that goes wrong inside the SDK after that is caught, counted and
logged once per place, so a tracing bug never breaks the host program. In
strict mode (``DAYTWO_STRICT=1``, which daytwo's own test suite sets) those
internal failures are re-raised instead, so that bugs surface.
"""

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

_lock = threading.Lock()
_logged: set[str] = set()
_failures: dict[str, int] = {}


class DaytwoError(Exception):
    """The base of every error the SDK raises on purpose."""


class ConfigError(DaytwoError, ValueError):
    """A setting or argument has a value the SDK cannot use."""


def strict() -> bool:
    """Return whether internal failures re-raise (``DAYTWO_STRICT`` is set)."""
    return os.environ.get("DAYTWO_STRICT", "").lower() in ("1", "true", "yes")


def internal_failure(where: str, exc: BaseException) -> None:
    """Count an internal failure at ``where``, log the first one, re-raise when strict."""
    with _lock:
        _failures[where] = _failures.get(where, 0) + 1
        first = where not in _logged
        _logged.add(where)
    if strict():
        raise exc
    if first:
        _logger().warning(
            "daytwo tracing failed in %s; the program goes on and later failures "
            "here are only counted",
            where,
            exc_info=exc,
        )


def warn_once(key: str, message: str, *args: object) -> None:
    """Log ``message`` at WARNING the first time ``key`` is seen."""
    with _lock:
        if key in _logged:
            return
        _logged.add(key)
    _logger().warning(message, *args)


def failure_counts() -> dict[str, int]:
    """Return how many internal failures happened, by place."""
    with _lock:
        return dict(_failures)


def _logger() -> "logging.Logger":
    # Imported on first use: logging costs more to import than the rest of the SDK.
    import logging

    return logging.getLogger("daytwo")
