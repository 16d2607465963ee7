"""The model call of a span: provider, model, messages, token usage and a given cost.

Each field takes the first source that has it, in the order daytwo,
OpenInference, the OpenTelemetry GenAI conventions, then vendor keys
(Traceloop's OpenLLMetry, the Vercel AI SDK, Langfuse).

Token counts follow the GenAI conventions, which daytwo's `TokenUsage` adopts:
``gen_ai.usage.input_tokens`` "SHOULD include all types of input tokens,
including cached tokens" (GenAI attribute registry), so input includes cache
reads and writes and output includes reasoning. OpenInference counts the same
way: "The prompt_details.* values are sub-counts of llm.token_count.prompt:
they are already included in it" (OpenInference semantic conventions, "Token
Count Details"), and its completion count copies OpenAI's ``completion_tokens``,
which includes ``reasoning_tokens``. A total that no source gives stays None:
the server derives it in one place for every ingest path.
"""

from collections.abc import Mapping
from typing import Any

from daytwo.model import Cost, CostSource, LlmDetail, PromptRef, TokenUsage
from daytwo.server.otlp.attributes import (
    as_number,
    as_object,
    first,
    first_count,
    first_text,
    group,
)
from daytwo.server.otlp.mapping_messages import input_messages, output_messages

_PROVIDER = ("llm.provider", "llm.system", "gen_ai.provider.name", "gen_ai.system")
# OpenInference: llm.model_name "should equal llm.response.model_name when known".
# GenAI: the response model is the one that ran, so it is the one to price.
_MODEL = (
    "llm.response.model_name",
    "llm.model_name",
    "llm.request.model_name",
    "embedding.model_name",
    "reranker.model_name",
    "gen_ai.response.model",
    "gen_ai.request.model",
    "ai.response.model",
    "ai.model.id",
)
_PARAMETERS = ("llm.invocation_parameters", "embedding.invocation_parameters")
# (a key that marks the convention, the prefix of its parameter keys)
_PARAMETER_GROUPS = (
    ("gen_ai.request.model", "gen_ai.request."),
    ("ai.model.id", "ai.settings."),
)
_PROMPT_NAME = ("daytwo.prompt.name", "langfuse.observation.prompt.name")
_PROMPT_VERSION = (
    "daytwo.prompt.version",
    "llm.prompt_template.version",
    "langfuse.observation.prompt.version",
)
# Both in seconds: the GenAI span attribute and the name of the GenAI server metric.
_TTFT_SECONDS = ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token")
_TTFT_MS = ("ai.response.msToFirstChunk",)

_INPUT_TOKENS = (
    "llm.token_count.prompt",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",
)
_OUTPUT_TOKENS = (
    "llm.token_count.completion",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
)
_CACHE_READ_TOKENS = (
    "llm.token_count.prompt_details.cache_read",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "ai.usage.cachedInputTokens",
)
_CACHE_WRITE_TOKENS = (
    "llm.token_count.prompt_details.cache_write",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
_REASONING_TOKENS = (
    "llm.token_count.completion_details.reasoning",
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "ai.usage.reasoningTokens",
)
_TOTAL_TOKENS = (
    "llm.token_count.total",
    "gen_ai.usage.total_tokens",
    "llm.usage.total_tokens",
    "ai.usage.totalTokens",
)

# (total, input, output) per source; the first source with any of them is used whole.
_COSTS = (
    ("daytwo.cost.total", "daytwo.cost.input", "daytwo.cost.output"),
    ("llm.cost.total", "llm.cost.prompt", "llm.cost.completion"),
)


def llm_detail(values: Mapping[str, Any], events: Mapping[str, Any]) -> LlmDetail | None:
    """Return what the span sent to and received from a model, or None if nothing."""
    fields = {
        "provider": _provider(values),
        "model": first_text(values, _MODEL),
        "invocation_parameters": _parameters(values),
        "input_messages": input_messages(values, events),
        "output_messages": output_messages(values, events),
        "prompt_template": first_text(values, ("llm.prompt_template.template",)),
        "prompt_variables": as_object(values.get("llm.prompt_template.variables")),
        "prompt": _prompt(values),
        "time_to_first_token_ms": _time_to_first_token_ms(values),
    }
    present = {key: value for key, value in fields.items() if value is not None}
    return LlmDetail(**present) if present else None


def _provider(values: Mapping[str, Any]) -> str | None:
    provider = first_text(values, _PROVIDER)
    if provider is not None:
        return provider
    # The Vercel AI SDK names the provider and its API together, e.g. "openai.chat".
    vercel = first_text(values, ("ai.model.provider",))
    return vercel.split(".", 1)[0] if vercel else None


def _parameters(values: Mapping[str, Any]) -> dict[str, Any] | None:
    for key in _PARAMETERS:
        parameters = as_object(values.get(key))
        if parameters is not None:
            return parameters
    # GenAI: gen_ai.request.temperature, .top_p, .max_tokens, ... by their suffix; the
    # Vercel AI SDK: ai.settings.*. Scanned only on spans of those conventions.
    for marker, prefix in _PARAMETER_GROUPS:
        if marker in values:
            found = group(values, prefix)
            parameters = {k: v for k, v in found.items() if k != "model" and not _is_list_item(k)}
            if parameters:
                return parameters
    return None


def _is_list_item(key: str) -> bool:
    # OpenLLMetry flattens tool definitions as gen_ai.request.functions.0.name; they
    # describe the tools on offer, not how the model was invoked.
    return "." in key and any(part.isdigit() for part in key.split("."))


def _prompt(values: Mapping[str, Any]) -> PromptRef | None:
    name = first_text(values, _PROMPT_NAME)
    if name is None:
        return None
    version = first_text(values, _PROMPT_VERSION)
    label = first_text(values, ("daytwo.prompt.label",))
    return PromptRef(name=name, version=version, label=label)


def _time_to_first_token_ms(values: Mapping[str, Any]) -> float | None:
    seconds = as_number(first(values, _TTFT_SECONDS))
    if seconds is not None:
        return seconds * 1000.0 if seconds >= 0 else None
    millis = as_number(first(values, _TTFT_MS))
    return millis if millis is not None and millis >= 0 else None


def token_usage(values: Mapping[str, Any]) -> TokenUsage | None:
    """Return the tokens of a model call, with breakdowns counted inside the totals."""
    counts = {
        "input_tokens": first_count(values, _INPUT_TOKENS),
        "output_tokens": first_count(values, _OUTPUT_TOKENS),
        "cache_read_tokens": first_count(values, _CACHE_READ_TOKENS),
        "cache_write_tokens": first_count(values, _CACHE_WRITE_TOKENS),
        "reasoning_tokens": first_count(values, _REASONING_TOKENS),
        "total_tokens": first_count(values, _TOTAL_TOKENS),
    }
    present = {key: value for key, value in counts.items() if value is not None}
    if not present:
        return None
    _fold_exclusive_counts(present)
    return TokenUsage(**present)


def _fold_exclusive_counts(counts: dict[str, int]) -> None:
    """Fold breakdowns back into their totals when the sender provably left them out.

    Anthropic reports ``input_tokens`` without cached tokens, and some
    instrumentations copy it as is. Under the conventions a breakdown never
    exceeds its total, so a cache count above the input count can only mean an
    exclusive input count; the same holds for reasoning and output. Exclusive
    counts that stay below their breakdowns cannot be told apart and are kept.
    """
    cached = counts.get("cache_read_tokens", 0) + counts.get("cache_write_tokens", 0)
    folded = False
    if "input_tokens" in counts and cached > counts["input_tokens"]:
        counts["input_tokens"] += cached
        folded = True
    reasoning = counts.get("reasoning_tokens", 0)
    if "output_tokens" in counts and reasoning > counts["output_tokens"]:
        counts["output_tokens"] += reasoning
        folded = True
    parts = counts.get("input_tokens", 0) + counts.get("output_tokens", 0)
    if folded and counts.get("total_tokens", parts) < parts:
        counts["total_tokens"] = parts


def given_cost(values: Mapping[str, Any]) -> Cost | None:
    """Return the cost the client computed itself, or None if it sent none."""
    for total_key, input_key, output_key in _COSTS:
        total, input_cost = values.get(total_key), values.get(input_key)
        output_cost = values.get(output_key)
        if total is None and input_cost is None and output_cost is None:
            continue
        amounts = (_amount(total), _amount(input_cost), _amount(output_cost))
        if amounts != (None, None, None):
            return Cost(
                total=amounts[0], input=amounts[1], output=amounts[2], source=CostSource.GIVEN
            )
    return None


def _amount(value: Any) -> float | None:
    number = as_number(value)
    return number if number is not None and number >= 0 else None
