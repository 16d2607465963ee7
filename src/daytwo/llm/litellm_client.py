"""``LiteLLMClient``: the same interface as ``LlmClient``, through LiteLLM's providers.

For models that do not speak the OpenAI API (Anthropic, Bedrock, Vertex AI,
Cohere, ...), LiteLLM translates the call. LiteLLM is an optional extra
(``pip install litellm``), imported on the first call only. Its own retries are
turned off: this client retries, limits concurrency and traces, as
``LlmClient`` does. Do not also ``instrument()`` the LiteLLM integration for the
same calls, or each call is traced twice.

    from daytwo.llm.litellm_client import LiteLLMClient

    judge = LiteLLMClient("anthropic/claude-3-5-haiku-latest", purpose="evaluation")
    judge.complete("Is the sky green? Answer yes or no.").text
"""

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from daytwo.llm.client import BaseLlmClient, Vectors
from daytwo.llm.completion import Completion, Usage, parse_chat_completion, parse_embeddings
from daytwo.llm.errors import LlmError, LlmRateLimitError, LlmResponseError, LlmTimeoutError
from daytwo.llm.retry import RetryPolicy, is_retryable_status, retry_after
from daytwo.llm.structured import JsonMode


class LiteLLMClient(BaseLlmClient):
    """A client for any provider LiteLLM supports; ``model`` is LiteLLM's "provider/model".

    ``provider`` (the span's provider) defaults to the prefix of ``model``.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        provider: str | None = None,
        embedding_model: str | None = None,
        parameters: dict[str, Any] | None = None,
        timeout: float = 60.0,
        purpose: str | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        max_reasks: int = 2,
        json_mode: JsonMode = "json_object",
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        model = model or os.environ.get("DAYTWO_LLM_MODEL")
        if not model:
            raise LlmError(
                "no model given; pass model= (e.g. 'openai/gpt-4o-mini') or set DAYTWO_LLM_MODEL"
            )
        super().__init__(
            model=model,
            provider=provider or (model.split("/", 1)[0] if "/" in model else "openai"),
            embedding_model=embedding_model or os.environ.get("DAYTWO_LLM_EMBEDDING_MODEL"),
            parameters=parameters,
            purpose=purpose,
            retry=retry,
            max_concurrency=max_concurrency,
            max_reasks=max_reasks,
            json_mode=json_mode,
            sleep=sleep,
            async_sleep=async_sleep,
        )
        self.api_base = api_base
        self._api_key = api_key
        self.timeout = timeout

    def _send_chat(self, messages: list[dict[str, Any]], body: dict[str, Any]) -> Completion[None]:
        litellm = _litellm()
        started = time.perf_counter()
        try:
            response = litellm.completion(messages=messages, **self._arguments(body))
        except Exception as error:
            raise _translate(error, litellm) from error
        return parse_chat_completion(response.model_dump(), (time.perf_counter() - started) * 1000)

    async def _asend_chat(
        self, messages: list[dict[str, Any]], body: dict[str, Any]
    ) -> Completion[None]:
        litellm = _litellm()
        started = time.perf_counter()
        try:
            response = await litellm.acompletion(messages=messages, **self._arguments(body))
        except Exception as error:
            raise _translate(error, litellm) from error
        return parse_chat_completion(response.model_dump(), (time.perf_counter() - started) * 1000)

    def _send_embeddings(self, texts: list[str], model: str) -> tuple[Vectors, Usage]:
        litellm = _litellm()
        try:
            response = litellm.embedding(input=texts, **self._arguments({"model": model}))
        except Exception as error:
            raise _translate(error, litellm) from error
        return parse_embeddings(response.model_dump(), texts)

    async def _asend_embeddings(self, texts: list[str], model: str) -> tuple[Vectors, Usage]:
        litellm = _litellm()
        try:
            response = await litellm.aembedding(input=texts, **self._arguments({"model": model}))
        except Exception as error:
            raise _translate(error, litellm) from error
        return parse_embeddings(response.model_dump(), texts)

    def _arguments(self, body: dict[str, Any]) -> dict[str, Any]:
        # Retries are this client's; LiteLLM's and the OpenAI SDK's beneath it are turned off.
        arguments = {**body, "timeout": self.timeout, "num_retries": 0, "max_retries": 0}
        if self.api_base is not None:
            arguments["api_base"] = self.api_base
        if self._api_key is not None:
            arguments["api_key"] = self._api_key
        return arguments


def _litellm() -> Any:
    try:
        import litellm
    except ImportError:
        raise LlmError(
            "LiteLLMClient needs the litellm package; install it with `pip install litellm`"
        ) from None
    return litellm


def _translate(error: Exception, litellm: Any) -> LlmError:
    """Turn a LiteLLM exception into the client's exception tree."""
    exceptions = litellm.exceptions
    if isinstance(error, exceptions.Timeout):
        return LlmTimeoutError(f"LiteLLM call timed out: {error}; raise timeout=", retryable=True)
    status = getattr(error, "status_code", None)
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    wait = retry_after(dict(headers))
    if isinstance(error, exceptions.RateLimitError) or status == 429:
        return LlmRateLimitError(
            f"rate-limited (429): {error}; lower max_concurrency or retry later",
            status=429,
            retryable=True,
            retry_after=wait,
        )
    if isinstance(error, exceptions.APIConnectionError):
        return LlmError(f"could not reach the provider: {error}", retryable=True)
    if isinstance(status, int):
        return LlmResponseError(
            f"the provider answered {status}: {error}",
            status=status,
            retryable=is_retryable_status(status),
            retry_after=wait,
        )
    return LlmError(f"LiteLLM call failed: {type(error).__name__}: {error}")
