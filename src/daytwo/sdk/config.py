"""The SDK's settings: ``daytwo.configure(...)`` over ``DAYTWO_*`` environment variables.

Every setting has a default that works against ``daytwo serve`` on the same
machine, so an application needs no configuration at all to start tracing.
"""

import os
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

from daytwo.sdk.errors import ConfigError

DEFAULT_URL = "http://127.0.0.1:7700"


class SdkConfig(NamedTuple):
    """Where spans go and how the exporter behaves.

    A named tuple rather than a dataclass: ``dataclasses`` would double the
    time ``import daytwo`` takes.
    """

    url: str = DEFAULT_URL
    api_key: str | None = None
    project: str | None = None
    enabled: bool = True
    sample_rate: float = 1.0
    # Exporter: a batch leaves when it holds batch_size spans or batch_bytes of
    # JSON, or flush_interval seconds after the last one left.
    batch_size: int = 500
    batch_bytes: int = 4 * 1024 * 1024
    flush_interval: float = 1.0
    max_queue: int = 20_000
    request_timeout: float = 10.0
    max_retries: int = 4
    max_field_bytes: int = 1024 * 1024
    spool_dir: str | None = None
    spool_max_bytes: int = 256 * 1024 * 1024
    spool: bool = True
    exit_timeout: float = 5.0

    def __repr__(self) -> str:
        shown = {**self._asdict(), "api_key": "***" if self.api_key else None}
        return "SdkConfig(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    def checked(self) -> "SdkConfig":
        """Return these settings, or raise ``ConfigError`` naming the first bad one."""
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"server url {self.url!r} must start with http:// or https://")
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ConfigError(f"sample_rate {self.sample_rate!r} must be between 0 and 1")
        if self.project is not None and not 0 < len(self.project) <= 200:
            raise ConfigError(f"project name {self.project!r} must have 1 to 200 characters")
        for name in ("batch_size", "batch_bytes", "max_queue", "max_field_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)!r}")
        for name in ("flush_interval", "request_timeout", "exit_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be a positive number of seconds")
        if self.max_retries < 0 or self.spool_max_bytes < 0:
            raise ConfigError("max_retries and spool_max_bytes cannot be negative")
        return self

    def with_changes(self, **changes: Any) -> "SdkConfig":
        """Return a copy with ``changes`` applied, rejecting unknown setting names."""
        known = set(self._fields)
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting {', '.join(unknown)}; expected one of: {', '.join(sorted(known))}"
            )
        if changes.get("spool_dir") is not None:
            changes["spool_dir"] = str(changes["spool_dir"])
        return self._replace(**changes).checked()

    @property
    def resolved_spool_dir(self) -> "Path":
        """Return the spool directory, defaulting to the user's cache directory."""
        from pathlib import Path

        if self.spool_dir is not None:
            return Path(self.spool_dir)
        import platformdirs

        return Path(platformdirs.user_cache_dir("daytwo")) / "spool"


# Environment variable, setting name, parser.
_ENVIRONMENT: tuple[tuple[str, str, type], ...] = (
    ("DAYTWO_URL", "url", str),
    ("DAYTWO_API_KEY", "api_key", str),
    ("DAYTWO_PROJECT", "project", str),
    ("DAYTWO_ENABLED", "enabled", bool),
    ("DAYTWO_SAMPLE_RATE", "sample_rate", float),
    ("DAYTWO_BATCH_SIZE", "batch_size", int),
    ("DAYTWO_FLUSH_INTERVAL", "flush_interval", float),
    ("DAYTWO_MAX_QUEUE", "max_queue", int),
    ("DAYTWO_REQUEST_TIMEOUT", "request_timeout", float),
    ("DAYTWO_SPOOL", "spool", bool),
    ("DAYTWO_SPOOL_DIR", "spool_dir", str),
    ("DAYTWO_SPOOL_MAX_BYTES", "spool_max_bytes", int),
    ("DAYTWO_EXIT_TIMEOUT", "exit_timeout", float),
)

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def from_env(environ: dict[str, str] | None = None) -> SdkConfig:
    """Return the settings named by ``DAYTWO_*`` environment variables over the defaults."""
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, Any] = {}
    for variable, name, kind in _ENVIRONMENT:
        raw = environ.get(variable)
        if raw is None or raw == "":
            continue
        values[name] = _parse(variable, raw, kind)
    return SdkConfig(**values).checked()


def _parse(variable: str, raw: str, kind: type) -> Any:
    if kind is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ConfigError(f"{variable}={raw!r} is not a boolean; use 1/0, true/false or yes/no")
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a valid {kind.__name__}") from None
