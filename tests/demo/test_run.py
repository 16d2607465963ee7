"""``daytwo demo`` against a fake remote model: its own server, prices, and the judge's verdicts.

These runs reach the model through ``FakeOpenAIServer``, so they are quick and
need no local model; the real one is exercised in ``test_demo.py``.
"""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daytwo.demo import run
from daytwo.demo.run import JUDGED, PROJECT
from daytwo.evals.metric import ScoreResult
from daytwo.evals.runner import ExperimentResult, ItemRun
from tests.conftest import LiveServer
from tests.demo.recorded import get, judge_outcomes
from tests.doubles.openai_server import FakeOpenAIServer, Reply, Request

# One verdict that fits every schema the demo's judges ask for (a chunk's
# relevance, a 1-5 rating, the claims of an answer: none, so faithfulness is 1).
VERDICT = json.dumps({"reason": "a fake judge", "verdict": 1, "score": 4, "claims": []})


def judge_in_json(request: Request) -> Reply | None:
    """Answer the judges' JSON requests with a verdict; let the chatbot's calls be echoed."""
    asks_for_json = isinstance(request.body, dict) and "response_format" in request.body
    return Reply(content=VERDICT) if asks_for_json else None


@pytest.fixture
def model() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(responder=judge_in_json) as server:
        yield server


def demo(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``daytwo demo`` in a process of its own, with ``home`` as its home directory."""
    environment = {**os.environ, "HOME": str(home), **env}
    return subprocess.run(
        [sys.executable, "-m", "daytwo", "demo", "--exit", "--questions", "2", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_remote_model_keeps_its_price(
    live_server: LiveServer, model: FakeOpenAIServer, tmp_path: Path
) -> None:
    done = demo(
        *("--url", live_server.url, "--model-url", model.base_url, "--model", "gpt-4o-mini"),
        home=tmp_path,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "priced" not in done.stdout
    with live_server.client() as http:
        assert http.get("/api/v1/prices").json()["overrides"] == []
    chats = get(live_server.url, "/spans", kind="llm", model="gpt-4o-mini", limit=100)["items"]
    assert chats
    assert all(span["total_cost"] > 0 for span in chats)
    # Each item's trace holds the bot's model call, so the experiment knows what it cost.
    [experiment] = get(live_server.url, "/experiments")
    assert experiment["total_cost"] > 0
    assert all(
        outcome == "scored"
        for outcomes in judge_outcomes(live_server.url).values()
        for outcome in outcomes.values()
    )


def test_the_demo_starts_a_server_of_its_own_and_stops_it(
    model: FakeOpenAIServer, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = {"DAYTWO_DATA_DIR": str(tmp_path / "data"), "DAYTWO_DATABASE_URL": ""}

    done = demo(
        *("--url", url, "--model-url", model.base_url, "--model", "gpt-4o-mini"),
        home=tmp_path,
        **settings,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"started daytwo serve on port {url.rsplit(':', 1)[1]}" in done.stdout
    assert f"{url}/projects/{PROJECT}/traces" in done.stdout
    assert not healthy(url)
    assert (tmp_path / ".cache" / "daytwo-demo-server.log").exists()
    # What the demo recorded is in the server's database: serve it again and look.
    again = LiveServer(f"sqlite:///{tmp_path / 'data' / 'daytwo.sqlite'}", tmp_path, {})
    try:
        again.start()
        with again.client() as http:
            chats = http.get(f"/api/v1/projects/{PROJECT}/traces", params={"name": "docs chat"})
        assert len(chats.json()["items"]) >= 2
    finally:
        again.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_when_the_judge_gives_no_score_the_demo_exits_1_and_says_why(
    live_server: LiveServer, tmp_path: Path
) -> None:
    with FakeOpenAIServer() as echo:  # its echo is no JSON verdict
        done = demo(
            *("--url", live_server.url, "--model-url", echo.base_url, "--model", "gpt-4o-mini"),
            home=tmp_path,
        )

    assert done.returncode == 1, done.stdout + done.stderr
    assert "could not give any of the 6 judge and RAG scores" in done.stderr
    assert "could not score 2 of 2 items" in done.stdout
    outcomes = judge_outcomes(live_server.url)
    assert len(outcomes) == 2
    assert all(o == "failed" for item in outcomes.values() for o in item.values())


def result(scored: dict[str, int], failed: dict[str, int], items: int = 3) -> ExperimentResult:
    """Return an experiment of ``items`` items where each metric scored or failed as given."""
    runs = [
        ItemRun(
            f"q{n}",
            0,
            None,
            "an answer",
            None,
            {name: ScoreResult(name, 1.0) for name, count in scored.items() if n < count},
            1.0,
        )
        for n in range(items)
    ]
    failures = {name: (count, "MetricError: the judge failed") for name, count in failed.items()}
    return ExperimentResult("e", "docs bot", "http://x", {}, runs, 0, failures)


def test_a_weak_judge_exits_0_and_says_how_many_scores_it_could_not_give(
    capsys: pytest.CaptureFixture[str],
) -> None:
    partial = result(
        {"key_fact": 3, "faithfulness": 1, "answer_relevance": 3},
        {"faithfulness": 2, "context_precision": 3},
    )

    assert run._report_judge_failures(partial, "smollm2", "http://model/v1") == 0
    assert "could not give 5 of 9 judge and RAG scores" in capsys.readouterr().out


def test_a_judge_that_gives_no_score_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    none = result({"key_fact": 3}, dict.fromkeys(JUDGED, 3))

    assert run._report_judge_failures(none, "smollm2", "http://model/v1") == 1
    error = capsys.readouterr().err
    assert "could not give any of the 9 judge and RAG scores" in error
    assert "smollm2 at http://model/v1" in error


def test_a_judge_that_gives_every_score_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    every = result(dict.fromkeys(JUDGED, 3), {})

    assert run._report_judge_failures(every, "smollm2", "http://model/v1") == 0
    assert capsys.readouterr().out == ""
