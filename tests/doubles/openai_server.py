"""Test double: a deterministic OpenAI-compatible provider served over real HTTP on loopback.

``FakeOpenAIServer`` answers the chat completions, Responses, embeddings and
models endpoints the way the OpenAI API does, so that the real ``openai``
client (and the libraries built on it) can talk to it unchanged:

    with FakeOpenAIServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
        server.script(Reply(content='{"score": 0.8'), Reply(status=429))
        ...
        assert server.requests[0].body["model"] == "gpt-4o-mini"

Without a script it echoes the last user message (``"echo: <text>"``).
Replies are taken, in order, from the scripted queue, then from the
``responder`` callable, then the echo. Tokens are counted as whitespace
separated words, so every count is predictable; prompt tokens include cached
ones and completion tokens include reasoning ones, as the OpenAI API counts.
"""

import base64
import hashlib
import http.server
import itertools
import json
import re
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

CREATED = 1_700_000_000
DEFAULT_MODELS = ("gpt-4o-mini", "text-embedding-3-small")
DEFAULT_DIMENSIONS = 16

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    408: ("timeout_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass(frozen=True)
class ToolCall:
    """A tool call the fake model asks for; ``arguments`` is sent as a JSON string."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=(",", ":"))


@dataclass(frozen=True)
class Usage:
    """Token counts that replace the counted ones; cached and reasoning tokens are extra detail."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    ``content`` None means the echo (unless the reply asks for tool calls).
    A ``status`` of 400 or more answers with an OpenAI error body instead;
    ``error`` overrides that body's ``error`` object. ``delay`` waits before
    answering, ``chunk_delay`` between streamed chunks. ``logprobs`` is the
    ``choices[0].logprobs.content`` list of a chat completion, sent only when
    the request asks for ``logprobs``.
    """

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    status: int = 200
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    model: str | None = None
    finish_reason: str | None = None
    logprobs: tuple[dict[str, Any], ...] | None = None


@dataclass(frozen=True)
class Request:
    """One request the server received, with its JSON body (None when it had none)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


Responder = Callable[[Request], Reply | None]


class FakeOpenAIServer:
    """A fake OpenAI API on ``127.0.0.1``; use it as a context manager or ``start()``/``stop()``.

    ``latency`` is added to every answer (a benchmark's provider delay).
    """

    def __init__(
        self,
        *,
        models: Iterable[str] = DEFAULT_MODELS,
        latency: float = 0.0,
        responder: Responder | None = None,
    ) -> None:
        self.models = list(models)
        self.latency = latency
        self.responder = responder
        self.requests: list[Request] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """Return the URL to give an OpenAI client, ending in ``/v1``."""
        return f"{self.url}/v1"

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the fake OpenAI server is not started; call start() first")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeOpenAIServer":
        """Listen on a free loopback port and serve from a background thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; delayed answers still waiting are cut short."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next model requests (chat, responses or embeddings), in order."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        """Forget recorded requests and queued replies."""
        with self._lock:
            self.requests.clear()
            self._script.clear()

    def requests_to(self, path: str) -> list[Request]:
        """Return the requests received on ``path`` (e.g. ``/v1/chat/completions``)."""
        with self._lock:
            return [request for request in self.requests if request.path == path]

    # The handler's side.

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_reply(self, request: Request) -> Reply:
        with self._lock:
            if self._script:
                return self._script.pop(0)
        if self.responder is not None:
            reply = self.responder(request)
            if reply is not None:
                return reply
        return Reply()

    def _wait(self, seconds: float) -> bool:
        """Wait ``seconds``; return False if the server is stopping meanwhile."""
        return seconds <= 0 or not self._stopping.wait(seconds)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake_{next(self._ids)}"

    def _handle(self, handler: "_Handler", method: str) -> None:
        path = handler.path.split("?", 1)[0]
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._record(Request(method, path, dict(handler.headers), raw.decode(errors="replace")))
            handler.send_json(400, _error_body(400, "the request body is not valid JSON"))
            return
        request = Request(method, path, dict(handler.headers), body)
        self._record(request)

        if method == "GET" and path == "/v1/models":
            handler.send_json(200, self._models())
            return
        answer = _ROUTES.get(path) if method == "POST" else None
        if answer is None:
            handler.send_json(404, _error_body(404, f"no route for {method} {path}"))
            return
        if not isinstance(body, dict):
            handler.send_json(400, _error_body(400, "the request body must be a JSON object"))
            return
        reply = self._next_reply(request)
        if not self._wait(self.latency + reply.delay):
            return
        if reply.status >= 400:
            error = {"error": reply.error} if reply.error is not None else None
            handler.send_json(reply.status, error or _error_body(reply.status), reply.headers)
            return
        answer(self, handler, body, reply)

    def _models(self) -> dict[str, Any]:
        data = [
            {"id": model, "object": "model", "created": CREATED, "owned_by": "daytwo-tests"}
            for model in self.models
        ]
        return {"object": "list", "data": data}

    # Chat completions.

    def _chat(self, handler: "_Handler", body: dict[str, Any], reply: Reply) -> None:
        if reply.tool_calls and not body.get("tools"):
            handler.send_json(
                400, _error_body(400, "scripted tool calls need tools in the request")
            )
            return
        messages = body.get("messages") or []
        content = _reply_content(reply, _last_user_text(messages))
        calls = [(call.id or self._new_id("call"), call) for call in reply.tool_calls]
        usage = _usage(
            reply, sum(count_tokens(_text(m.get("content"))) for m in messages), content, calls
        )
        model = reply.model or body.get("model") or self.models[0]
        finish = reply.finish_reason or ("tool_calls" if calls else "stop")
        completion_id = self._new_id("chatcmpl")
        if body.get("stream"):
            with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            frame = {"id": completion_id, "object": "chat.completion.chunk", "created": CREATED}
            frame |= {"model": model, "system_fingerprint": "fp_fake"}
            if with_usage:
                # Asked for usage, every chunk says "usage": null and one last chunk has the counts.
                frame["usage"] = None
            chunks = _chat_chunks(content, calls, finish, usage.chat() if with_usage else None)
            events = [(None, {**frame, **chunk}) for chunk in chunks]
            handler.send_events([*events, (None, "[DONE]")], reply.chunk_delay)
            return
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if calls:
            message["tool_calls"] = [_chat_tool_call(call_id, call) for call_id, call in calls]
        logprobs = None
        if reply.logprobs is not None and body.get("logprobs"):
            logprobs = {"content": list(reply.logprobs), "refusal": None}
        handler.send_json(
            200,
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": CREATED,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {"index": 0, "message": message, "finish_reason": finish, "logprobs": logprobs}
                ],
                "usage": usage.chat(),
            },
        )

    # The Responses API.

    def _responses(self, handler: "_Handler", body: dict[str, Any], reply: Reply) -> None:
        if reply.tool_calls and not body.get("tools"):
            handler.send_json(
                400, _error_body(400, "scripted tool calls need tools in the request")
            )
            return
        items = body.get("input")
        items = [{"role": "user", "content": items}] if isinstance(items, str) else items or []
        content = _reply_content(reply, _last_user_text(items))
        calls = [(call.id or self._new_id("call"), call) for call in reply.tool_calls]
        words = count_tokens(body.get("instructions") or "")
        words += sum(count_tokens(_text(item.get("content", item.get("output")))) for item in items)
        usage = _usage(reply, words, content, calls)

        output: list[dict[str, Any]] = []
        if content is not None:
            output.append(_output_message(self._new_id("msg"), content))
        for call_id, call in calls:
            output.append(_function_call_item(self._new_id("fc"), call_id, call))
        response = {
            "id": self._new_id("resp"),
            "object": "response",
            "created_at": CREATED,
            "status": "completed",
            "model": reply.model or body.get("model") or self.models[0],
            "output": output,
            "usage": usage.responses(),
            "instructions": body.get("instructions"),
            "tools": body.get("tools") or [],
            "tool_choice": body.get("tool_choice") or "auto",
            "parallel_tool_calls": True,
            "temperature": body.get("temperature"),
            "top_p": body.get("top_p"),
            "metadata": {},
            "error": None,
            "incomplete_details": None,
            "text": {"format": {"type": "text"}},
        }
        if body.get("stream"):
            handler.send_events(_response_events(response), reply.chunk_delay)
        else:
            handler.send_json(200, response)

    # Embeddings.

    def _embeddings(self, handler: "_Handler", body: dict[str, Any], reply: Reply) -> None:
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        dimensions = int(body.get("dimensions") or DEFAULT_DIMENSIONS)
        base64_wanted = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = embedding(text if isinstance(text, str) else json.dumps(text), dimensions)
            encoded: Any = vector
            if base64_wanted:
                encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = reply.usage.input_tokens
        if tokens is None:
            tokens = sum(count_tokens(t) if isinstance(t, str) else len(t) for t in texts)
        handler.send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": reply.model or body.get("model") or self.models[-1],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


_Answer = Callable[[FakeOpenAIServer, "_Handler", dict[str, Any], Reply], None]
_ROUTES: dict[str, _Answer] = {
    "/v1/chat/completions": FakeOpenAIServer._chat,
    "/v1/responses": FakeOpenAIServer._responses,
    "/v1/embeddings": FakeOpenAIServer._embeddings,
}


def count_tokens(text: str) -> int:
    """Return the fake tokenizer's count: whitespace separated words."""
    return len(text.split())


def embedding(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """Return the unit vector the server gives ``text``, a hash: equal texts, equal vectors."""
    digest = hashlib.shake_256(text.encode()).digest(4 * dimensions)
    raw = [n / 2**31 - 1.0 for n in struct.unpack(f"<{dimensions}I", digest)]
    norm = sum(x * x for x in raw) ** 0.5 or 1.0
    # Rounded to float32, so that vectors sent as base64 compare equal to these.
    return [struct.unpack("<f", struct.pack("<f", x / norm))[0] for x in raw]


class _Counts:
    def __init__(self, input: int, output: int, cached: int, reasoning: int) -> None:
        self.input, self.output, self.cached, self.reasoning = input, output, cached, reasoning

    def chat(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.input,
            "completion_tokens": self.output,
            "total_tokens": self.input + self.output,
            "prompt_tokens_details": {"cached_tokens": self.cached},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning},
        }

    def responses(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input,
            "input_tokens_details": {"cached_tokens": self.cached},
            "output_tokens": self.output,
            "output_tokens_details": {"reasoning_tokens": self.reasoning},
            "total_tokens": self.input + self.output,
        }


def _usage(
    reply: Reply, input_words: int, content: str | None, calls: list[tuple[str, ToolCall]]
) -> _Counts:
    scripted = reply.usage
    output_words = count_tokens(content or "")
    output_words += sum(count_tokens(call.arguments_json()) for _, call in calls)
    input_tokens = scripted.input_tokens
    if input_tokens is None:
        input_tokens = max(input_words, scripted.cached_tokens)
    output_tokens = scripted.output_tokens
    if output_tokens is None:
        output_tokens = output_words + scripted.reasoning_tokens
    return _Counts(input_tokens, output_tokens, scripted.cached_tokens, scripted.reasoning_tokens)


def _text(content: Any) -> str:
    """Return the text of a message's content: a string, or the text of its parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _reply_content(reply: Reply, user_text: str) -> str | None:
    if reply.content is not None:
        return reply.content
    return None if reply.tool_calls else f"echo: {user_text}"


def _pieces(text: str, size: int = 0) -> list[str]:
    """Split ``text`` into stream deltas: words with their spaces, or ``size`` characters."""
    if size:
        return [text[i : i + size] for i in range(0, len(text), size)]
    return [piece for piece in re.findall(r"\S*\s*", text) if piece]


def _chat_tool_call(call_id: str, call: ToolCall) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json()},
    }


def _chat_chunks(
    content: str | None,
    calls: list[tuple[str, ToolCall]],
    finish: str,
    usage: dict[str, Any] | None,
) -> Iterator[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return {"choices": [choice]}

    yield chunk({"role": "assistant", "content": "" if content is not None else None})
    for piece in _pieces(content or ""):
        yield chunk({"content": piece})
    for index, (call_id, call) in enumerate(calls):
        function = {"name": call.name, "arguments": ""}
        yield chunk(
            {
                "tool_calls": [
                    {"index": index, "id": call_id, "type": "function", "function": function}
                ]
            }
        )
        for piece in _pieces(call.arguments_json(), 16):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, finish)
    if usage is not None:
        yield {"choices": [], "usage": usage}


def _output_message(item_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _function_call_item(item_id: str, call_id: str, call: ToolCall) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": call.name,
        "arguments": call.arguments_json(),
        "status": "completed",
    }


def _response_events(response: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield the Responses API's stream events for ``response``, ending with completed."""
    numbers = itertools.count()

    def event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        return kind, {"type": kind, "sequence_number": next(numbers), **fields}

    started = {**response, "status": "in_progress", "output": [], "usage": None}
    yield event("response.created", response=started)
    yield event("response.in_progress", response=started)
    for index, item in enumerate(response["output"]):
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            part = {"type": "output_text", "text": "", "annotations": []}
            yield event("response.content_part.added", **where, content_index=0, part=part)
            for piece in _pieces(text):
                yield event(
                    "response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[]
                )
            yield event(
                "response.output_text.done", **where, content_index=0, text=text, logprobs=[]
            )
            yield event(
                "response.content_part.done", **where, content_index=0, part=item["content"][0]
            )
        else:
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            for piece in _pieces(item["arguments"], 16):
                yield event("response.function_call_arguments.delta", **where, delta=piece)
            yield event(
                "response.function_call_arguments.done", **where, arguments=item["arguments"]
            )
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.completed", response=response)


def _error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kind, code = _ERROR_TYPES.get(status, ("server_error", None))
    text = message or f"scripted error {status}"
    return {"error": {"message": text, "type": kind, "param": None, "code": code}}


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # A benchmark opens many connections at once; the default backlog of 5 would stall some.
    request_queue_size = 128
    fake: FakeOpenAIServer


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        try:
            self.server.fake._handle(self, method)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout, a closed stream): nothing left to answer.
            self.close_connection = True

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_events(self, events: Iterable[tuple[str | None, Any]], chunk_delay: float) -> None:
        """Send server-sent events with chunked transfer encoding, one chunk per event."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for index, (name, data) in enumerate(events):
            if index and not self.server.fake._wait(chunk_delay):
                break
            text = data if isinstance(data, str) else json.dumps(data)
            frame = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
            self._write_chunk(frame.encode())
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass
