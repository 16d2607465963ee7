"""Back-pressure: a full commit queue answers 503 with Retry-After at once."""

import threading
from collections.abc import Sequence
from pathlib import Path

from fastapi.testclient import TestClient

from daytwo.config import Settings
from daytwo.server.app import create_app
from daytwo.storage.writer import Batch, WriteSummary

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _spans(count: int) -> dict[str, list[dict[str, str]]]:
    return {"spans": [{"trace_id": TRACE, "id": f"{i + 1:016x}"} for i in range(count)]}


def test_a_full_queue_answers_503_with_retry_after(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, max_pending_spans=10)
    app = create_app(settings)
    release, entered = threading.Event(), threading.Event()

    with TestClient(app) as client:
        committer = app.state.services.committer
        write = committer._write

        def gated(batches: Sequence[Batch]) -> WriteSummary:
            entered.set()
            release.wait(30)
            return write(batches)

        committer._write = gated
        first: dict[str, int] = {}
        sender = threading.Thread(
            target=lambda: first.update(
                status=client.post("/api/v1/ingest", json=_spans(8)).status_code
            )
        )
        sender.start()
        assert entered.wait(30)

        refused = client.post("/api/v1/ingest", json=_spans(5))
        release.set()
        sender.join(30)
        stats = client.get("/api/v1/server/stats").json()

    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "overloaded"
    assert first["status"] == 200
    assert stats["overloaded_requests"] == 1
    assert stats["committed_records"] == 8
