"""Chat messages of an llm span, from whichever convention carried them.

In order of priority:

1. OpenInference flattened messages: ``llm.input_messages.{i}.message.role``,
   ``.message.content``, ``.message.contents.{j}.message_content.*`` and
   ``.message.tool_calls.{k}.tool_call.*``.
2. The GenAI conventions: ``gen_ai.input.messages`` and ``gen_ai.output.messages``
   as JSON lists of ``{"role", "parts"}`` (gen-ai-input-messages.json), with
   ``gen_ai.system_instructions`` as a leading system message; then the older
   indexed ``gen_ai.prompt.{i}.*`` and ``gen_ai.completion.{i}.*`` (the form
   Traceloop's OpenLLMetry writes); then the legacy ``gen_ai.content.prompt``
   and ``gen_ai.content.completion`` span events.
3. The Vercel AI SDK: ``ai.prompt.messages``, ``ai.response.text`` and
   ``ai.response.toolCalls``.

Content is kept as sent: a single text part becomes a string, several parts
become a list of part dictionaries (``{"type": "text", "text": ...}``).
"""

from collections.abc import Mapping
from typing import Any

from daytwo.model import Message, ToolCall
from daytwo.server.otlp.attributes import (
    IndexedKeys,
    as_list,
    as_text,
    indexed,
    maybe_json,
    nested_keys,
    parse_json,
)

_INPUT_KEY = "gen_ai.input.messages"
_OUTPUT_KEY = "gen_ai.output.messages"
_SYSTEM_KEY = "gen_ai.system_instructions"

# The keys an OpenInference message may have, after "llm.input_messages.{i}.";
# the last four only tell whether the message has parts or tool calls to read.
_OI_MESSAGE = (
    "message.role",
    "message.content",
    "message.name",
    "message.tool_call_id",
    "message.function_call_name",
    "message.function_call_arguments_json",
    "message.contents.0.message_content.type",
    "message.contents.0.message_content.text",
    "message.tool_calls.0.tool_call.function.name",
    "message.tool_calls.0.tool_call.id",
)
_OI_HAS_PARTS = _OI_MESSAGE[6:8]
_OI_HAS_CALLS = _OI_MESSAGE[8:10]
_OI_PART = (
    "message_content.type",
    "message_content.text",
    "message_content.image.image.url",
    "message_content.audio.audio.url",
)
_OI_CALL = ("tool_call.id", "tool_call.function.name", "tool_call.function.arguments")
# The keys of one message in the indexed GenAI form, after "gen_ai.prompt.{i}.".
_INDEXED_MESSAGE = (
    "role",
    "content",
    "tool_call_id",
    "function_call.name",
    "function_call.arguments",
    "tool_calls.0.name",
    "tool_calls.0.id",
)
_INDEXED_CALL = ("id", "name", "arguments")

_OI_INPUT = IndexedKeys("llm.input_messages.", _OI_MESSAGE)
_OI_OUTPUT = IndexedKeys("llm.output_messages.", _OI_MESSAGE)
_GENAI_PROMPT = IndexedKeys("gen_ai.prompt.", _INDEXED_MESSAGE)
_GENAI_COMPLETION = IndexedKeys("gen_ai.completion.", _INDEXED_MESSAGE)


def input_messages(values: Mapping[str, Any], events: Mapping[str, Any]) -> list[Message] | None:
    """Return the messages sent to the model, or None when no convention carries them.

    ``events`` holds the attributes of the span's GenAI events, by key.
    """
    messages = _openinference(values, _OI_INPUT)
    if not messages:
        messages = _genai_input(values, events)
    if not messages:
        messages = _indexed_genai(values, _GENAI_PROMPT)
    if not messages:
        messages = _json_messages(events.get("gen_ai.prompt"))
    if not messages:
        messages = _json_messages(values.get("ai.prompt.messages"))
    return messages or None


def output_messages(values: Mapping[str, Any], events: Mapping[str, Any]) -> list[Message] | None:
    """Return the messages received from the model, or None when none are carried."""
    messages = _openinference(values, _OI_OUTPUT)
    if not messages:
        messages = _json_messages(values.get(_OUTPUT_KEY) or events.get(_OUTPUT_KEY))
    if not messages:
        messages = _indexed_genai(values, _GENAI_COMPLETION)
    if not messages:
        messages = _json_messages(events.get("gen_ai.completion"))
    if not messages:
        messages = _vercel_response(values)
    return messages or None


def _genai_input(values: Mapping[str, Any], events: Mapping[str, Any]) -> list[Message]:
    messages = _json_messages(values.get(_INPUT_KEY) or events.get(_INPUT_KEY))
    system = as_list(values.get(_SYSTEM_KEY) or events.get(_SYSTEM_KEY))
    if system:
        content, _, _ = _parts(system)
        messages.insert(0, Message(role="system", content=content))
    return messages


# OpenInference ---------------------------------------------------------------


def _openinference(values: Mapping[str, Any], keys: IndexedKeys) -> list[Message]:
    return [
        _openinference_message(values, f"{keys.prefix}{index}.message.", fields)
        for index, fields in enumerate(indexed(values, keys))
    ]


def _openinference_message(values: Mapping[str, Any], base: str, fields: dict[str, Any]) -> Message:
    content = fields.get("message.content")
    if content is None and not fields.keys().isdisjoint(_OI_HAS_PARTS):
        parts = indexed(values, nested_keys(base + "contents.", _OI_PART))
        content = _collapse([_openinference_part(part) for part in parts])
    calls = []
    if not fields.keys().isdisjoint(_OI_HAS_CALLS):
        keys = nested_keys(base + "tool_calls.", _OI_CALL)
        calls = [_openinference_call(call) for call in indexed(values, keys)]
    legacy_name = as_text(fields.get("message.function_call_name"))
    if legacy_name is not None:
        arguments = maybe_json(fields.get("message.function_call_arguments_json"))
        calls.append(ToolCall(name=legacy_name, arguments=arguments))
    return Message(
        role=as_text(fields.get("message.role")),
        content=content,
        name=as_text(fields.get("message.name")),
        tool_calls=calls or None,
        tool_call_id=as_text(fields.get("message.tool_call_id")),
    )


def _openinference_part(part: dict[str, Any]) -> dict[str, Any]:
    kind = part.get("message_content.type") or "text"
    if "message_content.text" in part:
        return {"type": kind, "text": part["message_content.text"]}
    image = part.get("message_content.image.image.url")
    if image is not None:
        return {"type": "image", "url": image}
    audio = part.get("message_content.audio.audio.url")
    if audio is not None:
        return {"type": "audio", "url": audio}
    return {"type": kind}


def _openinference_call(fields: dict[str, Any]) -> ToolCall:
    return ToolCall(
        id=as_text(fields.get("tool_call.id")),
        name=as_text(fields.get("tool_call.function.name")),
        arguments=maybe_json(fields.get("tool_call.function.arguments")),
    )


# Indexed GenAI (OpenLLMetry) --------------------------------------------------


def _indexed_genai(values: Mapping[str, Any], keys: IndexedKeys) -> list[Message]:
    return [
        _indexed_genai_message(values, f"{keys.prefix}{index}.", fields)
        for index, fields in enumerate(indexed(values, keys))
    ]


def _indexed_genai_message(values: Mapping[str, Any], base: str, fields: dict[str, Any]) -> Message:
    calls = [
        ToolCall(
            id=as_text(call.get("id")),
            name=as_text(call.get("name")),
            arguments=maybe_json(call.get("arguments")),
        )
        for call in indexed(values, nested_keys(base + "tool_calls.", _INDEXED_CALL))
    ]
    legacy_name = as_text(fields.get("function_call.name"))
    if legacy_name is not None:
        arguments = maybe_json(fields.get("function_call.arguments"))
        calls.append(ToolCall(name=legacy_name, arguments=arguments))
    return Message(
        role=as_text(fields.get("role")),
        content=fields.get("content"),
        tool_calls=calls or None,
        tool_call_id=as_text(fields.get("tool_call_id")),
    )


# JSON messages: GenAI parts, OpenAI chat format, Vercel AI SDK -----------------


def _json_messages(value: Any) -> list[Message]:
    parsed = parse_json(value)
    if isinstance(parsed, list):
        return [_json_message(item) for item in parsed if isinstance(item, dict)]
    # A single message, or a bare completion string as some legacy events carry.
    if isinstance(parsed, dict):
        return [_json_message(parsed)]
    if isinstance(parsed, str) and parsed:
        return [Message(content=parsed)]
    return []


def _json_message(item: dict[str, Any]) -> Message:
    # An OpenAI choice wraps its message: {"index": 0, "message": {...}, "finish_reason": ...}.
    inner = item.get("message")
    if isinstance(inner, dict):
        item = inner
    calls = [_json_call(call) for call in item.get("tool_calls") or () if isinstance(call, dict)]
    tool_call_id = as_text(item.get("tool_call_id"))
    content = item.get("content")
    # GenAI messages hold "parts"; OpenAI, Anthropic and Vercel ones may hold a list of parts
    # as their content.
    parts = item.get("parts", content)
    if isinstance(parts, list):
        content, part_calls, part_call_id = _parts(parts)
        calls.extend(part_calls)
        tool_call_id = tool_call_id or part_call_id
    return Message(
        role=as_text(item.get("role")),
        content=content,
        name=as_text(item.get("name")),
        tool_calls=calls or None,
        tool_call_id=tool_call_id,
    )


_CALL_TYPES = frozenset({"tool_call", "tool-call", "tool_use", "function_call"})
_RESULT_TYPES = frozenset({"tool_call_response", "tool-result", "tool_result"})


def _parts(parts: list[Any]) -> tuple[Any, list[ToolCall], str | None]:
    """Split message parts into content, tool calls and the id of a single tool result."""
    content: list[Any] = []
    calls: list[ToolCall] = []
    results: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _CALL_TYPES:
            calls.append(_json_call(part))
        elif kind in _RESULT_TYPES:
            results.append(part)
        elif kind == "text":
            content.append({"type": "text", "text": _first_of(part, ("content", "text"))})
        else:
            content.append(part)
    if len(results) == 1 and not content:
        result = results[0]
        call_id = as_text(_first_of(result, ("id", "toolCallId", "tool_use_id")))
        return _first_of(result, ("response", "result", "output", "content")), calls, call_id
    return _collapse(content + results), calls, None


def _json_call(call: dict[str, Any]) -> ToolCall:
    function = call.get("function")
    if isinstance(function, dict):
        name, arguments = function.get("name"), function.get("arguments")
    else:
        name = _first_of(call, ("name", "toolName"))
        arguments = _first_of(call, ("arguments", "args", "input"))
    return ToolCall(
        id=as_text(_first_of(call, ("id", "toolCallId"))),
        name=as_text(name),
        arguments=maybe_json(arguments),
    )


def _vercel_response(values: Mapping[str, Any]) -> list[Message]:
    text = values.get("ai.response.text")
    calls = as_list(values.get("ai.response.toolCalls")) or []
    tool_calls = [_json_call(call) for call in calls if isinstance(call, dict)]
    if text is None and not tool_calls:
        return []
    return [Message(role="assistant", content=text, tool_calls=tool_calls or None)]


def _collapse(parts: list[Any]) -> Any:
    if not parts:
        return None
    if len(parts) == 1 and isinstance(parts[0], dict) and parts[0].get("type") == "text":
        return parts[0].get("text")
    return parts


def _first_of(item: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = item.get(key)
        if value is not None:
            return value
    return None
