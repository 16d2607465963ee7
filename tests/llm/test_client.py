"""``LlmClient`` over real HTTP against the fake OpenAI-compatible provider."""

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import BaseModel

import daytwo
from daytwo.evals.metrics.heuristic import EmbeddingSimilarity
from daytwo.llm import (
    LlmClient,
    LlmError,
    LlmInvalidOutputError,
    LlmRateLimitError,
    LlmResponseError,
    LlmTimeoutError,
    RetryPolicy,
)
from tests.doubles.openai_server import FakeOpenAIServer, Reply, Request, Usage, embedding
from tests.sdk.conftest import Sink, received

CHAT = "/v1/chat/completions"


class Verdict(BaseModel):
    reason: str
    score: int


class Waits(list[float]):
    """An injectable sleep that records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def client(openai_server: FakeOpenAIServer, waits: Waits) -> Iterator[LlmClient]:
    with LlmClient(
        "gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key="sk-secret-test-key",
        embedding_model="text-embedding-3-small",
        parameters={"temperature": 0.0},
        timeout=5.0,
        sleep=waits,
        async_sleep=waits.asleep,
    ) as client:
        yield client


def test_a_completion_returns_text_usage_model_and_finish_reason(
    client: LlmClient, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Reply(model="gpt-4o-mini-2024-07-18", usage=Usage(cached_tokens=1)))

    completion = client.complete("hello there", max_tokens=20)

    assert completion.text == "echo: hello there"
    assert completion.model == "gpt-4o-mini-2024-07-18"
    assert completion.finish_reason == "stop"
    assert completion.usage.input_tokens == 2
    assert completion.usage.output_tokens == 3
    assert completion.usage.cache_read_tokens == 1
    assert completion.parsed is None
    assert completion.latency_ms > 0
    request = openai_server.requests_to(CHAT)[0]
    assert request.body["model"] == "gpt-4o-mini"
    assert request.body["temperature"] == 0.0
    assert request.body["max_tokens"] == 20
    assert request.body["messages"] == [{"role": "user", "content": "hello there"}]
    assert request.headers["Authorization"] == "Bearer sk-secret-test-key"


def test_an_async_completion_returns_the_same(client: LlmClient) -> None:
    completion = asyncio.run(client.acomplete([{"role": "user", "content": "hi"}]))

    assert completion.text == "echo: hi"


def test_logprobs_are_asked_for_and_parsed(
    client: LlmClient, openai_server: FakeOpenAIServer
) -> None:
    top = [{"token": "4", "logprob": -0.1}, {"token": "5", "logprob": -2.4}]
    openai_server.script(
        Reply(content="4", logprobs=({"token": "4", "logprob": -0.1, "top_logprobs": top},))
    )

    completion = client.complete("score it", top_logprobs=2)

    body = openai_server.requests_to(CHAT)[0].body
    assert body["logprobs"] is True
    assert body["top_logprobs"] == 2
    assert completion.logprobs is not None
    assert completion.logprobs[0].token == "4"
    assert completion.logprobs[0].top == (("4", -0.1), ("5", -2.4))


def test_json_output_is_requested_and_validated(
    client: LlmClient, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Reply(content='{"reason": "clear", "score": 4}'))

    completion = client.complete_json("Rate this.", Verdict)

    assert completion.parsed == Verdict(reason="clear", score=4)
    assert completion.attempts == 1
    body = openai_server.requests_to(CHAT)[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert '"score"' in body["messages"][-1]["content"]
    assert body["messages"][-1]["role"] == "system"


def test_a_json_schema_mode_sends_the_schema(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.script(Reply(content='```json\n{"reason": "ok", "score": 2}\n```'))
    with LlmClient(
        "gpt-4o-mini", base_url=openai_server.base_url, json_mode="json_schema"
    ) as client:
        completion = client.complete_json("Rate this.", Verdict)

    assert completion.parsed.score == 2
    format = openai_server.requests_to(CHAT)[0].body["response_format"]
    assert format["type"] == "json_schema"
    assert format["json_schema"]["name"] == "Verdict"


def test_malformed_json_is_re_asked_with_the_error_then_succeeds(
    client: LlmClient, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(
        Reply(content='{"reason": "clear", "score": '),
        Reply(content='{"reason": "clear", "score": "high"}'),
        Reply(content='{"reason": "clear", "score": 5}'),
    )

    completion = asyncio.run(client.acomplete_json("Rate this.", Verdict))

    assert completion.parsed.score == 5
    assert completion.attempts == 3
    requests = openai_server.requests_to(CHAT)
    second = requests[1].body["messages"]
    assert second[-2] == {"role": "assistant", "content": '{"reason": "clear", "score": '}
    assert "could not be used" in second[-1]["content"]
    assert "score: Input should be a valid integer" in requests[2].body["messages"][-1]["content"]


def test_re_asks_exhausted_raise_a_clear_error(
    client: LlmClient, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(*[Reply(content="I think it is a 4.")] * 3)

    with pytest.raises(LlmInvalidOutputError, match="did not match Verdict after 3 attempts"):
        client.complete_json("Rate this.", Verdict)

    assert len(openai_server.requests_to(CHAT)) == 3


def test_max_reasks_bounds_the_attempts(client: LlmClient, openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply(content="nope"))

    with pytest.raises(LlmInvalidOutputError) as raised:
        client.complete_json("Rate this.", Verdict, max_reasks=0)

    assert raised.value.output == "nope"
    assert raised.value.errors
    assert len(openai_server.requests_to(CHAT)) == 1


def test_retry_after_is_honoured_on_429(
    client: LlmClient, openai_server: FakeOpenAIServer, waits: Waits
) -> None:
    openai_server.script(Reply(status=429, headers={"Retry-After": "2"}), Reply(content="ok"))

    assert client.complete("hi").text == "ok"

    assert waits == [2.0]


def test_retry_after_is_honoured_on_503_in_async_calls(
    client: LlmClient, openai_server: FakeOpenAIServer, waits: Waits
) -> None:
    openai_server.script(Reply(status=503, headers={"retry-after-ms": "1500"}), Reply(content="ok"))

    assert asyncio.run(client.acomplete("hi")).text == "ok"

    assert waits == [1.5]


def test_a_server_error_is_retried_with_jittered_backoff(
    client: LlmClient, openai_server: FakeOpenAIServer, waits: Waits
) -> None:
    openai_server.script(Reply(status=500), Reply(status=502), Reply(content="ok"))

    assert client.complete("hi").text == "ok"

    assert len(waits) == 2
    assert 0.25 <= waits[0] <= 0.5
    assert 0.5 <= waits[1] <= 1.0


def test_a_bad_request_is_not_retried(
    client: LlmClient, openai_server: FakeOpenAIServer, waits: Waits
) -> None:
    openai_server.script(Reply(status=400))

    with pytest.raises(LlmResponseError, match="answered 400") as raised:
        client.complete("hi")

    assert raised.value.status == 400
    assert waits == []
    assert len(openai_server.requests_to(CHAT)) == 1


def test_rate_limits_that_outlast_the_retries_raise_rate_limit_error(
    openai_server: FakeOpenAIServer, waits: Waits
) -> None:
    openai_server.script(*[Reply(status=429)] * 3)
    retry = RetryPolicy(max_retries=2)
    with (
        LlmClient("m", base_url=openai_server.base_url, retry=retry, sleep=waits) as client,
        pytest.raises(LlmRateLimitError, match="gave up after 3 attempts"),
    ):
        client.complete("hi")

    assert len(waits) == 2


def test_a_reply_slower_than_the_timeout_raises_timeout_error(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.script(Reply(delay=2.0))
    retry = RetryPolicy(max_retries=0)
    with (
        LlmClient("m", base_url=openai_server.base_url, timeout=0.2, retry=retry) as client,
        pytest.raises(LlmTimeoutError, match=r"within 0\.2 s"),
    ):
        client.complete("hi")


def test_a_refused_connection_is_an_llm_error_naming_the_url(waits: Waits) -> None:
    with (
        LlmClient("m", base_url="http://127.0.0.1:9/v1", sleep=waits) as client,
        pytest.raises(LlmError, match=r"could not reach http://127\.0\.0\.1:9/v1/chat"),
    ):
        client.complete("hi")

    assert len(waits) == 3


class Gauge:
    """Counts the requests the fake server is answering at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        with self._lock:
            self.now -= 1
        return Reply(content="ok")


def test_async_calls_respect_the_concurrency_limit(openai_server: FakeOpenAIServer) -> None:
    gauge = Gauge()
    openai_server.responder = gauge
    client = LlmClient("m", base_url=openai_server.base_url, max_concurrency=3)

    async def many() -> list[str]:
        replies = await asyncio.gather(*(client.acomplete(f"q{i}") for i in range(10)))
        return [reply.text for reply in replies]

    assert asyncio.run(many()) == ["ok"] * 10
    client.close()
    assert 2 <= gauge.most <= 3


def test_threaded_calls_respect_the_concurrency_limit(openai_server: FakeOpenAIServer) -> None:
    gauge = Gauge()
    openai_server.responder = gauge
    with (
        LlmClient("m", base_url=openai_server.base_url, max_concurrency=2) as client,
        ThreadPoolExecutor(6) as pool,
    ):
        texts = list(pool.map(lambda i: client.complete(f"q{i}").text, range(8)))

    assert texts == ["ok"] * 8
    assert gauge.most == 2


def test_embeddings_come_back_in_order_and_serve_as_an_embedder(client: LlmClient) -> None:
    vectors = client.embed(["alpha", "beta"])
    again = asyncio.run(client.aembed(["beta"]))

    assert vectors == [embedding("alpha"), embedding("beta")]
    assert again == [embedding("beta")]
    result = EmbeddingSimilarity(client).score(output="same text", expected="same text")
    assert result.value == pytest.approx(1.0)


def test_embeddings_without_a_model_say_how_to_set_one(openai_server: FakeOpenAIServer) -> None:
    with (
        LlmClient("m", base_url=openai_server.base_url) as client,
        pytest.raises(LlmError, match="DAYTWO_LLM_EMBEDDING_MODEL"),
    ):
        client.embed(["x"])


def test_configuration_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, openai_server: FakeOpenAIServer
) -> None:
    monkeypatch.setenv("DAYTWO_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")
    monkeypatch.setenv("DAYTWO_LLM_MODEL", "gpt-4o-mini")

    with LlmClient() as client:
        assert client.complete("hi").text == "echo: hi"

    assert client.base_url == openai_server.base_url
    assert "sk-from-openai-env" not in repr(client)
    request = openai_server.requests_to(CHAT)[0]
    assert request.headers["Authorization"] == "Bearer sk-from-openai-env"


def test_a_missing_model_says_how_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAYTWO_LLM_MODEL", raising=False)

    with pytest.raises(LlmError, match="pass model= or set DAYTWO_LLM_MODEL"):
        LlmClient()


def test_the_api_key_never_appears_in_errors(
    client: LlmClient, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Reply(status=401))

    with pytest.raises(LlmResponseError) as raised:
        client.complete("hi")

    assert "sk-secret-test-key" not in str(raised.value)
    assert "check the API key" in str(raised.value)


def test_judge_calls_are_traced_as_llm_spans_marked_evaluation(
    traced: Sink, client: LlmClient
) -> None:
    client.complete("is this right?", purpose="evaluation")

    (span,) = received(traced)
    assert span["kind"] == "llm"
    assert span["name"] == "chat gpt-4o-mini"
    assert span["llm"]["provider"] == "openai"
    assert span["llm"]["model"] == "gpt-4o-mini"
    assert span["llm"]["invocation_parameters"] == {"temperature": 0.0}
    assert span["llm"]["input_messages"] == [{"role": "user", "content": "is this right?"}]
    assert span["llm"]["output_messages"] == [
        {"role": "assistant", "content": "echo: is this right?"}
    ]
    assert span["usage"]["input_tokens"] == 3
    assert span["usage"]["output_tokens"] == 4
    assert span["metadata"]["daytwo.evaluation"] is True
    assert "evaluation" in span["tags"]


def test_a_purpose_block_marks_the_calls_inside_it(traced: Sink, client: LlmClient) -> None:
    with daytwo.llm.purpose("evaluation"):
        client.complete("inside")
    client.complete("outside")

    spans = {span["llm"]["input_messages"][0]["content"]: span for span in received(traced)}
    assert spans["inside"]["metadata"]["daytwo.evaluation"] is True
    assert not (spans["outside"].get("metadata") or {}).get("daytwo.evaluation")


def test_a_failed_call_ends_its_span_with_the_error(
    traced: Sink, client: LlmClient, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Reply(status=400))

    with pytest.raises(LlmResponseError):
        client.complete("hi")

    (span,) = received(traced)
    assert span["status"] == "error"


def test_embedding_calls_are_traced_as_embedding_spans(traced: Sink, client: LlmClient) -> None:
    client.embed(["a b c"])

    (span,) = received(traced)
    assert span["kind"] == "embedding"
    assert span["name"] == "embeddings text-embedding-3-small"
    assert span["usage"]["input_tokens"] == 3
