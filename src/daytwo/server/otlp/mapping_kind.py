"""The kind of a span, as the first convention that names one gives it.

In order: ``daytwo.span.kind``, OpenInference's ``openinference.span.kind``,
the GenAI ``gen_ai.operation.name``, Traceloop's ``traceloop.span.kind`` and
``llm.request.type``, and the Vercel AI SDK's ``ai.operationId``. Every table is
keyed in lowercase and values are matched case-insensitively.
"""

from collections.abc import Mapping
from typing import Any

from daytwo.model import SpanKind

_DAYTWO_KINDS = {kind.value: kind for kind in SpanKind}
# OpenInference span kinds ("Span Kinds"); PROMPT renders a template, which no
# daytwo kind names, so it counts as general like UNKNOWN.
_OPENINFERENCE_KINDS = {
    "llm": SpanKind.LLM,
    "chain": SpanKind.CHAIN,
    "retriever": SpanKind.RETRIEVAL,
    "reranker": SpanKind.RERANKER,
    "embedding": SpanKind.EMBEDDING,
    "tool": SpanKind.TOOL,
    "agent": SpanKind.AGENT,
    "guardrail": SpanKind.GUARDRAIL,
    "evaluator": SpanKind.EVALUATOR,
    "unknown": SpanKind.GENERAL,
    "prompt": SpanKind.GENERAL,
}
# Well-known values of gen_ai.operation.name (GenAI attribute registry).
_GENAI_OPERATIONS = {
    "chat": SpanKind.LLM,
    "text_completion": SpanKind.LLM,
    "generate_content": SpanKind.LLM,
    "embeddings": SpanKind.EMBEDDING,
    "retrieval": SpanKind.RETRIEVAL,
    "execute_tool": SpanKind.TOOL,
    "create_agent": SpanKind.AGENT,
    "invoke_agent": SpanKind.AGENT,
    "invoke_workflow": SpanKind.CHAIN,
}
_TRACELOOP_KINDS = {
    "workflow": SpanKind.CHAIN,
    "task": SpanKind.CHAIN,
    "agent": SpanKind.AGENT,
    "tool": SpanKind.TOOL,
    "unknown": SpanKind.GENERAL,
}
_TRACELOOP_REQUESTS = {
    "chat": SpanKind.LLM,
    "completion": SpanKind.LLM,
    "embedding": SpanKind.EMBEDDING,
    "rerank": SpanKind.RERANKER,
}
# Vercel AI SDK: ai.operationId names the function; do* spans are the provider calls.
_VERCEL_OPERATIONS = {
    "ai.generatetext.dogenerate": SpanKind.LLM,
    "ai.streamtext.dostream": SpanKind.LLM,
    "ai.generateobject.dogenerate": SpanKind.LLM,
    "ai.streamobject.dostream": SpanKind.LLM,
    "ai.embed.doembed": SpanKind.EMBEDDING,
    "ai.embedmany.doembed": SpanKind.EMBEDDING,
    "ai.toolcall": SpanKind.TOOL,
    "ai.generatetext": SpanKind.CHAIN,
    "ai.streamtext": SpanKind.CHAIN,
    "ai.generateobject": SpanKind.CHAIN,
    "ai.streamobject": SpanKind.CHAIN,
    "ai.embed": SpanKind.CHAIN,
    "ai.embedmany": SpanKind.CHAIN,
}

_KIND_TABLES: tuple[tuple[str, Mapping[str, SpanKind]], ...] = (
    ("openinference.span.kind", _OPENINFERENCE_KINDS),
    ("gen_ai.operation.name", _GENAI_OPERATIONS),
    ("traceloop.span.kind", _TRACELOOP_KINDS),
    ("llm.request.type", _TRACELOOP_REQUESTS),
    ("ai.operationId", _VERCEL_OPERATIONS),
)


def explicit_kind_of(values: Mapping[str, Any]) -> SpanKind | None:
    """Return the kind that the first convention naming one gives, or None if none does."""
    daytwo = values.get("daytwo.span.kind")
    if isinstance(daytwo, str) and daytwo.lower() in _DAYTWO_KINDS:
        return _DAYTWO_KINDS[daytwo.lower()]
    for key, table in _KIND_TABLES:
        value = values.get(key)
        if isinstance(value, str):
            kind = table.get(value.lower())
            if kind is not None:
                return kind
    return None
