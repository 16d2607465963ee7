"""The OpenAI integration: the real ``openai`` client over HTTP to the fake provider."""

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from pydantic import BaseModel

import daytwo
from daytwo.sdk.integrations import openai as daytwo_openai
from tests.conftest import LiveServer
from tests.doubles.openai_server import FakeOpenAIServer, Reply, ToolCall, Usage
from tests.sdk.conftest import Sink, received

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Return the weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
HELLO = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def client(openai_server: FakeOpenAIServer) -> Iterator[openai.OpenAI]:
    daytwo_openai.instrument()
    with openai.OpenAI(base_url=openai_server.base_url, api_key="test", max_retries=0) as client:
        yield client
    daytwo_openai.uninstrument()


@pytest.fixture
def async_client(openai_server: FakeOpenAIServer) -> Iterator[openai.AsyncOpenAI]:
    daytwo_openai.instrument()
    yield openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="test", max_retries=0)
    daytwo_openai.uninstrument()


def only_span(sink: Sink) -> dict[str, Any]:
    spans = received(sink)
    assert len(spans) == 1, [span["name"] for span in spans]
    return spans[0]


def test_a_chat_completion_records_messages_parameters_usage_and_the_reply_model(
    traced: Sink, client: openai.OpenAI, openai_server: FakeOpenAIServer
) -> None:
    usage = Usage(cached_tokens=1, reasoning_tokens=4)
    openai_server.script(Reply(model="gpt-4o-mini-2024-07-18", usage=usage))

    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, temperature=0.2, max_tokens=50, seed=7
    )

    span = only_span(traced)
    assert reply.choices[0].message.content == "echo: hello there"
    assert span["name"] == "openai.chat"
    assert span["kind"] == "llm"
    assert span["status"] == "ok"
    assert span["llm"]["provider"] == "openai"
    assert span["llm"]["model"] == "gpt-4o-mini-2024-07-18"
    assert span["llm"]["invocation_parameters"] == {"temperature": 0.2, "max_tokens": 50, "seed": 7}
    assert span["llm"]["input_messages"] == HELLO
    assert span["llm"]["output_messages"] == [{"role": "assistant", "content": "echo: hello there"}]
    assert span["input"] == HELLO
    assert span["usage"] == {
        "input_tokens": 2,
        "output_tokens": 3 + 4,
        "total_tokens": 9,
        "cache_read_tokens": 1,
        "reasoning_tokens": 4,
    }
    assert span["attributes"]["server.address"] == "127.0.0.1"
    assert span["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]


def test_an_async_chat_completion_is_traced_like_a_sync_one(
    traced: Sink, async_client: openai.AsyncOpenAI
) -> None:
    async def main() -> str | None:
        async with async_client:
            reply = await async_client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        return reply.choices[0].message.content

    content = asyncio.run(main())

    span = only_span(traced)
    assert span["llm"]["output_messages"] == [{"role": "assistant", "content": content}]
    assert span["usage"]["input_tokens"] == 2


def test_a_stream_records_its_text_usage_and_time_to_first_token(
    traced: Sink, client: openai.OpenAI
) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    span = only_span(traced)
    assert text == "echo: hello there"
    assert span["llm"]["output_messages"] == [{"role": "assistant", "content": text}]
    assert span["llm"]["invocation_parameters"]["stream"] is True
    assert span["llm"]["time_to_first_token_ms"] >= 0
    assert span["usage"]["input_tokens"] == 2
    assert span["usage"]["output_tokens"] == 3


def test_an_async_stream_records_its_text_and_time_to_first_token(
    traced: Sink, async_client: openai.AsyncOpenAI
) -> None:
    async def main() -> list[str]:
        async with async_client:
            stream = await async_client.chat.completions.create(
                model="gpt-4o-mini", messages=HELLO, stream=True
            )
            async with stream:
                return [c.choices[0].delta.content or "" async for c in stream]

    pieces = asyncio.run(main())

    span = only_span(traced)
    assert span["llm"]["output_messages"][0]["content"] == "".join(pieces)
    assert "time_to_first_token_ms" in span["llm"]


def test_the_stream_stand_in_behaves_like_the_client_stream(
    traced: Sink, client: openai.OpenAI
) -> None:
    with client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True) as stream:
        assert isinstance(stream, openai.Stream)
        assert stream.response.status_code == 200
        first = next(stream)
        second = next(stream)
    assert first.choices[0].delta.role == "assistant"

    span = only_span(traced)
    assert span["llm"]["output_messages"] == [
        {"role": "assistant", "content": second.choices[0].delta.content}
    ]


def test_a_stream_dropped_half_read_still_ends_its_span(
    traced: Sink, client: openai.OpenAI
) -> None:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    next(stream)
    del stream
    gc.collect()

    span = only_span(traced)
    assert span["status"] == "ok"
    assert span["llm"]["output_messages"] == [{"role": "assistant"}]


def test_a_two_turn_tool_calling_exchange_records_tool_calls_both_ways(
    traced: Sink, client: openai.OpenAI, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Reply(tool_calls=(ToolCall("get_weather", {"city": "Paris"}, "call_1"),)))
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]

    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL]
    )
    messages.append(first.choices[0].message)
    messages.append({"role": "tool", "tool_call_id": "call_1", "content": "sunny"})
    client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])

    asked, answered = received(traced)
    call = {"id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert asked["llm"]["output_messages"] == [{"role": "assistant", "tool_calls": [call]}]
    assert asked["llm"]["invocation_parameters"] == {"tools": [WEATHER_TOOL]}
    assert asked["attributes"]["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert answered["llm"]["input_messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]


def test_a_streamed_tool_call_is_assembled_from_its_deltas(
    traced: Sink, client: openai.OpenAI, openai_server: FakeOpenAIServer
) -> None:
    arguments = {"city": "Paris", "unit": "celsius", "days": 3}
    openai_server.script(Reply(tool_calls=(ToolCall("get_weather", arguments, "call_7"),)))

    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, tools=[WEATHER_TOOL], stream=True
    )
    chunks = list(stream)

    span = only_span(traced)
    assert len(chunks) > 4
    [message] = span["llm"]["output_messages"]
    assert message["tool_calls"] == [
        {
            "id": "call_7",
            "name": "get_weather",
            "arguments": '{"city":"Paris","unit":"celsius","days":3}',
        }
    ]
    assert "time_to_first_token_ms" in span["llm"]


def test_the_stream_helper_is_traced_once(traced: Sink, client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model="gpt-4o-mini", messages=HELLO) as stream:
        completion = stream.get_final_completion()

    span = only_span(traced)
    assert span["llm"]["output_messages"][0]["content"] == completion.choices[0].message.content


def test_parse_records_the_schema_asked_for(
    traced: Sink, client: openai.OpenAI, openai_server: FakeOpenAIServer
) -> None:
    class Answer(BaseModel):
        text: str

    openai_server.script(Reply(content='{"text": "hi"}'))

    completion = client.chat.completions.parse(
        model="gpt-4o-mini", messages=HELLO, response_format=Answer
    )

    span = only_span(traced)
    assert completion.choices[0].message.parsed == Answer(text="hi")
    assert span["llm"]["invocation_parameters"] == {
        "response_format": {"type": "json_schema", "name": "Answer"}
    }
    assert span["llm"]["output_messages"] == [{"role": "assistant", "content": '{"text": "hi"}'}]


def test_the_responses_api_records_instructions_input_and_output(
    traced: Sink, client: openai.OpenAI
) -> None:
    response = client.responses.create(
        model="gpt-4o-mini", instructions="Be brief.", input="hello there", temperature=0
    )

    span = only_span(traced)
    assert span["name"] == "openai.responses"
    assert span["llm"]["input_messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
    ]
    assert span["llm"]["output_messages"] == [
        {"role": "assistant", "content": response.output_text}
    ]
    assert span["llm"]["invocation_parameters"] == {"temperature": 0}
    assert span["usage"]["input_tokens"] == 4
    assert span["attributes"]["gen_ai.response.id"] == response.id


def test_a_streamed_response_records_the_completed_response(
    traced: Sink, client: openai.OpenAI, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Reply(usage=Usage(reasoning_tokens=5, cached_tokens=1)))

    events = list(client.responses.create(model="gpt-4o-mini", input="hello there", stream=True))

    span = only_span(traced)
    assert events[-1].type == "response.completed"
    assert span["llm"]["output_messages"] == [{"role": "assistant", "content": "echo: hello there"}]
    assert span["usage"]["reasoning_tokens"] == 5
    assert span["usage"]["cache_read_tokens"] == 1
    assert "time_to_first_token_ms" in span["llm"]


def test_a_responses_tool_call_and_its_output_become_messages(
    traced: Sink, client: openai.OpenAI, openai_server: FakeOpenAIServer
) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
    openai_server.script(Reply(tool_calls=(ToolCall("get_weather", {"city": "Oslo"}, "c1"),)))

    first = client.responses.create(model="gpt-4o-mini", input="Weather?", tools=[tool])
    follow_up: list[Any] = [
        *first.output,
        {"type": "function_call_output", "call_id": "c1", "output": "snow"},
    ]
    client.responses.create(model="gpt-4o-mini", input=follow_up, tools=[tool])

    asked, answered = received(traced)
    call = {"id": "c1", "name": "get_weather", "arguments": '{"city":"Oslo"}'}
    assert asked["llm"]["output_messages"] == [{"role": "assistant", "tool_calls": [call]}]
    assert answered["llm"]["input_messages"] == [
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "snow"},
    ]


def test_embeddings_become_embedding_spans(traced: Sink, client: openai.OpenAI) -> None:
    client.embeddings.create(model="text-embedding-3-small", input=["one", "two words"])

    span = only_span(traced)
    assert span["name"] == "openai.embeddings"
    assert span["kind"] == "embedding"
    assert span["input"] == ["one", "two words"]
    assert span["output"] == {"embeddings": 2, "dimensions": 16}
    assert span["usage"] == {"input_tokens": 3, "total_tokens": 3}


def test_an_error_is_recorded_and_reraised_unchanged(
    traced: Sink, client: openai.OpenAI, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Reply(status=400, error={"message": "bad model", "type": "invalid"}))

    with pytest.raises(openai.BadRequestError, match="bad model"):
        client.chat.completions.create(model="nope", messages=HELLO)

    span = only_span(traced)
    assert span["status"] == "error"
    assert span["error"]["type"] == "openai.BadRequestError"
    assert span["llm"]["model"] == "nope"


def test_a_call_nests_under_the_current_span(traced: Sink, client: openai.OpenAI) -> None:
    @daytwo.track
    def answer(question: str) -> str | None:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
        )
        return reply.choices[0].message.content

    answer("why?")

    spans = {span["name"]: span for span in received(traced)}
    assert spans["openai.chat"]["parent_id"] == spans["answer"]["id"]
    assert spans["openai.chat"]["trace_id"] == spans["answer"]["trace_id"]


def test_instrumenting_twice_makes_one_span_and_uninstrument_stops_tracing(
    traced: Sink, client: openai.OpenAI
) -> None:
    daytwo_openai.instrument()
    daytwo_openai.instrument(client)
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert len(received(traced)) == 1

    daytwo_openai.uninstrument()
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert len(received(traced)) == 1


def test_instrumenting_one_client_leaves_the_others_alone(
    traced: Sink, openai_server: FakeOpenAIServer
) -> None:
    options: dict[str, Any] = {"base_url": openai_server.base_url, "api_key": "t"}
    with openai.OpenAI(**options) as chosen, openai.OpenAI(**options) as other:
        daytwo_openai.instrument(chosen)
        try:
            chosen.embeddings.create(model="text-embedding-3-small", input="a")
            other.embeddings.create(model="text-embedding-3-small", input="b")
        finally:
            daytwo_openai.uninstrument(chosen)
        chosen.embeddings.create(model="text-embedding-3-small", input="c")

    assert [span["input"] for span in received(traced)] == ["a"]


def test_calls_go_through_the_real_server_with_tokens_and_cost(
    live_server: LiveServer, client: openai.OpenAI, tmp_path: Path
) -> None:
    daytwo.configure(
        url=live_server.url, project="openai-it", spool_dir=str(tmp_path), flush_interval=0.05
    )
    try:
        with daytwo.trace("support turn") as turn:
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
            list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
        result = daytwo.flush(timeout=10)
    finally:
        daytwo.shutdown()
        daytwo.configure(enabled=False)
    assert (result.failed, result.pending) == (0, 0), result

    with live_server.client() as http:
        tree = http.get(f"/api/v1/projects/openai-it/traces/{turn.trace_id}").json()
    root, *calls = tree["spans"]
    assert root["name"] == "support turn"
    assert [(c["name"], c["depth"], c["model"]) for c in calls] == [
        ("openai.chat", 1, "gpt-4o-mini")
    ] * 2
    assert calls[0]["total_tokens"] == 5
    assert calls[0]["cost_source"] == "computed"
    assert calls[0]["total_cost"] > 0
