"""Traces for the browser tests: a small support chatbot's day, sent through the ingest API.

Times are recent (the overview and dashboards show the last day and week) and
ids are fixed, so tests can open what they know is there.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import LiveServer
from tests.ui.conftest import ingest

PROJECT = "shop-bot"
THREAD = "conversation-42"
RAG_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ERROR_TRACE = "5cf92f3577b34da6a3ce929d0e0e4737"
XSS_TRACE = "6df92f3577b34da6a3ce929d0e0e4738"
ROOT, RETRIEVE, GENERATE, TOOL = (
    "00f067aa0ba902b1",
    "00f067aa0ba902b2",
    "00f067aa0ba902b3",
    "00f067aa0ba902b4",
)

STACK = 'Traceback (most recent call last):\n  File "bot.py", line 12\nRateLimitError'

# Untrusted output that would run if any page rendered it as markup.
XSS = [
    "<script>alert('script tag')</script>",
    "<img src=x onerror=\"alert('event handler')\">",
    "<a href=\"javascript:alert('javascript link')\">click me</a>",
    "\"><svg onload=alert('attribute breakout')>",
]


def _at(minutes_ago: float, seconds: float = 0.0) -> str:
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago) + timedelta(seconds=seconds)
    return moment.isoformat()


def rag_turn(trace_id: str, minutes_ago: float, question: str, answer: str) -> dict[str, Any]:
    """Return one chatbot turn: a chain over retrieval, an llm call and a tool call."""

    def start(seconds: float) -> str:
        return _at(minutes_ago, seconds)

    return {
        "traces": [
            {
                "id": trace_id,
                "name": "support chat",
                "thread_id": THREAD,
                "user_id": "user-7",
                "input": {"question": question},
                "output": answer,
                "tags": ["production"],
            },
        ],
        "spans": [
            {
                "trace_id": trace_id,
                "id": ROOT,
                "name": "support chat",
                "kind": "chain",
                "start_time": start(0),
                "end_time": start(2.4),
                "input": {"question": question},
                "output": answer,
                "metadata": {"release": "2026.12.1"},
            },
            {
                "trace_id": trace_id,
                "id": RETRIEVE,
                "parent_id": ROOT,
                "name": "search docs",
                "kind": "retrieval",
                "start_time": start(0.1),
                "end_time": start(0.4),
                "retrieval": {
                    "query": question,
                    "documents": [
                        {
                            "id": "returns.md",
                            "content": "Items can be returned within 30 days.",
                            "score": 0.91,
                        },
                        {"id": "shipping.md", "content": "We ship to 40 countries.", "score": 0.42},
                    ],
                },
            },
            {
                "trace_id": trace_id,
                "id": GENERATE,
                "parent_id": ROOT,
                "name": "openai.chat",
                "kind": "llm",
                "start_time": start(0.5),
                "end_time": start(2.0),
                "llm": {
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "invocation_parameters": {"temperature": 0.2},
                    "input_messages": [
                        {"role": "system", "content": "Answer from the documents."},
                        {"role": "user", "content": question},
                    ],
                    "output_messages": [{"role": "assistant", "content": answer}],
                    "time_to_first_token_ms": 310,
                },
                "usage": {"input_tokens": 820, "output_tokens": 64},
            },
            {
                "trace_id": trace_id,
                "id": TOOL,
                "parent_id": ROOT,
                "name": "lookup_order",
                "kind": "tool",
                "start_time": start(2.05),
                "end_time": start(2.3),
                "tool": {
                    "name": "lookup_order",
                    "arguments": {"order_id": "A-1001"},
                    "result": {"status": "shipped"},
                },
            },
        ],
    }


def error_trace() -> dict[str, Any]:
    """Return a trace whose llm call failed with a stack."""
    return {
        "traces": [{"id": ERROR_TRACE, "name": "support chat", "user_id": "user-9"}],
        "spans": [
            {
                "trace_id": ERROR_TRACE,
                "id": ROOT,
                "name": "support chat",
                "kind": "chain",
                "start_time": _at(30),
                "end_time": _at(30, 5.0),
                "status": "error",
                "input": {"question": "Where is my parcel?"},
                "error": {
                    "type": "RateLimitError",
                    "message": "rate limit exceeded",
                    "stack": STACK,
                },
            },
        ],
    }


def xss_trace() -> dict[str, Any]:
    """Return a trace whose every field a page shows holds markup that must stay text."""
    payload = " ".join(XSS)
    return {
        "traces": [
            {
                "id": XSS_TRACE,
                "name": XSS[0],
                "thread_id": XSS[1],
                "user_id": XSS[2],
                "input": payload,
                "output": payload,
                "tags": [XSS[3]],
                "metadata": {"note": payload},
            }
        ],
        "spans": [
            {
                "trace_id": XSS_TRACE,
                "id": ROOT,
                "name": XSS[1],
                "kind": "chain",
                "start_time": _at(20),
                "end_time": _at(20, 1.0),
                "input": payload,
                "output": payload,
                "metadata": {XSS[0]: payload},
                "tags": [XSS[2]],
                "attributes": {"user.note": payload},
            },
            {
                "trace_id": XSS_TRACE,
                "id": GENERATE,
                "parent_id": ROOT,
                "name": XSS[2],
                "kind": "llm",
                "start_time": _at(20, 0.1),
                "end_time": _at(20, 0.9),
                "llm": {
                    "provider": "openai",
                    "model": XSS[3],
                    "input_messages": [{"role": "user", "content": payload}],
                    "output_messages": [{"role": "assistant", "content": payload}],
                },
                "usage": {"input_tokens": 10, "output_tokens": 10},
                "error": {"type": XSS[0], "message": payload, "stack": payload},
                "status": "error",
            },
            {
                "trace_id": XSS_TRACE,
                "id": RETRIEVE,
                "parent_id": ROOT,
                "name": "search",
                "kind": "retrieval",
                "start_time": _at(20, 0.1),
                "end_time": _at(20, 0.2),
                "retrieval": {
                    "query": payload,
                    "documents": [{"id": XSS[3], "content": payload, "score": 0.5}],
                },
            },
        ],
        "scores": [
            {
                "trace_id": XSS_TRACE,
                "name": XSS[0],
                "value": XSS[1],
                "reason": payload,
                "source": "human",
                "author": XSS[2],
            }
        ],
    }


def seed(server: LiveServer) -> None:
    """Store a small day of the shop bot: a three-turn thread, an error, scores and hostile text."""
    turns = [
        ("How long do I have to return an item?", "You have 30 days to return an item."),
        ("Do you ship to Norway?", "Yes, we ship to 40 countries, Norway included."),
        ("Where is order A-1001?", "Order A-1001 has shipped."),
    ]
    for index, (question, answer) in enumerate(turns):
        trace_id = RAG_TRACE if index == 0 else f"{index:032x}"
        ingest(server, rag_turn(trace_id, 90 - index * 10, question, answer), PROJECT)
    ingest(server, error_trace(), PROJECT)
    ingest(server, xss_trace(), PROJECT)
    ingest(
        server,
        {
            "scores": [
                {
                    "trace_id": RAG_TRACE,
                    "name": "helpful",
                    "value": True,
                    "source": "human",
                    "author": "dana",
                },
                {
                    "trace_id": RAG_TRACE,
                    "span_id": GENERATE,
                    "name": "faithfulness",
                    "value": 0.9,
                    "source": "judge",
                },
                {"thread_id": THREAD, "name": "resolved", "value": "yes", "source": "human"},
            ]
        },
        PROJECT,
    )
