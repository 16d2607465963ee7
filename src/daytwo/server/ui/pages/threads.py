"""Threads: a project's conversations, and one conversation turn by turn.

A turn is one trace of the thread. Its input is shown as the user's message
and its output as the assistant's: the text itself when the payload is a
string or an object such as ``{"question": "..."}``, pretty JSON otherwise.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import QueryParams

from daytwo.model.views import Page, ThreadSummary, TraceSummary
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.ui.pages.errors import PageError, not_found
from daytwo.server.ui.templating import pretty_json, render
from daytwo.storage import threads, trees
from daytwo.storage.filters import InvalidQueryError
from daytwo.storage.paging import MAX_CURSOR_CHARS
from daytwo.storage.threads import ThreadFilter, ThreadSort
from daytwo.storage.trees import TreeOptions

router = APIRouter(include_in_schema=False)

THREADS_PER_PAGE = 50
TURNS_PER_PAGE = 50
# The keys under which applications commonly put the text of a message.
INPUT_KEYS = ("question", "input", "query", "message", "prompt", "content", "text")
OUTPUT_KEYS = ("answer", "output", "response", "completion", "content", "text", "message")


@dataclass(frozen=True, slots=True)
class ThreadListing:
    """The sort, order, page and filter of a thread listing, as its URL gives them."""

    sort: ThreadSort = ThreadSort.LAST_TIME
    descending: bool = True
    cursor: str | None = None
    user_id: str | None = None

    @classmethod
    def parse(cls, params: QueryParams) -> "ThreadListing":
        """Read the listing from ``params``; a value that cannot be used is an error."""
        sort_text = params.get("sort") or ThreadSort.LAST_TIME.value
        try:
            sort = ThreadSort(sort_text)
        except ValueError:
            known = ", ".join(each.value for each in ThreadSort)
            raise InvalidQueryError(
                f"unknown sort {sort_text!r}; expected one of: {known}"
            ) from None
        order = params.get("order") or "desc"
        if order not in ("asc", "desc"):
            raise InvalidQueryError(f"unknown order {order!r}; expected asc or desc")
        cursor = params.get("cursor") or None
        if cursor is not None and len(cursor) > MAX_CURSOR_CHARS:
            raise InvalidQueryError(f"the cursor is longer than {MAX_CURSOR_CHARS} characters")
        return cls(sort, order == "desc", cursor, params.get("user") or None)

    def query(self) -> dict[str, str]:
        """Return the listing as URL parameters, without the page."""
        wanted = {"sort": self.sort.value, "order": "desc" if self.descending else "asc"}
        return {**wanted, "user": self.user_id} if self.user_id else wanted


@dataclass(frozen=True, slots=True)
class Shown:
    """A payload ready to show: readable text, or JSON to show as code."""

    text: str
    is_json: bool


@dataclass(frozen=True, slots=True)
class Turn:
    """One trace of a thread, with its input and output ready to show."""

    trace: TraceSummary
    number: int
    input: Shown | None
    output: Shown | None


@router.get("/projects/{project}/threads", response_class=HTMLResponse)
def thread_list(request: Request, services: ServicesDep, project: str) -> HTMLResponse:
    """List the project's threads, latest active first unless sorted otherwise."""
    project_id = _project_id(services, project)
    page = Page[ThreadSummary](items=[])
    listing, error = ThreadListing(), None
    try:
        listing = ThreadListing.parse(request.query_params)
        found = ThreadFilter(user_id=listing.user_id)
        page = threads.list_threads(
            services.engine,
            project_id,
            found,
            sort=listing.sort,
            descending=listing.descending,
            limit=THREADS_PER_PAGE,
            cursor=listing.cursor,
        )
    except InvalidQueryError as problem:
        error = str(problem)
    return render(
        request,
        "threads.html",
        status_code=400 if error else 200,
        project=project,
        section="threads",
        page=page,
        listing=listing,
        current=listing.query(),
        error=error,
    )


@router.get("/projects/{project}/threads/{thread_id:path}", response_class=HTMLResponse)
def thread_page(
    request: Request, services: ServicesDep, project: str, thread_id: str
) -> HTMLResponse:
    """Show one thread as a conversation, oldest turn first."""
    project_id = _project_id(services, project)
    cursor = request.query_params.get("cursor") or None
    try:
        view = threads.thread_view(
            services.engine, project_id, thread_id, limit=TURNS_PER_PAGE, cursor=cursor
        )
    except InvalidQueryError as problem:
        raise PageError(400, f"cannot page thread {thread_id!r}: {problem}") from None
    if view is None:
        raise not_found(f"no thread {thread_id!r} in project {project!r}")
    first = _first_turn_number(request.query_params)
    turns = [
        _turn(services, project_id, trace, first + index)
        for index, trace in enumerate(view.traces.items)
    ]
    return render(
        request,
        "thread.html",
        project=project,
        section="threads",
        view=view,
        turns=turns,
        first=first,
        return_to=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )


def _project_id(services: Services, project: str) -> int:
    project_id = services.projects.lookup(project)
    if project_id is None:
        raise not_found(f"no project named {project!r}")
    return project_id


def _first_turn_number(params: QueryParams) -> int:
    """Return the number of the first turn on this page, which the next-page link carries."""
    text = params.get("from_turn", "1")
    return int(text) if text.isdigit() and 0 < int(text) < 10**9 else 1


def _turn(services: Services, project_id: int, trace: TraceSummary, number: int) -> Turn:
    """Return a turn with its whole input and output, which the listing only previews."""
    tree = trees.trace_tree(services.engine, project_id, trace.id, TreeOptions(limit=1))
    if tree is None:
        return Turn(trace, number, _preview(trace.input_preview), _preview(trace.output_preview))
    return Turn(trace, number, shown(tree.input, INPUT_KEYS), shown(tree.output, OUTPUT_KEYS))


def _preview(text: str | None) -> Shown | None:
    return None if text is None else Shown(text, is_json=False)


def shown(value: Any, keys: tuple[str, ...]) -> Shown | None:
    """Return a payload as text when it is text or one text field of an object, else as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return Shown(value, is_json=False)
    text = _message_text(value, keys)
    if text is not None:
        return Shown(text, is_json=False)
    return Shown(pretty_json(value), is_json=True)


def _message_text(value: Any, keys: tuple[str, ...]) -> str | None:
    """Return the text of ``{"question": "..."}`` or of a chat's last message, if that is all."""
    if isinstance(value, list) and value and isinstance(value[-1], Mapping):
        return _message_text(value[-1], keys)
    if not isinstance(value, Mapping):
        return None
    if "messages" in value and len(value) == 1:
        return _message_text(value["messages"], keys)
    texts = [value[key] for key in keys if isinstance(value.get(key), str)]
    others = set(value) - set(keys) - {"role"}
    return texts[0] if texts and not others else None
