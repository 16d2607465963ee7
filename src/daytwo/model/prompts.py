"""Prompts as the API takes and returns them, and the rules both sides share.

A prompt version is immutable and identified twice: by its number within the
prompt (1, 2, ...) and by a content hash, the sha256 of the canonical JSON of
everything that defines it: type, template, variables (those the template reads
and those declared), model and parameters. Pushing content whose hash exists
returns that version instead of making a new one, so CI can push on every
build.

A label is a movable pointer to a version. It may split traffic with a second
version: a caller's key always lands in the same bucket of 10,000
(`split_bucket`), so one user keeps seeing one version during a rollout.
"""

import hashlib
import json
import random
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

PROMPT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"
LABEL_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,49}$"
SPLIT_BUCKETS = 10_000
MESSAGE_ROLES = ("system", "user", "assistant", "tool", "developer")


class PromptType(StrEnum):
    """A text prompt is one template string; a chat prompt is a list of messages."""

    TEXT = "text"
    CHAT = "chat"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptMessage(_Record):
    """One message of a chat prompt; ``content`` is a template."""

    role: str = Field(min_length=1, max_length=50)
    content: str = Field(max_length=200_000)

    @model_validator(mode="after")
    def _known_role(self) -> "PromptMessage":
        if self.role not in MESSAGE_ROLES:
            raise ValueError(
                f"unknown message role {self.role!r}; expected one of: {', '.join(MESSAGE_ROLES)}"
            )
        return self


Template = str | list[PromptMessage]


class PromptVersionIn(_Record):
    """A version to push; the prompt is created with its first version."""

    type: PromptType | None = Field(
        default=None, description="text or chat; inferred from the template when left out"
    )
    template: Template = Field(description="A Jinja2 template, or a list of chat messages")
    variables: list[str] | None = Field(
        default=None, description="Variables to declare besides those the template uses"
    )
    model: str | None = Field(default=None, max_length=200)
    parameters: dict[str, Any] | None = None
    description: str | None = Field(default=None, max_length=10_000)
    author: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _type_matches_template(self) -> "PromptVersionIn":
        inferred = PromptType.TEXT if isinstance(self.template, str) else PromptType.CHAT
        if self.type is None:
            self.type = inferred
        elif self.type is not inferred:
            expected = "a string" if self.type is PromptType.TEXT else "a list of messages"
            raise ValueError(f"a {self.type.value} prompt's template must be {expected}")
        if self.type is PromptType.CHAT and not self.template:
            raise ValueError("a chat prompt needs at least one message")
        for name in self.variables or ():
            if not name.isidentifier():
                raise ValueError(f"variable {name!r} is not a valid name; use letters, digits, _")
        return self

    def content_hash(self, variables: Sequence[str] | None) -> str:
        """Return the hash of this version with ``variables``, all it will have.

        ``variables`` None gives the hash of versions stored before variables
        were hashed (see `content_hash`).
        """
        assert self.type is not None  # set by the validator
        template = template_data(self.template)
        return content_hash(self.type, template, self.model, self.parameters, variables)


def template_data(template: Template) -> str | list[dict[str, str]]:
    """Return a template as plain JSON data."""
    if isinstance(template, str):
        return template
    return [{"role": message.role, "content": message.content} for message in template]


def content_hash(
    type: PromptType | str,
    template: str | list[dict[str, str]],
    model: str | None,
    parameters: dict[str, Any] | None,
    variables: Sequence[str] | None,
) -> str:
    """Return the sha256 of the canonical JSON of a version's content.

    ``variables`` None leaves them out, as versions stored before they were
    part of the hash were hashed.
    """
    content: dict[str, Any] = {
        "type": str(type),
        "template": template,
        "model": model,
        "parameters": parameters or {},
    }
    if variables is not None:
        content["variables"] = sorted(set(variables))
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class PromptVersionView(BaseModel):
    """One immutable version of a prompt."""

    name: str
    version: int
    hash: str
    type: PromptType
    template: str | list[PromptMessage]
    variables: list[str]
    model: str | None
    parameters: dict[str, Any] | None
    author: str | None
    message: str | None
    created_at: datetime


class PushedVersion(PromptVersionView):
    """The version a push made, or the existing one with the same content."""

    created: bool = Field(description="False when the content matched an existing version")


class LabelIn(_Record):
    """Point a label at a version, optionally sending a share of traffic to another."""

    version: int = Field(ge=1)
    split_version: int | None = Field(default=None, ge=1)
    split_percent: float | None = Field(default=None, ge=0, le=100)
    author: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _split_is_whole(self) -> "LabelIn":
        if (self.split_version is None) != (self.split_percent is None):
            raise ValueError("give split_version and split_percent together, or neither")
        if self.split_version is not None and self.split_version == self.version:
            raise ValueError(f"split_version {self.split_version} is the label's own version")
        return self


class RollbackIn(_Record):
    author: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=10_000)


class LabelView(BaseModel):
    """Where a label points now."""

    label: str
    version: int
    split_version: int | None = None
    split_percent: float | None = None
    updated_by: str | None = None
    updated_at: datetime

    def choose(self, prompt: str, key: str | None) -> tuple[int, bool]:
        """Return the version served to ``key`` and whether it came from the split."""
        if self.split_version is None or not self.split_percent:
            return self.version, False
        if in_split(prompt, self.label, key, self.split_percent):
            return self.split_version, True
        return self.version, False


class LabelTargets(BaseModel):
    """A label with the versions it points at, so a client can split traffic itself."""

    label: LabelView
    target: PromptVersionView
    split_target: PromptVersionView | None = None


class LabelEventView(BaseModel):
    """One move of a label, as the audit log keeps it."""

    id: int
    label: str
    action: str = Field(description="set or rollback")
    from_version: int | None
    from_split_version: int | None
    from_split_percent: float | None
    to_version: int
    to_split_version: int | None
    to_split_percent: float | None
    author: str | None
    message: str | None
    created_at: datetime


class PromptSummary(BaseModel):
    """A prompt in a list: its newest version and where its labels point."""

    name: str
    description: str | None
    latest_version: int
    labels: dict[str, int]
    updated_at: datetime


class PromptView(BaseModel):
    """A prompt with its versions (newest first) and labels."""

    name: str
    description: str | None
    versions: list[PromptVersionView]
    labels: list[LabelView]


class ResolvedPrompt(PromptVersionView):
    """The version a label serves to one key."""

    label: str | None
    from_split: bool


class FieldChange(BaseModel):
    field: str
    before: Any
    after: Any


class PromptDiff(BaseModel):
    """What changed between two versions."""

    name: str
    from_version: int
    to_version: int
    template_diff: str = Field(description="A unified diff of the templates, empty if equal")
    changes: list[FieldChange] = Field(description="Changes of type, model and parameters")


class VersionMetrics(BaseModel):
    """How one version did, over the llm spans that recorded it."""

    version: str | None
    spans: int
    errors: int
    error_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    total_cost: float | None
    mean_cost: float | None
    scores: dict[str, float] = Field(description="Mean numeric score by name")
    score_counts: dict[str, int]


class PromptMetrics(BaseModel):
    name: str
    start: datetime | None
    end: datetime | None
    versions: list[VersionMetrics]


def split_bucket(prompt: str, label: str, key: str) -> int:
    """Return the bucket (0 to 9,999) that ``key`` falls in for a label's split.

    The first 8 bytes of sha256 as an integer, modulo 10,000: every process and
    language that implements the same rule puts the same key in the same bucket.
    """
    digest = hashlib.sha256(f"{prompt}:{label}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SPLIT_BUCKETS


def in_split(prompt: str, label: str, key: str | None, percent: float) -> bool:
    """Return whether ``key`` (random without one) falls in the ``percent`` share."""
    threshold = round(percent * SPLIT_BUCKETS / 100)
    bucket = random.randrange(SPLIT_BUCKETS) if key is None else split_bucket(prompt, label, key)
    return bucket < threshold
