"""Datasets and experiments as the API takes and returns them."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Name = Field(min_length=1, max_length=200, pattern=r"^[^/\\]+$")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetIn(_Record):
    """A new dataset."""

    name: str = Name
    description: str | None = Field(default=None, max_length=10_000)


class DatasetItemIn(_Record):
    """An item to add; an ``id`` that exists already replaces that item."""

    id: str | None = Field(default=None, min_length=1, max_length=64)
    input: Any = None
    expected: Any = None
    context: Any = None
    metadata: dict[str, Any] | None = None
    source_trace_id: str | None = Field(default=None, max_length=32)
    source_span_id: str | None = Field(default=None, max_length=32)


class DatasetItemsIn(_Record):
    items: list[DatasetItemIn] = Field(min_length=1, max_length=10_000)


class DatasetItemPatch(_Record):
    """Fields of an item to change; fields left out keep their values."""

    input: Any = None
    expected: Any = None
    context: Any = None
    metadata: dict[str, Any] | None = None


class ItemsFromTraces(_Record):
    """Make items from stored traces: their input, and their output as the expected answer."""

    trace_ids: list[str] = Field(min_length=1, max_length=1000)
    expected_from_output: bool = Field(
        default=True, description="Use each trace's output as the item's expected output."
    )


class DatasetView(BaseModel):
    name: str
    description: str | None
    version: int
    item_count: int
    created_at: datetime
    updated_at: datetime


class DatasetVersionView(BaseModel):
    version: int
    change: str
    item_count: int
    created_at: datetime


class DatasetItemView(BaseModel):
    id: str
    input: Any = None
    expected: Any = None
    context: Any = None
    metadata: dict[str, Any] | None = None
    source_trace_id: str | None = None
    source_span_id: str | None = None
    version: int = Field(description="The dataset version that added this form of the item.")


class ChangeResult(BaseModel):
    """What a change did, and the dataset version it made."""

    version: int
    added: int = 0
    updated: int = 0
    removed: int = 0


class MetricScore(_Record):
    value: bool | float | str
    reason: str | None = None


class ExperimentIn(_Record):
    """A new experiment (or, with the ``id`` of an existing one, that one again: to resume)."""

    id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    name: str = Name
    dataset: str | None = Field(default=None, min_length=1, max_length=200)
    dataset_version: int | None = Field(default=None, ge=1)
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None


class ExperimentItemIn(_Record):
    item_id: str = Field(min_length=1, max_length=64)
    repetition: int = Field(default=0, ge=0)
    trace_id: str | None = Field(default=None, max_length=32)
    input: Any = None
    expected: Any = None
    output: Any = None
    error: str | None = None
    scores: dict[str, MetricScore] = Field(default_factory=dict)
    latency_ms: float | None = Field(default=None, ge=0)


class ExperimentItemsIn(_Record):
    items: list[ExperimentItemIn] = Field(min_length=1, max_length=10_000)


class ExperimentPatch(_Record):
    status: str = Field(pattern="^(running|completed|failed|interrupted)$")


class MetricSummary(BaseModel):
    """A metric over an experiment's items: mean with a 95% bootstrap interval."""

    name: str
    mean: float | None
    low: float | None
    high: float | None
    count: int
    labels: dict[str, int] | None = Field(
        default=None, description="For label-valued metrics: how often each label came."
    )


class ExperimentView(BaseModel):
    id: str
    name: str
    dataset: str | None
    dataset_version: int | None
    status: str
    metadata: dict[str, Any] | None
    config: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    item_count: int
    error_count: int
    metrics: list[MetricSummary] = Field(default_factory=list)
    total_cost: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    diagnosis: dict[str, Any] | None = Field(
        default=None,
        description="For RAG experiments scored with context_precision and faithfulness: "
        "where the run and each item fall in their quadrant, and what to tune.",
    )


class ExperimentItemView(BaseModel):
    item_id: str
    repetition: int
    trace_id: str | None
    input: Any = None
    expected: Any = None
    output: Any = None
    error: str | None = None
    scores: dict[str, MetricScore]
    latency_ms: float | None = None
    cost: float | None = None


class MetricComparison(BaseModel):
    """One metric across experiments, against the first (the baseline)."""

    name: str
    summaries: list[MetricSummary | None]
    differences: list[dict[str, float | int | str | None] | None] = Field(
        description="Per experiment after the baseline: mean paired difference, its interval, "
        "items paired and a verdict (better, worse or no clear change)."
    )


class ItemChange(BaseModel):
    item_id: str
    metric: str
    experiment_id: str
    baseline: float
    value: float


class ExperimentComparison(BaseModel):
    experiments: list[ExperimentView]
    metrics: list[MetricComparison]
    regressions: list[ItemChange] = Field(description="Items that scored lower than the baseline.")
    improvements: list[ItemChange]
