"""``daytwo eval`` against the real server: reports, thresholds, baselines and exit codes."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import daytwo
from daytwo.cli import main
from daytwo.evals import gate
from daytwo.evals.client import DaytwoClient
from tests.conftest import LiveServer, _free_port

PROJECT = "gate"
ITEMS = [{"id": f"q{n:02d}", "input": str(n), "expected": str(n * 2)} for n in range(12)]

TASKS = """
from daytwo.evals.metric import Metric, MetricError
from daytwo.evals.metrics.heuristic import Contains


def double(text):
    return str(int(text) * 2)


def sloppy(text):
    number = int(text)
    return str(number * 2 if number % 2 else number * 2 + 1)


async def adouble(text):
    return str(int(text) * 2)


def half_broken(text):
    number = int(text)
    if number % 2:
        raise ValueError(f"no answer for {number}")
    return str(number * 2)


def metrics():
    return [Contains("1", name="has_one")]


class BrokenJudge(Metric):
    name = "judge"

    def score(self, **case):
        raise MetricError("judge: the judge failed: no JSON in the reply")


def broken_judge():
    return [Contains("1", name="has_one"), BrokenJudge()]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a directory holding the task module, made the current directory."""
    (tmp_path / "ci_tasks.py").write_text(TASKS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "ci_tasks", raising=False)
    return tmp_path


@pytest.fixture
def server(live_server: LiveServer, project: Path) -> Iterator[LiveServer]:
    """Return a live server with the ``doubling`` dataset, and the SDK pointed at it."""
    daytwo.configure(
        url=live_server.url, project=PROJECT, spool_dir=str(project), flush_interval=0.05
    )
    with DaytwoClient() as client:
        client.create_dataset("doubling")
        client.add_items("doubling", ITEMS)
    yield live_server
    daytwo.shutdown()
    daytwo.configure(enabled=False)


def run(*argv: str) -> int:
    return main(["eval", "--dataset", "doubling", *argv])


def test_a_passing_run_exits_0_with_the_report(
    server: LiveServer, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = project / "report.json"

    code = run(
        "--task", "ci_tasks:double", "--metric", "equals", "--metric", "levenshtein",
        "--threshold", "equals>=0.9", "--threshold", "levenshtein>0.5",
        "--name", "nightly", "--report-json", str(report),
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "equals             1.000" in out
    assert ">= 0.9" in out
    assert "levenshtein_ratio" in out
    assert f"{server.url}/projects/{PROJECT}/experiments/" in out
    assert "items: 12, errors: 0, skipped: 0" in out
    assert "total cost: not recorded" in out
    assert out.rstrip().endswith("PASSED")
    written = json.loads(report.read_text())
    assert (written["passed"], written["exit_code"], written["items"]) == (True, 0, 12)
    assert [m["name"] for m in written["metrics"]] == ["equals", "levenshtein_ratio"]
    assert written["metrics"][0]["thresholds"] == [{"op": ">=", "value": 0.9, "passed": True}]


def test_an_async_task_and_metrics_loaded_from_code(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("--task", "ci_tasks:adouble", "--metrics", "ci_tasks:metrics")

    out = capsys.readouterr().out
    assert code == 0, out
    assert "has_one" in out


def test_a_threshold_failure_exits_1_naming_the_metric_and_its_interval(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("--task", "ci_tasks:sloppy", "--metric", "equals", "--threshold", "equals>=0.8")

    out = capsys.readouterr().out
    assert code == 1
    failure = out.split("FAILED")[1]
    assert "equals mean 0.500 [" in failure
    assert "is not >= 0.8" in failure


def test_a_regression_from_the_baseline_exits_1_listing_the_worse_items(
    server: LiveServer, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--task", "ci_tasks:double", "--metric", "equals", "--name", "main") == 0
    capsys.readouterr()
    report = project / "report.json"

    code = run(
        "--task", "ci_tasks:sloppy", "--metric", "equals", "--name", "main",
        "--baseline", "main", "--report-json", str(report),
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 1
    assert "-0.500 [" in out
    assert "worse" in out
    assert "items that got worse (top 10):" in out
    worse = json.loads(report.read_text())["worse_items"]
    assert len(worse) == 6
    assert {item["item_id"] for item in worse} == {f"q{n:02d}" for n in range(0, 12, 2)}
    assert all((item["baseline"], item["value"]) == (1.0, 0.0) for item in worse)
    assert "q00   equals  1.000     0.000" in out


def test_task_errors_fail_the_gate_by_default(
    server: LiveServer, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = project / "report.json"

    code = run(
        "--task", "ci_tasks:half_broken", "--metric", "equals", "--report-json", str(report)
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 1, out
    assert "equals  1.000" in out  # the items that ran are all right
    assert "items: 12, errors: 6, skipped: 0" in out
    failure = out.split("FAILED")[1]
    assert "the task failed on 6 of 12 items (at most 0 allowed by --max-errors)" in failure
    assert "the last: ValueError: no answer for " in failure
    written = json.loads(report.read_text())
    assert (written["passed"], written["errors"], written["max_errors"]) == (False, 6, 0)


def test_a_metric_that_always_fails_fails_the_gate(
    server: LiveServer, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = project / "report.json"

    code = run(
        "--task", "ci_tasks:double", "--metrics", "ci_tasks:broken_judge",
        "--report-json", str(report),
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 1, out
    row = next(line for line in out.splitlines() if line.startswith("judge "))
    assert row.split() == ["judge", "-", "-", "-", "FAIL"]
    failure = out.split("FAILED")[1]
    assert (
        "judge could not score 12 cases (at most 0 allowed by --max-errors); "
        "the last: MetricError: judge: the judge failed: no JSON in the reply"
    ) in failure
    metrics = {m["name"]: m for m in json.loads(report.read_text())["metrics"]}
    assert (metrics["judge"]["unscored"], metrics["judge"]["passed"]) == (12, False)
    assert (metrics["has_one"]["unscored"], metrics["has_one"]["passed"]) == (0, True)


def test_errors_within_max_errors_pass_and_are_shown(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("--task", "ci_tasks:half_broken", "--metric", "equals", "--max-errors", "6")

    out = capsys.readouterr().out
    assert code == 0, out
    assert "note: the task failed on 6 of 12 items (at most 6 allowed by --max-errors)" in out
    assert out.rstrip().endswith("PASSED")


def test_the_same_run_against_its_baseline_passes(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--task", "ci_tasks:double", "--metric", "equals", "--name", "main") == 0
    code = run("--task", "ci_tasks:double", "--metric", "equals", "--baseline", "main")

    assert code == 0
    assert "inconclusive" in capsys.readouterr().out


def test_a_baseline_name_without_completed_runs_is_noted_not_failed(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("--task", "ci_tasks:double", "--metric", "equals", "--baseline", "release")

    assert code == 0
    assert "no completed experiment named 'release' yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--metric", "exactly"], "unknown metric 'exactly'; expected one of: bleu, chrf"),
        (["--metric", "regex"], "metric 'regex' needs a pattern"),
        (["--metric", "regex:("], "metric 'regex:(' has an invalid pattern"),
        (["--metric", "equals:x"], "metric 'equals:x' takes no argument"),
        (["--threshold", "equals=>1"], "threshold 'equals=>1' is not METRIC>=VALUE"),
        (["--threshold", "equals>=high"], "compares with 'high', not a number"),
        (["--threshold", "bleu>=0.3"], "names no metric being run; expected one of: equals"),
        (["--concurrency", "0"], "--concurrency must be at least 1, not 0"),
        (["--max-errors", "-1"], "--max-errors must be 0 or more, not -1"),
    ],
)
def test_a_bad_spec_exits_2_with_a_sentence(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = run("--task", "ci_tasks:double", "--metric", "equals", *argv)

    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("ci_tasks", "--task 'ci_tasks' is not module.path:attribute"),
        ("no_such_module:run", "--task: cannot import 'no_such_module'"),
        ("ci_tasks:triple", "--task: 'ci_tasks' has no attribute 'triple'"),
    ],
)
def test_a_task_that_does_not_load_exits_2(
    project: Path, capsys: pytest.CaptureFixture[str], task: str, message: str
) -> None:
    code = run("--task", task, "--metric", "equals")

    assert code == 2
    assert message in capsys.readouterr().err


def test_a_missing_dataset_exits_2(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", "--dataset", "nope", "--task", "ci_tasks:double", "--metric", "equals"])

    assert code == 2
    assert f"dataset 'nope' does not exist in project '{PROJECT}' at {server.url}" in (
        capsys.readouterr().err
    )


def test_an_unknown_baseline_id_exits_2(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("--task", "ci_tasks:double", "--metric", "equals", "--baseline", "0" * 32)

    assert code == 2
    assert "baseline '000" in capsys.readouterr().err


def test_an_unreachable_server_exits_3(
    project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    url = f"http://127.0.0.1:{_free_port()}"

    code = run(
        "--task", "ci_tasks:double", "--metric", "equals", "--url", url,
        "--report-json", str(report),
    )  # fmt: skip

    daytwo.configure(enabled=False)
    assert code == 3
    assert "cannot reach the server" in capsys.readouterr().err
    assert json.loads(report.read_text())["exit_code"] == 3


def test_the_command_line_runs_the_gate_in_a_subprocess(
    live_server: LiveServer, project: Path
) -> None:
    with DaytwoClient(live_server.url, project=PROJECT) as client:
        client.create_dataset("doubling")
        client.add_items("doubling", ITEMS)
    env = {
        **os.environ,
        "DAYTWO_URL": live_server.url,
        "DAYTWO_PROJECT": PROJECT,
        "DAYTWO_SPOOL_DIR": str(project),
    }
    command = [sys.executable, "-m", "daytwo", "eval", "--dataset", "doubling"]

    def daytwo_eval(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *argv], cwd=project, env=env, capture_output=True, text=True, timeout=120
        )

    passed = daytwo_eval(
        "--task", "ci_tasks:double", "--metric", "contains", "--threshold", "contains>=1"
    )
    failed = daytwo_eval(
        "--task", "ci_tasks:sloppy", "--metric", "equals", "--threshold", "equals>=1"
    )

    assert passed.returncode == 0, passed.stderr
    assert "PASSED" in passed.stdout
    assert failed.returncode == 1, failed.stderr
    assert "equals mean 0.500" in failed.stdout


def test_thresholds_parse_every_operator() -> None:
    parsed = [gate.parse_threshold(spec) for spec in ("a>=1", "b > 0.5", "c<=2", "d<-1e-3")]

    assert [(t.metric, t.op, t.value) for t in parsed] == [
        ("a", ">=", 1.0),
        ("b", ">", 0.5),
        ("c", "<=", 2.0),
        ("d", "<", -0.001),
    ]
    assert parsed[3].holds(-1.0)
    assert not parsed[0].holds(0.99)
