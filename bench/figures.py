"""Percentiles and the formatting of figures for the report."""

import math
from collections.abc import Sequence

MIB = 1024 * 1024


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Return the ``fraction`` quantile, interpolating between ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float | None) -> str:
    """Format a duration in seconds as milliseconds for a table."""
    if seconds is None:
        return "-"
    value = seconds * 1000
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def rate(count: float, seconds: float | None) -> str:
    if not seconds:
        return "-"
    return f"{count / seconds:,.0f}"


def mib(size: int | None) -> str:
    return "-" if size is None else f"{size / MIB:,.0f}"


def secs(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:,.1f}" if seconds < 100 else f"{seconds:,.0f}"
