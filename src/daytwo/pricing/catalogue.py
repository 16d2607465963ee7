"""The model prices bundled with genai-prices, looked up by the names telemetry uses.

Only the snapshot shipped inside the installed package is read. genai-prices can
also refresh its prices from GitHub in a background thread (``UpdatePrices``) and
then serves them from a process-wide snapshot; daytwo never starts that thread
and reads ``genai_prices.data`` directly, so pricing never touches the network
and does not change under a running server if some other library starts it.

The bundled prices are converted once into daytwo's own rates: genai-prices'
``calc_price`` validates its unit registry on every call and takes about 130 µs,
while the arithmetic on ready rates takes a few.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, lru_cache

from genai_prices import types as gp
from genai_prices.data_snapshot import find_provider_by_id

from daytwo.pricing.rates import Constraint, ModelPrice, PricePoint, PriceSchedule, Rates

# Provider names as telemetry spells them, for those genai-prices does not map
# itself (or maps wrongly: it matches "azure.ai.openai" to OpenAI because the
# name contains "openai"). Sources: gen_ai.provider.name and the older
# gen_ai.system values of the OpenTelemetry GenAI conventions, OpenInference's
# llm.provider and llm.system, and LiteLLM's provider prefixes.
_PROVIDER_ALIASES = {
    "az.ai.inference": "azure",
    "az.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "azure.ai.openai": "azure",
    "azure.openai": "azure",
    "azure_ai": "azure",
    "azure_openai": "azure",
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "gcp.vertex_ai": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "x_ai": "x-ai",
    "x.ai": "x-ai",
    "xai": "x-ai",
    "fireworks_ai": "fireworks",
    "fireworks-ai": "fireworks",
    "together_ai": "together",
    "moonshot": "moonshotai",
}

# Where to look, in this order, when no provider's own name rule claims a model:
# the model makers' list prices, never a reseller's, whose prices only apply when
# the span names that reseller. Bedrock comes before Vertex AI so that Bedrock's
# ids ("anthropic.claude-...") are attributed to it: Vertex's list matches them too.
_FALLBACK_PROVIDERS = (
    "openai",
    "anthropic",
    "aws",
    "google",
    "mistral",
    "cohere",
    "deepseek",
    "x-ai",
)


@cache
def bundled_providers() -> tuple[gp.Provider, ...]:
    """Return the providers of the snapshot bundled with genai-prices."""
    # Imported here because building the snapshot takes about 0.4 s.
    from genai_prices.data import providers

    return tuple(providers)


@lru_cache(maxsize=1024)
def canonical_provider(name: str | None) -> str | None:
    """Return the genai-prices id for a provider name, else the name lowercased."""
    if name is None or not name.strip():
        return None
    name = name.strip().lower()
    if name in _PROVIDER_ALIASES:
        return _PROVIDER_ALIASES[name]
    found = find_provider_by_id(list(bundled_providers()), name)
    return name if found is None else found.id


def split_provider_prefix(model: str) -> tuple[str | None, str | None]:
    """Split ``"openai/gpt-4o"`` into a provider hint and the bare model name.

    The hint is ``None`` unless the prefix names a known provider; the bare name is
    ``None`` when the model has no prefix at all.
    """
    head, slash, rest = model.partition("/")
    if not slash or not rest:
        return None, None
    hint = canonical_provider(head)
    return (hint if hint in _providers_by_id() else None), rest


class Catalogue:
    """The bundled prices, resolved by provider and model name."""

    def __init__(self) -> None:
        self._providers = list(bundled_providers())
        self._by_id = _providers_by_id()
        self._owners = tuple(p for p in self._providers if p.model_match is not None)
        self._fallbacks = tuple(self._by_id[name] for name in _FALLBACK_PROVIDERS)

    def lookup(self, provider: str | None, model: str) -> PriceSchedule | None:
        """Return the schedule of the first catalogue model the names resolve to.

        ``provider`` must already be canonical (see ``canonical_provider``).
        """
        for owner, ref in self._candidates(provider, model):
            found = owner.find_model(ref, all_providers=self._providers)
            if found is not None:
                return schedule_of(found, owner.id)
        return None

    def known_models(self, at: datetime | None = None) -> list[ModelPrice]:
        """Return the price of every token-priced model, current at ``at``."""
        when = at or datetime.now(UTC)
        prices = []
        for provider in self._providers:
            for model in provider.models:
                schedule = schedule_of(model, provider.id)
                if schedule is not None:
                    prices.append(schedule.at(when).price)
        return prices

    def _candidates(self, provider: str | None, model: str) -> Iterator[tuple[gp.Provider, str]]:
        # The span's own provider first, then a provider named in the model's
        # prefix, then the provider whose name rule claims the model (as
        # genai-prices does without a provider), then the model makers' lists.
        hint, bare = split_provider_prefix(model)
        refs = (model,) if bare is None else (model, bare)
        named = self._by_id.get(provider) if provider else None
        if named is not None:
            for ref in refs:
                yield named, ref
        if hint is not None and bare is not None:
            yield self._by_id[hint], bare
        for ref in refs:
            for owner in self._owners:
                if owner.model_match is not None and owner.model_match.is_match(ref):
                    yield owner, ref
        for ref in refs:
            for fallback in self._fallbacks:
                yield fallback, ref


@cache
def _providers_by_id() -> dict[str, gp.Provider]:
    return {provider.id: provider for provider in bundled_providers()}


def schedule_of(model: gp.ModelInfo, provider_id: str) -> PriceSchedule | None:
    """Convert a genai-prices model's prices; ``None`` when it is not priced by tokens."""
    conditional: list[tuple[Constraint | None, gp.ModelPrice]]
    if isinstance(model.prices, gp.ModelPrice):
        conditional = [(None, model.prices)]
    else:
        conditional = [(c.constraint, c.prices) for c in model.prices]
    points: list[tuple[Constraint | None, PricePoint]] = []
    for constraint, prices in conditional:
        point = _point(model.id, provider_id, prices)
        if point is None:
            return None
        points.append((constraint, point))
    return PriceSchedule(tuple(points)) if points else None


_Value = Decimal | gp.TieredPrices | None


def _point(model_id: str, provider_id: str, prices: gp.ModelPrice) -> PricePoint | None:
    raw: dict[str, _Value] = {
        key: getattr(prices, key)
        for key in (
            "input_mtok",
            "output_mtok",
            "cache_read_mtok",
            "cache_write_mtok",
            "output_reasoning_mtok",
            "requests_kcount",
        )
    }
    # Audio, image and per-character models cannot be priced from token counts.
    if raw["input_mtok"] is None and raw["output_mtok"] is None:
        return None
    starts = sorted(
        {
            tier.start
            for value in raw.values()
            if isinstance(value, gp.TieredPrices)
            for tier in value.tiers
        }
    )
    tiers = tuple((start, _rates(raw, start + 1)) for start in starts)
    return PricePoint(
        price=_shown(model_id, provider_id, raw, bool(starts)), rates=_rates(raw, 0), tiers=tiers
    )


def _rates(raw: dict[str, _Value], input_tokens: int) -> Rates:
    # A missing input or output price means genai-prices charges nothing for it
    # (embedding models have no output price); missing cache and reasoning prices
    # mean those tokens are charged at the input or output rate.
    input_rate = _at(raw["input_mtok"], input_tokens) or 0.0
    output_rate = _at(raw["output_mtok"], input_tokens) or 0.0
    per_thousand_requests = _at(raw["requests_kcount"], input_tokens) or 0.0
    return Rates(
        input=input_rate,
        output=output_rate,
        cache_read=_or(_at(raw["cache_read_mtok"], input_tokens), input_rate),
        cache_write=_or(_at(raw["cache_write_mtok"], input_tokens), input_rate),
        reasoning=_or(_at(raw["output_reasoning_mtok"], input_tokens), output_rate),
        per_request=per_thousand_requests / 1000,
    )


def _shown(model_id: str, provider_id: str, raw: dict[str, _Value], tiered: bool) -> ModelPrice:
    return ModelPrice(
        model=model_id,
        provider=provider_id,
        input_per_mtok=_at(raw["input_mtok"], 0) or 0.0,
        output_per_mtok=_at(raw["output_mtok"], 0) or 0.0,
        cache_read_per_mtok=_at(raw["cache_read_mtok"], 0),
        cache_write_per_mtok=_at(raw["cache_write_mtok"], 0),
        reasoning_per_mtok=_at(raw["output_reasoning_mtok"], 0),
        tiered=tiered,
        source="genai-prices",
    )


def _at(value: _Value, input_tokens: int) -> float | None:
    """Return the rate that applies to a prompt of ``input_tokens`` tokens."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    # genai-prices' tiers are cliffs: past a threshold the tier's rate applies to
    # every token, and the threshold is compared with the whole prompt.
    applicable = value.base
    for tier in value.tiers:
        if input_tokens > tier.start:
            applicable = tier.price
    return float(applicable)


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
