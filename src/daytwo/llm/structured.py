"""Structured output: ask a model for JSON of a Pydantic model's shape, check it, re-ask.

The request says what it wants twice: in a system message carrying the JSON
Schema (every model can read that), and in ``response_format`` for providers
that constrain decoding (OpenAI, vLLM, llama.cpp's server and Ollama accept
``json_object``; ``json_schema`` where the server supports it). A reply that
does not parse or validate is shown back to the model with the errors, a
bounded number of times, as in self-correction loops such as Instructor's.
"""

import json
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
JsonMode = Literal["json_schema", "json_object", "json_object_schema", "none"]

JSON_INSTRUCTIONS = (
    "Reply with one JSON object and nothing else: no prose before or after it, no Markdown"
    " code fence. The object must validate against this JSON Schema:\n{schema}"
)
REASK = (
    "Your previous reply could not be used: {errors}\n"
    "Reply again with only the corrected JSON object, matching the schema."
)
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
_MAX_ERRORS_SHOWN = 5


def json_request(
    messages: list[dict[str, Any]], schema: type[BaseModel], mode: JsonMode
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return the messages with the JSON instructions added, and the request's extra parameters."""
    document = json.dumps(schema.model_json_schema(), separators=(",", ":"))
    instructions = {"role": "system", "content": JSON_INSTRUCTIONS.format(schema=document)}
    parameters: dict[str, Any] = {}
    if mode == "json_object":
        parameters["response_format"] = {"type": "json_object"}
    elif mode == "json_object_schema":
        # llama-cpp-python's server turns this schema into a grammar, so a small model
        # can write only JSON of the schema's shape.
        parameters["response_format"] = {
            "type": "json_object",
            "schema": schema.model_json_schema(),
        }
    elif mode == "json_schema":
        parameters["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
        }
    return [*messages, instructions], parameters


def validate(text: str, schema: type[M]) -> tuple[M | None, list[str]]:
    """Parse and validate ``text``; return the object, or None and the errors found."""
    match = _FENCE.match(text)
    body = match[1] if match else text.strip()
    if not body:
        return None, ["the reply was empty; expected a JSON object"]
    try:
        return schema.model_validate_json(body), []
    except ValidationError as error:
        return None, [_describe(item) for item in error.errors(include_url=False)]


def reask(messages: list[dict[str, Any]], reply: str, errors: list[str]) -> list[dict[str, Any]]:
    """Return the conversation continued with the bad reply and a request to correct it."""
    shown = "; ".join(errors[:_MAX_ERRORS_SHOWN])
    if len(errors) > _MAX_ERRORS_SHOWN:
        shown += f"; and {len(errors) - _MAX_ERRORS_SHOWN} more"
    return [
        *messages,
        {"role": "assistant", "content": reply},
        {"role": "user", "content": REASK.format(errors=shown)},
    ]


def _describe(item: Any) -> str:
    where = ".".join(str(part) for part in item.get("loc", ()))
    message = str(item.get("msg", "invalid"))
    return f"{where}: {message}" if where else message
