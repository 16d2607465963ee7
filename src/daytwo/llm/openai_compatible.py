"""``LlmClient``: the OpenAI chat completions API over httpx.

OpenAI, Azure's OpenAI-compatible endpoint, vLLM, llama.cpp's ``llama-server``,
Ollama, LM Studio and most gateways speak this API, so one client reaches them
all by its base URL:

    from daytwo.llm import LlmClient

    client = LlmClient("gpt-4o-mini")  # OPENAI_API_KEY from the environment
    local = LlmClient("qwen2.5:7b", base_url="http://localhost:11434/v1")  # Ollama
    print(client.complete("Name three primes.").text)

Configuration comes from the arguments, else from ``DAYTWO_LLM_BASE_URL``,
``DAYTWO_LLM_API_KEY``, ``DAYTWO_LLM_MODEL`` and ``DAYTWO_LLM_EMBEDDING_MODEL``,
else from ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``. The key is sent in the
``Authorization`` header and appears in no message, log line or ``repr``.
"""

import asyncio
import os
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from daytwo.llm.client import BaseLlmClient, Vectors
from daytwo.llm.completion import Completion, Usage, parse_chat_completion, parse_embeddings
from daytwo.llm.errors import LlmError, LlmRateLimitError, LlmResponseError, LlmTimeoutError
from daytwo.llm.retry import RetryPolicy, is_retryable_status, retry_after
from daytwo.llm.structured import JsonMode

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_KEY_HINT = "check the API key (api_key=, DAYTWO_LLM_API_KEY or OPENAI_API_KEY)"


class LlmClient(BaseLlmClient):
    """A client for any OpenAI-compatible chat completions and embeddings endpoint.

    ``timeout`` bounds each attempt in seconds; ``retry`` says how often and how
    long to wait after timeouts, lost connections, 429 and 5xx answers (other
    4xx answers are not retried). At most ``max_concurrency`` requests run at
    once, per thread pool and per event loop. Use it as a context manager, or
    call ``close()``, to release its connections.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        provider: str = "openai",
        embedding_model: str | None = None,
        parameters: dict[str, Any] | None = None,
        timeout: float = 60.0,
        purpose: str | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        max_reasks: int = 2,
        json_mode: JsonMode = "json_object",
        headers: dict[str, str] | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            model=_setting(model, "DAYTWO_LLM_MODEL", what="model"),
            provider=provider,
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
        self.base_url = (
            base_url
            or os.environ.get("DAYTWO_LLM_BASE_URL")
            or os.environ.get("OPENAI_BASE_URL")
            or DEFAULT_BASE_URL
        ).rstrip("/")
        self.timeout = timeout
        key = api_key or os.environ.get("DAYTWO_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
        self._headers = {**(headers or {})}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=httpx.Timeout(timeout)
        )
        self._async_http = async_http_client
        self._ssl: ssl.SSLContext | None = None

    def close(self) -> None:
        """Close the client's connections (not those of an ``async_http_client`` passed in)."""
        self._http.close()

    def __enter__(self) -> "LlmClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # One request each.

    def _send_chat(self, messages: list[dict[str, Any]], body: dict[str, Any]) -> Completion[None]:
        started = time.perf_counter()
        reply = self._post("/chat/completions", {**body, "messages": messages})
        return parse_chat_completion(reply, (time.perf_counter() - started) * 1000)

    async def _asend_chat(
        self, messages: list[dict[str, Any]], body: dict[str, Any]
    ) -> Completion[None]:
        started = time.perf_counter()
        reply = await self._apost("/chat/completions", {**body, "messages": messages})
        return parse_chat_completion(reply, (time.perf_counter() - started) * 1000)

    def _send_embeddings(self, texts: list[str], model: str) -> tuple[Vectors, Usage]:
        return parse_embeddings(self._post("/embeddings", {"model": model, "input": texts}), texts)

    async def _asend_embeddings(self, texts: list[str], model: str) -> tuple[Vectors, Usage]:
        reply = await self._apost("/embeddings", {"model": model, "input": texts})
        return parse_embeddings(reply, texts)

    # HTTP.

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            response = self._http.post(path, json=body)
        except httpx.TransportError as error:
            raise self._transport_error(error, path) from error
        return self._read(response, path)

    async def _apost(self, path: str, body: dict[str, Any]) -> Any:
        try:
            if self._async_http is not None:
                response = await self._async_http.post(
                    self.base_url + path, json=body, headers=self._headers, timeout=self.timeout
                )
            else:
                # A client per call: an httpx.AsyncClient's connections belong to one event
                # loop, and Metric.score runs each score in a loop of its own.
                async with httpx.AsyncClient(
                    base_url=self.base_url,
                    headers=self._headers,
                    timeout=httpx.Timeout(self.timeout),
                    verify=self._ssl_context(),
                ) as http:
                    response = await http.post(path, json=body)
        except httpx.TransportError as error:
            raise self._transport_error(error, path) from error
        return self._read(response, path)

    def _ssl_context(self) -> ssl.SSLContext:
        # Loading the CA bundle takes milliseconds; do it once, not per call.
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    def _transport_error(self, error: httpx.TransportError, path: str) -> LlmError:
        url = self.base_url + path
        if isinstance(error, httpx.TimeoutException):
            return LlmTimeoutError(
                f"no answer from {url} within {self.timeout} s; raise timeout= or check the server",
                retryable=True,
            )
        return LlmError(
            f"could not reach {url} ({type(error).__name__}: {error}); check base_url"
            " (or DAYTWO_LLM_BASE_URL) and that the server is running",
            retryable=True,
        )

    def _read(self, response: httpx.Response, path: str) -> Any:
        url = self.base_url + path
        if response.status_code >= 400:
            raise _status_error(response, url)
        try:
            return response.json()
        except ValueError:
            raise LlmResponseError(
                f"{url} answered {response.status_code} with a body that is not JSON;"
                " is base_url an OpenAI-compatible API (usually ending in /v1)?",
                status=response.status_code,
                body=response.text[:500],
            ) from None


def _setting(value: str | None, variable: str, *, what: str) -> str:
    found = value or os.environ.get(variable)
    if not found:
        raise LlmError(f"no {what} given; pass {what}= or set {variable}")
    return found


def _status_error(response: httpx.Response, url: str) -> LlmResponseError:
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    detail = _error_message(body)
    wait = retry_after(response.headers)
    if status == 429:
        return LlmRateLimitError(
            f"{url} rate-limited the request (429: {detail}); lower max_concurrency or retry later",
            status=status,
            body=body,
            retryable=True,
            retry_after=wait,
        )
    hint = {
        401: _KEY_HINT,
        403: _KEY_HINT,
        404: "check base_url and the model name",
    }.get(status, "the request was rejected; check the parameters")
    if status >= 500:
        hint = "the provider failed; retry later"
    return LlmResponseError(
        f"{url} answered {status}: {detail}; {hint}",
        status=status,
        body=body,
        retryable=is_retryable_status(status),
        retry_after=wait,
    )


def _error_message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or body["error"])
    return str(body)[:200] or "no detail"
