"""Differences between two prompt versions: the template as a unified diff, the rest by field."""

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from daytwo.model.prompts import FieldChange, PromptDiff, PromptMessage, PromptVersionView


def template_lines(template: str | Sequence[PromptMessage | Mapping[str, str]]) -> list[str]:
    """Return a template as lines; a chat message starts with its role in brackets."""
    if isinstance(template, str):
        return template.splitlines()
    lines: list[str] = []
    for message in template:
        role, content = (
            (message.role, message.content)
            if isinstance(message, PromptMessage)
            else (message["role"], message["content"])
        )
        lines.append(f"[{role}]")
        lines.extend(content.splitlines())
    return lines


def diff_versions(before: PromptVersionView, after: PromptVersionView) -> PromptDiff:
    """Return what changed from ``before`` to ``after``."""
    text = difflib.unified_diff(
        template_lines(before.template),
        template_lines(after.template),
        fromfile=f"{before.name} v{before.version}",
        tofile=f"{after.name} v{after.version}",
        lineterm="",
    )
    changes = [
        FieldChange(field=field, before=old, after=new)
        for field, old, new in _field_changes(before, after)
    ]
    return PromptDiff(
        name=after.name,
        from_version=before.version,
        to_version=after.version,
        template_diff="\n".join(text),
        changes=changes,
    )


def _field_changes(
    before: PromptVersionView, after: PromptVersionView
) -> list[tuple[str, Any, Any]]:
    found: list[tuple[str, Any, Any]] = []
    for field in ("type", "model", "variables"):
        old, new = getattr(before, field), getattr(after, field)
        if old != new:
            found.append((field, old, new))
    old_parameters, new_parameters = before.parameters or {}, after.parameters or {}
    for key in sorted(old_parameters.keys() | new_parameters.keys()):
        old, new = old_parameters.get(key), new_parameters.get(key)
        if old != new:
            found.append((f"parameters.{key}", old, new))
    return found
