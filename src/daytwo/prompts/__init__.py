"""Prompts as versioned code: fetch, cache, render and link them to traces.

    import daytwo

    prompt = daytwo.get_prompt("support", key=user_id)
    messages = prompt.render(product="Acme", tone="friendly")

Importing this package stays cheap: every traced model call imports
``daytwo.prompts.linking``, so httpx and Jinja2 load only with the first
``get_prompt``.
"""

from typing import TYPE_CHECKING, Any

from daytwo.prompts.errors import (
    PromptError,
    PromptRenderError,
    PromptTemplateError,
    PromptUnavailableError,
)

if TYPE_CHECKING:
    from daytwo.prompts.client import PromptClient, configure, get_prompt
    from daytwo.prompts.prompt import Prompt

__all__ = [
    "Prompt",
    "PromptClient",
    "PromptError",
    "PromptRenderError",
    "PromptTemplateError",
    "PromptUnavailableError",
    "configure",
    "get_prompt",
]

_LAZY = {
    "Prompt": "daytwo.prompts.prompt",
    "PromptClient": "daytwo.prompts.client",
    "configure": "daytwo.prompts.client",
    "get_prompt": "daytwo.prompts.client",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'daytwo.prompts' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
