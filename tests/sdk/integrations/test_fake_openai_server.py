"""The fake OpenAI provider answers as the OpenAI API does, predictably."""

import json
from typing import Any

import httpx
import openai
import pytest

from tests.doubles.openai_server import FakeOpenAIServer, Reply, ToolCall, Usage, embedding

HELLO = [{"role": "user", "content": "hello there"}]


def sse_data(response: httpx.Response) -> list[Any]:
    lines = response.text.splitlines()
    return [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]


def test_the_default_reply_echoes_the_last_user_message_and_counts_words(
    openai_server: FakeOpenAIServer,
) -> None:
    body = {"model": "gpt-4o-mini", "messages": HELLO}

    reply = httpx.post(f"{openai_server.base_url}/chat/completions", json=body).json()

    assert reply["choices"][0]["message"]["content"] == "echo: hello there"
    assert reply["usage"]["prompt_tokens"] == 2
    assert reply["usage"]["completion_tokens"] == 3
    assert openai_server.requests[0].body == body
    assert openai_server.requests[0].path == "/v1/chat/completions"


def test_a_stream_sends_chunks_then_usage_then_done(openai_server: FakeOpenAIServer) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": HELLO,
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    response = httpx.post(f"{openai_server.base_url}/chat/completions", json=body)

    *chunks, done = sse_data(response)
    parsed = [json.loads(chunk) for chunk in chunks]
    assert response.headers["content-type"] == "text/event-stream"
    assert done == "[DONE]"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in parsed[:-1]) == (
        "echo: hello there"
    )
    assert parsed[-2]["choices"][0]["finish_reason"] == "stop"
    assert parsed[-1]["choices"] == []
    assert parsed[-1]["usage"]["total_tokens"] == 5


def test_scripted_replies_come_in_order_then_the_echo_again(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.script(Reply(content='{"score": 0.8'), Reply(content="second"))
    with openai.OpenAI(base_url=openai_server.base_url, api_key="t") as client:
        contents = [
            client.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
            for _ in range(3)
        ]

    assert contents == ['{"score": 0.8', "second", "echo: hello there"]


def test_scripted_usage_details_follow_the_openai_counting(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.script(Reply(content="a b", usage=Usage(cached_tokens=5, reasoning_tokens=7)))
    with openai.OpenAI(base_url=openai_server.base_url, api_key="t") as client:
        usage = client.chat.completions.create(model="m", messages=HELLO).usage

    assert usage is not None
    # Cached tokens are part of the prompt, reasoning tokens part of the completion.
    assert usage.prompt_tokens == 5
    assert usage.completion_tokens == 2 + 7
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 5
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 7


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
    ],
)
def test_scripted_errors_reach_the_client_as_its_own_exceptions(
    openai_server: FakeOpenAIServer, status: int, error: type[openai.APIStatusError]
) -> None:
    openai_server.script(Reply(status=status))
    client = openai.OpenAI(base_url=openai_server.base_url, api_key="t", max_retries=0)
    with client, pytest.raises(error) as raised:
        client.chat.completions.create(model="m", messages=HELLO)

    assert raised.value.status_code == status
    assert raised.value.message.endswith(f"scripted error {status}")


def test_a_reply_slower_than_the_client_timeout_times_out(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.script(Reply(delay=30))
    options: dict[str, Any] = {"api_key": "t", "max_retries": 0, "timeout": 0.2}
    client = openai.OpenAI(base_url=openai_server.base_url, **options)
    with client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=HELLO)


def test_tool_calls_need_tools_in_the_request(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply(tool_calls=(ToolCall("lookup", {"q": "x"}),)))

    response = httpx.post(
        f"{openai_server.base_url}/chat/completions", json={"model": "m", "messages": HELLO}
    )

    assert response.status_code == 400
    assert "tools" in response.json()["error"]["message"]


def test_the_responses_stream_ends_with_the_completed_response(
    openai_server: FakeOpenAIServer,
) -> None:
    with openai.OpenAI(base_url=openai_server.base_url, api_key="t") as client:
        events = list(client.responses.create(model="m", input="hello there", stream=True))

    kinds = [event.type for event in events]
    assert kinds[0] == "response.created"
    assert kinds.count("response.output_text.delta") == 3
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "echo: hello there"


def test_embeddings_are_hashed_unit_vectors_as_floats_or_base64(
    openai_server: FakeOpenAIServer,
) -> None:
    with openai.OpenAI(base_url=openai_server.base_url, api_key="t") as client:
        # The client asks for base64 unless told otherwise, and decodes it.
        decoded = client.embeddings.create(model="e", input=["a", "b"], dimensions=4)
        floats = client.embeddings.create(model="e", input="a", encoding_format="float")

    assert decoded.data[0].embedding == embedding("a", 4)
    assert decoded.data[0].embedding != decoded.data[1].embedding
    assert floats.data[0].embedding == embedding("a")
    assert sum(x * x for x in embedding("a")) == pytest.approx(1.0, abs=1e-6)


def test_the_models_are_listed(openai_server: FakeOpenAIServer) -> None:
    with openai.OpenAI(base_url=openai_server.base_url, api_key="t") as client:
        models = [model.id for model in client.models.list()]

    assert models == ["gpt-4o-mini", "text-embedding-3-small"]


def test_a_responder_answers_what_the_script_does_not() -> None:
    def grade(request: Any) -> Reply:
        return Reply(content=f"{len(request.body['messages'])} messages")

    with FakeOpenAIServer(responder=grade) as server:
        server.script(Reply(content="scripted"))
        url = f"{server.base_url}/chat/completions"
        first, second = (
            httpx.post(url, json={"model": "m", "messages": HELLO}).json() for _ in range(2)
        )

    assert first["choices"][0]["message"]["content"] == "scripted"
    assert second["choices"][0]["message"]["content"] == "1 messages"
