"""Prompt files kept in a repository and pushed by ``daytwo prompt push``.

Two forms, named after the prompt:

``NAME.prompt.txt``
    The whole file is the template of a text prompt.

``NAME.prompt.json``
    An object with ``template`` (a string, or a list of ``{"role", "content"}``
    messages for a chat prompt) and optionally ``type``, ``model``,
    ``parameters``, ``variables`` and ``description``.
"""

import json
from pathlib import Path
from typing import Any

TEXT_SUFFIX = ".prompt.txt"
JSON_SUFFIX = ".prompt.json"
_FIELDS = ("type", "template", "model", "parameters", "variables", "description")


class PromptFileError(ValueError):
    """A prompt file that cannot be read; the message names the file and the problem."""


def prompt_name(path: Path) -> str:
    """Return the prompt name a file's name gives, or raise ``PromptFileError``."""
    for suffix in (TEXT_SUFFIX, JSON_SUFFIX):
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.name[: -len(suffix)]
    raise PromptFileError(f"{path}: a prompt file is named NAME{TEXT_SUFFIX} or NAME{JSON_SUFFIX}")


def read_prompt_file(path: Path) -> tuple[str, dict[str, Any]]:
    """Return the prompt's name and the version to push (without author or message)."""
    name = prompt_name(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PromptFileError(f"{path}: cannot read it: {error}") from None
    if path.name.endswith(TEXT_SUFFIX):
        return name, {"type": "text", "template": text}
    try:
        data = json.loads(text)
    except ValueError as error:
        raise PromptFileError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(data, dict) or "template" not in data:
        raise PromptFileError(f'{path}: expected an object with a "template"')
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise PromptFileError(
            f"{path}: unknown field {unknown[0]!r}; expected some of: {', '.join(_FIELDS)}"
        )
    return name, {key: value for key, value in data.items() if value is not None}


def write_prompt_file(version: dict[str, Any], path: Path | None) -> str:
    """Return a version as the text of a prompt file (``.txt`` if ``path`` asks for it)."""
    if path is not None and path.name.endswith(TEXT_SUFFIX):
        if version["type"] != "text" or version.get("model") or version.get("parameters"):
            raise PromptFileError(
                f"{path}: version {version['version']} has messages, a model or parameters, "
                f"which only a {JSON_SUFFIX} file can hold"
            )
        template: str = version["template"]
        return template
    data = {key: version.get(key) for key in ("type", "template", "model", "parameters")}
    data["variables"] = version.get("variables")
    return json.dumps({k: v for k, v in data.items() if v is not None}, indent=2) + "\n"
