"""What a model call returns: the text, its parsed form, token usage, and how it went.

Both clients read the provider's reply in the OpenAI chat completions shape
(LiteLLM normalizes every provider to it), so one parser serves both.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from daytwo.llm.errors import LlmResponseError

T = TypeVar("T")

Message = Mapping[str, Any]
Messages = str | Sequence[Message]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call, as the provider reported them (None when it did not)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_tokens: int | None = None
    reasoning_tokens: int | None = None

    def counts(self) -> dict[str, int]:
        """Return the known counts by name, as a span's ``usage`` takes them."""
        names = (
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cache_read_tokens",
            "reasoning_tokens",
        )
        found = {name: getattr(self, name) for name in names}
        return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token, its log probability, and the most likely alternatives at its place."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()

    def distribution(self) -> dict[str, float]:
        """Return the probability of each alternative (this token included), by token text."""
        found = {token: math.exp(logprob) for token, logprob in self.top}
        found.setdefault(self.token, math.exp(self.logprob))
        return found


@dataclass(frozen=True, slots=True)
class Completion(Generic[T]):
    """One model reply.

    ``parsed`` is the validated object for ``complete_json`` and None otherwise;
    ``logprobs`` is set when the call asked for them and the provider sent them;
    ``latency_ms`` covers the whole call, retries and re-asks included.
    """

    text: str
    parsed: T
    usage: Usage = Usage()
    model: str | None = None
    finish_reason: str | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None
    latency_ms: float = 0.0
    attempts: int = 1
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)


def normalize_messages(messages: Messages) -> list[dict[str, Any]]:
    """Return ``messages`` as a list of dicts; a string is one user message."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    result = [dict(message) for message in messages]
    for index, message in enumerate(result):
        if "role" not in message:
            raise ValueError(f"message {index} has no role; expected e.g. {{'role': 'user', ...}}")
    if not result:
        raise ValueError("messages is empty; pass at least one message")
    return result


def parse_chat_completion(body: Any, latency_ms: float) -> Completion[None]:
    """Read an OpenAI chat completion body; raise ``LlmResponseError`` if it is not one."""
    try:
        choice = body["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise LlmResponseError(
            "the provider's reply has no choices[0].message; is the base URL an OpenAI-compatible"
            " chat completions endpoint?",
            body=body,
        ) from None
    return Completion(
        text=message.get("content") or "",
        parsed=None,
        usage=parse_usage(body.get("usage")),
        model=body.get("model"),
        finish_reason=choice.get("finish_reason"),
        logprobs=_logprobs(choice.get("logprobs")),
        latency_ms=latency_ms,
        raw=body,
    )


def parse_usage(usage: Any) -> Usage:
    """Read OpenAI's ``usage`` object (prompt, completion and detail counts)."""
    if not isinstance(usage, Mapping):
        return Usage()
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        total_tokens=usage.get("total_tokens"),
        cache_read_tokens=prompt.get("cached_tokens") if isinstance(prompt, Mapping) else None,
        reasoning_tokens=(
            completion.get("reasoning_tokens") if isinstance(completion, Mapping) else None
        ),
    )


def parse_embeddings(body: Any, texts: list[str]) -> tuple[list[list[float]], Usage]:
    """Read an OpenAI embeddings body: one vector per text, in the order of the texts."""
    try:
        items = sorted(body["data"], key=lambda item: item["index"])
        vectors = [[float(x) for x in item["embedding"]] for item in items]
    except (KeyError, TypeError, ValueError):
        raise LlmResponseError(
            "the embeddings reply has no data[].embedding lists; is the model an embedding model?",
            body=body,
        ) from None
    if len(vectors) != len(texts):
        raise LlmResponseError(
            f"asked for {len(texts)} embeddings and got {len(vectors)}", body=body
        )
    usage = body.get("usage") or {}
    if not isinstance(usage, Mapping):
        usage = {}
    return vectors, Usage(
        input_tokens=usage.get("prompt_tokens"), total_tokens=usage.get("total_tokens")
    )


def _logprobs(logprobs: Any) -> tuple[TokenLogprob, ...] | None:
    if not isinstance(logprobs, Mapping) or not isinstance(logprobs.get("content"), list):
        return None
    tokens = []
    for item in logprobs["content"]:
        top = tuple(
            (str(alternative["token"]), float(alternative["logprob"]))
            for alternative in item.get("top_logprobs") or ()
        )
        tokens.append(TokenLogprob(str(item["token"]), float(item["logprob"]), top))
    return tuple(tokens)
