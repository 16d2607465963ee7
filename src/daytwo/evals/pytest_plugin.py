"""A pytest plugin: LLM tests written as ordinary tests, recorded as one daytwo experiment.

A test that asks for the ``llm_eval`` fixture is a case. It scores what the
system under test did with any metric, and fails like any other test when a
score is below its threshold::

    from daytwo.evals.metrics.heuristic import Contains

    def test_refund_window(llm_eval):
        question = "How long do I have to return an item?"
        answer = bot.answer(question)
        llm_eval.check(Contains("30 days"), input=question, output=answer)

Each such test runs inside a trace tagged ``pytest``, so the LLM calls it makes
are traced under it. When the session ends, the cases become one experiment
(named by ``--daytwo-experiment`` or the ``daytwo_experiment`` ini option)
with one item per test: the item's id is the test's node id, and the test's
outcome is the boolean score ``passed``. The server and project come from the
SDK's settings (``DAYTWO_URL``, ``DAYTWO_PROJECT``). A server that cannot be
reached costs one line at the end of the report, never a failed test.

Suites that never use the fixture see nothing of the plugin: no network, no
output, and nothing imported beyond this module.
"""

import hashlib
import json
import time
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from daytwo.evals.metric import Metric, ScoreResult

FIXTURE = "llm_eval"
# ExperimentItemIn.item_id holds at most this many characters.
_ITEM_ID_LIMIT = 64
_UPLOAD_BATCH = 1000
_WORKER_OUTPUT = "daytwo_cases"


class LlmEval:
    """One test's case: what went in and came out, and how it scored."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self.case: dict[str, Any] = {}
        self.scores: dict[str, dict[str, Any]] = {}

    def check(self, metric: "Metric", *, threshold: float = 1.0, **case: Any) -> "ScoreResult":
        """Score the case with ``metric``; fail the test when the score is below ``threshold``.

        ``case`` holds the metric's inputs (``input``, ``output``, ``expected``,
        ``context``, ...); they are kept, so later checks and records may leave
        them out. A boolean score passes only when true under the default
        threshold of 1.0; a label (text) score is recorded and never fails.
        """
        __tracebackhide__ = True
        self.case.update(case)
        result = metric.score(**self.case)
        return self._judge(metric, result, threshold)

    async def acheck(
        self, metric: "Metric", *, threshold: float = 1.0, **case: Any
    ) -> "ScoreResult":
        """Do what ``check`` does, from an async test (needed for metrics that await)."""
        __tracebackhide__ = True
        self.case.update(case)
        result = await metric.ascore(**self.case)
        return self._judge(metric, result, threshold)

    def record(
        self,
        *,
        scores: Mapping[str, bool | float | str] | None = None,
        **case: Any,
    ) -> None:
        """Record case fields (``input``, ``output``, ``expected``, ...) and scores as they are."""
        self.case.update(case)
        for name, value in (scores or {}).items():
            self.scores[name] = {"value": value, "reason": None, "source": "sdk"}

    def _judge(self, metric: "Metric", result: "ScoreResult", threshold: float) -> "ScoreResult":
        __tracebackhide__ = True
        source = str(getattr(metric, "source", "rule"))
        self.scores[result.name] = {
            "value": result.value,
            "reason": result.reason,
            "source": source,
        }
        if result.numeric is not None and result.numeric < threshold:
            pytest.fail(
                f"{result.name} scored {result.value!r}, below the threshold {threshold:g}: "
                f"{result.reason or 'no reason given'}"
            )
        return result


class _Recorder:
    """The session's cases, and what became of sending them."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cases: list[dict[str, Any]] = []
        self.message: str | None = None
        self.failed = False

    def experiment_name(self) -> str:
        given = self.config.getoption("daytwo_experiment")
        return str(given or self.config.getini("daytwo_experiment") or "pytest")

    def upload(self, interrupted: bool) -> None:
        """Send the cases as one experiment; on failure, keep a message for the summary."""
        import httpx

        import daytwo
        from daytwo.evals.client import ApiError, DaytwoClient

        name = self.experiment_name()
        try:
            with DaytwoClient() as client:
                experiment = client.start_experiment(
                    name=name, config={"source": "pytest"}, metadata={"tests": len(self.cases)}
                )
                for start in range(0, len(self.cases), _UPLOAD_BATCH):
                    batch = self.cases[start : start + _UPLOAD_BATCH]
                    client.record_items(experiment["id"], batch)
                status = "interrupted" if interrupted else "completed"
                client.set_status(experiment["id"], status)
                url = client.experiment_url(experiment["id"])
        except (httpx.HTTPError, ApiError, OSError) as error:
            self.failed = True
            self.message = (
                f"daytwo: the experiment {name!r} was not recorded ({error}); "
                "test outcomes are unaffected"
            )
            return
        daytwo.flush()
        count = f"{len(self.cases)} test{'' if len(self.cases) == 1 else 's'}"
        self.message = f"daytwo: {count} recorded as experiment {name!r}: {url}"


_RECORDER = pytest.StashKey[_Recorder]()
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("daytwo", "daytwo LLM evaluation")
    group.addoption(
        "--daytwo-experiment",
        dest="daytwo_experiment",
        metavar="NAME",
        help="name of the experiment the llm_eval tests are recorded as (default: pytest)",
    )
    parser.addini("daytwo_experiment", "name of the experiment llm_eval tests are recorded as")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RECORDER] = _Recorder(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if FIXTURE in getattr(item, "fixturenames", ()):
        item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def llm_eval(request: pytest.FixtureRequest) -> Iterator[LlmEval]:
    """Record this test as a case of the session's experiment; see ``LlmEval``."""
    import daytwo

    node = request.node
    case = LlmEval(node.nodeid)
    started = time.perf_counter()
    with daytwo.trace(node.name, tags=["pytest"], metadata={"pytest_nodeid": node.nodeid}) as trace:
        yield case
        trace.update(**_jsonable({k: case.case[k] for k in ("input", "output") if k in case.case}))
    latency = (time.perf_counter() - started) * 1000
    passed, reason = _outcome(node.stash.get(_REPORTS, {}))
    if passed is not None:
        case.scores["passed"] = {"value": passed, "reason": reason, "source": "rule"}
    if trace.trace_id is not None and trace.recording:
        for name, score in case.scores.items():
            daytwo.score(name, score["value"], trace_id=trace.trace_id, **_score_options(score))
    request.config.stash[_RECORDER].cases.append(_item(case, trace.trace_id, latency))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    recorder = session.config.stash.get(_RECORDER, None)
    if recorder is None or not recorder.cases:
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        # A pytest-xdist worker hands its cases to the controller, which sends them all.
        import daytwo

        workeroutput[_WORKER_OUTPUT] = json.dumps(recorder.cases)
        daytwo.flush()
        return
    recorder.upload(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Collect the cases a pytest-xdist worker ran."""
    sent = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT)
    if sent:
        node.config.stash[_RECORDER].cases.extend(json.loads(sent))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    recorder = terminalreporter.config.stash.get(_RECORDER, None)
    if recorder is not None and recorder.message:
        terminalreporter.write_line(recorder.message, yellow=recorder.failed)


def _outcome(reports: Mapping[str, pytest.TestReport]) -> tuple[bool | None, str | None]:
    """Return whether the test passed (None when skipped) and why it failed."""
    for when in ("setup", "call"):
        report = reports.get(when)
        if report is None:
            continue
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            return False, str(getattr(crash, "message", report.longrepr))[:2000]
        if report.skipped:
            return None, None
    return (True if "call" in reports else None), None


def _item(case: LlmEval, trace_id: str | None, latency: float) -> dict[str, Any]:
    fields = _jsonable(case.case)
    return {
        "item_id": item_id(case.nodeid),
        "trace_id": trace_id,
        "input": fields.get("input"),
        "expected": fields.get("expected"),
        "output": fields.get("output"),
        "scores": {
            name: {"value": score["value"], "reason": score["reason"]}
            for name, score in case.scores.items()
        },
        "latency_ms": latency,
    }


def item_id(nodeid: str) -> str:
    """Return the node id, or a hash of it before its end when it is too long for an item id."""
    if len(nodeid) <= _ITEM_ID_LIMIT:
        return nodeid
    digest = hashlib.sha256(nodeid.encode()).hexdigest()[:12]
    return f"{digest}~{nodeid[-(_ITEM_ID_LIMIT - len(digest) - 1) :]}"


def _score_options(score: Mapping[str, Any]) -> dict[str, Any]:
    source = score["source"] if score["source"] in ("sdk", "human", "judge", "rule") else "rule"
    return {"reason": score["reason"], "source": source}


def _jsonable(fields: Mapping[str, Any]) -> dict[str, Any]:
    found = {}
    for key, value in fields.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            value = repr(value)
        found[key] = value
    return found
