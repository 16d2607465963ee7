"""``daytwo demo`` end to end, on the real local model through its OpenAI-compatible server.

The local extra (llama-cpp-python and SmolLM2-135M-Instruct) is installed by
``.ci/run``; without it the end-to-end test skips, and fails under CI, so a
missing model cannot pass unnoticed. The model is weak: these tests check
plumbing, never its answers.
"""

import importlib.util
import os
import subprocess
import sys

import pytest

from daytwo.demo.questions import all_questions
from daytwo.demo.run import DATASET, JUDGED, PROJECT
from tests.conftest import LiveServer
from tests.demo.recorded import get, judge_outcomes

QUESTIONS = 3


def require_local_extra() -> None:
    """Skip without the local extra; fail instead under CI, where ``.ci/run`` installs it."""
    if importlib.util.find_spec("llama_cpp") is None:
        message = 'the local extra is not installed (pip install -e ".[local]")'
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def local_extra() -> None:
    require_local_extra()


def test_under_ci_a_missing_local_extra_fails_rather_than_skips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="local extra is not installed"):
        require_local_extra()


def test_the_first_questions_call_the_tool() -> None:
    assert any("DAYTWO_" in question.text for question in all_questions()[:QUESTIONS])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_demo_traces_scores_and_evaluates_a_real_local_model(
    local_extra: None, live_server: LiveServer
) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "daytwo", "demo", "--url", live_server.url),
            *("--questions", str(QUESTIONS), "--exit", "--threads", "2"),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    url = live_server.url
    assert f"{url}/projects/{PROJECT}/traces" in done.stdout
    chats = get(url, "/traces", name="docs chat", limit=100)
    assert len(chats["items"]) >= QUESTIONS
    turn = get(url, f"/traces/{chats['items'][-1]['id']}")
    assert {"chain", "retrieval", "llm"} <= {span["kind"] for span in turn["spans"]}
    llm = next(span for span in turn["spans"] if span["kind"] == "llm")
    detail = get(url, f"/traces/{turn['trace']['id']}/spans/{llm['id']}")
    assert detail["usage"]["output_tokens"] > 0
    # A local model costs nothing, and the demo says so: known, not unknown.
    assert (detail["cost"]["total"], detail["cost"]["source"]) == (0.0, "computed")
    tools = get(url, "/spans", kind="tool", limit=100)["items"]
    assert {span["name"] for span in tools} == {"lookup_setting"}
    threads = get(url, "/threads")
    assert any(t["thread_id"] == "demo-getting-started" for t in threads["items"])
    reviewed = [s for s in turn["trace"]["scores"] if s["name"] == "reviewer thumbs up"]
    assert reviewed
    assert reviewed[0]["source"] == "human"

    [experiment] = get(url, "/experiments")
    assert (experiment["dataset"], experiment["status"], experiment["item_count"]) == (
        DATASET,
        "completed",
        QUESTIONS,
    )
    assert {m["name"] for m in experiment["metrics"]} >= {"key_fact", "levenshtein_ratio"}
    assert experiment["total_cost"] == 0.0
    # The model is weak: its verdicts may fail, but each must be stored or its failure
    # recorded, and the demo exits 0 only when at least one of them was given.
    outcomes = judge_outcomes(url)
    assert len(outcomes) == QUESTIONS
    assert all(set(item) == set(JUDGED) for item in outcomes.values())
    assert all(o in ("scored", "failed") for item in outcomes.values() for o in item.values())
    assert any(o == "scored" for item in outcomes.values() for o in item.values())


def test_without_the_local_extra_the_demo_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from daytwo.cli import main

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now fails

    assert main(["demo", "--exit"]) == 2
    error = capsys.readouterr().err
    assert "llama_cpp not installed" in error
    assert 'pip install -e ".[local]"   (or: pip install "daytwo[local]")' in error


def test_without_the_local_extra_model_serve_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from daytwo.cli import main

    monkeypatch.setitem(sys.modules, "llama_cpp", None)

    assert main(["model", "serve"]) == 2
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
