import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import daytwo
from daytwo.sdk.errors import ConfigError
from daytwo.sdk.tracer import activate, deactivate
from tests.sdk.conftest import Sink, received


def by_name(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {span["name"]: span for span in spans}


def test_a_function_call_becomes_a_span_with_its_arguments_and_result(traced: Sink) -> None:
    @daytwo.track
    def add(a: int, b: int, *, scale: int = 1) -> int:
        return (a + b) * scale

    assert add(2, 3, scale=10) == 50

    [span] = received(traced)
    assert span["name"] == "add"
    assert span["kind"] == "general"
    assert span["status"] == "ok"
    assert span["input"] == {"a": 2, "b": 3, "scale": 10}
    assert span["output"] == 50
    assert "parent_id" not in span
    assert span["start_time"] <= span["end_time"]


def test_options_name_kind_tags_and_metadata(traced: Sink) -> None:
    @daytwo.track(name="search docs", kind="retrieval", tags=["rag"], metadata={"k": 3})
    def search(query: str) -> list[str]:
        return ["a", "b"]

    search("refunds")

    [span] = received(traced)
    assert span["name"] == "search docs"
    assert span["kind"] == "retrieval"
    assert span["tags"] == ["rag"]
    assert span["metadata"] == {"k": 3}


def test_nested_calls_form_a_tree(traced: Sink) -> None:
    @daytwo.track
    def leaf(x: int) -> int:
        return x

    @daytwo.track
    def middle() -> int:
        return leaf(1) + leaf(2)

    @daytwo.track
    def root() -> int:
        return middle()

    root()

    spans = received(traced)
    names = {span["id"]: span["name"] for span in spans}
    parents = sorted((span["name"], names.get(span.get("parent_id", ""))) for span in spans)
    assert parents == [("leaf", "middle"), ("leaf", "middle"), ("middle", "root"), ("root", None)]
    assert len({span["trace_id"] for span in spans}) == 1


def test_methods_leave_out_self_and_cls(traced: Sink) -> None:
    class Bot:
        @daytwo.track
        def reply(self, message: str) -> str:
            return message.upper()

        @daytwo.track
        @classmethod
        def build(cls, name: str) -> str:
            return name

        @daytwo.track
        @staticmethod
        def version(major: int) -> int:
            return major

    Bot().reply("hi")
    Bot.build("b")
    Bot.version(2)

    spans = by_name(received(traced))
    assert spans["reply"]["input"] == {"message": "hi"}
    assert spans["build"]["input"] == {"name": "b"}
    assert spans["version"]["input"] == {"major": 2}


def test_an_exception_is_recorded_and_re_raised_unchanged(traced: Sink) -> None:
    error = ValueError("no such order")

    @daytwo.track
    def lookup() -> None:
        raise error

    with pytest.raises(ValueError, match="no such order") as raised:
        lookup()

    assert raised.value is error
    [span] = received(traced)
    assert span["status"] == "error"
    assert span["error"]["type"] == "ValueError"
    assert span["error"]["message"] == "no such order"
    assert "raise error" in span["error"]["stack"]


def test_a_coroutine_is_traced_across_awaits(traced: Sink) -> None:
    @daytwo.track
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    @daytwo.track
    async def handle() -> list[int]:
        return list(await asyncio.gather(fetch(1), fetch(2)))

    assert asyncio.run(handle()) == [2, 4]

    spans = received(traced)
    root = next(span for span in spans if span["name"] == "handle")
    children = [span for span in spans if span["name"] == "fetch"]
    assert [child["parent_id"] for child in children] == [root["id"], root["id"]]
    assert sorted(child["output"] for child in children) == [2, 4]


def test_a_generator_span_lasts_until_it_is_exhausted_and_joins_text(traced: Sink) -> None:
    @daytwo.track
    def inner() -> str:
        return "x"

    @daytwo.track
    def tokens(n: int) -> Iterator[str]:
        for i in range(n):
            inner()
            yield f"t{i} "

    stream = tokens(3)
    assert received(traced) == []  # nothing ends before the stream is consumed
    assert list(stream) == ["t0 ", "t1 ", "t2 "]

    spans = by_name(received(traced))
    assert spans["tokens"]["output"] == "t0 t1 t2 "
    assert spans["inner"]["parent_id"] == spans["tokens"]["id"]


def test_a_generator_closed_early_ends_its_span_with_what_it_yielded(traced: Sink) -> None:
    @daytwo.track
    def numbers() -> Iterator[int]:
        yield from range(100)

    stream = numbers()
    assert [next(stream), next(stream)] == [0, 1]
    stream.close()

    [span] = received(traced)
    assert span["output"] == [0, 1]
    assert span["status"] == "ok"


def test_a_generator_receives_sent_values_and_thrown_errors(traced: Sink) -> None:
    @daytwo.track
    def echo() -> Iterator[str]:
        received_value = yield "ready"
        try:
            yield f"got {received_value}"
        except KeyError:
            yield "recovered"

    stream = echo()
    assert next(stream) == "ready"
    assert stream.send("ping") == "got ping"
    assert stream.throw(KeyError("k")) == "recovered"
    with pytest.raises(StopIteration):
        next(stream)

    [span] = received(traced)
    assert span["output"] == "readygot pingrecovered"


def test_an_error_inside_a_generator_fails_its_span(traced: Sink) -> None:
    @daytwo.track
    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("stream broke")

    with pytest.raises(RuntimeError, match="stream broke"):
        list(broken())

    [span] = received(traced)
    assert span["status"] == "error"
    assert span["error"]["message"] == "stream broke"


def test_an_async_generator_is_traced_until_exhausted(traced: Sink) -> None:
    @daytwo.track
    async def child() -> int:
        return 1

    @daytwo.track
    async def chunks() -> AsyncIterator[str]:
        for word in ("a", "b"):
            await child()
            yield word

    async def consume() -> list[str]:
        return [chunk async for chunk in chunks()]

    assert asyncio.run(consume()) == ["a", "b"]

    spans = received(traced)
    parent = next(span for span in spans if span["name"] == "chunks")
    assert parent["output"] == "ab"
    assert [s["parent_id"] for s in spans if s["name"] == "child"] == [parent["id"]] * 2


def test_inputs_and_outputs_can_be_left_out_or_redacted(traced: Sink) -> None:
    @daytwo.track(capture_input=False)
    def secret(password: str) -> str:
        return "ok"

    @daytwo.track(
        transform_input=lambda args: {**args, "card": "****"},
        transform_output=lambda result: {"len": len(result)},
    )
    def pay(card: str, amount: int) -> str:
        return "receipt-123"

    @daytwo.track(capture_output=False)
    def token() -> str:
        return "sk-live"

    secret("hunter2")
    pay("4242424242424242", 10)
    token()

    spans = by_name(received(traced))
    assert "input" not in spans["secret"]
    assert spans["pay"]["input"] == {"card": "****", "amount": 10}
    assert spans["pay"]["output"] == {"len": 11}
    assert "output" not in spans["token"]
    assert "4242424242424242" not in str(traced.batches)


def test_a_list_argument_is_recorded_as_it_was_when_called(traced: Sink) -> None:
    @daytwo.track
    def chat(messages: list[str]) -> str:
        messages.append("assistant: hello")
        return "hello"

    history = ["user: hi"]
    chat(history)

    [span] = received(traced)
    assert span["input"] == {"messages": ["user: hi"]}


def test_an_unknown_kind_is_refused_when_decorating() -> None:
    with pytest.raises(ConfigError, match="unknown span kind 'lm'; expected one of: llm"):
        daytwo.track(kind="lm")


def test_decorated_functions_keep_their_name_and_docstring() -> None:
    @daytwo.track
    def documented() -> None:
        """Say something."""

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Say something."


def test_an_exception_in_a_coroutine_is_recorded_and_re_raised_unchanged(traced: Sink) -> None:
    error = ConnectionError("upstream closed")

    @daytwo.track
    async def call() -> None:
        await asyncio.sleep(0)
        raise error

    with pytest.raises(ConnectionError) as raised:
        asyncio.run(call())

    assert raised.value is error
    [span] = received(traced)
    assert span["status"] == "error"
    assert span["error"]["type"] == "ConnectionError"
    assert span["error"]["message"] == "upstream closed"


def test_an_async_generator_closed_early_ends_its_span_and_closes_the_inner_one(
    traced: Sink,
) -> None:
    cleaned_up: list[bool] = []

    @daytwo.track
    async def numbers() -> AsyncIterator[int]:
        try:
            for n in range(100):
                yield n
        finally:
            cleaned_up.append(True)

    async def first_two() -> list[int]:
        stream = numbers()
        taken = [await anext(stream), await anext(stream)]
        await stream.aclose()  # type: ignore[attr-defined]
        return taken

    assert asyncio.run(first_two()) == [0, 1]

    assert cleaned_up == [True]
    [span] = received(traced)
    assert span["output"] == [0, 1]
    assert span["status"] == "ok"


def test_an_error_inside_an_async_generator_fails_its_span_and_is_re_raised(
    traced: Sink,
) -> None:
    error = RuntimeError("stream broke")

    @daytwo.track
    async def chunks() -> AsyncIterator[str]:
        yield "a"
        raise error

    async def consume() -> list[str]:
        return [chunk async for chunk in chunks()]

    with pytest.raises(RuntimeError) as raised:
        asyncio.run(consume())

    assert raised.value is error
    [span] = received(traced)
    assert span["status"] == "error"
    assert span["error"]["message"] == "stream broke"
    assert span["output"] == "a"


def test_a_failure_to_make_a_span_current_never_reaches_the_call(
    traced: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_activate(span: Any) -> Any:
        raise RuntimeError("bug in daytwo")

    def broken_deactivate(span: Any, token: Any) -> None:
        deactivate(span, token)
        raise RuntimeError("bug in daytwo")

    @daytwo.track
    def double(n: int) -> int:
        return 2 * n

    @daytwo.track
    async def triple(n: int) -> int:
        return 3 * n

    @daytwo.track
    def count(n: int) -> Iterator[int]:
        yield from range(n)

    monkeypatch.setattr("daytwo.sdk.decorator.activate", broken_activate)
    with pytest.raises(RuntimeError, match="bug in daytwo"):
        double(1)  # the test suite sets DAYTWO_STRICT=1, so internal failures surface

    monkeypatch.setenv("DAYTWO_STRICT", "0")
    assert double(2) == 4
    assert asyncio.run(triple(2)) == 6
    assert list(count(3)) == [0, 1, 2]
    monkeypatch.setattr("daytwo.sdk.decorator.activate", activate)
    monkeypatch.setattr("daytwo.sdk.decorator.deactivate", broken_deactivate)
    assert double(5) == 10

    assert daytwo.get_current_span() is None
    spans = received(traced)
    assert sorted(span["name"] for span in spans) == ["count", "double", "double", "triple"]
    failures = daytwo.stats().internal_failures or {}
    assert failures["activating a span"] >= 3
    assert failures["deactivating a span"] >= 1
