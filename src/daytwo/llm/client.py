"""The interface every language model client shares, and what it does the same way.

A client subclass only sends one request (``_send_chat``/``_asend_chat``,
``_send_embeddings``/``_asend_embeddings``) and turns the provider's failures
into ``LlmError``s that say whether they are retryable. This base class does the
rest for all of them: default parameters, the concurrency limit, retries with
backoff, tracing, and structured JSON output with bounded re-asks.
"""

import asyncio
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from daytwo.llm import structured, tracing
from daytwo.llm.completion import Completion, Messages, Usage, normalize_messages
from daytwo.llm.errors import LlmError, LlmInvalidOutputError
from daytwo.llm.retry import RetryPolicy
from daytwo.llm.structured import JsonMode

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")

Vectors = list[list[float]]


class BaseLlmClient:
    """Shared behaviour of the chat clients; use ``LlmClient`` or ``LiteLLMClient``."""

    def __init__(
        self,
        *,
        model: str,
        provider: str,
        embedding_model: str | None = None,
        parameters: dict[str, Any] | None = None,
        purpose: str | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        max_reasks: int = 2,
        json_mode: JsonMode = "json_object",
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency is {max_concurrency}; expected 1 or more")
        if max_reasks < 0:
            raise ValueError(f"max_reasks is {max_reasks}; expected 0 or more")
        self.model = model
        self.provider = provider
        self.embedding_model = embedding_model
        self.parameters = dict(parameters or {})
        self.purpose = purpose
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max_concurrency
        self.max_reasks = max_reasks
        self.json_mode = json_mode
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._thread_slots = threading.BoundedSemaphore(max_concurrency)
        # An asyncio semaphore belongs to one event loop; Metric.score runs a new loop per call.
        self._loop_slots: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

    # What a subclass provides.

    def _send_chat(self, messages: list[dict[str, Any]], body: dict[str, Any]) -> Completion[None]:
        raise NotImplementedError

    async def _asend_chat(
        self, messages: list[dict[str, Any]], body: dict[str, Any]
    ) -> Completion[None]:
        raise NotImplementedError

    def _send_embeddings(self, texts: list[str], model: str) -> tuple[Vectors, Usage]:
        raise NotImplementedError

    async def _asend_embeddings(self, texts: list[str], model: str) -> tuple[Vectors, Usage]:
        raise NotImplementedError

    # Chat.

    def complete(
        self,
        messages: Messages,
        *,
        model: str | None = None,
        logprobs: bool = False,
        top_logprobs: int | None = None,
        purpose: str | None = None,
        **parameters: Any,
    ) -> Completion[None]:
        """Send a chat completion and return the reply.

        ``parameters`` (temperature, max_tokens, seed, ...) override the
        client's defaults; ``purpose="evaluation"`` marks the call's span as
        evaluation traffic.

            client.complete("Say hi", temperature=0).text
        """
        started = time.perf_counter()
        options = _options(logprobs, top_logprobs, parameters)
        request = self._request(normalize_messages(messages), model, options)
        completion = self._traced_chat(*request, purpose)
        return _timed(completion, started)

    async def acomplete(
        self,
        messages: Messages,
        *,
        model: str | None = None,
        logprobs: bool = False,
        top_logprobs: int | None = None,
        purpose: str | None = None,
        **parameters: Any,
    ) -> Completion[None]:
        """Send a chat completion without blocking the event loop; see ``complete``."""
        started = time.perf_counter()
        options = _options(logprobs, top_logprobs, parameters)
        request = self._request(normalize_messages(messages), model, options)
        completion = await self._atraced_chat(*request, purpose)
        return _timed(completion, started)

    def complete_json(
        self,
        messages: Messages,
        schema: type[M],
        *,
        max_reasks: int | None = None,
        purpose: str | None = None,
        **parameters: Any,
    ) -> Completion[M]:
        """Ask for JSON matching ``schema`` and return the reply with ``parsed`` validated.

        An invalid reply is shown back to the model with the errors, up to
        ``max_reasks`` times (the client's default: 2); then
        ``LlmInvalidOutputError`` is raised.

            verdict = client.complete_json("Is 7 prime? ...", schema=Verdict).parsed
        """
        started = time.perf_counter()
        conversation, extra = self._json_request(messages, schema)
        errors: list[str] = []
        for attempt in range(self._reasks(max_reasks) + 1):
            completion = self.complete(conversation, purpose=purpose, **extra, **parameters)
            parsed, errors = structured.validate(completion.text, schema)
            if parsed is not None:
                return _with_parsed(completion, parsed, started, attempt + 1)
            conversation = structured.reask(conversation, completion.text, errors)
        raise _invalid(schema, completion.text, errors, attempt + 1)

    async def acomplete_json(
        self,
        messages: Messages,
        schema: type[M],
        *,
        max_reasks: int | None = None,
        purpose: str | None = None,
        **parameters: Any,
    ) -> Completion[M]:
        """Ask for JSON matching ``schema`` without blocking; see ``complete_json``."""
        started = time.perf_counter()
        conversation, extra = self._json_request(messages, schema)
        errors: list[str] = []
        for attempt in range(self._reasks(max_reasks) + 1):
            completion = await self.acomplete(conversation, purpose=purpose, **extra, **parameters)
            parsed, errors = structured.validate(completion.text, schema)
            if parsed is not None:
                return _with_parsed(completion, parsed, started, attempt + 1)
            conversation = structured.reask(conversation, completion.text, errors)
        raise _invalid(schema, completion.text, errors, attempt + 1)

    # Embeddings.

    def embed(self, texts: list[str], *, purpose: str | None = None) -> Vectors:
        """Return one embedding vector per text (the ``Embedder`` protocol of the metrics)."""
        model = self._embedding_model()
        call = self._start_embeddings(texts, model, purpose)
        try:
            with self._thread_slots:
                vectors, usage = self._retrying(lambda: self._send_embeddings(texts, model))
        except BaseException as error:
            call.end(error=error)
            raise
        tracing.end_usage(call, usage, {"count": len(vectors)})
        return vectors

    async def aembed(self, texts: list[str], *, purpose: str | None = None) -> Vectors:
        """Return one embedding vector per text, without blocking the event loop."""
        model = self._embedding_model()
        call = self._start_embeddings(texts, model, purpose)
        try:
            async with self._async_slots():
                vectors, usage = await self._aretrying(lambda: self._asend_embeddings(texts, model))
        except BaseException as error:
            call.end(error=error)
            raise
        tracing.end_usage(call, usage, {"count": len(vectors)})
        return vectors

    # The shared steps.

    def _request(
        self, messages: list[dict[str, Any]], model: str | None, options: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        body = {**self.parameters, **options, "model": model or self.model}
        return messages, body

    def _traced_chat(
        self, messages: list[dict[str, Any]], body: dict[str, Any], purpose: str | None
    ) -> Completion[None]:
        call = self._start_chat(messages, body, purpose)
        try:
            with self._thread_slots:
                completion = self._retrying(lambda: self._send_chat(messages, body))
        except BaseException as error:
            call.end(error=error)
            raise
        tracing.end_chat(call, completion)
        return completion

    async def _atraced_chat(
        self, messages: list[dict[str, Any]], body: dict[str, Any], purpose: str | None
    ) -> Completion[None]:
        call = self._start_chat(messages, body, purpose)
        try:
            async with self._async_slots():
                completion = await self._aretrying(lambda: self._asend_chat(messages, body))
        except BaseException as error:
            call.end(error=error)
            raise
        tracing.end_chat(call, completion)
        return completion

    def _start_chat(
        self, messages: list[dict[str, Any]], body: dict[str, Any], purpose: str | None
    ) -> Any:
        parameters = {key: value for key, value in body.items() if key != "model"}
        return tracing.start_call(
            "chat",
            provider=self.provider,
            model=body["model"],
            parameters=parameters,
            messages=messages,
            purpose=tracing.resolve_purpose(purpose, self.purpose),
        )

    def _start_embeddings(self, texts: list[str], model: str, purpose: str | None) -> Any:
        return tracing.start_call(
            "embeddings",
            provider=self.provider,
            model=model,
            parameters={},
            input=texts,
            purpose=tracing.resolve_purpose(purpose, self.purpose),
        )

    def _retrying(self, send: Callable[[], R]) -> R:
        for retry in range(self.retry.max_retries + 1):
            try:
                return send()
            except LlmError as error:
                if not error.retryable or retry == self.retry.max_retries:
                    _note_attempts(error, retry + 1)
                    raise
                self._sleep(self.retry.delay(retry, error.retry_after))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _aretrying(self, send: Callable[[], Awaitable[R]]) -> R:
        for retry in range(self.retry.max_retries + 1):
            try:
                return await send()
            except LlmError as error:
                if not error.retryable or retry == self.retry.max_retries:
                    _note_attempts(error, retry + 1)
                    raise
                await self._async_sleep(self.retry.delay(retry, error.retry_after))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _async_slots(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slots = self._loop_slots.get(loop)
        if slots is None:
            slots = self._loop_slots[loop] = asyncio.Semaphore(self.max_concurrency)
        return slots

    def _json_request(
        self, messages: Messages, schema: type[BaseModel]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return structured.json_request(normalize_messages(messages), schema, self.json_mode)

    def _reasks(self, max_reasks: int | None) -> int:
        return self.max_reasks if max_reasks is None else max_reasks

    def _embedding_model(self) -> str:
        if self.embedding_model is None:
            raise LlmError(
                f"{type(self).__name__} has no embedding model; pass embedding_model="
                " or set DAYTWO_LLM_EMBEDDING_MODEL"
            )
        return self.embedding_model

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, model={self.model!r})"


def _options(
    logprobs: bool, top_logprobs: int | None, parameters: dict[str, Any]
) -> dict[str, Any]:
    options = dict(parameters)
    if logprobs or top_logprobs is not None:
        options["logprobs"] = True
    if top_logprobs is not None:
        options["top_logprobs"] = top_logprobs
    return options


def _timed(completion: Completion[None], started: float) -> Completion[None]:
    latency = (time.perf_counter() - started) * 1000
    return Completion(
        text=completion.text,
        parsed=None,
        usage=completion.usage,
        model=completion.model,
        finish_reason=completion.finish_reason,
        logprobs=completion.logprobs,
        latency_ms=latency,
        raw=completion.raw,
    )


def _with_parsed(
    completion: Completion[None], parsed: M, started: float, attempts: int
) -> Completion[M]:
    return Completion(
        text=completion.text,
        parsed=parsed,
        usage=completion.usage,
        model=completion.model,
        finish_reason=completion.finish_reason,
        logprobs=completion.logprobs,
        latency_ms=(time.perf_counter() - started) * 1000,
        attempts=attempts,
        raw=completion.raw,
    )


def _invalid(
    schema: type[BaseModel], output: str, errors: list[str], attempts: int
) -> LlmInvalidOutputError:
    return LlmInvalidOutputError(
        f"the model's reply did not match {schema.__name__} after {attempts} attempts"
        f" (last errors: {'; '.join(errors[:3])}); use a stronger model, simplify the schema,"
        " or raise max_reasks",
        output=output,
        errors=errors,
    )


def _note_attempts(error: LlmError, attempts: int) -> None:
    if attempts > 1:
        error.args = (f"{error.args[0]} (gave up after {attempts} attempts)", *error.args[1:])
