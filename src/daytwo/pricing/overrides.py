"""Prices set by the operator, which win over the bundled ones.

An override names a model exactly or with a glob (``"my-ft-*"``), optionally for
one provider. When several match, an exact name beats a glob and, within each,
an override for the span's provider beats one for any provider; among equals the
one listed first wins.
"""

import json
from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from daytwo.pricing.catalogue import canonical_provider
from daytwo.pricing.rates import ModelPrice, PricePoint, PriceSchedule, Rates

_GLOB_CHARACTERS = frozenset("*?[")


class PriceOverrideError(ValueError):
    """A price overrides file that cannot be read or holds an invalid entry."""


class PriceOverride(BaseModel):
    """A price, in US dollars per million tokens, for the models a name or glob matches.

    A cache rate left at ``None`` charges cached tokens at the input rate; a
    reasoning rate left at ``None`` charges reasoning tokens at the output rate.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1, description='exact model name, or a glob such as "my-ft-*"')
    provider: str | None = Field(default=None, description="None matches any provider")
    input_per_mtok: float = Field(ge=0, allow_inf_nan=False)
    output_per_mtok: float = Field(ge=0, allow_inf_nan=False)
    cache_read_per_mtok: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    cache_write_per_mtok: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    reasoning_per_mtok: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @field_validator("model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the model name is blank; give a name or a glob such as 'my-ft-*'")
        return value.strip()

    @field_validator("provider")
    @classmethod
    def _blank_provider_means_any(cls, value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None

    @property
    def is_glob(self) -> bool:
        """Tell whether ``model`` is a glob rather than an exact name."""
        return not _GLOB_CHARACTERS.isdisjoint(self.model)

    def schedule(self) -> PriceSchedule:
        """Return this override as a schedule that always applies."""
        shown = ModelPrice(
            model=self.model,
            provider=self.provider,
            input_per_mtok=self.input_per_mtok,
            output_per_mtok=self.output_per_mtok,
            cache_read_per_mtok=self.cache_read_per_mtok,
            cache_write_per_mtok=self.cache_write_per_mtok,
            reasoning_per_mtok=self.reasoning_per_mtok,
            source="override",
        )
        rates = Rates(
            input=self.input_per_mtok,
            output=self.output_per_mtok,
            cache_read=_or(self.cache_read_per_mtok, self.input_per_mtok),
            cache_write=_or(self.cache_write_per_mtok, self.input_per_mtok),
            reasoning=_or(self.reasoning_per_mtok, self.output_per_mtok),
        )
        return PriceSchedule.fixed(PricePoint(price=shown, rates=rates))


class OverrideIndex:
    """Overrides arranged for lookup: exact names in a dict, globs in a list."""

    def __init__(self, overrides: Iterable[PriceOverride]) -> None:
        self.overrides = tuple(overrides)
        self._exact: dict[tuple[str | None, str], PriceSchedule] = {}
        self._globs: list[tuple[str | None, str, PriceSchedule]] = []
        for override in self.overrides:
            provider = canonical_provider(override.provider)
            model = override.model.lower()
            if override.is_glob:
                self._globs.append((provider, model, override.schedule()))
            else:
                self._exact.setdefault((provider, model), override.schedule())
        # Globs for one provider are tried before globs for any provider; sorted()
        # is stable, so the listed order holds within each group.
        self._globs.sort(key=lambda glob: glob[0] is None)

    def __bool__(self) -> bool:
        return bool(self.overrides)

    def match(self, provider: str | None, model: str) -> PriceSchedule | None:
        """Return the schedule of the best override for a canonical provider and a model."""
        model = model.lower()
        if provider is not None and (found := self._exact.get((provider, model))):
            return found
        if found := self._exact.get((None, model)):
            return found
        for glob_provider, pattern, schedule in self._globs:
            if glob_provider in (None, provider) and fnmatchcase(model, pattern):
                return schedule
        return None


def load_overrides_file(path: Path) -> list[PriceOverride]:
    """Read a JSON file holding a list of price overrides.

    Raise ``PriceOverrideError`` naming the file, and the entry when one is
    invalid, so that a typo in the configuration stops the server at start-up.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PriceOverrideError(f"cannot read price overrides from {path}: {error}") from error
    if not isinstance(data, list):
        found = "object" if isinstance(data, dict) else type(data).__name__
        raise PriceOverrideError(
            f"price overrides file {path} holds a JSON {found}; expected a list of objects "
            'such as [{"model": "my-ft-*", "input_per_mtok": 1.0, "output_per_mtok": 2.0}]'
        )
    return [_parse_entry(path, number, len(data), entry) for number, entry in enumerate(data, 1)]


def _parse_entry(path: Path, number: int, count: int, entry: object) -> PriceOverride:
    try:
        return PriceOverride.model_validate(entry)
    except ValidationError as error:
        name = entry.get("model") if isinstance(entry, dict) else None
        which = f"entry {number} of {count}" + (
            f" (model {name!r})" if isinstance(name, str) else ""
        )
        problems = "; ".join(_describe(problem) for problem in error.errors())
        raise PriceOverrideError(
            f"invalid price override in {path}, {which}: {problems}"
        ) from error


def _describe(problem: ErrorDetails) -> str:
    if not problem["loc"]:
        return f"{problem['msg']}, got {problem['input']!r}"
    field = ".".join(str(part) for part in problem["loc"])
    description = f"{field}: {problem['msg']}"
    if problem["type"] == "extra_forbidden":
        return f"{description}; known fields: {', '.join(PriceOverride.model_fields)}"
    if problem["type"] == "missing":
        return description
    return f"{description}, got {problem['input']!r}"


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
