"""A prompt fetched from the server (or a default), ready to render and linked to traces."""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from daytwo.prompts import linking
from daytwo.prompts.template import CompiledPrompt, Rendered, find_variables
from daytwo.sdk.errors import internal_failure

DEFAULT_VERSION = "default"


class PromptVersion:
    """One version's content as the client caches it; its template compiles on first use."""

    __slots__ = (
        "_compiled",
        "model",
        "name",
        "number",
        "parameters",
        "template",
        "type",
        "variables",
    )

    def __init__(
        self,
        *,
        name: str,
        number: int | None,
        type: str,
        template: str | list[dict[str, str]],
        variables: Sequence[str],
        model: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.number = number
        self.type = type
        self.template = template
        self.variables = list(variables)
        self.model = model
        self.parameters = parameters
        self._compiled: CompiledPrompt | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "PromptVersion":
        """Build a version from the server's JSON (``PromptVersionView``)."""
        return cls(
            name=data["name"],
            number=data["version"],
            type=data["type"],
            template=data["template"],
            variables=data["variables"],
            model=data.get("model"),
            parameters=data.get("parameters"),
        )

    @classmethod
    def default(cls, name: str, template: str | Sequence[Mapping[str, str]]) -> "PromptVersion":
        """Build the stand-in used when no version can be fetched."""
        if isinstance(template, str):
            return cls(
                name=name,
                number=None,
                type="text",
                template=template,
                variables=find_variables(template),
            )
        messages = [{"role": m["role"], "content": m["content"]} for m in template]
        return cls(
            name=name,
            number=None,
            type="chat",
            template=messages,
            variables=find_variables(messages),
        )

    def compiled(self) -> CompiledPrompt:
        compiled = self._compiled
        if compiled is None:
            where = f"version {self.number}" if self.number is not None else "default"
            compiled = self._compiled = CompiledPrompt(
                self.template, self.variables, f"prompt {self.name!r} {where}"
            )
        return compiled


class Prompt:
    """A version of a managed prompt, as served to this caller.

        prompt = daytwo.get_prompt("support", key=user_id)
        messages = prompt.render(product="Acme", tone="friendly")
        reply = client.chat.completions.create(
            model=prompt.model, messages=messages, **(prompt.parameters or {})
        )

    ``version`` is None (and ``is_default`` True) for the ``default`` given to
    ``get_prompt`` when nothing could be fetched. When the label splits
    traffic, ``split_percent`` is the share of keys it sends to its second
    version, and ``from_split`` tells whether this caller got that version.
    """

    __slots__ = ("_content", "from_split", "label", "split_percent")

    def __init__(
        self,
        content: PromptVersion,
        label: str | None,
        from_split: bool = False,
        split_percent: float | None = None,
    ) -> None:
        self._content = content
        self.label = label
        self.from_split = from_split
        self.split_percent = split_percent

    @property
    def name(self) -> str:
        return self._content.name

    @property
    def version(self) -> int | None:
        return self._content.number

    @property
    def is_default(self) -> bool:
        return self._content.number is None

    @property
    def type(self) -> str:
        """``text`` or ``chat``."""
        return self._content.type

    @property
    def template(self) -> str | list[dict[str, str]]:
        return self._content.template

    @property
    def model(self) -> str | None:
        return self._content.model

    @property
    def parameters(self) -> dict[str, Any] | None:
        return self._content.parameters

    @property
    def variables(self) -> list[str]:
        return list(self._content.variables)

    def render(self, **variables: Any) -> Rendered:
        """Return the text (text prompts) or the ``{role, content}`` messages (chat prompts).

        Raise ``PromptRenderError`` naming the variables that are missing. The
        prompt is recorded on the current llm span, or on the next one started
        in this context.
        """
        rendered = self._content.compiled().render(variables)
        try:
            linking.link(self._trace_detail(variables), self._trace_attributes())
        except Exception as exc:
            internal_failure("linking a prompt to its span", exc)
        return rendered

    def _trace_detail(self, variables: dict[str, Any]) -> dict[str, Any]:
        content = self._content
        reference: dict[str, Any] = {
            "name": content.name,
            "version": DEFAULT_VERSION if content.number is None else str(content.number),
        }
        if self.label is not None:
            reference["label"] = self.label
        template = content.template
        return {
            "prompt": reference,
            "prompt_template": template if isinstance(template, str) else json.dumps(template),
            "prompt_variables": variables,
        }

    def _trace_attributes(self) -> dict[str, Any] | None:
        """Return how a label chose this version, for the span's attributes."""
        if self.label is None:
            return None
        found: dict[str, Any] = {"daytwo.prompt.from_split": self.from_split}
        if self.split_percent is not None:
            found["daytwo.prompt.split_percent"] = self.split_percent
        return found

    def __repr__(self) -> str:
        version = DEFAULT_VERSION if self.version is None else self.version
        return f"<Prompt {self.name!r} version={version} label={self.label!r} type={self.type}>"
