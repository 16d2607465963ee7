"""Tests of daytwo.pricing: costs from token usage, bundled prices and overrides.

Expected figures are worked out by hand from the prices bundled with
genai-prices 0.2.3 (``genai_prices/data.py``), quoted in US dollars per million
tokens next to each test.
"""

import json
import math
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage
from genai_prices.data import providers
from genai_prices.data_snapshot import DataSnapshot, set_custom_snapshot
from pydantic import ValidationError

import daytwo.pricing
from daytwo.model.spans import Cost, CostSource, TokenUsage
from daytwo.pricing import (
    PriceBook,
    PriceOverride,
    PriceOverrideError,
    load_overrides_file,
)
from daytwo.pricing.catalogue import schedule_of
from daytwo.pricing.rates import cost_of

# 1000 input tokens of which 400 read from the cache; 500 output tokens of which
# 200 were reasoning. Counted the GenAI way: totals include their breakdowns.
CACHED_AND_REASONING = TokenUsage(
    input_tokens=1000, cache_read_tokens=400, output_tokens=500, reasoning_tokens=200
)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def usd(value: float | None) -> float:
    assert value is not None
    return value


def assert_cost(cost: Cost, *, input: float, output: float, total: float | None = None) -> None:
    assert cost.source is CostSource.COMPUTED
    assert usd(cost.input) == pytest.approx(input, rel=1e-12)
    assert usd(cost.output) == pytest.approx(output, rel=1e-12)
    assert usd(cost.total) == pytest.approx(input + output if total is None else total, rel=1e-12)


def assert_unknown(cost: Cost) -> None:
    assert cost == Cost(source=CostSource.UNKNOWN)
    assert (cost.input, cost.output, cost.total) == (None, None, None)


# The split of cached and reasoning tokens


def test_gpt_4o_is_priced_from_the_bundled_rates(book: PriceBook) -> None:
    # gpt-4o: input 2.50, cached input 1.25, output 10.
    # input: 600 uncached x 2.50 + 400 cached x 1.25 = 1500 + 500 = 2000 per M
    # output: 500 x 10 (the 200 reasoning tokens are part of the 500) = 5000 per M
    cost = book.cost(model="gpt-4o", provider="openai", usage=CACHED_AND_REASONING)
    assert_cost(cost, input=0.002, output=0.005)


def test_cached_tokens_cost_less_than_uncached_tokens(book: PriceBook) -> None:
    uncached = TokenUsage(input_tokens=1000, output_tokens=0)
    cached = TokenUsage(input_tokens=1000, cache_read_tokens=1000, output_tokens=0)
    full = book.cost(model="gpt-4o", provider="openai", usage=uncached)
    discounted = book.cost(model="gpt-4o", provider="openai", usage=cached)
    assert usd(full.input) == pytest.approx(1000 * 2.5 / 1e6)
    assert usd(discounted.input) == pytest.approx(1000 * 1.25 / 1e6)


def test_reasoning_tokens_are_not_counted_twice(book: PriceBook) -> None:
    with_breakdown = book.cost(model="o3-mini", provider="openai", usage=CACHED_AND_REASONING)
    without = book.cost(
        model="o3-mini",
        provider="openai",
        usage=TokenUsage(input_tokens=1000, cache_read_tokens=400, output_tokens=500),
    )
    # o3-mini: output 4.40; 500 output tokens, not 500 + 200.
    assert usd(with_breakdown.output) == pytest.approx(500 * 4.4 / 1e6)
    assert with_breakdown == without


def test_a_distinct_reasoning_rate_is_charged_for_reasoning_tokens(book: PriceBook) -> None:
    # sonar-deep-research at Perplexity: output 8, reasoning 3.
    # 300 plain output x 8 + 200 reasoning x 3 = 2400 + 600 = 3000 per M
    cost = book.cost(model="sonar-deep-research", provider="perplexity", usage=CACHED_AND_REASONING)
    assert usd(cost.output) == pytest.approx(0.003)


def test_cache_writes_are_charged_at_the_cache_write_rate(book: PriceBook) -> None:
    # claude-3-5-sonnet: input 3, cache read 0.30, cache write 3.75, output 15.
    # input: 2000 x 3 + 6000 x 0.30 + 2000 x 3.75 = 6000 + 1800 + 7500 = 15300 per M
    usage = TokenUsage(
        input_tokens=10_000, cache_read_tokens=6000, cache_write_tokens=2000, output_tokens=100
    )
    cost = book.cost(model="claude-3-5-sonnet-20241022", provider="anthropic", usage=usage)
    assert_cost(cost, input=0.0153, output=0.0015)


def test_cached_tokens_of_a_model_without_a_cache_rate_cost_the_input_rate(
    book: PriceBook,
) -> None:
    # gpt-4o-2024-05-13 has no cached-input price: input 5 for all 1000 tokens.
    cost = book.cost(model="gpt-4o-2024-05-13", provider="openai", usage=CACHED_AND_REASONING)
    assert usd(cost.input) == pytest.approx(1000 * 5 / 1e6)


def test_input_counted_without_its_cached_part_is_topped_up(book: PriceBook) -> None:
    # Anthropic's API reports input_tokens net of the cache: 100 uncached here,
    # beside 900 cached. Fewer input than cached tokens can only mean that, so
    # the call is priced as 1000 input tokens of which 900 cached:
    # 100 x 2.50 + 900 x 1.25 = 250 + 1125 = 1375 per M
    net = TokenUsage(input_tokens=100, cache_read_tokens=900, output_tokens=500)
    gross = TokenUsage(input_tokens=1000, cache_read_tokens=900, output_tokens=500)
    for usage in (net, gross):
        cost = book.cost(model="gpt-4o", provider="openai", usage=usage)
        assert_cost(cost, input=0.001375, output=0.005)


def test_output_counted_without_its_reasoning_part_is_topped_up(book: PriceBook) -> None:
    # o3-mini, output 4.40: 100 answer tokens beside 400 reasoning ones are 500.
    usage = TokenUsage(input_tokens=0, output_tokens=100, reasoning_tokens=400)
    cost = book.cost(model="o3-mini", provider="openai", usage=usage)
    assert usd(cost.output) == pytest.approx(500 * 4.4 / 1e6)


# Unknown prices and degenerate usage


def test_an_unknown_model_costs_unknown_not_zero(book: PriceBook) -> None:
    assert_unknown(book.cost(model="my-model", provider=None, usage=CACHED_AND_REASONING))
    assert book.price_of(model="my-model") is None


@pytest.mark.parametrize("model", [None, "", "   "])
def test_a_call_without_a_model_costs_unknown(book: PriceBook, model: str | None) -> None:
    assert_unknown(book.cost(model=model, provider="openai", usage=CACHED_AND_REASONING))


def test_a_usage_without_tokens_costs_zero_for_a_known_model(book: PriceBook) -> None:
    for usage in (TokenUsage(), TokenUsage(input_tokens=0, output_tokens=0)):
        cost = book.cost(model="gpt-4o", provider="openai", usage=usage)
        assert cost == Cost(input=0.0, output=0.0, total=0.0, source=CostSource.COMPUTED)
    assert_unknown(book.cost(model="my-model", provider=None, usage=TokenUsage()))


def test_a_total_without_an_input_and_output_split_costs_unknown(book: PriceBook) -> None:
    usage = TokenUsage(total_tokens=1500)
    assert_unknown(book.cost(model="gpt-4o", provider="openai", usage=usage))


def test_a_model_priced_only_by_audio_time_costs_unknown(book: PriceBook) -> None:
    # whisper-1 is priced per minute of audio; tokens cannot price it.
    assert_unknown(book.cost(model="whisper-1", provider="openai", usage=CACHED_AND_REASONING))


# Model and provider names as telemetry sends them


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        (None, "openai/gpt-4o"),
        ("litellm", "openai/gpt-4o"),
        ("openai", "gpt-4o"),
        ("OpenAI", "GPT-4o"),
        (None, "gpt-4o"),
    ],
)
def test_provider_prefixed_and_bare_model_names_are_priced_alike(
    book: PriceBook, provider: str | None, model: str
) -> None:
    cost = book.cost(model=model, provider=provider, usage=CACHED_AND_REASONING)
    assert_cost(cost, input=0.002, output=0.005)


def test_a_reseller_named_by_the_span_prices_its_own_catalogue_entry(book: PriceBook) -> None:
    price = book.price_of(model="openai/gpt-4o", provider="openrouter")
    assert price is not None
    assert (price.provider, price.model) == ("openrouter", "openai/gpt-4o")


@pytest.mark.parametrize(
    ("model", "catalogue_model", "input_rate"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o", 2.5),
        ("gpt-4o-2024-11-20", "gpt-4o", 2.5),
        ("gpt-4o-20240806", "gpt-4o", 2.5),
        # The first snapshot kept its own, higher price.
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13", 5.0),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet", 3.0),
        ("gemini-2.0-flash-001", "gemini-2.0-flash", 0.1),
    ],
)
def test_dated_snapshots_are_priced_as_their_catalogue_entry(
    book: PriceBook, model: str, catalogue_model: str, input_rate: float
) -> None:
    price = book.price_of(model=model)
    assert price is not None
    assert (price.model, price.input_per_mtok) == (catalogue_model, input_rate)


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("azure.ai.openai", "gpt-4o", "azure"),
        ("az.ai.openai", "gpt-4o", "azure"),
        ("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", "aws"),
        (None, "anthropic.claude-3-5-sonnet-20240620-v1:0", "aws"),
        ("gcp.vertex_ai", "gemini-2.0-flash", "google"),
        ("gcp.gen_ai", "gemini-2.0-flash", "google"),
        ("gcp.vertex_ai", "claude-3-5-sonnet-v2@20241022", "google"),
        ("x_ai", "grok-3", "x-ai"),
        ("mistral_ai", "mistral-large-latest", "mistral"),
        ("anthropic", "claude-3-5-sonnet-20241022", "anthropic"),
    ],
)
def test_provider_names_from_telemetry_are_normalised(
    book: PriceBook, provider: str | None, model: str, expected: str
) -> None:
    price = book.price_of(model=model, provider=provider)
    assert price is not None
    assert price.provider == expected


def test_an_unknown_provider_falls_back_to_the_model_name(book: PriceBook) -> None:
    price = book.price_of(model="gpt-4o", provider="some-gateway")
    assert price is not None
    assert (price.provider, price.model) == ("openai", "gpt-4o")


# Prices that depend on the date or on the prompt size


def test_prices_follow_the_date_of_the_call(book: PriceBook) -> None:
    # o3: input 10 and output 40 until 2025-06-10, then 2 and 8.
    usage = TokenUsage(input_tokens=1000, output_tokens=1000)
    before = book.cost(
        model="o3", provider="openai", usage=usage, at=datetime(2025, 6, 9, tzinfo=UTC)
    )
    after = book.cost(
        model="o3", provider="openai", usage=usage, at=datetime(2025, 6, 10, tzinfo=UTC)
    )
    assert_cost(before, input=0.01, output=0.04)
    assert_cost(after, input=0.002, output=0.008)


def test_off_peak_prices_follow_the_time_of_day(book: PriceBook) -> None:
    # deepseek-chat: input 0.27 from 00:30 to 16:30 UTC, 0.135 otherwise.
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=0)
    peak = book.cost(
        model="deepseek-chat",
        provider="deepseek",
        usage=usage,
        at=datetime(2026, 1, 5, 12, tzinfo=UTC),
    )
    off_peak = book.cost(
        model="deepseek-chat",
        provider="deepseek",
        usage=usage,
        at=datetime(2026, 1, 5, 20, tzinfo=UTC),
    )
    assert usd(peak.input) == pytest.approx(0.27)
    assert usd(off_peak.input) == pytest.approx(0.135)


def test_tiered_prices_apply_to_every_token_past_the_threshold(book: PriceBook) -> None:
    # gemini-2.5-pro: input 1.25 and output 10 up to 200k prompt tokens, then
    # 2.50 and 15 for the whole call; the threshold counts cached tokens too.
    small = TokenUsage(input_tokens=200_000, output_tokens=1000)
    large = TokenUsage(input_tokens=200_001, cache_read_tokens=100_000, output_tokens=1000)
    assert_cost(
        book.cost(model="gemini-2.5-pro", provider="google", usage=small),
        input=200_000 * 1.25 / 1e6,
        output=1000 * 10 / 1e6,
    )
    assert_cost(
        book.cost(model="gemini-2.5-pro", provider="google", usage=large),
        input=(100_001 * 2.5 + 100_000 * 0.25) / 1e6,
        output=1000 * 15 / 1e6,
    )


def test_every_bundled_model_is_priced_as_genai_prices_prices_it() -> None:
    usages = [
        CACHED_AND_REASONING,
        TokenUsage(
            input_tokens=1000, cache_read_tokens=400, cache_write_tokens=100, output_tokens=50
        ),
        TokenUsage(
            input_tokens=300_000,
            cache_read_tokens=100_000,
            output_tokens=2000,
            reasoning_tokens=1500,
        ),
    ]
    moments = [datetime(2025, 1, 1, 12, tzinfo=UTC), datetime(2026, 12, 3, 3, tzinfo=UTC)]
    checked = 0
    for provider in providers:
        for model in provider.models:
            schedule = schedule_of(model, provider.id)
            if schedule is None:
                continue
            for usage, at in ((usage, at) for usage in usages for at in moments):
                expected = model.calc_price(
                    _genai_usage(usage), provider, genai_request_timestamp=at
                )
                cost = cost_of(schedule.at(at), usage)
                got = (usd(cost.input), usd(cost.output), usd(cost.total))
                want = (expected.input_price, expected.output_price, expected.total_price)
                assert all(
                    math.isclose(g, float(w), rel_tol=1e-9, abs_tol=1e-15)
                    for g, w in zip(got, want, strict=True)
                ), (provider.id, model.id, usage, at)
                checked += 1
    assert checked > 10_000


def _genai_usage(usage: TokenUsage) -> Usage:
    # genai-prices counts like the GenAI conventions: its input_tokens includes
    # cache reads and writes, its output_tokens the reasoning tokens.
    return Usage(
        input_tokens=usage.input_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        output_tokens=usage.output_tokens,
        output_reasoning_tokens=usage.reasoning_tokens,
    )


# Overrides


def test_an_override_wins_over_the_bundled_price() -> None:
    book = PriceBook([PriceOverride(model="gpt-4o", input_per_mtok=1.0, output_per_mtok=2.0)])
    usage = TokenUsage(input_tokens=1000, output_tokens=500)
    assert_cost(
        book.cost(model="gpt-4o", provider="openai", usage=usage), input=0.001, output=0.001
    )
    price = book.price_of(model="gpt-4o", provider="openai")
    assert price is not None
    assert price.source == "override"


def test_a_glob_override_prices_every_matching_model() -> None:
    book = PriceBook([PriceOverride(model="my-ft-*", input_per_mtok=1.0, output_per_mtok=2.0)])
    usage = TokenUsage(input_tokens=1000, output_tokens=500)
    for model in ("my-ft-1", "MY-FT-2", "openai/my-ft-3"):
        assert_cost(book.cost(model=model, provider=None, usage=usage), input=0.001, output=0.001)
    assert_unknown(book.cost(model="your-ft-1", provider=None, usage=usage))


def test_an_exact_override_wins_over_a_glob() -> None:
    book = PriceBook(
        [
            PriceOverride(model="my-ft-*", input_per_mtok=1.0, output_per_mtok=1.0),
            PriceOverride(model="my-ft-big", input_per_mtok=9.0, output_per_mtok=9.0),
        ]
    )
    assert _input_rate(book, "my-ft-big") == 9.0
    assert _input_rate(book, "my-ft-small") == 1.0


def test_a_provider_specific_override_wins_over_a_provider_less_one() -> None:
    book = PriceBook(
        [
            PriceOverride(model="llama-3-70b", input_per_mtok=1.0, output_per_mtok=1.0),
            PriceOverride(
                model="llama-3-70b", provider="my-vllm", input_per_mtok=0.1, output_per_mtok=0.1
            ),
        ]
    )
    assert _input_rate(book, "llama-3-70b", provider="my-vllm") == 0.1
    assert _input_rate(book, "llama-3-70b", provider="My-VLLM") == 0.1
    assert _input_rate(book, "llama-3-70b", provider="groq") == 1.0
    assert _input_rate(book, "llama-3-70b", provider=None) == 1.0


def test_a_provider_override_matches_the_provider_however_telemetry_spells_it() -> None:
    book = PriceBook(
        [PriceOverride(model="gpt-4o", provider="azure", input_per_mtok=7.0, output_per_mtok=7.0)]
    )
    assert _input_rate(book, "gpt-4o", provider="azure.ai.openai") == 7.0
    assert _input_rate(book, "gpt-4o", provider="az.ai.openai") == 7.0
    assert _input_rate(book, "gpt-4o", provider="openai") == 2.5


def test_an_override_charges_cached_tokens_at_the_input_rate_unless_told_otherwise() -> None:
    plain = PriceOverride(model="m", input_per_mtok=4.0, output_per_mtok=8.0)
    cheap_cache = plain.model_copy(update={"cache_read_per_mtok": 1.0})
    for override, input_cost in ((plain, 1000 * 4.0), (cheap_cache, 600 * 4.0 + 400 * 1.0)):
        cost = PriceBook([override]).cost(model="m", provider=None, usage=CACHED_AND_REASONING)
        assert_cost(cost, input=input_cost / 1e6, output=500 * 8.0 / 1e6)


def test_replacing_overrides_takes_effect_on_the_next_call() -> None:
    book = PriceBook()
    assert _input_rate(book, "gpt-4o") == 2.5
    book.replace_overrides([PriceOverride(model="gpt-4o", input_per_mtok=1.0, output_per_mtok=1.0)])
    assert _input_rate(book, "gpt-4o") == 1.0
    assert [override.model for override in book.overrides] == ["gpt-4o"]
    book.replace_overrides([])
    assert _input_rate(book, "gpt-4o") == 2.5


def test_replacing_overrides_while_pricing_never_mixes_the_two() -> None:
    cheap = [PriceOverride(model="gpt-4o", input_per_mtok=1.0, output_per_mtok=1.0)]
    book = PriceBook()
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=0)
    seen: set[float | None] = set()
    done = threading.Event()

    def price_until_done() -> None:
        while not done.is_set():
            seen.add(book.cost(model="gpt-4o", provider="openai", usage=usage).total)

    workers = [threading.Thread(target=price_until_done) for _ in range(2)]
    for worker in workers:
        worker.start()
    for swap in range(200):
        book.replace_overrides(cheap if swap % 2 else [])
    done.set()
    for worker in workers:
        worker.join()
    assert seen <= {1.0, 2.5}


def test_the_memo_of_resolved_names_is_bounded() -> None:
    book = PriceBook(cache_size=3)
    for number in range(10):
        book.cost(model=f"unknown-{number}", provider=None, usage=CACHED_AND_REASONING)
    assert _input_rate(book, "gpt-4o") == 2.5
    assert len(book._resolutions.schedules) <= 3


def _input_rate(book: PriceBook, model: str, provider: str | None = None) -> float:
    price = book.price_of(model=model, provider=provider)
    assert price is not None
    return price.input_per_mtok


@pytest.mark.parametrize(
    "entry",
    [
        {"model": "m", "input_per_mtok": -1, "output_per_mtok": 1},
        {"model": "  ", "input_per_mtok": 1, "output_per_mtok": 1},
        {"model": "m", "input_per_mtok": 1},
        {
            "model": "m",
            "input_per_mtok": 1,
            "output_per_mtok": 1,
            "cache_read_per_mtok": float("inf"),
        },
        {"model": "m", "input_per_mtok": 1, "output_per_mtok": 1, "input_per_mtoken": 1},
    ],
)
def test_an_invalid_override_is_rejected(entry: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PriceOverride.model_validate(entry)


# The overrides file


def test_an_overrides_file_is_read_in_order(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    entries = [
        {"model": "my-ft-*", "input_per_mtok": 1.0, "output_per_mtok": 2.0},
        {
            "model": "gpt-4o",
            "provider": "azure",
            "input_per_mtok": 2.0,
            "output_per_mtok": 8.0,
            "cache_read_per_mtok": 0.5,
        },
    ]
    path.write_text(json.dumps(entries), encoding="utf-8")
    overrides = load_overrides_file(path)
    assert [o.model_dump(exclude_none=True) for o in overrides] == entries


def test_an_invalid_entry_is_reported_with_the_file_and_its_position(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    entries = [
        {"model": "a", "input_per_mtok": 1, "output_per_mtok": 1},
        {"model": "my-ft-*", "input_per_mtok": -1, "output_per_mtok": 1},
    ]
    path.write_text(json.dumps(entries), encoding="utf-8")
    with pytest.raises(PriceOverrideError) as raised:
        load_overrides_file(path)
    message = str(raised.value)
    assert str(path) in message
    assert "entry 2 of 2 (model 'my-ft-*')" in message
    assert "input_per_mtok" in message


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('{"model": "m"}', "expected a list"),
        ("[{", "cannot read"),
        (None, "cannot read"),
    ],
)
def test_an_unreadable_overrides_file_is_reported_by_name(
    tmp_path: Path, content: str | None, complaint: str
) -> None:
    path = tmp_path / "prices.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(PriceOverrideError, match=complaint) as raised:
        load_overrides_file(path)
    assert str(path) in str(raised.value)


# The catalogue for display


def test_known_models_lists_the_bundled_catalogue(book: PriceBook) -> None:
    prices = book.known_models()
    gpt_4o = next(p for p in prices if (p.provider, p.model) == ("openai", "gpt-4o"))
    assert (gpt_4o.input_per_mtok, gpt_4o.output_per_mtok, gpt_4o.cache_read_per_mtok) == (
        2.5,
        10.0,
        1.25,
    )
    assert len(prices) > 1000
    assert {p.source for p in prices} == {"genai-prices"}
    assert not any(p.model == "whisper-1" for p in prices)


def test_price_of_shows_a_tiered_model_at_its_base_rates(book: PriceBook) -> None:
    price = book.price_of(model="gemini-2.5-pro", provider="google")
    assert price is not None
    assert (price.input_per_mtok, price.output_per_mtok, price.tiered) == (1.25, 10.0, True)


# Isolation from the network and from genai-prices' global state


def test_pricing_never_opens_a_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pricing tried to use the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    book = PriceBook([PriceOverride(model="my-ft-*", input_per_mtok=1.0, output_per_mtok=1.0)])
    for model in ("gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro", "my-ft-1", "never-heard-of-it"):
        book.cost(model=model, provider=None, usage=CACHED_AND_REASONING)
        book.price_of(model=model)
    assert book.known_models()


def test_prices_come_from_the_bundled_snapshot_whatever_genai_prices_holds() -> None:
    # genai-prices' optional auto-update swaps in a process-wide snapshot; an
    # empty one stands for whatever another library might have fetched.
    set_custom_snapshot(DataSnapshot(providers=[], from_auto_update=True))
    try:
        cost = PriceBook().cost(model="gpt-4o", provider="openai", usage=CACHED_AND_REASONING)
    finally:
        set_custom_snapshot(None)
    assert_cost(cost, input=0.002, output=0.005)


def test_the_public_names_are_exactly_the_intended_ones() -> None:
    assert sorted(daytwo.pricing.__all__) == [
        "ModelPrice",
        "PriceBook",
        "PriceOverride",
        "PriceOverrideError",
        "load_overrides_file",
    ]
