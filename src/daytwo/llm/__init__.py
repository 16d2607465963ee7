"""Clients for language models, used by judges, the gateway and the optimizers.

``LlmClient`` speaks the OpenAI chat completions API (OpenAI, vLLM, llama.cpp's
server, Ollama); ``LiteLLMClient`` reaches other providers through LiteLLM.
Both retry with backoff, limit concurrency, return JSON validated against a
Pydantic model (``complete_json``), and trace every call as an llm span.

    from daytwo.llm import LlmClient

    with LlmClient("gpt-4o-mini") as client:
        print(client.complete("Name three primes.", temperature=0).text)
"""

from daytwo.llm.client import BaseLlmClient
from daytwo.llm.completion import Completion, Messages, TokenLogprob, Usage
from daytwo.llm.errors import (
    LlmError,
    LlmInvalidOutputError,
    LlmRateLimitError,
    LlmResponseError,
    LlmTimeoutError,
)
from daytwo.llm.litellm_client import LiteLLMClient
from daytwo.llm.openai_compatible import LlmClient
from daytwo.llm.retry import RetryPolicy
from daytwo.llm.tracing import EVALUATION, purpose

__all__ = [
    "EVALUATION",
    "BaseLlmClient",
    "Completion",
    "LiteLLMClient",
    "LlmClient",
    "LlmError",
    "LlmInvalidOutputError",
    "LlmRateLimitError",
    "LlmResponseError",
    "LlmTimeoutError",
    "Messages",
    "RetryPolicy",
    "TokenLogprob",
    "Usage",
    "purpose",
]
