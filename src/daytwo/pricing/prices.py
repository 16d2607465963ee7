"""The price book: what a model call cost, from the model's name and its token usage."""

import logging
import threading
from collections.abc import Iterable
from datetime import datetime

from daytwo.model.spans import Cost, CostSource, TokenUsage
from daytwo.pricing.catalogue import Catalogue, canonical_provider, split_provider_prefix
from daytwo.pricing.overrides import OverrideIndex, PriceOverride
from daytwo.pricing.rates import (
    ModelPrice,
    PriceSchedule,
    cost_of,
    has_no_tokens,
    is_unsplit,
    unknown_cost,
)

logger = logging.getLogger(__name__)

_Key = tuple[str | None, str]


class _Resolutions:
    """Which schedule each (provider, model) pair resolved to, under one set of overrides.

    Telemetry can carry any number of model names, so the memo is bounded and
    forgets its oldest entry when full. Reads take no lock; writes do.
    """

    def __init__(self, overrides: OverrideIndex, size: int) -> None:
        self.overrides = overrides
        self.schedules: dict[_Key, PriceSchedule | None] = {}
        self._size = size
        self._lock = threading.Lock()

    def remember(self, key: _Key, schedule: PriceSchedule | None) -> None:
        """Store ``schedule`` under ``key``, forgetting the oldest entry when full."""
        with self._lock:
            if len(self.schedules) >= self._size:
                self.schedules.pop(next(iter(self.schedules)), None)
            self.schedules[key] = schedule


class PriceBook:
    """Price model calls from their token usage: overrides first, then genai-prices.

    Lookups are memoised per (provider, model), so pricing a span is a dictionary
    lookup and a few multiplications.

    >>> book = PriceBook()
    >>> usage = TokenUsage(input_tokens=1000, output_tokens=500)
    >>> book.cost(model="gpt-4o", provider="openai", usage=usage).total
    0.0075
    """

    def __init__(self, overrides: Iterable[PriceOverride] = (), *, cache_size: int = 4096) -> None:
        self._catalogue = Catalogue()
        self._cache_size = cache_size
        self._resolutions = _Resolutions(OverrideIndex(overrides), cache_size)

    @property
    def overrides(self) -> tuple[PriceOverride, ...]:
        """Return the overrides in force, in the order they were given."""
        return self._resolutions.overrides.overrides

    def replace_overrides(self, overrides: Iterable[PriceOverride]) -> None:
        """Put ``overrides`` in force in place of the current ones.

        The swap is one assignment, so it is safe while other threads price
        spans: each call uses either the old overrides or the new, never a mix.
        """
        self._resolutions = _Resolutions(OverrideIndex(overrides), self._cache_size)

    def cost(
        self,
        *,
        model: str | None,
        provider: str | None,
        usage: TokenUsage,
        at: datetime | None = None,
    ) -> Cost:
        """Return what a call of ``model`` cost, at the prices current at ``at`` (now if ``None``).

        The cost is unknown, never zero, when no model is given, its price is not
        known, or the usage has a total but no input or output count to split it.
        """
        schedule = self._schedule(provider, model) if model else None
        if schedule is None or is_unsplit(usage):
            return unknown_cost()
        if has_no_tokens(usage):
            return Cost(input=0.0, output=0.0, total=0.0, source=CostSource.COMPUTED)
        return cost_of(schedule.at(at), usage)

    def price_of(
        self, *, model: str, provider: str | None = None, at: datetime | None = None
    ) -> ModelPrice | None:
        """Return the price that would be charged for ``model``, or ``None`` if unknown."""
        schedule = self._schedule(provider, model)
        return None if schedule is None else schedule.at(at).price

    def known_models(self, at: datetime | None = None) -> list[ModelPrice]:
        """Return the price of every token-priced model bundled with genai-prices."""
        return self._catalogue.known_models(at)

    def _schedule(self, provider: str | None, model: str) -> PriceSchedule | None:
        resolutions = self._resolutions
        key = (provider, model)
        try:
            return resolutions.schedules[key]
        except KeyError:
            schedule = self._resolve(resolutions.overrides, provider, model)
            resolutions.remember(key, schedule)
            return schedule

    def _resolve(
        self, overrides: OverrideIndex, provider: str | None, model: str
    ) -> PriceSchedule | None:
        model = model.strip()
        if not model:
            return None
        canonical = canonical_provider(provider)
        if overrides:
            hint, bare = split_provider_prefix(model)
            found = overrides.match(canonical, model)
            if found is None and bare is not None:
                found = overrides.match(hint or canonical, bare)
            if found is not None:
                return found
        found = self._catalogue.lookup(canonical, model)
        if found is None:
            logger.debug("no known price for model %r of provider %r", model, provider)
        return found
