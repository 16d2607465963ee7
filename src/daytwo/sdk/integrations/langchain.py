"""Trace LangChain and LangGraph runs as daytwo spans, through LangChain's callbacks.

Each run becomes a span: chains and LangGraph nodes are ``chain`` spans named
by the run (a node's run carries the node's name), chat models and LLMs are
``llm`` spans with the exact messages and token usage, tools are ``tool``
spans and retrievers ``retrieval`` spans. Runs nest by LangChain's
``run_id``/``parent_run_id``; a run without a traced parent nests under the
current daytwo span, so ``@daytwo.track`` around ``graph.invoke`` holds the
whole graph. A ``thread_id`` in the run's metadata (LangGraph copies
``config["configurable"]["thread_id"]`` there) becomes the trace's thread, so
the turns of a conversation form one daytwo thread.

    handler = DaytwoCallbackHandler()
    graph.invoke(state, config={"callbacks": [handler], "configurable": {"thread_id": "t-1"}})

or, for every run of the process, ``instrument()``.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from daytwo.sdk import tracer
from daytwo.sdk.capture import DEFAULT
from daytwo.sdk.errors import internal_failure, strict, warn_once
from daytwo.sdk.span import NonRecordingSpan, Span

MAX_OPEN_RUNS = 10_000
"""How many runs may be open at once before the oldest is ended as unfinished."""

# LangSmith hides runs with this tag (LangGraph's channel writers and the like);
# so does daytwo, nesting their children under their parent instead.
_HIDDEN_TAG = "langsmith:hidden"
# Tags and metadata that LangChain and LangGraph add to every run for their own
# bookkeeping; the ``ls_*`` keys that matter become llm detail instead.
_STEP_TAG_PREFIXES = ("seq:step:", "graph:step:", "langsmith:")
_BOOKKEEPING_PREFIXES = ("ls_", "lc_")
_BOOKKEEPING_KEYS = frozenset(
    ("checkpoint_ns", "langgraph_checkpoint_ns", "langgraph_path", "langgraph_triggers")
)
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class _Run:
    """What the handler keeps of an open run."""

    __slots__ = ("first_token_ns", "owned", "span")

    def __init__(self, span: Span | NonRecordingSpan, owned: bool) -> None:
        self.span = span
        # A hidden run holds its parent's span, which it does not end.
        self.owned = owned
        self.first_token_ns = 0


class DaytwoCallbackHandler(BaseCallbackHandler):
    """Record LangChain runs as daytwo spans; pass it in ``config={"callbacks": [...]}``.

    One handler may serve many runs at once, from several threads and event
    loops. At most ``max_open_runs`` runs are kept open: a run that never ends
    (a stream abandoned half way) is ended as unfinished when it is the oldest
    of too many, and counted in ``unfinished``.
    """

    # Called on the run's own thread and event loop, so that the current daytwo
    # span is the one around the LangChain call.
    run_inline = True

    def __init__(self, *, max_open_runs: int = MAX_OPEN_RUNS) -> None:
        if max_open_runs < 1:
            raise ValueError(f"max_open_runs must be at least 1, not {max_open_runs}")
        # Failures inside the handler surface in daytwo's strict mode (its own tests).
        self.raise_error = strict()
        self.max_open_runs = max_open_runs
        self.unfinished = 0
        self.enabled = True
        self._runs: OrderedDict[UUID, _Run] = OrderedDict()
        self._lock = threading.Lock()

    # LangChain asks these before each call; a disabled handler is skipped whole.

    @property
    def ignore_llm(self) -> bool:
        return not self.enabled

    @property
    def ignore_chat_model(self) -> bool:
        return not self.enabled

    @property
    def ignore_chain(self) -> bool:
        return not self.enabled

    @property
    def ignore_agent(self) -> bool:
        # Tools are dispatched under this switch too.
        return not self.enabled

    @property
    def ignore_retriever(self) -> bool:
        return not self.enabled

    # Chains and LangGraph nodes.

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: dict[str, Any] | Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = _run_name(serialized, kwargs, "chain")
        span = self._start(run_id, parent_run_id, name, "chain", tags, metadata)
        if span is not None:
            span.input = inputs

    def on_chain_end(self, outputs: dict[str, Any] | Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, output=outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # Chat models and LLMs.

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        input_messages = [message_dict(m) for m in (messages[0] if messages else [])]
        self._start_model(run_id, parent_run_id, serialized, tags, metadata, kwargs, input_messages)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        input_messages = [{"role": "user", "content": prompt} for prompt in prompts]
        self._start_model(run_id, parent_run_id, serialized, tags, metadata, kwargs, input_messages)

    def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and not run.first_token_ns:
                run.first_token_ns = time.time_ns()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._pop(run_id)
        if run is None or not run.owned:
            return
        span = run.span
        try:
            if type(span) is Span:
                _record_model_result(span, response, run.first_token_ns)
        except Exception as exc:
            internal_failure("reading a LangChain model result", exc)
        self._finish(span)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # Tools.

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = _run_name(serialized, kwargs, "tool")
        span = self._start(run_id, parent_run_id, name, "tool", tags, metadata)
        if span is None:
            return
        arguments = inputs if inputs is not None else input_str
        tool: dict[str, Any] = {"name": name, "arguments": arguments}
        description = (serialized or {}).get("description")
        if description:
            tool["description"] = description
        span.tool = tool
        span.input = arguments

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        # A tool run inside LangGraph's ToolNode returns a ToolMessage; its content is the result.
        result = output.content if isinstance(output, BaseMessage) else output
        with self._lock:
            run = self._runs.get(run_id)
        if run is not None and run.owned and type(run.span) is Span:
            tracer.set_attribute_dict(run.span, "tool", {"result": result})
        self._end(run_id, output=result)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # Retrievers.

    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = _run_name(serialized, kwargs, "retriever")
        span = self._start(run_id, parent_run_id, name, "retrieval", tags, metadata)
        if span is not None:
            span.retrieval = {"query": query}
            span.input = query

    def on_retriever_end(
        self, documents: Sequence[Document], *, run_id: UUID, **kwargs: Any
    ) -> None:
        found = [document_dict(document) for document in documents]
        with self._lock:
            run = self._runs.get(run_id)
        if run is not None and run.owned and type(run.span) is Span:
            tracer.set_attribute_dict(run.span, "retrieval", {"documents": found})
        self._end(run_id, output=found)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # The run map.

    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        kind: str,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
    ) -> Span | None:
        """Start the span of a run and remember it; return it if it is recorded."""
        try:
            parent = self._parent(parent_run_id)
            if tags and _HIDDEN_TAG in tags:
                if parent is not None:
                    self._remember(run_id, _Run(parent, owned=False))
                return None
            span = tracer.start_span(name, kind, DEFAULT, parent=parent)
            if span is None:
                return None
            self._remember(run_id, _Run(span, owned=True))
            if metadata and "thread_id" in metadata and span.trace.thread_id is None:
                span.trace.thread_id = str(metadata["thread_id"])
            if type(span) is not Span:
                return None
            _label(span, tags, metadata)
            return span
        except Exception as exc:
            internal_failure("starting a LangChain run span", exc)
            return None

    def _start_model(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        serialized: dict[str, Any] | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
        input_messages: list[dict[str, Any]],
    ) -> None:
        name = _run_name(serialized, kwargs, "llm")
        span = self._start(run_id, parent_run_id, name, "llm", tags, metadata)
        if span is None:
            return
        metadata = metadata or {}
        parameters = dict(kwargs.get("invocation_params") or {})
        parameters.pop("_type", None)
        model = (
            metadata.get("ls_model_name")
            or parameters.pop("model", None)
            or parameters.pop("model_name", None)
        )
        llm: dict[str, Any] = {"input_messages": input_messages}
        if metadata.get("ls_provider"):
            llm["provider"] = metadata["ls_provider"]
        if model:
            llm["model"] = model
        if parameters:
            llm["invocation_parameters"] = parameters
        span.llm = llm
        span.input = input_messages

    def _parent(self, parent_run_id: UUID | None) -> Span | NonRecordingSpan | None:
        """Return the span of the parent run; None means the current daytwo span."""
        if parent_run_id is None:
            return None
        with self._lock:
            run = self._runs.get(parent_run_id)
        return None if run is None else run.span

    def _remember(self, run_id: UUID, run: _Run) -> None:
        with self._lock:
            self._runs[run_id] = run
            evicted = []
            while len(self._runs) > self.max_open_runs:
                evicted.append(self._runs.popitem(last=False)[1])
        for old in evicted:
            self._abandon(old)

    def _abandon(self, run: _Run) -> None:
        if not run.owned:
            return
        self.unfinished += 1
        warn_once(
            "langchain-unfinished",
            "daytwo: more than %d LangChain runs were open at once; the oldest are "
            "ended as unfinished (see DaytwoCallbackHandler.unfinished)",
            self.max_open_runs,
        )
        span = run.span
        if type(span) is Span:
            span.status = "unset"
            tracer.set_attribute_dict(span, "attributes", {"daytwo.unfinished": True})
            tracer.end_span(span)

    def _pop(self, run_id: UUID) -> _Run | None:
        with self._lock:
            return self._runs.pop(run_id, None)

    def _end(self, run_id: UUID, output: Any = None, error: BaseException | None = None) -> None:
        run = self._pop(run_id)
        if run is None or not run.owned or type(run.span) is not Span:
            return
        span = run.span
        try:
            if output is not None:
                span.output = output
            if error is not None:
                _record_error(span, error)
        except Exception as exc:
            internal_failure("ending a LangChain run span", exc)
        self._finish(span)

    @staticmethod
    def _finish(span: Span | NonRecordingSpan) -> None:
        if type(span) is Span:
            try:
                tracer.end_span(span)
            except Exception as exc:
                internal_failure("ending a LangChain run span", exc)


def _run_name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if name:
        return str(name)
    if serialized:
        if serialized.get("name"):
            return str(serialized["name"])
        path = serialized.get("id")
        if isinstance(path, list) and path:
            return str(path[-1])
    return default


def _label(span: Span, tags: list[str] | None, metadata: Mapping[str, Any] | None) -> None:
    """Copy the run's tags and metadata, leaving out LangChain's bookkeeping."""
    kept_tags = [tag for tag in tags or () if not tag.startswith(_STEP_TAG_PREFIXES)]
    if kept_tags:
        span.tags = kept_tags
    kept = {
        key: value
        for key, value in (metadata or {}).items()
        if key not in _BOOKKEEPING_KEYS and not key.startswith(_BOOKKEEPING_PREFIXES)
    }
    if kept:
        span.metadata = kept


def _record_error(span: Span, error: BaseException) -> None:
    # LangGraph ends a node that calls interrupt() with GraphInterrupt: a pause, not a failure.
    if any(kind.__name__ == "GraphBubbleUp" for kind in type(error).__mro__):
        tracer.set_attribute_dict(span, "attributes", {"langgraph.interrupted": True})
        return
    tracer.record_error(span, error)


def _record_model_result(span: Span, response: LLMResult, first_token_ns: int) -> None:
    generations = response.generations[0] if response.generations else []
    messages: list[dict[str, Any]] = []
    usage: dict[str, int] | None = None
    model: str | None = None
    for generation in generations:
        if isinstance(generation, ChatGeneration):
            message = generation.message
            messages.append(message_dict(message))
            if usage is None and getattr(message, "usage_metadata", None):
                usage = usage_from_metadata(message.usage_metadata)  # type: ignore[attr-defined]
            model = model or message.response_metadata.get("model_name")
        else:
            messages.append({"role": "assistant", "content": generation.text})

    llm_output = response.llm_output or {}
    if usage is None and isinstance(llm_output.get("token_usage"), Mapping):
        usage = usage_from_openai(llm_output["token_usage"])
    model = model or llm_output.get("model_name")

    detail: dict[str, Any] = {"output_messages": messages}
    # The model that answered (often a dated snapshot) is what the server prices.
    if model:
        detail["model"] = model
    if first_token_ns:
        detail["time_to_first_token_ms"] = round((first_token_ns - span.start_ns) / 1e6, 3)
    tracer.set_attribute_dict(span, "llm", detail)
    if usage:
        span.usage = usage
    span.output = messages[0] if len(messages) == 1 else messages


def message_dict(message: BaseMessage) -> dict[str, Any]:
    """Return a LangChain message as a daytwo message: role, content, name, tool calls."""
    role = getattr(message, "role", None) if message.type == "chat" else None
    found: dict[str, Any] = {
        "role": role or _ROLES.get(message.type, message.type),
        "content": message.content,
    }
    if message.name:
        found["name"] = message.name
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls:
        found["tool_calls"] = [
            {"id": call.get("id"), "name": call.get("name"), "arguments": call.get("args")}
            for call in tool_calls
        ]
    tool_call_id = getattr(message, "tool_call_id", None)
    if tool_call_id:
        found["tool_call_id"] = tool_call_id
    return found


def document_dict(document: Document) -> dict[str, Any]:
    """Return a retrieved document as daytwo's id, content, score and metadata."""
    metadata = dict(document.metadata)
    score = metadata.pop("score", None) if isinstance(metadata.get("score"), int | float) else None
    found: dict[str, Any] = {"content": document.page_content}
    if document.id is not None:
        found["id"] = str(document.id)
    if score is not None:
        found["score"] = float(score)
    if metadata:
        found["metadata"] = metadata
    return found


def usage_from_metadata(usage: Mapping[str, Any]) -> dict[str, int]:
    """Return token counts from a LangChain ``UsageMetadata``.

    Its totals already follow the GenAI conventions: input includes cached
    tokens and output includes reasoning tokens.
    """
    inputs = usage.get("input_token_details") or {}
    outputs = usage.get("output_token_details") or {}
    return _counts(
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
        total_tokens=usage.get("total_tokens"),
        cache_read_tokens=inputs.get("cache_read"),
        cache_write_tokens=inputs.get("cache_creation"),
        reasoning_tokens=outputs.get("reasoning"),
    )


def usage_from_openai(usage: Mapping[str, Any]) -> dict[str, int]:
    """Return token counts from an OpenAI-style ``usage`` (prompt and completion tokens)."""
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return _counts(
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        total_tokens=usage.get("total_tokens"),
        cache_read_tokens=prompt.get("cached_tokens"),
        reasoning_tokens=completion.get("reasoning_tokens"),
    )


def _counts(**counts: Any) -> dict[str, int]:
    return {key: int(value) for key, value in counts.items() if isinstance(value, int)}


# Registering the handler for every run of the process.

_installed: DaytwoCallbackHandler | None = None
_install_lock = threading.Lock()


def instrument(*, max_open_runs: int = MAX_OPEN_RUNS) -> DaytwoCallbackHandler:
    """Trace every LangChain run of the process; return the handler that does it.

    Do not also pass a ``DaytwoCallbackHandler`` in a run's callbacks while
    this is on: each would record the run.

        from daytwo.sdk.integrations import langchain
        langchain.instrument()
    """
    global _installed
    from langchain_core.tracers.context import register_configure_hook

    with _install_lock:
        if _installed is None:
            _installed = DaytwoCallbackHandler(max_open_runs=max_open_runs)
            # A default rather than ContextVar.set(): a value set in one context is not
            # seen by threads started later, such as a web server's workers.
            hook: ContextVar[BaseCallbackHandler | None] = ContextVar(
                "daytwo_langchain_handler", default=_installed
            )
            register_configure_hook(hook, inheritable=True)
        _installed.enabled = True
        return _installed


def uninstrument() -> None:
    """Stop tracing the runs that ``instrument`` traced."""
    with _install_lock:
        if _installed is not None:
            _installed.enabled = False
