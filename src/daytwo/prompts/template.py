"""Prompt templates: Jinja2 in a sandbox, strict about undefined variables.

Templates use Jinja2's syntax (``{{ product }}``, ``{% if tone %}...{% endif %}``,
filters such as ``{{ items | join(", ") }}``). They run in a
``SandboxedEnvironment``, so a template pushed by someone else cannot reach
Python internals through attribute access, and with ``StrictUndefined``, so a
variable that was not given fails loudly instead of rendering as an empty
string. Output is not HTML-escaped: prompts are not web pages.

A template's variables are the names it reads without defining
(``jinja2.meta.find_undeclared_variables``) plus any declared explicitly.
"""

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jinja2 import Template as CompiledTemplate
from jinja2 import TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.nodes import Template as TemplateNode
from jinja2.runtime import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from daytwo.prompts.errors import PromptRenderError, PromptTemplateError

Messages = Sequence[Mapping[str, str]]
Rendered = str | list[dict[str, str]]


@functools.cache
def environment() -> SandboxedEnvironment:
    """Return the one environment every prompt template is parsed and rendered in."""
    return SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


def _parse(source: str, where: str) -> TemplateNode:
    try:
        return environment().parse(source)
    except TemplateSyntaxError as error:
        raise PromptTemplateError(
            f"{where} is not a valid template: line {error.lineno}: {error.message}"
        ) from None


def _sources(template: str | Messages) -> list[tuple[str, str]]:
    """Return each template text with a description of where it sits."""
    if isinstance(template, str):
        return [("the template", template)]
    return [(f"message {i + 1} ({m['role']})", m["content"]) for i, m in enumerate(template)]


def find_variables(template: str | Messages, declared: Iterable[str] = ()) -> list[str]:
    """Return the sorted names a template reads, plus ``declared``; check the syntax."""
    found = set(declared)
    for where, source in _sources(template):
        found |= meta.find_undeclared_variables(_parse(source, where))
    return sorted(found)


class CompiledPrompt:
    """A template compiled once, rendered many times."""

    __slots__ = ("_compiled", "description", "type", "variables")

    def __init__(
        self, template: str | Messages, variables: Iterable[str], description: str
    ) -> None:
        self.description = description  # "prompt 'support' version 3", for messages
        self.variables = sorted(set(variables))
        env = environment()
        self.type = "text" if isinstance(template, str) else "chat"
        self._compiled: list[tuple[str | None, CompiledTemplate]] = []
        for where, source in _sources(template):
            _parse(source, f"{description}: {where}")
            self._compiled.append((None, env.from_string(source)))
        if not isinstance(template, str):
            self._compiled = [
                (message["role"], compiled)
                for message, (_, compiled) in zip(template, self._compiled, strict=True)
            ]

    def render(self, values: Mapping[str, Any]) -> Rendered:
        """Return the text, or the list of ``{role, content}`` messages, for ``values``."""
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise PromptRenderError(
                f"{self.description} needs variables: {', '.join(self.variables)}; "
                f"got: {', '.join(sorted(values)) or 'none'} (missing: {', '.join(missing)})"
            )
        try:
            if self.type == "text":
                return self._compiled[0][1].render(values)
            return [
                {"role": role or "", "content": compiled.render(values)}
                for role, compiled in self._compiled
            ]
        except UndefinedError as error:
            raise PromptRenderError(f"{self.description}: {error.message}") from None
        except SecurityError as error:
            raise PromptRenderError(f"{self.description} is not allowed to: {error}") from None
        except Exception as error:  # a filter or test failed on the values given
            raise PromptRenderError(
                f"{self.description} failed to render: {type(error).__name__}: {error}"
            ) from error
