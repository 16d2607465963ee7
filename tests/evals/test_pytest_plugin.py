"""The pytest plugin: LLM tests as ordinary tests, recorded as one experiment on a live server."""

import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest

from daytwo.evals.client import DaytwoClient
from daytwo.evals.pytest_plugin import item_id
from tests.conftest import LiveServer, _free_port

pytest_plugins = ["pytester"]

PROJECT = "pytest-plugin"

LLM_TESTS = """
from daytwo.evals.metrics.heuristic import Contains, Equals


def answer(question):
    return "You can return items within 30 days." if "return" in question else "Sorry."


def test_refund_window(llm_eval):
    question = "How long do I have to return an item?"
    llm_eval.check(Contains("30 days"), input=question, output=answer(question))


def test_shipping(llm_eval):
    question = "Do you ship abroad?"
    llm_eval.check(Contains("ship"), input=question, output=answer(question))


def test_recorded_by_hand(llm_eval):
    llm_eval.record(input="2+2", output="4", expected="4", scores={"exact": 1.0})
    llm_eval.check(Equals())


def test_without_the_fixture():
    assert answer("hi") == "Sorry."
"""

PLAIN_TESTS = """
def test_plain():
    assert 1 + 1 == 2
"""


def _plugin_arguments() -> list[str]:
    # Installed, the entry point loads the plugin; from a bare checkout, load it by name.
    installed = any(ep.name == "daytwo" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "daytwo.evals.pytest_plugin"]


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Return a pytester whose runs see the SDK settings of the test."""
    monkeypatch.setenv("DAYTWO_PROJECT", PROJECT)
    monkeypatch.setenv("DAYTWO_SPOOL_DIR", str(pytester.path / "spool"))
    monkeypatch.setenv("DAYTWO_EXIT_TIMEOUT", "1")
    monkeypatch.setenv("DAYTWO_FLUSH_INTERVAL", "0.05")
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    return pytester


def run(suite: pytest.Pytester, *args: str) -> pytest.RunResult:
    return suite.runpytest_subprocess(*_plugin_arguments(), "-p", "no:cacheprovider", *args)


@pytest.fixture
def server(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[DaytwoClient]:
    monkeypatch.setenv("DAYTWO_URL", live_server.url)
    with DaytwoClient(live_server.url, project=PROJECT) as client:
        yield client


def test_llm_tests_become_one_experiment_with_an_item_per_test(
    server: DaytwoClient, live_server: LiveServer, suite: pytest.Pytester
) -> None:
    suite.makepyfile(test_bot=LLM_TESTS)

    result = run(suite, "--daytwo-experiment", "bot checks")

    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*daytwo: 3 tests recorded as experiment 'bot checks': http*"])
    [experiment] = server.experiments(name="bot checks")
    assert experiment["status"] == "completed"
    items = {item["item_id"]: item for item in server.experiment_items(experiment["id"])}
    passed = {key: item["scores"]["passed"]["value"] for key, item in items.items()}
    assert passed == {
        "test_bot.py::test_refund_window": True,
        "test_bot.py::test_shipping": False,
        "test_bot.py::test_recorded_by_hand": True,
    }
    shipping = items["test_bot.py::test_shipping"]
    assert shipping["input"] == "Do you ship abroad?"
    assert shipping["scores"]["contains"]["value"] is False
    assert "below the threshold 1" in shipping["scores"]["passed"]["reason"]
    by_hand = items["test_bot.py::test_recorded_by_hand"]
    assert (by_hand["expected"], by_hand["output"]) == ("4", "4")
    assert by_hand["scores"]["exact"]["value"] == 1.0
    assert by_hand["scores"]["equals"]["value"] is True
    with live_server.client() as http:
        path = f"/api/v1/projects/{PROJECT}/traces/{shipping['trace_id']}"
        trace = http.get(path).json()["trace"]
    assert trace["tags"] == ["pytest"]
    assert ("passed", False) in {(s["name"], s["value"]) for s in trace["scores"]}


def test_a_failing_check_fails_the_test_with_the_metrics_reason(
    server: DaytwoClient, suite: pytest.Pytester
) -> None:
    suite.makepyfile(test_bot=LLM_TESTS)

    result = run(suite, "-k", "shipping")

    result.assert_outcomes(failed=1, deselected=3)
    result.stdout.fnmatch_lines(
        ["*Failed: contains scored False, below the threshold 1: lacks 'ship'*"]
    )


def test_the_experiment_name_comes_from_the_ini_file(
    server: DaytwoClient, suite: pytest.Pytester
) -> None:
    suite.makeini("[pytest]\nfilterwarnings = error\ndaytwo_experiment = from ini\n")
    suite.makepyfile(test_bot=LLM_TESTS)

    run(suite, "-k", "refund").assert_outcomes(passed=1, deselected=3)

    assert [e["name"] for e in server.experiments()] == ["from ini"]


def test_cases_from_xdist_workers_make_one_experiment(
    server: DaytwoClient, suite: pytest.Pytester
) -> None:
    suite.makepyfile(test_bot=LLM_TESTS)

    run(suite, "-n", "2").assert_outcomes(passed=3, failed=1)

    [experiment] = server.experiments(name="pytest")
    assert experiment["item_count"] == 3


def test_an_unreachable_server_is_one_line_at_the_end_and_fails_nothing(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYTWO_URL", f"http://127.0.0.1:{_free_port()}")
    suite.makepyfile(test_bot=LLM_TESTS)

    result = run(suite, "-k", "not shipping")

    result.assert_outcomes(passed=3, deselected=1)
    assert result.ret == 0
    lines = [line for line in result.outlines if line.startswith("daytwo")]
    assert len(lines) == 1
    assert "the experiment 'pytest' was not recorded" in lines[0]


def test_a_suite_without_the_fixture_sees_nothing_of_the_plugin(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A listening socket that no one should connect to stands in for the server.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setenv("DAYTWO_URL", f"http://127.0.0.1:{listener.getsockname()[1]}")
        suite.makepyfile(test_plain=PLAIN_TESTS)

        result = run(suite, "-v")

        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    result.assert_outcomes(passed=1)
    assert not [line for line in result.outlines if line.startswith("daytwo")]
    assert result.errlines == []


def test_loading_the_plugin_imports_no_client_or_server_code() -> None:
    script = (
        "import sys, daytwo.evals.pytest_plugin; "
        "print(sorted(m for m in ('httpx', 'daytwo.evals.client', 'daytwo.evals.runner', "
        "'daytwo.evals.metric', 'numpy', 'sqlalchemy') if m in sys.modules))"
    )

    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert found.stdout.strip() == "[]"


def test_long_node_ids_are_shortened_to_stable_item_ids() -> None:
    nodeid = "tests/llm/test_support_bot.py::test_answers[" + "x" * 80 + "]"

    shortened = item_id(nodeid)

    assert len(shortened) == 64
    assert shortened.endswith("xx]")
    assert shortened == item_id(nodeid) != item_id(nodeid.replace("support", "sales"))
    assert item_id("test_a.py::test_b") == "test_a.py::test_b"


def test_the_installed_package_registers_the_plugin(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("daytwo")
