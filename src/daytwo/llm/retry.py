"""When to try a model call again, and how long to wait first.

Waits grow exponentially with "equal jitter" (half the backoff fixed, half
random), so that clients rate-limited together do not retry together (Brooker,
"Exponential Backoff and Jitter", AWS Architecture Blog, 2015). A provider's
``Retry-After`` (RFC 9110 section 10.2.3: seconds or an HTTP date) or OpenAI's
``retry-after-ms`` replaces the computed wait, up to ``max_retry_after``.
"""

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

# Statuses worth a second try: timeout, conflict (OpenAI's lock contention),
# rate limit, and every server error. Other 4xx would fail the same way again.
_RETRYABLE_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry a failed call and how long to wait between attempts."""

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries is {self.max_retries}; expected 0 or more")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ValueError("initial_delay and max_delay must not be negative")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Return the seconds to wait before retry number ``retry`` (0 for the first)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        backoff = min(self.max_delay, self.initial_delay * 2.0**retry)
        return backoff / 2 + self.rng.uniform(0, backoff / 2)


def is_retryable_status(status: int) -> bool:
    """Return whether an HTTP error status may succeed on a later attempt."""
    return status in _RETRYABLE_STATUSES or status >= 500


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Return the wait a reply's headers ask for, in seconds, or None."""
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)
