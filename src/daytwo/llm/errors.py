"""The exceptions a language model client raises, one tree for every client.

    LlmError                   the call failed; the message says why and what to do
    ├── LlmTimeoutError        no answer within the timeout, after every retry
    ├── LlmResponseError       the provider answered with an error status or a malformed body
    │   └── LlmRateLimitError  the provider kept answering 429, after every retry
    └── LlmInvalidOutputError  the model's answer never matched the requested JSON shape

Connection failures (refused, reset, DNS) that outlast the retries raise
``LlmError`` itself.
"""

from typing import Any


class LlmError(Exception):
    """A call to a language model failed.

    ``retryable`` says whether trying again may help (timeouts, rate limits,
    server errors, lost connections); ``retry_after`` is the wait in seconds the
    provider asked for, if it said.
    """

    def __init__(
        self, message: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class LlmTimeoutError(LlmError):
    """The provider did not answer within the client's timeout, on any attempt."""


class LlmResponseError(LlmError):
    """The provider answered with an error status, or with a body that is not a completion."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after)
        self.status = status
        self.body = body


class LlmRateLimitError(LlmResponseError):
    """The provider rate-limited every attempt (HTTP 429)."""


class LlmInvalidOutputError(LlmError):
    """The model's reply was not valid JSON of the requested shape, even after re-asking."""

    def __init__(self, message: str, *, output: str | None = None, errors: list[str]) -> None:
        super().__init__(message)
        self.output = output
        self.errors = errors
