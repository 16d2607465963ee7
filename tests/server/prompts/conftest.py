"""An in-process server on each dialect, for the prompts API."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from daytwo.config import Settings
from daytwo.server.app import create_app


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, data_dir=tmp_path))
    with TestClient(app) as client:
        yield client
