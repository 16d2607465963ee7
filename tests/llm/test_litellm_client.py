"""``LiteLLMClient``, with LiteLLM routed to the fake OpenAI-compatible provider."""

import os

# LiteLLM fetches its price map from the internet on import unless told to use its own copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import asyncio
import warnings
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from daytwo.llm import LiteLLMClient, LlmResponseError, RetryPolicy
from tests.doubles.openai_server import FakeOpenAIServer, Reply

# LiteLLM builds Pydantic models from TypedDicts with ReadOnly items, which Pydantic warns about.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Items? .* on TypedDict class .* using the `ReadOnly` qualifier:UserWarning"
)


@pytest.fixture(autouse=True)
def close_litellms_event_loop() -> Iterator[None]:
    """Close the event loop a synchronous LiteLLM call leaves set (and open) on the thread."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            return
    loop.close()
    asyncio.set_event_loop(None)


class Answer(BaseModel):
    answer: str


def client_for(server: FakeOpenAIServer) -> LiteLLMClient:
    return LiteLLMClient(
        "openai/gpt-4o-mini",
        api_base=server.base_url,
        api_key="test",
        retry=RetryPolicy(max_retries=0),
    )


def test_a_completion_goes_through_litellm(openai_server: FakeOpenAIServer) -> None:
    client = client_for(openai_server)

    completion = client.complete("hello there", temperature=0)

    assert completion.text == "echo: hello there"
    assert completion.usage.input_tokens == 2
    assert client.provider == "openai"
    assert openai_server.requests_to("/v1/chat/completions")[0].body["temperature"] == 0


def test_json_output_is_validated_through_litellm(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply(content="not json"), Reply(content='{"answer": "Paris"}'))

    completion = asyncio.run(client_for(openai_server).acomplete_json("Capital?", Answer))

    assert completion.parsed == Answer(answer="Paris")
    assert completion.attempts == 2


def test_a_rejected_request_becomes_a_response_error(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply(status=400))

    with pytest.raises(LlmResponseError, match="400") as raised:
        # LiteLLM's synchronous error path leaves an event loop unclosed; the async one does not.
        asyncio.run(client_for(openai_server).acomplete("hi"))

    assert raised.value.retryable is False
