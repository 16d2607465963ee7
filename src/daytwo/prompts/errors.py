"""The errors of prompt management, one tree under ``PromptError``::

DaytwoError
└── PromptError
    ├── PromptTemplateError     a template does not parse
    ├── PromptRenderError       rendering failed, such as a missing variable
    └── PromptUnavailableError  no version could be fetched and no default was given
"""

from daytwo.sdk.errors import DaytwoError


class PromptError(DaytwoError):
    """Something went wrong with a managed prompt; the message names it."""


class PromptTemplateError(PromptError, ValueError):
    """A template is not valid Jinja2."""


class PromptRenderError(PromptError):
    """A prompt could not be rendered with the variables given."""


class PromptUnavailableError(PromptError):
    """The server could not be reached or has no such prompt, and nothing is cached."""
