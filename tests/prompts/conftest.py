"""Fixtures for the prompt SDK: a fake prompts API, a fake clock, and span capture."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from daytwo.prompts import linking
from daytwo.prompts.client import PromptClient
from tests.sdk.conftest import sink, traced

__all__ = ["FakeClock", "FakePromptServer", "sink", "traced"]


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakePromptServer:
    """The two read routes of the prompts API, over an in-memory store, as an httpx transport."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, int], dict[str, Any]] = {}
        self.labels: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests = 0
        self.down = False

    def add(self, name: str, number: int, template: Any, **extra: Any) -> None:
        self.versions[(name, number)] = {
            "name": name,
            "version": number,
            "hash": f"{number:064x}",
            "type": "text" if isinstance(template, str) else "chat",
            "template": template,
            "variables": extra.pop("variables", []),
            "model": extra.pop("model", None),
            "parameters": extra.pop("parameters", None),
            "author": None,
            "message": None,
            "created_at": "2026-03-01T00:00:00Z",
        }

    def point(
        self, name: str, label: str, number: int, split: tuple[int, float] | None = None
    ) -> None:
        self.labels[(name, label)] = {
            "label": label,
            "version": number,
            "split_version": split[0] if split else None,
            "split_percent": split[1] if split else None,
            "updated_by": None,
            "updated_at": "2026-03-01T00:00:00Z",
        }

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        parts = request.url.path.split("/")  # /api/v1/projects/P/prompts/NAME/KIND/SELECTOR
        name, kind, selector = parts[6], parts[7], parts[8]
        if kind == "versions" and (name, int(selector)) in self.versions:
            return _json(self.versions[(name, int(selector))])
        if kind == "labels" and (name, selector) in self.labels:
            label = self.labels[(name, selector)]
            split = label["split_version"]
            return _json(
                {
                    "label": label,
                    "target": self.versions[(name, label["version"])],
                    "split_target": self.versions[(name, split)] if split else None,
                }
            )
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no such"}})


def _json(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200, content=json.dumps(body), headers={"content-type": "application/json"}
    )


@pytest.fixture(autouse=True)
def _no_pending_prompt() -> Iterator[None]:
    # A prompt rendered outside a span waits in this thread's context; drop it.
    yield
    linking.take_pending(None)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server() -> FakePromptServer:
    fake = FakePromptServer()
    fake.add("support", 1, "Help with {{ product }}.")
    fake.add("support", 2, "Help with {{ product }}, {{ tone }}.")
    fake.point("support", "production", 1)
    return fake


@pytest.fixture
def client(server: FakePromptServer, clock: FakeClock) -> Iterator[PromptClient]:
    made = PromptClient(
        url="http://prompts.test", project="shop", ttl=60, clock=clock, transport=server.transport()
    )
    yield made
    made.close()
