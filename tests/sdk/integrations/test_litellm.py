"""The LiteLLM integration, with LiteLLM routed to a fake OpenAI-compatible server."""

import os

# LiteLLM fetches its price map from the internet on import unless told to use
# the copy it ships; these tests must run offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import asyncio
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import litellm
import pytest
from litellm.exceptions import BadRequestError
from litellm.integrations.custom_logger import CustomLogger

import daytwo
from daytwo.sdk.integrations import litellm as daytwo_litellm
from tests.doubles.openai_server import FakeOpenAIServer, Reply, ToolCall, Usage
from tests.sdk.conftest import Sink

# LiteLLM builds Pydantic models from its TypedDicts with ReadOnly items on first use,
# and Pydantic warns that it will not enforce ReadOnly.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Items? .* on TypedDict class .* using the `ReadOnly` qualifier:UserWarning"
)
# LiteLLM's stream handler reads Pydantic's model_fields and model_computed_fields from
# an instance, which Pydantic 2.11 deprecated.
streams = pytest.mark.filterwarnings(
    "ignore:Accessing the 'model_(computed_)?fields' attribute on the instance is deprecated"
    ":DeprecationWarning"
)

MODEL = "openai/gpt-4o-mini"
ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
    },
}


class Logged(CustomLogger):
    """Registered after daytwo's logger: LiteLLM runs a call's callbacks in order, so
    once this one has seen ``expected`` calls, daytwo's has recorded them."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.expected = 1
        self._done = threading.Event()
        self._lock = threading.Lock()

    def expect(self, calls: int) -> None:
        with self._lock:
            self.expected = calls
            if self.count < calls:
                self._done.clear()

    def _seen(self) -> None:
        with self._lock:
            self.count += 1
            if self.count >= self.expected:
                self._done.set()

    def wait(self) -> None:
        assert self._done.wait(10), f"LiteLLM logged {self.count} of {self.expected} calls"

    def log_success_event(self, *args: Any, **kwargs: Any) -> None:
        self._seen()

    def log_failure_event(self, *args: Any, **kwargs: Any) -> None:
        self._seen()

    async def async_log_success_event(self, *args: Any, **kwargs: Any) -> None:
        self._seen()

    async def async_log_failure_event(self, *args: Any, **kwargs: Any) -> None:
        self._seen()


@pytest.fixture(autouse=True)
def close_litellms_event_loop() -> Iterator[None]:
    """Close the event loop that a sync LiteLLM call sets on the calling thread.

    LiteLLM never closes it; a later ``asyncio.run`` replaces it, and the
    garbage collector's ResourceWarning then fails whichever test is running.
    """
    yield
    with warnings.catch_warnings():
        # Python 3.12 and later warn when get_event_loop() makes a loop; here none is kept.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            return
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def logged() -> Iterator[Logged]:
    daytwo_litellm.instrument()
    marker = Logged()
    litellm.callbacks.append(marker)
    yield marker
    daytwo_litellm.uninstrument()
    litellm.logging_callback_manager.remove_callback_from_all_lists(marker)


def received(sink: Sink, logged: Logged, calls: int = 1) -> list[dict[str, Any]]:
    logged.expect(calls)
    logged.wait()
    result = daytwo.flush(timeout=10)
    assert (result.failed, result.pending) == (0, 0), result
    return sink.spans()


def test_a_completion_is_an_llm_span_with_messages_parameters_and_usage(
    traced: Sink, logged: Logged, fake: FakeOpenAIServer
) -> None:
    fake.script(
        Reply(
            content="Let me add.",
            tool_calls=(ToolCall("add", {"a": 2}, id="call-1"),),
            usage=Usage(input_tokens=40, output_tokens=12, cached_tokens=30, reasoning_tokens=5),
        )
    )
    messages = [
        {"role": "system", "content": "You add numbers."},
        {"role": "user", "content": "Add 2."},
    ]
    litellm.completion(
        model=MODEL,
        api_base=fake.base_url,
        api_key="test",
        messages=messages,
        temperature=0.2,
        tools=[ADD_TOOL],
    )

    (span,) = received(traced, logged)
    assert (span["name"], span["kind"], span["status"]) == ("litellm.completion", "llm", "ok")
    llm = span["llm"]
    assert (llm["provider"], llm["model"]) == ("openai", "gpt-4o-mini")
    assert llm["invocation_parameters"] == {"temperature": 0.2, "tools": [ADD_TOOL]}
    assert llm["input_messages"] == messages
    assert llm["output_messages"] == [
        {
            "role": "assistant",
            "content": "Let me add.",
            "tool_calls": [{"id": "call-1", "name": "add", "arguments": '{"a":2}'}],
        }
    ]
    assert "time_to_first_token_ms" not in llm
    assert span["usage"] == {
        "input_tokens": 40,
        "output_tokens": 12,
        "total_tokens": 52,
        "cache_read_tokens": 30,
        "reasoning_tokens": 5,
    }


def test_the_span_nests_under_the_span_current_when_the_call_started(
    traced: Sink, logged: Logged, fake: FakeOpenAIServer
) -> None:
    # LiteLLM reports a sync success from one of its logging threads.
    with daytwo.span("answer") as outer:
        litellm.completion(
            model=MODEL, api_base=fake.base_url, api_key="test", messages=[_user("hi")]
        )

    spans = {span["name"]: span for span in received(traced, logged)}
    assert spans["litellm.completion"]["parent_id"] == outer.span_id
    assert spans["litellm.completion"]["trace_id"] == outer.trace_id


@streams
def test_streaming_records_the_first_token_time_and_the_whole_reply(
    traced: Sink, logged: Logged, fake: FakeOpenAIServer
) -> None:
    stream = litellm.completion(
        model=MODEL,
        api_base=fake.base_url,
        api_key="test",
        messages=[_user("count to three")],
        stream=True,
        stream_options={"include_usage": True},
    )
    # With include_usage, the last chunk carries the usage and no choices.
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert text == "echo: count to three"
    (span,) = received(traced, logged)
    assert span["llm"]["output_messages"] == [{"role": "assistant", "content": text}]
    assert span["llm"]["time_to_first_token_ms"] >= 0
    assert span["usage"]["output_tokens"] == 4


def test_a_failed_call_ends_its_span_with_the_error(
    traced: Sink, logged: Logged, fake: FakeOpenAIServer
) -> None:
    fake.script(Reply(status=400))
    with pytest.raises(BadRequestError):
        litellm.completion(
            model=MODEL, api_base=fake.base_url, api_key="test", messages=[_user("hi")]
        )

    (span,) = received(traced, logged)
    assert span["status"] == "error"
    assert span["error"]["type"] == "litellm.exceptions.BadRequestError"
    assert span["llm"]["input_messages"] == [_user("hi")]
    assert "usage" not in span


def test_async_calls_nest_under_their_own_task_span(
    traced: Sink, logged: Logged, fake: FakeOpenAIServer
) -> None:
    async def ask(question: str) -> None:
        with daytwo.span(f"ask {question}"):
            await litellm.acompletion(
                model=MODEL, api_base=fake.base_url, api_key="test", messages=[_user(question)]
            )

    async def main() -> None:
        await asyncio.gather(ask("one"), ask("two"))
        fake.script(Reply(status=400))
        with pytest.raises(BadRequestError):
            await litellm.acompletion(
                model=MODEL, api_base=fake.base_url, api_key="test", messages=[_user("three")]
            )
        await asyncio.to_thread(logged.wait)

    logged.expect(3)
    asyncio.run(main())
    spans = received(traced, logged, calls=3)
    by_id = {span["id"]: span for span in spans}

    calls = [span for span in spans if span["kind"] == "llm"]
    assert len(calls) == 3
    for span in calls:
        question = span["llm"]["input_messages"][0]["content"]
        if question == "three":
            assert span["status"] == "error"
            assert "parent_id" not in span
        else:
            assert by_id[span["parent_id"]]["name"] == f"ask {question}"
            assert span["llm"]["output_messages"][0]["content"] == f"echo: {question}"


def test_an_embedding_is_an_embedding_span_with_its_usage(
    traced: Sink, logged: Logged, fake: FakeOpenAIServer
) -> None:
    litellm.embedding(
        model="openai/text-embedding-3-small",
        api_base=fake.base_url,
        api_key="test",
        input=["red apples", "green pears grow"],
    )

    (span,) = received(traced, logged)
    assert (span["name"], span["kind"]) == ("litellm.embedding", "embedding")
    assert span["llm"]["model"] == "text-embedding-3-small"
    assert span["input"] == ["red apples", "green pears grow"]
    assert span["output"] == {"count": 2, "dimensions": 16}
    assert span["usage"]["input_tokens"] == 5


def test_the_span_keeps_litellms_start_and_end_times(
    traced: Sink, logged: Logged, fake: FakeOpenAIServer
) -> None:
    before = daytwo.span("before")
    with before:
        pass
    litellm.completion(model=MODEL, api_base=fake.base_url, api_key="test", messages=[_user("x")])

    spans = {span["name"]: span for span in received(traced, logged, calls=1)}
    call = spans["litellm.completion"]
    assert spans["before"]["end_time"] <= call["start_time"] <= call["end_time"]


def test_uninstrument_stops_recording(traced: Sink, logged: Logged, fake: FakeOpenAIServer) -> None:
    daytwo_litellm.uninstrument()
    litellm.completion(model=MODEL, api_base=fake.base_url, api_key="test", messages=[_user("x")])

    assert received(traced, logged) == []


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}
