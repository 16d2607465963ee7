"""Fixtures for the model clients: the fake OpenAI provider, and span capture from the SDK tests."""

from collections.abc import Iterator

import pytest

import daytwo
from tests.doubles.openai_server import FakeOpenAIServer
from tests.sdk.conftest import sink, traced

__all__ = ["openai_server", "sink", "traced"]


@pytest.fixture(autouse=True)
def _untraced() -> None:
    # Tests that do not capture spans send them nowhere (``traced`` turns tracing on).
    daytwo.configure(enabled=False)


@pytest.fixture(scope="session")
def _shared_openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def openai_server(_shared_openai_server: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """Return the fake provider with no requests recorded, no replies queued, no responder."""
    _shared_openai_server.reset()
    yield _shared_openai_server
    _shared_openai_server.responder = None
