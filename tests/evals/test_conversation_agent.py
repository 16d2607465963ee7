"""Conversation judges through the fake provider, and the deterministic tool call check."""

import asyncio
import json
from collections.abc import Iterator

import pytest

import daytwo
from daytwo.evals.metric import MetricError
from daytwo.evals.metrics.agent import ToolCallCorrectness
from daytwo.evals.metrics.conversation import SessionCompleteness, UserFrustration
from daytwo.llm import LlmClient, RetryPolicy
from tests.doubles.openai_server import FakeOpenAIServer, Reply, Request

THREAD = [
    {"role": "user", "content": "Book a table for two at 8 and tell me the dress code."},
    {"role": "assistant", "content": "Booked for 8 pm."},
    {"role": "user", "content": "AND THE DRESS CODE??"},
    {"role": "assistant", "content": "Sorry, I do not know."},
]


def conversation_responder(request: Request) -> Reply:
    prompt = next(m["content"] for m in request.body["messages"] if m["role"] == "user")
    if prompt.startswith("Read the conversation between a user and an assistant.\nList"):
        intentions = [
            {"intention": "book a table", "satisfied": True, "reason": "booked"},
            {"intention": "dress code", "satisfied": False, "reason": "not given"},
        ]
        return Reply(content=json.dumps({"intentions": intentions}))
    shouting = "[3] user: AND THE DRESS CODE??" in prompt
    signs = [{"turn": 3, "evidence": "capitals, repeated question"}] if shouting else []
    level = "moderate" if shouting else "none"
    return Reply(content=json.dumps({"signs": signs, "reason": "repeats", "level": level}))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(responder=conversation_responder) as server:
        yield server


@pytest.fixture
def judge(server: FakeOpenAIServer) -> Iterator[LlmClient]:
    daytwo.configure(enabled=False)
    server.reset()
    with LlmClient("m", base_url=server.base_url, retry=RetryPolicy(max_retries=0)) as client:
        yield client


def test_session_completeness_is_the_share_of_satisfied_intentions(
    judge: LlmClient, server: FakeOpenAIServer
) -> None:
    result = SessionCompleteness(judge).score(messages=THREAD)

    assert result.value == 0.5
    assert result.reason == "1 of 2 user intentions satisfied; unmet: 'dress code' (not given)"
    prompt = server.requests_to("/v1/chat/completions")[0].body["messages"][1]["content"]
    assert "[2] assistant: Booked for 8 pm." in prompt


def test_user_frustration_maps_the_level_to_a_score(judge: LlmClient) -> None:
    frustrated = UserFrustration(judge).score(messages=THREAD)
    calm = UserFrustration(judge).score(messages=THREAD[:2])

    assert frustrated.value == pytest.approx(1 / 3)
    assert (
        frustrated.reason == "frustration moderate: repeats (turn 3: capitals, repeated question)"
    )
    assert calm.value == 1.0


def test_a_thread_that_is_not_messages_is_rejected(judge: LlmClient) -> None:
    with pytest.raises(MetricError, match="message 1 is not a"):
        UserFrustration(judge).score(messages=["hello"])
    with pytest.raises(MetricError, match="needs messages"):
        SessionCompleteness(judge).score()


SEARCH = {"name": "search", "arguments": {"q": "paris", "limit": 5}}
WEATHER = {"name": "weather", "arguments": {"city": "Paris"}}


def test_matching_calls_score_one() -> None:
    result = ToolCallCorrectness().score(tool_calls=[SEARCH], expected_tool_calls=[SEARCH])

    assert result.value == 1.0
    assert result.reason == "1 of 1 expected calls correct"


def test_subset_matching_allows_extra_arguments_and_exact_does_not() -> None:
    expected = [{"name": "search", "arguments": {"q": "paris"}}]

    subset = ToolCallCorrectness().score(tool_calls=[SEARCH], expected_tool_calls=expected)
    exact = ToolCallCorrectness(arguments="exact").score(
        tool_calls=[SEARCH], expected_tool_calls=expected
    )

    assert subset.value == 1.0
    assert exact.value == 0.0
    assert exact.reason == (
        '0 of 1 expected calls correct; wrong arguments: search({"limit": 5, "q": "paris"})'
        ' (expected search({"q": "paris"}))'
    )


def test_missing_and_unexpected_calls_are_listed_and_cost() -> None:
    made = [SEARCH, {"function": {"name": "delete_all", "arguments": "{}"}}]

    result = ToolCallCorrectness().score(tool_calls=made, expected_tool_calls=[SEARCH, WEATHER])

    # One correct of two expected, plus one unexpected: 1 / (2 + 1).
    assert result.value == pytest.approx(1 / 3)
    assert result.details is not None
    assert result.details["missing"] == ['weather({"city": "Paris"})']
    assert result.details["unexpected"] == ["delete_all({})"]


def test_order_matters_only_when_asked() -> None:
    made = [WEATHER, SEARCH]

    unordered = ToolCallCorrectness().score(tool_calls=made, expected_tool_calls=[SEARCH, WEATHER])
    ordered = ToolCallCorrectness(ordered=True).score(
        tool_calls=made, expected_tool_calls=[SEARCH, WEATHER]
    )

    assert unordered.value == 1.0
    # search is found second; weather, before it, no longer counts: 1 / (2 + 1).
    assert ordered.value == pytest.approx(1 / 3)


def test_no_calls_expected_and_none_made_scores_one() -> None:
    assert ToolCallCorrectness().score(tool_calls=[], expected_tool_calls=[]).value == 1.0


def test_arguments_that_are_not_json_are_reported() -> None:
    bad = [{"name": "search", "arguments": "{q: paris"}]

    with pytest.raises(MetricError, match="arguments of search in tool_calls are not JSON"):
        ToolCallCorrectness().score(tool_calls=bad, expected_tool_calls=[SEARCH])


def test_each_metric_scores_the_same_through_its_async_api(judge: LlmClient) -> None:
    async def score_all() -> list[float | bool | str]:
        results = [
            await ToolCallCorrectness().ascore(tool_calls=[SEARCH], expected_tool_calls=[SEARCH]),
            await SessionCompleteness(judge).ascore(messages=THREAD),
            await UserFrustration(judge).ascore(messages=THREAD),
        ]
        return [result.value for result in results]

    assert asyncio.run(score_all()) == [1.0, 0.5, pytest.approx(1 / 3)]
