"""Domain objects shared by the SDK and the server.

Everything that crosses the wire is defined here once, as pydantic models, so
that the ingest API, the OTLP mapping and the query API speak one vocabulary.
"""

from daytwo.model.ids import normalize_span_id, normalize_trace_id
from daytwo.model.scores import ScoreDataType, ScoreIn, ScoreSource, ScoreTarget
from daytwo.model.spans import (
    Cost,
    CostSource,
    Document,
    ErrorInfo,
    IngestBatch,
    LlmDetail,
    Message,
    PromptRef,
    RetrievalDetail,
    SpanIn,
    SpanKind,
    SpanStatus,
    TokenUsage,
    ToolCall,
    ToolDetail,
    TraceIn,
)

__all__ = [
    "Cost",
    "CostSource",
    "Document",
    "ErrorInfo",
    "IngestBatch",
    "LlmDetail",
    "Message",
    "PromptRef",
    "RetrievalDetail",
    "ScoreDataType",
    "ScoreIn",
    "ScoreSource",
    "ScoreTarget",
    "SpanIn",
    "SpanKind",
    "SpanStatus",
    "TokenUsage",
    "ToolCall",
    "ToolDetail",
    "TraceIn",
    "normalize_span_id",
    "normalize_trace_id",
]
