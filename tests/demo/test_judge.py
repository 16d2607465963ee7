"""The demo's judge asks llama.cpp's server to hold each verdict to its JSON Schema."""

import asyncio
from collections.abc import Iterator

import pytest

import daytwo
from daytwo.demo.run import judge_client
from daytwo.evals.metrics.judges import Rating
from daytwo.llm import LlmClient
from tests.doubles.openai_server import FakeOpenAIServer, Reply

RATING = '{"reason": "it names the port", "score": 4}'


@pytest.fixture(autouse=True)
def _untraced() -> None:
    daytwo.configure(enabled=False)


@pytest.fixture
def model() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(models=["smollm2-135m-instruct"]) as server:
        server.script(Reply(content=RATING))
        yield server


def rate(judge: LlmClient) -> Rating:
    with judge:
        reply = asyncio.run(judge.acomplete_json("Rate this answer.", Rating, temperature=0.0))
    assert reply.parsed is not None
    return reply.parsed


def test_with_the_schema_grammar_the_verdict_schema_goes_in_response_format(
    model: FakeOpenAIServer,
) -> None:
    judge = judge_client("smollm2-135m-instruct", model.base_url, "local")

    assert rate(judge).score == 4
    [request] = model.requests_to("/v1/chat/completions")
    assert request.body["response_format"] == {
        "type": "json_object",
        "schema": Rating.model_json_schema(),
    }
    assert request.body["temperature"] == 0.0


def test_without_it_the_judge_asks_for_any_json_object(model: FakeOpenAIServer) -> None:
    judge = judge_client("gpt-4o-mini", model.base_url, "sk-test")

    assert rate(judge).score == 4
    [request] = model.requests_to("/v1/chat/completions")
    assert request.body["response_format"] == {"type": "json_object"}
