"""The openai integration's streams: pass every chunk through, then end the span."""

from typing import Any

from daytwo.sdk.errors import internal_failure
from daytwo.sdk.integrations._openai_records import (
    _assistant_message,
    _chat_usage,
    _record_response,
    _set_attributes,
)
from daytwo.sdk.integrations.calls import ModelCall


class _StreamState:
    """What a stream's chunks add up to, and the span they end."""

    __slots__ = ("call", "calls", "done", "model", "operation", "reasons", "response", "texts")

    def __init__(self, call: ModelCall, operation: str) -> None:
        self.call = call
        self.operation = operation
        self.texts: dict[int, list[str]] = {}
        self.calls: dict[tuple[int, int], dict[str, Any]] = {}
        self.reasons: list[str] = []
        self.model: str | None = None
        self.response: Any = None
        self.done = False

    def observe(self, item: Any) -> None:
        try:
            if self.operation == "chat":
                self._chunk(item)
            else:
                self._event(item)
        except Exception as exc:
            internal_failure("reading an OpenAI stream", exc)

    def _chunk(self, chunk: Any) -> None:
        if chunk.model:
            self.model = chunk.model
        if chunk.usage is not None:
            _chat_usage(self.call, chunk.usage)
        for choice in chunk.choices:
            delta = choice.delta
            text = delta.content or delta.refusal
            if text:
                self.call.first_token()
                self.texts.setdefault(choice.index, []).append(text)
            for part in delta.tool_calls or ():
                self.call.first_token()
                slot = self.calls.setdefault(
                    (choice.index, part.index), {"id": None, "name": None, "arguments": ""}
                )
                slot["id"] = part.id or slot["id"]
                if part.function is not None:
                    slot["name"] = part.function.name or slot["name"]
                    slot["arguments"] += part.function.arguments or ""
            if choice.finish_reason:
                self.reasons.append(choice.finish_reason)

    def _event(self, event: Any) -> None:
        kind = event.type
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            self.call.first_token()
            self.texts.setdefault(0, []).append(event.delta)
        elif kind == "response.function_call_arguments.delta":
            self.call.first_token()
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.response = event.response
        elif kind == "response.created":
            self.model = event.response.model

    def finish(self, error: BaseException | None = None) -> None:
        """End the span with what was streamed so far (once)."""
        if self.done:
            return
        self.done = True
        call = self.call
        try:
            if self.response is not None:
                output = _record_response(call, self.response)
            else:
                output = self._messages()
                call.set(model=self.model, output_messages=output)
                _set_attributes(call.span, {"gen_ai.response.finish_reasons": self.reasons})
        except Exception as exc:
            call.end(error=error)
            internal_failure("ending an OpenAI stream's span", exc)
            return
        call.end(output=output, error=error)

    def _messages(self) -> list[dict[str, Any]]:
        indexes = sorted(set(self.texts) | {choice for choice, _ in self.calls})
        messages = []
        for index in indexes or [0]:
            texts = self.texts.get(index)
            calls = [call for (choice, _), call in sorted(self.calls.items()) if choice == index]
            messages.append(_assistant_message("".join(texts) if texts else None, calls))
        return messages


class TracedStream:
    """Stands in for an ``openai.Stream``: the same chunks, attributes and ``isinstance``."""

    __slots__ = ("_daytwo_state", "_daytwo_stream")

    def __init__(self, stream: Any, state: _StreamState) -> None:
        self._daytwo_stream = stream
        self._daytwo_state = state

    @property  # type: ignore[misc]
    def __class__(self) -> type[Any]:
        return type(self._daytwo_stream)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_daytwo_"):
            raise AttributeError(name)
        return getattr(self._daytwo_stream, name)

    def __iter__(self) -> "TracedStream":
        return self

    def __next__(self) -> Any:
        try:
            item = self._daytwo_stream.__next__()
        except StopIteration:
            self._daytwo_state.finish()
            raise
        except BaseException as error:
            self._daytwo_state.finish(error)
            raise
        self._daytwo_state.observe(item)
        return item

    def __enter__(self) -> "TracedStream":
        self._daytwo_stream.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._daytwo_stream.__exit__(*exc_info)
        finally:
            self._daytwo_state.finish()

    def close(self) -> None:
        try:
            self._daytwo_stream.close()
        finally:
            self._daytwo_state.finish()

    def __del__(self) -> None:
        # A stream dropped half read still ends its span, with what was read.
        state = getattr(self, "_daytwo_state", None)
        if state is not None:
            state.finish()


class TracedAsyncStream:
    """Stands in for an ``openai.AsyncStream``: the same chunks, attributes and ``isinstance``."""

    __slots__ = ("_daytwo_state", "_daytwo_stream")

    def __init__(self, stream: Any, state: _StreamState) -> None:
        self._daytwo_stream = stream
        self._daytwo_state = state

    @property  # type: ignore[misc]
    def __class__(self) -> type[Any]:
        return type(self._daytwo_stream)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_daytwo_"):
            raise AttributeError(name)
        return getattr(self._daytwo_stream, name)

    def __aiter__(self) -> "TracedAsyncStream":
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._daytwo_stream.__anext__()
        except StopAsyncIteration:
            self._daytwo_state.finish()
            raise
        except BaseException as error:
            self._daytwo_state.finish(error)
            raise
        self._daytwo_state.observe(item)
        return item

    async def __aenter__(self) -> "TracedAsyncStream":
        await self._daytwo_stream.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            await self._daytwo_stream.__aexit__(*exc_info)
        finally:
            self._daytwo_state.finish()

    async def close(self) -> None:
        try:
            await self._daytwo_stream.close()
        finally:
            self._daytwo_state.finish()

    def __del__(self) -> None:
        state = getattr(self, "_daytwo_state", None)
        if state is not None:
            state.finish()
