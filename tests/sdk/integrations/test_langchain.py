"""The LangChain callback handler, on real LangGraph graphs, chains, tools and retrievers."""

import asyncio
import operator
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict
from uuid import uuid4

import httpx
import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

import daytwo
from daytwo.sdk.integrations import langchain as daytwo_langchain
from daytwo.sdk.integrations.langchain import DaytwoCallbackHandler
from tests.conftest import LiveServer
from tests.sdk.conftest import Sink


def spans_of(sink: Sink) -> dict[str, dict[str, Any]]:
    """Flush and return the spans received, by name (each name once)."""
    result = daytwo.flush(timeout=10)
    assert (result.failed, result.pending) == (0, 0), result
    spans = sink.spans()
    by_name = {span["name"]: span for span in spans}
    assert len(by_name) == len(spans), [span["name"] for span in spans]
    return by_name


def all_spans(sink: Sink) -> list[dict[str, Any]]:
    result = daytwo.flush(timeout=10)
    assert (result.failed, result.pending) == (0, 0), result
    return sink.spans()


@tool
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@tool
def divide(a: int, b: int) -> float:
    """Divide a by b."""
    return a / b


def calculator_graph(model: GenericFakeChatModel, tools: list[Any]) -> CompiledStateGraph[Any]:
    """Return an agent loop: the model node, then the tool node while it asks for tools."""

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    def route(state: MessagesState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools, handle_tool_errors=False))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph.compile()


def scripted_model(*replies: AIMessage) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(replies))


def asks_to_add() -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "call-1"}],
        usage_metadata={
            "input_tokens": 120,
            "output_tokens": 30,
            "total_tokens": 150,
            "input_token_details": {"cache_read": 100},
            "output_token_details": {"reasoning": 20},
        },
    )


def run_calculator(handler: DaytwoCallbackHandler, thread_id: str = "conversation-1") -> Any:
    graph = calculator_graph(scripted_model(asks_to_add(), AIMessage(content="5")), [add])
    config: RunnableConfig = {"callbacks": [handler], "configurable": {"thread_id": thread_id}}
    return graph.invoke({"messages": [HumanMessage("What is 2 + 3?")]}, config=config)


def test_a_graph_run_is_a_tree_of_node_model_and_tool_spans(traced: Sink) -> None:
    run_calculator(DaytwoCallbackHandler())
    spans = all_spans(traced)
    by_id = {span["id"]: span for span in spans}

    def path(span: dict[str, Any]) -> str:
        names = [span["name"]]
        while span.get("parent_id"):
            span = by_id[span["parent_id"]]
            names.append(span["name"])
        return "/".join(reversed(names))

    assert sorted((path(span), span["kind"]) for span in spans) == [
        ("LangGraph", "chain"),
        ("LangGraph/agent", "chain"),
        ("LangGraph/agent", "chain"),
        ("LangGraph/agent/GenericFakeChatModel", "llm"),
        ("LangGraph/agent/GenericFakeChatModel", "llm"),
        ("LangGraph/agent/route", "chain"),
        ("LangGraph/agent/route", "chain"),
        ("LangGraph/tools", "chain"),
        ("LangGraph/tools/add", "tool"),
    ]
    assert len({span["trace_id"] for span in spans}) == 1
    assert all(span["status"] == "ok" for span in spans)


def test_graph_nodes_carry_their_step_and_the_run_its_thread(traced: Sink) -> None:
    run_calculator(DaytwoCallbackHandler(), thread_id="conversation-7")
    spans = all_spans(traced)

    root = next(span for span in spans if span["name"] == "LangGraph")
    assert root["thread_id"] == "conversation-7"
    tools = next(span for span in spans if span["name"] == "tools")
    assert tools["metadata"] == {
        "thread_id": "conversation-7",
        "langgraph_node": "tools",
        "langgraph_step": 2,
    }


def test_model_spans_hold_exact_messages_tool_calls_and_usage(traced: Sink) -> None:
    run_calculator(DaytwoCallbackHandler())
    models = [span for span in all_spans(traced) if span["kind"] == "llm"]
    first, second = sorted(models, key=lambda span: span["start_time"])

    assert first["llm"]["provider"] == "genericfakechatmodel"
    assert first["llm"]["input_messages"] == [{"role": "user", "content": "What is 2 + 3?"}]
    assert first["llm"]["output_messages"] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "call-1", "name": "add", "arguments": {"a": 2, "b": 3}}],
        }
    ]
    assert first["usage"] == {
        "input_tokens": 120,
        "output_tokens": 30,
        "total_tokens": 150,
        "cache_read_tokens": 100,
        "reasoning_tokens": 20,
    }
    assert second["llm"]["input_messages"][1:] == [
        first["llm"]["output_messages"][0],
        {"role": "tool", "content": "5", "name": "add", "tool_call_id": "call-1"},
    ]
    assert second["llm"]["output_messages"] == [{"role": "assistant", "content": "5"}]


def test_tool_spans_hold_name_description_arguments_and_result(traced: Sink) -> None:
    run_calculator(DaytwoCallbackHandler())
    span = spans_of_kind(traced, "tool")[0]

    assert span["name"] == "add"
    assert span["tool"] == {
        "name": "add",
        "description": "Add two whole numbers.",
        "arguments": {"a": 2, "b": 3},
        "result": "5",
    }


def spans_of_kind(sink: Sink, kind: str) -> list[dict[str, Any]]:
    return [span for span in all_spans(sink) if span["kind"] == kind]


def test_a_failing_tool_marks_its_span_and_the_nodes_around_it(traced: Sink) -> None:
    asks_to_divide = AIMessage(
        content="", tool_calls=[{"name": "divide", "args": {"a": 1, "b": 0}, "id": "call-9"}]
    )
    graph = calculator_graph(scripted_model(asks_to_divide), [divide])

    with pytest.raises(ZeroDivisionError):
        graph.invoke(
            {"messages": [HumanMessage("1 / 0?")]}, {"callbacks": [DaytwoCallbackHandler()]}
        )

    spans = {span["name"]: span for span in all_spans(traced) if span["name"] != "agent"}
    for name in ("divide", "tools", "LangGraph"):
        assert spans[name]["status"] == "error", name
        assert spans[name]["error"]["type"] == "ZeroDivisionError"
    assert spans["divide"]["tool"]["arguments"] == {"a": 1, "b": 0}
    assert "result" not in spans["divide"]["tool"]


def test_the_graph_nests_under_the_current_daytwo_span(traced: Sink) -> None:
    @daytwo.track
    def answer(question: str) -> Any:
        return run_calculator(DaytwoCallbackHandler(), thread_id="conversation-3")

    answer("What is 2 + 3?")
    spans = spans_of(_only_top(traced))

    assert spans["LangGraph"]["parent_id"] == spans["answer"]["id"]
    assert spans["LangGraph"]["trace_id"] == spans["answer"]["trace_id"]
    # The thread travels with the root span of the trace, which is now the tracked function.
    assert spans["answer"]["thread_id"] == "conversation-3"


def _only_top(sink: Sink) -> Sink:
    """Return ``sink`` after leaving out spans below the graph's root, for ``spans_of``."""
    daytwo.flush(timeout=10)
    top = {"answer", "LangGraph"}
    sink.batches = [
        {**batch, "spans": [span for span in batch["spans"] if span["name"] in top]}
        for batch in sink.batches
    ]
    return sink


def test_an_async_graph_run_nests_like_a_sync_one(traced: Sink) -> None:
    graph = calculator_graph(scripted_model(asks_to_add(), AIMessage(content="5")), [add])
    handler = DaytwoCallbackHandler()

    async def main() -> None:
        with daytwo.span("request"):
            await graph.ainvoke(
                {"messages": [HumanMessage("What is 2 + 3?")]}, {"callbacks": [handler]}
            )

    asyncio.run(main())
    spans = all_spans(traced)
    by_id = {span["id"]: span for span in spans}

    request = next(span for span in spans if span["name"] == "request")
    graph_root = next(span for span in spans if span["name"] == "LangGraph")
    tool_span = next(span for span in spans if span["kind"] == "tool")
    assert graph_root["parent_id"] == request["id"]
    assert by_id[tool_span["parent_id"]]["name"] == "tools"
    assert len(spans) == 10


class Fanout(TypedDict):
    question: str
    answers: Annotated[list[str], operator.add]


def test_parallel_nodes_on_worker_threads_nest_under_the_graph(traced: Sink) -> None:
    def branch(name: str) -> Any:
        def node(state: Fanout) -> dict[str, list[str]]:
            reply: RunnableLambda[str, str] = RunnableLambda(
                lambda text: f"{name}: {text}", name=f"{name}-step"
            )
            return {"answers": [reply.invoke(state["question"])]}

        return node

    graph = StateGraph(Fanout)
    for name in ("left", "right"):
        graph.add_node(name, branch(name))
        graph.add_edge(START, name)
        graph.add_edge(name, END)
    result = graph.compile().invoke(
        {"question": "why?", "answers": []}, {"callbacks": [DaytwoCallbackHandler()]}
    )

    assert sorted(result["answers"]) == ["left: why?", "right: why?"]
    spans = spans_of(traced)
    for name in ("left", "right"):
        assert spans[name]["parent_id"] == spans["LangGraph"]["id"]
        assert spans[f"{name}-step"]["parent_id"] == spans[name]["id"]


def test_streaming_records_the_time_to_first_token(traced: Sink) -> None:
    model = scripted_model(AIMessage(content="one two three"))
    chunks = list(model.stream("Count to three.", {"callbacks": [DaytwoCallbackHandler()]}))

    assert "".join(str(chunk.content) for chunk in chunks) == "one two three"
    span = spans_of(traced)["GenericFakeChatModel"]
    assert span["llm"]["time_to_first_token_ms"] >= 0
    assert span["llm"]["output_messages"][0]["content"] == "one two three"


class ShelfRetriever(BaseRetriever):
    """Return the books whose title shares a word with the query."""

    books: list[Document]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        words = set(query.lower().split())
        return [book for book in self.books if words & set(book.page_content.lower().split())]


def test_retriever_spans_hold_the_query_and_documents(traced: Sink) -> None:
    retriever = ShelfRetriever(
        books=[
            Document("Dune", id="b1", metadata={"score": 0.9, "year": 1965}),
            Document("Emma", id="b2"),
            Document("Dune Messiah", id="b3", metadata={"year": 1969}),
        ]
    )
    found = retriever.invoke("dune", {"callbacks": [DaytwoCallbackHandler()]})

    assert [book.id for book in found] == ["b1", "b3"]
    span = spans_of(traced)["ShelfRetriever"]
    assert span["kind"] == "retrieval"
    assert span["retrieval"] == {
        "query": "dune",
        "documents": [
            {"id": "b1", "content": "Dune", "score": 0.9, "metadata": {"year": 1965}},
            {"id": "b3", "content": "Dune Messiah", "metadata": {"year": 1969}},
        ],
    }


def test_runs_that_never_end_are_ended_as_unfinished_once_too_many_are_open(
    traced: Sink,
) -> None:
    handler = DaytwoCallbackHandler(max_open_runs=2)
    runs = [uuid4() for _ in range(3)]
    for number, run_id in enumerate(runs):
        handler.on_chain_start({}, {}, run_id=run_id, name=f"stuck-{number}")

    assert handler.unfinished == 1
    assert [span["name"] for span in all_spans(traced)] == ["stuck-0"]
    assert traced.spans()[0]["attributes"] == {"daytwo.unfinished": True}

    for run_id in runs:
        handler.on_chain_end({}, run_id=run_id)
    assert sorted(span["name"] for span in all_spans(traced)) == ["stuck-0", "stuck-1", "stuck-2"]


@pytest.fixture
def instrumented() -> Iterator[DaytwoCallbackHandler]:
    handler = daytwo_langchain.instrument()
    yield handler
    daytwo_langchain.uninstrument()


def test_instrument_traces_runs_that_were_given_no_handler(
    traced: Sink, instrumented: DaytwoCallbackHandler
) -> None:
    model = scripted_model(AIMessage(content="hello"), AIMessage(content="hello again"))
    graph = calculator_graph(model, [add])
    graph.invoke({"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": "t-9"}})

    spans = spans_of(traced)
    assert set(spans) == {"LangGraph", "agent", "GenericFakeChatModel", "route"}
    assert spans["LangGraph"]["thread_id"] == "t-9"

    daytwo_langchain.uninstrument()
    graph.invoke({"messages": [HumanMessage("hi")]})
    assert len(all_spans(traced)) == 4


def test_a_graph_run_arrives_whole_at_a_live_server(live_server: LiveServer, tmp_path: Any) -> None:
    daytwo.configure(
        url=live_server.url,
        project="graphs",
        spool_dir=str(tmp_path / "spool"),
        flush_interval=0.05,
    )
    try:
        with daytwo.trace("turn") as turn:
            run_calculator(DaytwoCallbackHandler(), thread_id="conversation-5")
        assert daytwo.flush(timeout=10).failed == 0
    finally:
        daytwo.shutdown()
        daytwo.configure(enabled=False)

    answer = httpx.get(f"{live_server.url}/api/v1/projects/graphs/traces/{turn.trace_id}")
    assert answer.status_code == 200, answer.text
    trace = answer.json()
    names = [(span["depth"], span["name"], span["kind"]) for span in trace["spans"]]
    assert names[:3] == [(0, "turn", "chain"), (1, "LangGraph", "chain"), (2, "agent", "chain")]
    assert len(names) == 10
    summary = trace["trace"]
    assert summary["thread_id"] == "conversation-5"
    assert (summary["llm_count"], summary["error_count"]) == (2, 0)
    assert summary["total_tokens"] == 150
