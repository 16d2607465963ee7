"""The tables, as SQLAlchemy Core metadata.

Times are integer microseconds since the Unix epoch (UTC): they compare and
bucket the same way on every dialect, and a columnar store can take them as
they are. Listing columns (names, times, tokens, cost, short previews) live in
``traces`` and ``spans``; whole payloads live in ``trace_payloads`` and
``span_payloads`` and are read only for the one trace or span being viewed.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

# JSONB on PostgreSQL for containment (@>) and merge (||); JSON text on SQLite.
Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

PREVIEW_CHARS = 1000

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("retention_days", Integer, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

traces = Table(
    "traces",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id"), primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("name", String(1000)),
    Column("start_time", BigInteger),
    Column("end_time", BigInteger),
    Column("duration_ms", Float),
    Column("status", String(8)),
    Column("thread_id", String(500)),
    Column("user_id", String(500)),
    Column("tags", Json),
    Column("input_preview", Text),
    Column("output_preview", Text),
    # Roll-ups over the trace's spans, recomputed when its spans change.
    Column("span_count", Integer, nullable=False, default=0),
    Column("error_count", Integer, nullable=False, default=0),
    Column("llm_count", Integer, nullable=False, default=0),
    Column("input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("total_tokens", BigInteger),
    Column("total_cost", Float),
    Column("cost_unknown_count", Integer, nullable=False, default=0),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "project_id", "start_time"),
    Index(None, "project_id", "thread_id", "start_time"),
    Index(None, "project_id", "user_id", "start_time"),
    # Keyset pages sorted by cost, latency or tokens (migration 0002).
    Index(None, "project_id", "total_cost", "id"),
    Index(None, "project_id", "duration_ms", "id"),
    Index(None, "project_id", "total_tokens", "id"),
)

trace_payloads = Table(
    "trace_payloads",
    metadata,
    Column("project_id", Integer, primary_key=True),
    Column("trace_id", String(32), primary_key=True),
    Column("input", Json),
    Column("output", Json),
    Column("metadata", Json),
)

spans = Table(
    "spans",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id"), primary_key=True),
    Column("trace_id", String(32), primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("parent_id", String(32)),
    Column("name", String(1000)),
    Column("kind", String(16)),
    Column("start_time", BigInteger),
    Column("end_time", BigInteger),
    Column("duration_ms", Float),
    Column("status", String(8)),
    Column("error_type", String(500)),
    Column("error_message", Text),
    Column("provider", String(200)),
    Column("model", String(200)),
    Column("input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("cache_read_tokens", BigInteger),
    Column("cache_write_tokens", BigInteger),
    Column("reasoning_tokens", BigInteger),
    Column("total_tokens", BigInteger),
    Column("input_cost", Float),
    Column("output_cost", Float),
    Column("total_cost", Float),
    Column("cost_source", String(8)),
    Column("ttft_ms", Float),
    Column("tags", Json),
    Column("input_preview", Text),
    Column("output_preview", Text),
    Column("updated_at", BigInteger, nullable=False),
    # The managed prompt version behind an llm span (migration 0004).
    Column("prompt_name", String(200)),
    Column("prompt_version", String(64)),
    Index(None, "project_id", "start_time"),
    Index(None, "project_id", "model", "start_time"),
    # Span pages sorted by cost or latency (migration 0002).
    Index(None, "project_id", "total_cost"),
    Index(None, "project_id", "duration_ms"),
    # Metrics per prompt version (migration 0004).
    Index(None, "project_id", "prompt_name", "prompt_version", "start_time"),
)

span_payloads = Table(
    "span_payloads",
    metadata,
    Column("project_id", Integer, primary_key=True),
    Column("trace_id", String(32), primary_key=True),
    Column("span_id", String(32), primary_key=True),
    Column("input", Json),
    Column("output", Json),
    Column("metadata", Json),
    # Kind-specific detail: {"llm": {...}, "retrieval": {...}, "tool": {...}, "error": {...}}.
    Column("detail", Json),
    # Attributes exactly as received (OTLP), before any mapping.
    Column("attributes", Json),
)

scores = Table(
    "scores",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("target", String(8), nullable=False),
    Column("trace_id", String(32)),
    Column("span_id", String(32)),
    Column("thread_id", String(500)),
    Column("name", String(200), nullable=False),
    Column("data_type", String(12), nullable=False),
    Column("value", Float),
    Column("string_value", String(500)),
    Column("reason", Text),
    Column("source", String(8), nullable=False),
    Column("author", String(200)),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "project_id", "trace_id"),
    Index(None, "project_id", "thread_id"),
    Index(None, "project_id", "name", "value"),
)

price_overrides = Table(
    "price_overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False),
    Column("provider", String(200), nullable=False, default=""),
    Column("input_per_mtok", Float, nullable=False),
    Column("output_per_mtok", Float, nullable=False),
    Column("cache_read_per_mtok", Float),
    Column("cache_write_per_mtok", Float),
    Column("reasoning_per_mtok", Float),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("model", "provider"),
)

# Datasets are versioned: every change makes a new version, and an item row
# lives from the version that added it until the version that replaced or
# removed it, so any earlier version can be read back exactly.
datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("version", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name"),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("dataset_id", Integer, ForeignKey("datasets.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("change", String(500), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

dataset_items = Table(
    "dataset_items",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("added_in", Integer, nullable=False),
    Column("removed_in", Integer),
    Column("input", Json),
    Column("expected", Json),
    Column("context", Json),
    Column("metadata", Json),
    Column("source_trace_id", String(32)),
    Column("source_span_id", String(32)),
    # Where the item stands in its dataset: the order it was first added in, kept when
    # it is edited or replaced (migration 0005). Item ids need not sort that way.
    Column("position", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("dataset_id", "item_id", "added_in"),
    Index(None, "dataset_id", "removed_in", "item_id"),
    Index(None, "dataset_id", "position"),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("dataset_id", Integer, ForeignKey("datasets.id")),
    Column("dataset_version", Integer),
    Column("status", String(12), nullable=False),
    Column("metadata", Json),
    Column("config", Json),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "project_id", "created_at"),
    Index(None, "project_id", "name"),
)

experiment_items = Table(
    "experiment_items",
    metadata,
    Column("experiment_id", String(32), ForeignKey("experiments.id"), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("repetition", Integer, primary_key=True),
    Column("trace_id", String(32)),
    Column("input", Json),
    Column("expected", Json),
    Column("output", Json),
    Column("error", Text),
    # {metric name: {"value": ..., "reason": ...}}; also stored as trace scores.
    Column("scores", Json),
    Column("latency_ms", Float),
    Column("created_at", BigInteger, nullable=False),
)

# Prompts are versioned like code: a version never changes once pushed, and a
# label is a pointer to a version whose every move is kept in an audit log.
prompts = Table(
    "prompts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name"),
)

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("prompt_id", Integer, ForeignKey("prompts.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    # sha256 of the canonical JSON of type, template, model and parameters.
    Column("hash", String(64), nullable=False),
    Column("type", String(8), nullable=False),
    Column("template", Json, nullable=False),
    Column("variables", Json, nullable=False),
    Column("model", String(200)),
    Column("parameters", Json),
    Column("author", String(200)),
    Column("message", Text),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("prompt_id", "hash"),
)

prompt_labels = Table(
    "prompt_labels",
    metadata,
    Column("prompt_id", Integer, ForeignKey("prompts.id"), primary_key=True),
    Column("label", String(50), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("split_version", Integer),
    Column("split_percent", Float),
    Column("updated_by", String(200)),
    Column("updated_at", BigInteger, nullable=False),
)

prompt_label_events = Table(
    "prompt_label_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prompt_id", Integer, ForeignKey("prompts.id"), nullable=False),
    Column("label", String(50), nullable=False),
    Column("action", String(12), nullable=False),
    Column("from_version", Integer),
    Column("from_split_version", Integer),
    Column("from_split_percent", Float),
    Column("to_version", Integer, nullable=False),
    Column("to_split_version", Integer),
    Column("to_split_percent", Float),
    Column("author", String(200)),
    Column("message", Text),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "prompt_id", "label", "id"),
)
