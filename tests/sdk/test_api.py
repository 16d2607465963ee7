import asyncio
from pathlib import Path

import pytest

import daytwo
from daytwo.sdk.errors import ConfigError
from tests.sdk.conftest import Sink, received


def test_a_span_block_records_input_output_and_errors(traced: Sink) -> None:
    with daytwo.span("rerank", kind="reranker", input=["a", "b"]) as span:
        span.update(output=["b", "a"], metadata={"model": "bge"})
    with pytest.raises(TimeoutError), daytwo.span("slow call"):
        raise TimeoutError("upstream")

    spans = {s["name"]: s for s in received(traced)}
    assert spans["rerank"]["kind"] == "reranker"
    assert spans["rerank"]["input"] == ["a", "b"]
    assert spans["rerank"]["output"] == ["b", "a"]
    assert spans["rerank"]["metadata"] == {"model": "bge"}
    assert spans["slow call"]["status"] == "error"
    assert spans["slow call"]["error"]["type"] == "TimeoutError"


def test_an_async_span_block_nests_like_a_sync_one(traced: Sink) -> None:
    async def main() -> None:
        async with daytwo.span("outer"), daytwo.span("inner"):
            await asyncio.sleep(0)

    asyncio.run(main())

    spans = {s["name"]: s for s in received(traced)}
    assert spans["inner"]["parent_id"] == spans["outer"]["id"]


def test_trace_starts_a_new_root_even_inside_a_span(traced: Sink) -> None:
    with daytwo.span("job"), daytwo.trace("turn", thread_id="t-1", user_id="u-1") as turn:
        pass

    spans = {s["name"]: s for s in received(traced)}
    assert "parent_id" not in spans["turn"]
    assert spans["turn"]["trace_id"] == turn.trace_id != spans["job"]["trace_id"]
    assert spans["turn"]["kind"] == "chain"
    assert (spans["turn"]["thread_id"], spans["turn"]["user_id"]) == ("t-1", "u-1")


def test_update_current_span_sets_model_usage_cost_and_scores(traced: Sink) -> None:
    @daytwo.track(kind="llm")
    def generate() -> str:
        daytwo.update_current_span(
            model="gpt-4o-mini",
            provider="openai",
            parameters={"temperature": 0.2},
            input_messages=[{"role": "user", "content": "hi"}],
            output_messages=[{"role": "assistant", "content": "hello"}],
            usage={"prompt_tokens": 12, "completion_tokens": 3, "cache_read_tokens": 4},
            cost=0.0001,
            scores={"polite": True, "quality": 0.9},
            tags=["a"],
        )
        daytwo.update_current_span(tags=["b", "a"], metadata={"x": 1})
        return "hello"

    generate()

    [span] = received(traced)
    assert span["llm"] == {
        "model": "gpt-4o-mini",
        "provider": "openai",
        "invocation_parameters": {"temperature": 0.2},
        "input_messages": [{"role": "user", "content": "hi"}],
        "output_messages": [{"role": "assistant", "content": "hello"}],
    }
    assert span["usage"] == {"input_tokens": 12, "output_tokens": 3, "cache_read_tokens": 4}
    assert span["cost"] == {"total": 0.0001}
    assert span["tags"] == ["a", "b"]
    scores = {s["name"]: s for s in traced.scores()}
    assert scores["polite"]["value"] is True
    assert scores["quality"]["span_id"] == span["id"]
    assert scores["quality"]["trace_id"] == span["trace_id"]


def test_update_current_trace_sends_a_trace_record_and_trace_scores(traced: Sink) -> None:
    @daytwo.track
    def handle() -> None:
        daytwo.update_current_trace(
            name="support turn",
            tags=["beta"],
            metadata={"release": "1.2"},
            user_id="u-9",
            thread_id="conv-3",
            scores=[{"name": "resolved", "value": "yes", "reason": "user said thanks"}],
        )

    handle()

    [span] = received(traced)
    [trace] = traced.traces()
    assert trace == {
        "id": span["trace_id"],
        "name": "support turn",
        "tags": ["beta"],
        "metadata": {"release": "1.2"},
        "thread_id": "conv-3",
        "user_id": "u-9",
    }
    [score] = traced.scores()
    assert "span_id" not in score
    assert score["trace_id"] == span["trace_id"]
    assert score["reason"] == "user said thanks"
    assert (span["thread_id"], span["user_id"]) == ("conv-3", "u-9")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"colour": "red"}, "unknown span field colour; expected one of: attributes"),
        ({"usage": {"input_tokens": -1}}, "usage input_tokens=-1 must be a non-negative integer"),
        ({"usage": "many"}, "usage must be a dict of token counts, not str"),
        ({"kind": "lm"}, "unknown span kind 'lm'"),
        ({"scores": {"x": [1]}}, "score 'x' must be a number, boolean or label"),
        ({"tags": "one"}, "tags must be a list of strings"),
        ({"metadata": [1]}, "metadata must be a dict, not list"),
        ({"cost": "free"}, "cost must be dollars as a number"),
    ],
)
def test_misuse_is_refused_with_a_sentence(traced: Sink, fields: dict, message: str) -> None:
    with daytwo.span("s"), pytest.raises(ConfigError, match=message):
        daytwo.update_current_span(**fields)


def test_updates_outside_a_span_do_nothing(traced: Sink) -> None:
    daytwo.update_current_span(output="lost")
    daytwo.update_current_trace(name="lost")

    assert received(traced) == []


def test_tracing_can_be_turned_off(sink: Sink, tmp_path: Path) -> None:
    daytwo.configure(url=sink.url, enabled=False, spool_dir=str(tmp_path))

    @daytwo.track
    def work() -> int:
        return 1

    with daytwo.span("block") as block:
        assert work() == 1
        assert daytwo.get_current_span() is None
    assert not block.recording
    assert block.trace_id is None
    assert daytwo.flush().sent == 0
    assert sink.requests == 0


def test_a_sampled_out_trace_sends_nothing_but_still_nests(sink: Sink, tmp_path: Path) -> None:
    daytwo.configure(url=sink.url, sample_rate=0.0, spool_dir=str(tmp_path), flush_interval=0.05)

    @daytwo.track
    def child() -> None:
        assert daytwo.get_current_span() is None

    with daytwo.span("root") as root:
        child()
        headers = daytwo.inject({})

    assert not root.recording
    assert headers["traceparent"].endswith("-00")
    assert daytwo.flush().sent == 0
    daytwo.shutdown()
    assert sink.spans() == []


def test_sampling_keeps_whole_traces_at_the_configured_rate(sink: Sink, tmp_path: Path) -> None:
    daytwo.configure(url=sink.url, sample_rate=0.25, spool_dir=str(tmp_path), flush_interval=0.05)

    @daytwo.track
    def child() -> None:
        pass

    for _ in range(2000):
        with daytwo.span("root"):
            child()

    spans = received(sink)
    daytwo.shutdown()
    roots = [s for s in spans if s["name"] == "root"]
    # 2000 draws at p=0.25: the mean is 500 and the standard deviation 19.4.
    assert 400 < len(roots) < 600
    assert len(spans) == 2 * len(roots)


def test_a_score_can_be_given_after_the_trace_ended(traced: Sink) -> None:
    with daytwo.trace("chat turn") as turn:
        pass
    daytwo.score("thumbs up", True, trace_id=turn.trace_id, reason="user feedback")
    daytwo.score("satisfaction", 4, thread_id="conversation-1", author="support@example.com")

    assert len(received(traced)) == 1
    assert traced.scores() == [
        {
            "name": "thumbs up",
            "value": True,
            "reason": "user feedback",
            "trace_id": turn.trace_id,
        },
        {
            "name": "satisfaction",
            "value": 4,
            "author": "support@example.com",
            "thread_id": "conversation-1",
        },
    ]


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({}, "score needs either trace_id"),
        ({"trace_id": "a" * 32, "thread_id": "t"}, "score needs either trace_id"),
        ({"span_id": "b" * 16, "thread_id": "t"}, "a span's score needs its trace_id too"),
    ],
)
def test_a_score_needs_one_target(traced: Sink, targets: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        daytwo.score("x", 1, **targets)  # type: ignore[arg-type]


CALLER = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}


def test_a_continued_trace_gets_the_thread_and_user_set_in_this_service(traced: Sink) -> None:
    @daytwo.track
    def handle() -> None:
        daytwo.update_current_trace(thread_id="conv-3", user_id="u-9")

    with daytwo.continue_trace(CALLER):
        handle()

    [span] = received(traced)
    assert span["parent_id"] == "00f067aa0ba902b7"
    assert traced.traces() == [
        {"id": "4bf92f3577b34da6a3ce929d0e0e4736", "thread_id": "conv-3", "user_id": "u-9"}
    ]


def test_a_continued_trace_gets_its_fields_even_with_no_span_open_here(traced: Sink) -> None:
    with daytwo.continue_trace(CALLER):
        daytwo.update_current_trace(user_id="u-9", tags=["mobile"], scores={"resolved": True})

    assert received(traced) == []
    assert traced.traces() == [
        {"id": "4bf92f3577b34da6a3ce929d0e0e4736", "tags": ["mobile"], "user_id": "u-9"}
    ]
    assert traced.scores() == [
        {"name": "resolved", "value": True, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}
    ]


def test_a_trace_continued_with_headers_keeps_its_thread_and_user(traced: Sink) -> None:
    with daytwo.trace("handler", headers=CALLER, thread_id="conv-3", user_id="u-9"):
        pass

    [span] = received(traced)
    [trace] = traced.traces()
    assert span["trace_id"] == trace["id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert (trace["thread_id"], trace["user_id"]) == ("conv-3", "u-9")


def test_a_failure_inside_score_is_counted_not_raised(
    sink: Sink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daytwo.configure(url=sink.url, spool_dir=str(tmp_path))
    monkeypatch.setenv("DAYTWO_STRICT", "0")

    def no_thread(*args: object) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr("daytwo.sdk.export.exporter.Exporter.__init__", no_thread)

    daytwo.score("thumbs up", True, trace_id="a" * 32)

    failures = daytwo.stats().internal_failures or {}
    assert failures["sending a score"] >= 1
    assert daytwo.flush() == (0, 0, 0, 0)
