"""The trace view: a trace's span tree beside its timeline, and the selected span's detail.

A trace can hold tens of thousands of spans, so the page renders one window
of rows (`WINDOW`); the window's last element loads the next window when it
scrolls into view. Rows carry no payload: a span's input, output and detail
are read only when it is selected, into the detail pane.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from daytwo.model.ids import InvalidIdError, normalize_span_id, normalize_trace_id
from daytwo.model.views import SpanDetail, SpanNode, TraceTree
from daytwo.server.deps import ServicesDep
from daytwo.server.ui.pages.errors import PageError, not_found
from daytwo.server.ui.pages.traces import project_id_or_404
from daytwo.server.ui.templating import is_fragment, pretty_json, render
from daytwo.storage import queries, trees
from daytwo.storage.trees import TreeOptions

router = APIRouter(include_in_schema=False)

# Rows per window: enough to fill a tall screen many times over, few enough to
# send at once (a window of a 30,000-span trace is answered in 0.12 s on SQLite,
# most of it placing every span in tree order).
WINDOW = 300
# Indentation stops growing past this depth, so that deep rows keep their name in view.
MAX_INDENT = 24
# Chat roles with a style of their own; others (and made-up ones) are shown plainly.
ROLE_CLASSES = {
    "user": "user",
    "assistant": "assistant",
    "system": "system",
    "developer": "system",
    "tool": "tool",
    "function": "tool",
}


@dataclass(frozen=True, slots=True)
class TreeRow:
    """One row of the tree: a span, its indentation and its bar on the timeline (percent)."""

    span: SpanNode
    indent: float
    left: float | None
    width: float | None

    @property
    def capped(self) -> bool:
        """Tell whether the row is deeper than its indentation shows."""
        return self.span.depth > MAX_INDENT


@dataclass(frozen=True, slots=True)
class Timeline:
    """The trace's time range, against which each span's bar is placed."""

    start: datetime | None
    end: datetime | None

    def bar(self, span: SpanNode) -> tuple[float, float] | None:
        """Return the left offset and width of ``span``'s bar, in percent of the trace."""
        if self.start is None or self.end is None or span.start_time is None:
            return None
        total = (self.end - self.start).total_seconds()
        offset = (span.start_time - self.start).total_seconds()
        length = (span.end_time - span.start_time).total_seconds() if span.end_time else 0.0
        if total <= 0:
            return 0.0, 100.0
        left = min(max(offset / total * 100, 0.0), 100.0)
        return round(left, 3), round(min(max(length / total * 100, 0.0), 100.0 - left), 3)


def tree_rows(tree: TraceTree) -> list[TreeRow]:
    """Return the rows of a window of ``tree``, placed on the trace's timeline."""
    timeline = Timeline(tree.trace.start_time, tree.trace.end_time)
    rows = []
    for span in tree.spans:
        bar = timeline.bar(span)
        indent = min(span.depth, MAX_INDENT) * 0.9
        rows.append(TreeRow(span, indent, *(bar or (None, None))))
    return rows


@dataclass(frozen=True, slots=True)
class Part:
    """A piece of a message's content: text, or anything else as indented JSON."""

    text: str
    is_json: bool = False


@dataclass(frozen=True, slots=True)
class ToolCallView:
    """A tool call a model asked for, its arguments as indented JSON."""

    name: str | None
    id: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class MessageView:
    """One chat message as the detail pane shows it."""

    role: str
    role_class: str
    name: str | None
    parts: list[Part]
    tool_calls: list[ToolCallView]
    tool_call_id: str | None


@dataclass(frozen=True, slots=True)
class SpanPanel:
    """A span and the kind-specific parts of its detail, ready for the detail pane."""

    span: SpanDetail
    llm: dict[str, Any] | None = None
    input_messages: list[MessageView] = field(default_factory=list)
    output_messages: list[MessageView] = field(default_factory=list)
    retrieval: dict[str, Any] | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)
    tool: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def _part(item: Any) -> Part:
    if isinstance(item, str):
        return Part(item)
    if isinstance(item, dict) and isinstance(item.get("text"), str):
        return Part(item["text"])
    return Part(pretty_json(item), is_json=True)


def _parts(content: Any) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, list):
        return [_part(item) for item in content]
    return [_part(content)]


def _arguments(value: Any) -> str:
    """Return tool-call arguments as indented JSON; providers often send them as a JSON string."""
    if isinstance(value, str):
        try:
            return pretty_json(json.loads(value))
        except ValueError:
            return value
    return pretty_json(value)


def _tool_call(call: Any) -> ToolCallView:
    if not isinstance(call, dict):
        return ToolCallView(None, None, pretty_json(call))
    return ToolCallView(call.get("name"), call.get("id"), _arguments(call.get("arguments")))


def _message(message: Any) -> MessageView:
    if not isinstance(message, dict):
        return MessageView("message", "other", None, _parts(message), [], None)
    role = str(message.get("role") or "message")
    calls = message.get("tool_calls") or []
    return MessageView(
        role=role,
        role_class=ROLE_CLASSES.get(role.lower(), "other"),
        name=message.get("name"),
        parts=_parts(message.get("content")),
        tool_calls=[_tool_call(call) for call in calls] if isinstance(calls, list) else [],
        tool_call_id=message.get("tool_call_id"),
    )


def _messages(value: Any) -> list[MessageView]:
    return [_message(message) for message in value] if isinstance(value, list) else []


def _section(detail: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = detail.get(name)
    return value if isinstance(value, dict) else None


def span_panel(span: SpanDetail) -> SpanPanel:
    """Return the parts of ``span``'s detail that its kind shows."""
    detail = span.detail or {}
    llm, retrieval = _section(detail, "llm"), _section(detail, "retrieval")
    documents = (retrieval or {}).get("documents") or []
    return SpanPanel(
        span=span,
        llm=llm,
        input_messages=_messages((llm or {}).get("input_messages")),
        output_messages=_messages((llm or {}).get("output_messages")),
        retrieval=retrieval,
        documents=[doc for doc in documents if isinstance(doc, dict)],
        tool=_section(detail, "tool"),
        error=_section(detail, "error"),
    )


def _trace_id(value: str, project: str) -> str:
    try:
        return normalize_trace_id(value)
    except InvalidIdError:
        raise not_found(f"There is no trace {value!r} in project {project!r}.") from None


def _window(engine: Engine, project_id: int, trace_id: str, offset: int) -> TraceTree:
    options = TreeOptions(offset=offset, limit=WINDOW)
    tree = trees.trace_tree(engine, project_id, trace_id, options)
    if tree is None:
        raise not_found(f"There is no trace {trace_id!r} in this project.")
    return tree


def _span(engine: Engine, project_id: int, trace_id: str, span_id: str) -> SpanDetail:
    missing = not_found(f"There is no span {span_id!r} in trace {trace_id!r}.")
    try:
        stored = normalize_span_id(span_id)
    except InvalidIdError:
        raise missing from None
    span = queries.span_detail(engine, project_id, trace_id, stored)
    if span is None:
        raise missing
    return span


def _offset(request: Request) -> int:
    text = request.query_params.get("offset", "0")
    if not text.isdigit():
        raise PageError(400, f"offset must be a whole number of spans, not {text!r}")
    return int(text)


def trace_path(project: str, trace_id: str, span_id: str | None = None) -> str:
    """Return the path of a trace's page, with a span selected when given."""
    path = f"/projects/{quote(project, safe='')}/traces/{trace_id}"
    return f"{path}?span={span_id}" if span_id else path


@router.get("/projects/{project}/traces/{trace_id}", response_class=HTMLResponse)
def trace_page(request: Request, services: ServicesDep, project: str, trace_id: str) -> Response:
    """Show a trace: its header, the first window of its tree, and the selected span."""
    project_id = project_id_or_404(services, project)
    stored = _trace_id(trace_id, project)
    tree = _window(services.engine, project_id, stored, 0)
    chosen = request.query_params.get("span")
    panel: SpanPanel | None = None
    if chosen:
        panel = span_panel(_span(services.engine, project_id, stored, chosen))
    return render(
        request,
        "trace.html",
        project=project,
        section="traces",
        trace_id=stored,
        tree=tree,
        rows=tree_rows(tree),
        window=WINDOW,
        panel=panel,
        selected=panel.span.id if panel else None,
        return_to=trace_path(project, stored, panel.span.id if panel else None),
    )


@router.get("/projects/{project}/traces/{trace_id}/tree", response_class=HTMLResponse)
def tree_window(request: Request, services: ServicesDep, project: str, trace_id: str) -> Response:
    """Answer the next window of a trace's rows, for the sentinel that asked for it."""
    project_id = project_id_or_404(services, project)
    stored = _trace_id(trace_id, project)
    offset = _offset(request)
    if not is_fragment(request):
        return RedirectResponse(trace_path(project, stored), status_code=303)
    tree = _window(services.engine, project_id, stored, offset)
    return render(
        request,
        "partials/trace_rows.html",
        project=project,
        tree=tree,
        rows=tree_rows(tree),
        window=WINDOW,
        selected=None,
    )


@router.get("/projects/{project}/traces/{trace_id}/spans/{span_id}", response_class=HTMLResponse)
def span_fragment(
    request: Request, services: ServicesDep, project: str, trace_id: str, span_id: str
) -> Response:
    """Answer one span's detail for the pane; a browser opening it goes to the trace page."""
    project_id = project_id_or_404(services, project)
    stored = _trace_id(trace_id, project)
    panel = span_panel(_span(services.engine, project_id, stored, span_id))
    if not is_fragment(request):
        return RedirectResponse(trace_path(project, stored, panel.span.id), status_code=303)
    return render(
        request,
        "partials/span_detail.html",
        project=project,
        trace_id=stored,
        panel=panel,
        return_to=trace_path(project, stored, panel.span.id),
    )
