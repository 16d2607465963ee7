"""Generate OpenInference traces as OTLP protobuf spans, the same for every seed.

Three shapes of trace, in the proportions of a profile:

- ``rag``: a chain that embeds the question, retrieves documents and asks a
  model (4 spans);
- ``agent``: an agent that asks a model, which calls a tool, then retrieves
  documents and asks the model again, once or twice (5 to 7 spans);
- ``chat``: a chain around a single model call (2 spans).

Attributes follow the OpenInference semantic conventions (``openinference.span.kind``,
``llm.input_messages.{i}.message.*``, ``llm.token_count.*``,
``retrieval.documents.{i}.document.*``, ``session.id``, ``user.id``, ``tag.tags``),
as its OpenAI, Anthropic and LangChain instrumentations write them. Spans of a
trace are listed children first, in the order an SDK's batch processor exports them.
"""

import itertools
import json
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from bench import text

AttributeValue = str | int | float | bool | list[str]

MS = 1_000_000  # nanoseconds
_OK = Status(code=Status.STATUS_CODE_OK)


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    provider: str


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    weight: float
    models: tuple[Model, ...]


@dataclass(frozen=True, slots=True)
class Profile:
    """What a generated data set looks like."""

    projects: tuple[Project, ...]
    users: int
    threads: int
    error_rate: float
    # 1.0 gives model calls of 1 to 2 KB of messages; smaller keeps a large data set small.
    text_scale: float = 1.0
    shapes: tuple[tuple[str, float], ...] = (("rag", 0.5), ("agent", 0.35), ("chat", 0.15))


@dataclass(slots=True)
class GeneratedTrace:
    project: str
    spans: list[Span] = field(default_factory=list)


GPT_4O = Model("gpt-4o", "openai")
GPT_4O_MINI = Model("gpt-4o-mini", "openai")
GPT_41_MINI = Model("gpt-4.1-mini", "openai")
SONNET = Model("claude-3-5-sonnet-20241022", "anthropic")
HAIKU = Model("claude-3-5-haiku-20241022", "anthropic")
EMBEDDING = Model("text-embedding-3-small", "openai")

_TAGS = ("prod", "staging", "web", "mobile", "api", "beta", "eu", "us", "v2", "canary")
_TOOLS = ("lookup_order", "search_tickets", "refund_status", "update_address", "get_invoice")


def generate(profile: Profile, seed: int, start_ns: int, gap_ns: int) -> Iterator[GeneratedTrace]:
    """Yield traces forever, the i-th starting about ``start_ns + i * gap_ns``."""
    for index in itertools.count():
        yield trace_at(profile, seed, index, start_ns, gap_ns)


def trace_at(profile: Profile, seed: int, index: int, start_ns: int, gap_ns: int) -> GeneratedTrace:
    """Return the ``index``-th trace of `generate`, made alone (for parallel generation)."""
    rng = random.Random(f"{seed}:{index}")
    start = start_ns + index * gap_ns + int(rng.random() * gap_ns)
    return _trace(rng, profile, start)


def take_spans(traces: Iterable[GeneratedTrace], count: int) -> list[GeneratedTrace]:
    """Return the first traces holding exactly ``count`` spans (the last one may be cut)."""
    taken: list[GeneratedTrace] = []
    total = 0
    for trace in traces:
        if total >= count:
            break
        keep = trace.spans[: count - total]
        taken.append(GeneratedTrace(trace.project, keep))
        total += len(keep)
    return taken


def _trace(rng: random.Random, profile: Profile, start_ns: int) -> GeneratedTrace:
    project = rng.choices(profile.projects, [p.weight for p in profile.projects])[0]
    shape = rng.choices([s for s, _ in profile.shapes], [w for _, w in profile.shapes])[0]
    builder = _Builder(rng, profile, project, start_ns)
    _SHAPES[shape](builder)
    return GeneratedTrace(project.name, builder.spans)


class _Builder:
    """Build the spans of one trace, advancing a clock as children run in turn."""

    def __init__(self, rng: random.Random, profile: Profile, project: Project, start: int) -> None:
        self.rng = rng
        self.profile = profile
        self.project = project
        self.clock = start
        self.trace_id = rng.getrandbits(128).to_bytes(16, "big")
        self.spans: list[Span] = []
        self.failing = rng.random() < profile.error_rate
        # OpenInference's using_session and using_user put these on every span.
        self.common: dict[str, AttributeValue] = {
            "session.id": f"sess_{rng.randrange(profile.threads):07d}",
            "user.id": f"user_{rng.randrange(profile.users):05d}",
        }

    def chars(self, low: int, high: int) -> int:
        return max(20, int(self.rng.randint(low, high) * self.profile.text_scale))

    def root(self, name: str, kind: str, question: str) -> Span:
        tags = sorted(set(self.rng.sample(_TAGS, self.rng.randint(1, 3))))
        metadata = {
            "app_version": f"2.{self.rng.randint(0, 9)}.{self.rng.randint(0, 20)}",
            "region": self.rng.choice(("eu-west-1", "us-east-1", "ap-south-1")),
            "channel": self.rng.choice(("chat", "email", "api")),
        }
        attributes: dict[str, AttributeValue] = {
            "openinference.span.kind": kind,
            "input.value": question,
            "tag.tags": tags,
            "metadata": json.dumps(metadata),
        }
        span = self._span(name, None, self.clock, attributes)
        self.clock += self.rng.randint(1, 20) * MS
        return span

    def child(
        self, name: str, parent: Span, duration_ms: int, attributes: dict[str, AttributeValue]
    ) -> Span:
        start = self.clock
        self.clock += duration_ms * MS
        span = self._span(name, parent, start, attributes)
        span.end_time_unix_nano = self.clock
        self.clock += self.rng.randint(1, 5) * MS
        return span

    def finish(self, root: Span, answer: str, failed: bool) -> None:
        root.attributes.extend(_key_values({"output.value": answer}))
        root.end_time_unix_nano = self.clock + self.rng.randint(1, 10) * MS
        if failed:
            root.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="upstream error"))
        # Children end first, so an SDK's batch processor exports them first.
        self.spans.sort(key=lambda span: span.end_time_unix_nano)

    def fail(self, span: Span, error_type: str, message: str) -> None:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=message))
        stack = "\n".join(
            f'  File "app/{name}.py", line {self.rng.randint(10, 400)}, in {name}'
            for name in ("handler", "pipeline", "client", "transport")
        )
        event = Span.Event(name="exception", time_unix_nano=span.end_time_unix_nano)
        event.attributes.extend(
            _key_values(
                {
                    "exception.type": error_type,
                    "exception.message": message,
                    "exception.stacktrace": f"Traceback (most recent call last):\n{stack}",
                }
            )
        )
        span.events.append(event)

    def _span(
        self, name: str, parent: Span | None, start: int, attributes: dict[str, AttributeValue]
    ) -> Span:
        span = Span(
            trace_id=self.trace_id,
            span_id=(self.rng.getrandbits(63) | 1).to_bytes(8, "big"),
            parent_span_id=parent.span_id if parent is not None else b"",
            name=name,
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start,
            status=_OK,
        )
        span.attributes.extend(_key_values({**attributes, **self.common}))
        self.spans.append(span)
        return span


# Span kinds ------------------------------------------------------------------


def _llm(
    b: _Builder,
    parent: Span,
    messages: Sequence[tuple[str, str]],
    output: str | None,
    tool_call: tuple[str, str] | None = None,
) -> Span:
    model = b.rng.choice(b.project.models)
    attributes: dict[str, AttributeValue] = {
        "openinference.span.kind": "LLM",
        "llm.system": model.provider,
        "llm.provider": model.provider,
        "llm.model_name": model.name,
        "llm.invocation_parameters": json.dumps(
            {"temperature": b.rng.choice((0.0, 0.2, 0.7)), "max_tokens": 1024}
        ),
    }
    for index, (role, content) in enumerate(messages):
        attributes[f"llm.input_messages.{index}.message.role"] = role
        attributes[f"llm.input_messages.{index}.message.content"] = content
    attributes["llm.output_messages.0.message.role"] = "assistant"
    if output is not None:
        attributes["llm.output_messages.0.message.content"] = output
    if tool_call is not None:
        prefix = "llm.output_messages.0.message.tool_calls.0.tool_call"
        attributes[f"{prefix}.id"] = text.identifier(b.rng, "call", 10)
        attributes[f"{prefix}.function.name"] = tool_call[0]
        attributes[f"{prefix}.function.arguments"] = tool_call[1]
    attributes.update(_token_counts(b.rng, messages, output or "x" * 40))
    name = "ChatCompletion" if model.provider == "openai" else "Messages"
    return b.child(name, parent, b.rng.randint(400, 4000), attributes)


def _token_counts(
    rng: random.Random, messages: Sequence[tuple[str, str]], output: str
) -> dict[str, AttributeValue]:
    # About four characters a token for English text.
    prompt = sum(len(content) for _, content in messages) // 4 + rng.randint(5, 40)
    completion = len(output) // 4 + rng.randint(1, 20)
    counts: dict[str, AttributeValue] = {
        "llm.token_count.prompt": prompt,
        "llm.token_count.completion": completion,
        "llm.token_count.total": prompt + completion,
    }
    if rng.random() < 0.3:
        counts["llm.token_count.prompt_details.cache_read"] = prompt // 2
    return counts


def _embedding(b: _Builder, parent: Span, query: str) -> Span:
    attributes: dict[str, AttributeValue] = {
        "openinference.span.kind": "EMBEDDING",
        "embedding.model_name": EMBEDDING.name,
        "embedding.embeddings.0.embedding.text": query,
        "llm.token_count.prompt": len(query) // 4 + 1,
        "llm.token_count.total": len(query) // 4 + 1,
    }
    return b.child("embed_query", parent, b.rng.randint(30, 200), attributes)


def _retriever(b: _Builder, parent: Span, query: str) -> tuple[Span, list[str]]:
    attributes: dict[str, AttributeValue] = {
        "openinference.span.kind": "RETRIEVER",
        "input.value": query,
    }
    documents = []
    for index in range(b.rng.randint(3, 5)):
        content = text.paragraph(b.rng, b.chars(180, 320))
        documents.append(content)
        prefix = f"retrieval.documents.{index}.document"
        attributes[f"{prefix}.id"] = text.identifier(b.rng, "doc", 6)
        attributes[f"{prefix}.content"] = content
        attributes[f"{prefix}.score"] = round(0.9 - index * 0.07 - b.rng.random() * 0.05, 4)
        attributes[f"{prefix}.metadata"] = json.dumps(
            {"source": f"kb/{text.identifier(b.rng, 'article', 4)}.md", "chunk": index}
        )
    span = b.child("retrieve", parent, b.rng.randint(20, 300), attributes)
    return span, documents


def _tool(b: _Builder, parent: Span, name: str, arguments: str) -> Span:
    result = {
        "status": "ok",
        "id": text.identifier(b.rng, "ord"),
        "note": text.paragraph(b.rng, b.chars(150, 400)),
    }
    attributes: dict[str, AttributeValue] = {
        "openinference.span.kind": "TOOL",
        "tool.name": name,
        "tool.description": text.sentence(b.rng, 10),
        "input.value": arguments,
        "input.mime_type": "application/json",
        "output.value": json.dumps(result),
        "output.mime_type": "application/json",
    }
    return b.child(name, parent, b.rng.randint(10, 800), attributes)


# Shapes ----------------------------------------------------------------------


def _system_prompt(b: _Builder) -> str:
    return "You are a support assistant. " + text.paragraph(b.rng, b.chars(300, 500))


def _rag(b: _Builder) -> None:
    question = text.question(b.rng)
    root = b.root("rag_pipeline", "CHAIN", question)
    _embedding(b, root, question)
    _, documents = _retriever(b, root, question)
    context = "\n\n".join(documents)
    answer = text.paragraph(b.rng, b.chars(400, 800))
    messages = [("system", _system_prompt(b)), ("user", f"Context:\n{context}\n\n{question}")]
    llm = _llm(b, root, messages, answer)
    if b.failing:
        b.fail(llm, "openai.RateLimitError", "Rate limit reached for requests; retry in 20s")
    b.finish(root, answer, b.failing)


def _agent(b: _Builder) -> None:
    question = text.question(b.rng)
    root = b.root("support_agent", "AGENT", question)
    system = _system_prompt(b)
    history = [("system", system), ("user", question)]
    failed = False
    for _ in range(b.rng.randint(1, 2)):
        tool_name = b.rng.choice(_TOOLS)
        arguments = json.dumps({"order_id": text.identifier(b.rng, "ord"), "verbose": False})
        _llm(b, root, history, None, (tool_name, arguments))
        tool = _tool(b, root, tool_name, arguments)
        if b.failing and not failed:
            b.fail(tool, "TimeoutError", f"{tool_name} did not answer within 5 s")
            failed = True
        history = [*history, ("tool", text.paragraph(b.rng, b.chars(120, 260)))]
    _, documents = _retriever(b, root, question)
    answer = text.paragraph(b.rng, b.chars(400, 800))
    history = [*history, ("user", "Relevant articles:\n" + "\n".join(documents[:2]))]
    _llm(b, root, history, answer)
    b.finish(root, answer, failed and b.rng.random() < 0.7)


def _chat(b: _Builder) -> None:
    question = text.question(b.rng)
    root = b.root("chat", "CHAIN", question)
    answer = text.paragraph(b.rng, b.chars(300, 900))
    history = [
        ("system", _system_prompt(b)),
        ("user", text.paragraph(b.rng, b.chars(200, 500))),
        ("assistant", text.paragraph(b.rng, b.chars(150, 400))),
        ("user", question),
    ]
    llm = _llm(b, root, history, answer)
    if b.failing:
        b.fail(llm, "anthropic.APIStatusError", "Overloaded (529)")
    b.finish(root, answer, b.failing)


_SHAPES = {"rag": _rag, "agent": _agent, "chat": _chat}


# Encoding --------------------------------------------------------------------


def _key_values(attributes: Mapping[str, AttributeValue]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any_value(value)) for key, value in attributes.items()]


def _any_value(value: AttributeValue) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        items = [AnyValue(string_value=item) for item in value]
        return AnyValue(array_value=ArrayValue(values=items))
    return AnyValue(string_value=value)


def resource_attributes(project: str) -> list[KeyValue]:
    """Return the resource attributes of a service reporting to ``project``."""
    values: dict[str, Any] = {
        "service.name": "support-service",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": "1.27.0",
        "openinference.project.name": project,
    }
    return _key_values(values)


def encode_requests(traces: Sequence[GeneratedTrace], spans_per_request: int) -> list[bytes]:
    """Return the spans of ``traces`` as serialized ExportTraceServiceRequests, in order."""
    bodies: list[bytes] = []
    pending: list[tuple[str, Span]] = [(t.project, span) for t in traces for span in t.spans]
    for start in range(0, len(pending), spans_per_request):
        chunk = pending[start : start + spans_per_request]
        bodies.append(export_request(chunk).SerializeToString())
    return bodies


def export_request(spans: Sequence[tuple[str, Span]]) -> ExportTraceServiceRequest:
    """Return one export request holding ``(project, span)`` pairs, a resource per project."""
    request = ExportTraceServiceRequest()
    by_project: dict[str, list[Span]] = {}
    for project, span in spans:
        by_project.setdefault(project, []).append(span)
    for project, project_spans in by_project.items():
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(resource_attributes(project))
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "openinference.instrumentation.bench"
        scope_spans.scope.version = "0.1.0"
        scope_spans.spans.extend(project_spans)
    return request
