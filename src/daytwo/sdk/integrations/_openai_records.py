"""The openai integration's records: requests and results as daytwo's llm spans."""

from collections.abc import Callable, Iterable
from typing import Any

from daytwo.sdk.integrations.calls import ModelCall
from daytwo.sdk.span import Span


def _set_attributes(span: Span | None, attributes: dict[str, Any]) -> None:
    """Add the attributes that have a value (GenAI conventions' names where there is one)."""
    found = {key: value for key, value in attributes.items() if value}
    if span is not None and found:
        span.attributes = {**(span.attributes or {}), **found}


# Messages, in the shape of daytwo's llm spans: role, content, name, tool_calls, tool_call_id.


def _field(item: Any, key: str) -> Any:
    """Return ``key`` of a request dict or of a response object alike."""
    if isinstance(item, dict):
        return item.get(key)
    return getattr(item, key, None)


def _chat_messages(sent: Iterable[Any]) -> list[dict[str, Any]]:
    return [_chat_message(message) for message in sent]


def _chat_message(message: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"role": _field(message, "role")}
    content = _field(message, "content")
    if content is None:
        content = _field(message, "refusal")
    if content is not None:
        # A copy: the caller may change its list of parts after the call.
        found["content"] = list(content) if isinstance(content, list) else content
    for key in ("name", "tool_call_id"):
        value = _field(message, key)
        if value is not None:
            found[key] = value
    calls = _field(message, "tool_calls")
    legacy = _field(message, "function_call")
    if calls:
        found["tool_calls"] = [_tool_call(call) for call in calls]
    elif legacy:
        found["tool_calls"] = [_tool_call({"function": legacy})]
    return found


def _tool_call(call: Any) -> dict[str, Any]:
    function = _field(call, "function") or _field(call, "custom")
    arguments = _field(function, "arguments")
    if arguments is None:
        arguments = _field(function, "input")
    return {"id": _field(call, "id"), "name": _field(function, "name"), "arguments": arguments}


def _response_input(instructions: Any, input: Any) -> list[dict[str, Any]]:
    """Return the Responses API's instructions and input items as chat messages."""
    found: list[dict[str, Any]] = []
    if isinstance(instructions, str):
        found.append({"role": "system", "content": instructions})
    if isinstance(input, str):
        found.append({"role": "user", "content": input})
        return found
    for item in input or ():
        kind = _field(item, "type")
        if kind == "function_call":
            call = {"id": _field(item, "call_id"), "name": _field(item, "name")}
            call["arguments"] = _field(item, "arguments")
            found.append({"role": "assistant", "tool_calls": [call]})
        elif kind == "function_call_output":
            output = _field(item, "output")
            found.append(
                {"role": "tool", "tool_call_id": _field(item, "call_id"), "content": output}
            )
        elif _field(item, "role") is not None:
            found.append(_chat_message(item))
        # Other items (reasoning, built-in tool calls) have no place in a chat message.
    return found


# What a call's result adds to its span; each returns the span's output.


def _record_chat(call: ModelCall, completion: Any) -> Any:
    output = [_chat_message(choice.message) for choice in completion.choices]
    call.set(model=completion.model, output_messages=output)
    _chat_usage(call, completion.usage)
    reasons = [choice.finish_reason for choice in completion.choices if choice.finish_reason]
    _set_attributes(
        call.span,
        {"gen_ai.response.id": completion.id, "gen_ai.response.finish_reasons": reasons},
    )
    return output


def _chat_usage(call: ModelCall, usage: Any) -> None:
    if usage is None:
        return
    prompt = _field(usage, "prompt_tokens_details")
    completion = _field(usage, "completion_tokens_details")
    call.usage(
        input_tokens=_field(usage, "prompt_tokens"),
        output_tokens=_field(usage, "completion_tokens"),
        total_tokens=_field(usage, "total_tokens"),
        cache_read_tokens=_field(prompt, "cached_tokens"),
        cache_write_tokens=_field(prompt, "cache_write_tokens"),
        reasoning_tokens=_field(completion, "reasoning_tokens"),
    )


def _record_response(call: ModelCall, response: Any) -> Any:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in response.output or ():
        if item.type == "message":
            texts.extend(
                _field(part, "text") or _field(part, "refusal") or "" for part in item.content
            )
        elif item.type == "function_call":
            calls.append({"id": item.call_id, "name": item.name, "arguments": item.arguments})
    output = [_assistant_message("".join(texts) if texts else None, calls)]
    call.set(model=response.model, output_messages=output)
    _response_usage(call, response.usage)
    status = response.status if response.status != "completed" else None
    _set_attributes(
        call.span, {"gen_ai.response.id": response.id, "openai.response.status": status}
    )
    return output


def _response_usage(call: ModelCall, usage: Any) -> None:
    if usage is None:
        return
    input = _field(usage, "input_tokens_details")
    call.usage(
        input_tokens=_field(usage, "input_tokens"),
        output_tokens=_field(usage, "output_tokens"),
        total_tokens=_field(usage, "total_tokens"),
        cache_read_tokens=_field(input, "cached_tokens"),
        cache_write_tokens=_field(input, "cache_write_tokens"),
        reasoning_tokens=_field(_field(usage, "output_tokens_details"), "reasoning_tokens"),
    )


def _record_embeddings(call: ModelCall, result: Any) -> Any:
    call.set(model=result.model)
    usage = result.usage
    if usage is not None:
        call.usage(input_tokens=usage.prompt_tokens, total_tokens=usage.total_tokens)
    data = result.data
    # The vectors themselves are left out: thousands of numbers each, read by no one.
    return {"embeddings": len(data), "dimensions": len(data[0].embedding) if data else 0}


_RECORDERS: dict[str, Callable[[ModelCall, Any], Any]] = {
    "chat": _record_chat,
    "responses": _record_response,
    "embeddings": _record_embeddings,
}


def _assistant_message(content: str | None, calls: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if content is not None:
        message["content"] = content
    if calls:
        message["tool_calls"] = calls
    return message
