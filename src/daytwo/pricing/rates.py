"""Token rates, and the arithmetic that turns a model call's token usage into a cost.

Counts follow the OpenTelemetry GenAI conventions: ``input_tokens`` includes the
cached tokens (read and written) and ``output_tokens`` includes the reasoning
tokens. Each breakdown is charged at its own rate and only the remainder of a
total at the plain input or output rate, so nothing is counted twice.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from daytwo.model.spans import Cost, CostSource, TokenUsage

_PER_MILLION = 1_000_000.0


class ModelPrice(BaseModel):
    """The price of one model in US dollars per million tokens, for people to read.

    A cache or reasoning rate left at ``None`` means those tokens are charged at the
    input or output rate. ``tiered`` marks a model whose rates rise once a prompt
    passes a size threshold; the figures shown are those below the threshold.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    provider: str | None
    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    reasoning_per_mtok: float | None = None
    tiered: bool = False
    source: Literal["genai-prices", "override"]


@dataclass(frozen=True, slots=True)
class Rates:
    """Rates in US dollars per million tokens, with every fallback already applied."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    reasoning: float
    per_request: float = 0.0


@dataclass(frozen=True, slots=True)
class PricePoint:
    """The prices of a model over one period: ``price`` to show, ``rates`` to charge.

    ``tiers`` holds ``(start, rates)`` pairs in ascending order; a tier applies when
    the prompt has more than ``start`` input tokens, cached ones included.
    """

    price: ModelPrice
    rates: Rates
    tiers: tuple[tuple[int, Rates], ...] = ()

    def rates_for(self, input_tokens: int) -> Rates:
        """Return the rates that apply to a prompt of ``input_tokens`` tokens."""
        for start, rates in reversed(self.tiers):
            if input_tokens > start:
                return rates
        return self.rates


class Constraint(Protocol):
    """The condition under which a price point applies, such as a start date."""

    def active(self, request_timestamp: datetime, /) -> bool: ...


@dataclass(frozen=True, slots=True)
class PriceSchedule:
    """The price points of one model, each with the condition that makes it current.

    The last point whose condition holds wins and the first is used when none does,
    which is how genai-prices orders its conditional prices.
    """

    points: tuple[tuple[Constraint | None, PricePoint], ...]

    @classmethod
    def fixed(cls, point: PricePoint) -> "PriceSchedule":
        """Return a schedule with one price point that always applies."""
        return cls(((None, point),))

    def at(self, when: datetime | None) -> PricePoint:
        """Return the price point current at ``when`` (now when ``None``)."""
        if len(self.points) == 1:
            return self.points[0][1]
        when = when or datetime.now(UTC)
        for constraint, point in reversed(self.points):
            if constraint is None or constraint.active(when):
                return point
        return self.points[0][1]


def unknown_cost() -> Cost:
    """Return the cost of a call whose price is not known: unknown, never zero."""
    return Cost(source=CostSource.UNKNOWN)


def cost_of(point: PricePoint, usage: TokenUsage) -> Cost:
    """Return what ``usage`` cost at ``point``, in US dollars.

    The input cost includes the cached parts, the output cost the reasoning part;
    a per-request fee, which a few models carry, counts in the total only.
    """
    read = usage.cache_read_tokens or 0
    write = usage.cache_write_tokens or 0
    reasoning = usage.reasoning_tokens or 0

    # A total smaller than its own breakdown was counted without it: Anthropic's
    # API reports input_tokens net of cache reads and writes, and instrumentations
    # that copy it unchanged break the GenAI convention. Adding the parts back is
    # the only reading under which the counts agree.
    input_tokens = usage.input_tokens or 0
    if input_tokens < read + write:
        input_tokens += read + write
    output_tokens = usage.output_tokens or 0
    if output_tokens < reasoning:
        output_tokens += reasoning

    rates = point.rates_for(input_tokens)
    input_cost = (
        (input_tokens - read - write) * rates.input
        + read * rates.cache_read
        + write * rates.cache_write
    ) / _PER_MILLION
    output_cost = (
        (output_tokens - reasoning) * rates.output + reasoning * rates.reasoning
    ) / _PER_MILLION
    total = input_cost + output_cost + rates.per_request
    return Cost(input=input_cost, output=output_cost, total=total, source=CostSource.COMPUTED)


def has_no_tokens(usage: TokenUsage) -> bool:
    """Tell whether ``usage`` reports no tokens at all."""
    return not (
        usage.input_tokens
        or usage.output_tokens
        or usage.cache_read_tokens
        or usage.cache_write_tokens
        or usage.reasoning_tokens
        or usage.total_tokens
    )


def is_unsplit(usage: TokenUsage) -> bool:
    """Tell whether ``usage`` has a total but no input or output count to price it by."""
    return bool(usage.total_tokens) and not (
        usage.input_tokens
        or usage.output_tokens
        or usage.cache_read_tokens
        or usage.cache_write_tokens
        or usage.reasoning_tokens
    )
