"""Fixtures for the integrations: a fake OpenAI provider on loopback, and traced OpenAI clients.

Spans are captured with the ``traced`` fixture of ``tests/sdk/conftest.py``:
a loopback sink that records what the SDK's exporter sends.
"""

from collections.abc import Iterator

import pytest

from tests.doubles.openai_server import FakeOpenAIServer


@pytest.fixture(scope="session")
def _shared_openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def openai_server(_shared_openai_server: FakeOpenAIServer) -> FakeOpenAIServer:
    """Return the fake OpenAI provider, with no requests recorded and no replies queued."""
    _shared_openai_server.reset()
    return _shared_openai_server
