"""The experiment benchmark: ``evaluate`` against a slow model, concurrent and sequential.

A fake OpenAI-compatible provider (``tests/doubles/openai_server.py``) answers
every chat completion after a fixed latency, over real HTTP on loopback. The
task asks it for an answer through ``daytwo.llm.LlmClient``; two LLM judges
(answer relevance and usefulness) ask it for a verdict each, and a heuristic
(``Contains``) checks the answer, so an item costs three model calls made one
after the other. The experiment is recorded by a real ``daytwo serve`` on a
throw-away SQLite database, and its stored item count is read back from the
server's API after each run. The provider runs in a process of its own, so
that its threads neither take this process's GIL nor count in its CPU time.
"""

import json
import logging
import select
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import psutil
from tests.doubles.openai_server import Reply, Request

import daytwo
from bench import figures, processes
from bench.machine import ROOT
from bench.report import OtherLoad, RunInfo
from bench.targets import DaytwoTarget
from daytwo.evals.client import DaytwoClient
from daytwo.evals.metric import Metric
from daytwo.evals.metrics.heuristic import Contains
from daytwo.evals.metrics.judges import (
    ANSWER_RELEVANCE_PROMPT,
    USEFULNESS_PROMPT,
    AnswerRelevance,
    Usefulness,
)
from daytwo.evals.runner import evaluate
from daytwo.llm import LlmClient

logger = logging.getLogger(__name__)

PROJECT = "bench-experiments"
MODEL = "gpt-4o-mini"
CHAT = "/v1/chat/completions"
CALLS_PER_ITEM = 3  # the task's call, then one per judge
ANSWER = "You can return it within 30 days of delivery for a full refund."
TASK_SYSTEM = "You answer questions from the customers of an online shop, in one sentence."
ITEMS = 1_000  # the published figures are for this many items
PROVIDER_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class ExperimentSettings:
    items: int = ITEMS
    latency: float = 0.05
    concurrencies: tuple[int, ...] = (16, 1)


@dataclass(slots=True)
class ExperimentRun:
    """One experiment at one concurrency, as timed here and as the server stored it."""

    concurrency: int
    items: int
    seconds: float = 0.0
    llm_calls: int = 0
    stored_items: int | None = None
    stored_errors: int | None = None
    metric_counts: dict[str, int] = field(default_factory=dict)
    metric_failures: dict[str, int] = field(default_factory=dict)
    task_p50_ms: float | None = None
    task_p95_ms: float | None = None
    evaluate_cpu: float = 0.0
    provider_cpu: float = 0.0
    server_cpu: float = 0.0
    spans_sent: int = 0
    spans_dropped: int = 0
    machine: str = ""
    failure: str | None = None

    def ideal_seconds(self, latency: float) -> float:
        """Return the lower bound: every call's latency, spread over the concurrency."""
        return self.llm_calls * latency / self.concurrency


def run(settings: ExperimentSettings) -> list[ExperimentRun]:
    """Run the experiment once per concurrency against one server and one fake provider."""
    items = build_items(settings.items)
    with (
        processes.workspace("experiments") as workdir,
        DaytwoTarget().launch(workdir) as server,
        Provider(settings.latency) as provider,
    ):
        daytwo.configure(url=server.base_url, project=PROJECT, spool=False)
        try:
            return [
                _run_once(server, provider, items, concurrency)
                for concurrency in settings.concurrencies
            ]
        finally:
            daytwo.shutdown()


def build_items(count: int) -> list[dict[str, Any]]:
    """Return ``count`` dataset items, each a distinct question with an expected answer."""
    return [
        {
            "id": f"order-{number}",
            "input": f"I want to return order {number}. How long do I have?",
            "expected": "30 days",
        }
        for number in range(count)
    ]


def respond(request: Request) -> Reply:
    """Answer a judge with a valid verdict, and anything else with the shop's answer."""
    prompt = next(
        (m["content"] for m in request.body.get("messages", []) if m["role"] == "user"), ""
    )
    if prompt.startswith(_first_line(ANSWER_RELEVANCE_PROMPT)):
        return Reply(content=json.dumps({"reason": "answers the question asked", "score": 5}))
    if prompt.startswith(_first_line(USEFULNESS_PROMPT)):
        return Reply(content=json.dumps({"reason": "says what to do and by when", "score": 4}))
    return Reply(content=ANSWER)


def _first_line(prompt: str) -> str:
    return prompt.split("\n", 1)[0]


class Provider:
    """The fake provider in a child process, asked over its stdin how many calls it answered."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.base_url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Provider":
        command = [sys.executable, "-c", _PROVIDER, str(self.latency)]
        self._process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            self.base_url = self._read_line("start")
        except BaseException:
            processes.stop(self._process)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is not None:
            processes.stop(self._process)

    @property
    def pid(self) -> int:
        return self._started().pid

    def reset(self) -> None:
        """Forget the calls answered so far."""
        self._ask("reset")

    def chat_calls(self) -> int:
        """Return the chat completions answered since the last reset."""
        return int(self._ask("count"))

    def _ask(self, command: str) -> str:
        process = self._started()
        assert process.stdin is not None
        process.stdin.write(f"{command}\n".encode())
        process.stdin.flush()
        return self._read_line(command)

    def _read_line(self, what: str) -> str:
        process = self._started()
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], PROVIDER_TIMEOUT)
        line = process.stdout.readline().decode().strip() if ready else ""
        if not line:
            raise RuntimeError(
                f"the fake OpenAI provider did not answer {what!r} within {PROVIDER_TIMEOUT:.0f} s"
                f" (exit code {process.poll()})"
            )
        return line

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("the fake OpenAI provider is not started; use it in a with block")
        return self._process


# The child's program: print the URL, then answer "reset" and "count" lines until stdin closes.
_PROVIDER = """
import sys
from bench.experiments import CHAT, MODEL, respond
from tests.doubles.openai_server import FakeOpenAIServer

with FakeOpenAIServer(models=[MODEL], latency=float(sys.argv[1]), responder=respond) as server:
    print(server.base_url, flush=True)
    for command in sys.stdin:
        if command.strip() == "reset":
            server.reset()
        print(len(server.requests_to(CHAT)), flush=True)
"""


def _run_once(
    server: processes.Server,
    provider: Provider,
    items: Sequence[dict[str, Any]],
    concurrency: int,
) -> ExperimentRun:
    result = ExperimentRun(concurrency, len(items))
    provider.reset()
    # The client's own limit (8 by default) would otherwise cap the runner's concurrency.
    llm = LlmClient(MODEL, base_url=provider.base_url, max_concurrency=concurrency)
    metrics: list[Metric] = [AnswerRelevance(llm), Usefulness(llm), Contains("30 days")]
    logger.info("experiments: %d items at concurrency %d", len(items), concurrency)
    server_process, provider_process = psutil.Process(server.pid), psutil.Process(provider.pid)
    others = OtherLoad()
    cpu_before, server_before = time.process_time(), _cpu(server_process)
    provider_before = _cpu(provider_process)
    exported = daytwo.stats()
    started = time.perf_counter()
    try:
        experiment = evaluate(
            items,
            _task(llm),
            metrics,
            name=f"bench concurrency {concurrency}",
            concurrency=concurrency,
            progress=False,
        )
    except Exception as exc:  # a failed run is reported in the document, not raised
        result.failure = f"{type(exc).__name__}: {exc}"
        return result
    finally:
        llm.close()
    result.seconds = time.perf_counter() - started
    result.evaluate_cpu = time.process_time() - cpu_before
    result.server_cpu = _cpu(server_process) - server_before
    result.provider_cpu = _cpu(provider_process) - provider_before
    result.machine = others.note(result.evaluate_cpu + result.provider_cpu + result.server_cpu)
    result.llm_calls = provider.chat_calls()
    after = daytwo.stats()
    result.spans_sent = after.sent - exported.sent
    result.spans_dropped = after.dropped_total - exported.dropped_total
    failures = experiment.metric_failures.items()
    result.metric_failures = {name: count for name, (count, _) in failures}
    _read_back(server.base_url, experiment.id, result)
    return result


def _task(llm: LlmClient) -> Callable[[str], Awaitable[str]]:
    async def answer(question: str) -> str:
        messages = [
            {"role": "system", "content": TASK_SYSTEM},
            {"role": "user", "content": question},
        ]
        return (await llm.acomplete(messages)).text

    return answer


def _cpu(process: psutil.Process) -> float:
    """Return the CPU seconds ``process`` and its children have used so far."""
    total = 0.0
    for member in (process, *process.children(recursive=True)):
        times = member.cpu_times()
        total += times.user + times.system
    return total


def _read_back(url: str, experiment_id: str, result: ExperimentRun) -> None:
    """Fill in what the server stored, from a fresh request to its API."""
    with DaytwoClient(url, project=PROJECT) as client:
        stored = client.experiment(experiment_id)
    result.stored_items = stored["item_count"]
    result.stored_errors = stored["error_count"]
    result.metric_counts = {metric["name"]: metric["count"] for metric in stored["metrics"]}
    result.task_p50_ms = stored.get("latency_p50_ms")
    result.task_p95_ms = stored.get("latency_p95_ms")


# The document's section ------------------------------------------------------


def section(info: RunInfo, settings: ExperimentSettings, runs: Sequence[ExperimentRun]) -> str:
    """Return the Markdown section of the experiment benchmark."""
    latency_ms = settings.latency * 1000
    lines = [
        "## Experiments",
        "",
        info.preamble(),
        f"`daytwo.evals.runner.evaluate` over {settings.items:,} items with 3 metrics, "
        "against a fake OpenAI-compatible provider (a process of its own, on loopback) that "
        f"answers every call after {latency_ms:.0f} ms. The task calls the model once "
        "through `daytwo.llm.LlmClient` (`acomplete`); the metrics are two LLM judges "
        "(`AnswerRelevance`, `Usefulness`, one call each) and `Contains`, run one after the "
        f"other, so an item costs {CALLS_PER_ITEM} calls in sequence. The client's "
        "`max_concurrency` is set to the run's concurrency. Each item's task and scores are "
        "traced and exported by the SDK to a `daytwo serve` on a new SQLite database, which "
        "records the experiment; *stored* is its item count read back from the server's API "
        "afterwards. *Ideal* is the LLM calls times the latency over the concurrency. *Task "
        "p50 / p95* is the latency the server stored for the task alone (one call; scoring is "
        "not in it). *Wall* runs from the call to `evaluate` until it returns (results sent, "
        "spans flushed, status set). *CPU* is the seconds used by the process running "
        "`evaluate` (the task, the metrics, the LLM client and the SDK's export), by the fake "
        "provider and by the server.",
        "",
        "| concurrency | wall | items/s | LLM calls | calls/s | ideal | ideal / wall "
        "| task p50 / p95 | stored items (errors) | CPU s: evaluate / provider / server |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [_row(run, settings.latency) for run in runs]
    lines += ["", *_notes(runs)]
    return "\n".join(lines)


def _row(run: ExperimentRun, latency: float) -> str:
    if run.failure:
        return f"| {run.concurrency} | failed: {run.failure[:200]} | | | | | | | | |"
    ideal = run.ideal_seconds(latency)
    return (
        f"| {run.concurrency} | {figures.secs(run.seconds)} s "
        f"| {figures.rate(run.items, run.seconds)} "
        f"| {run.llm_calls:,} | {figures.rate(run.llm_calls, run.seconds)} "
        f"| {figures.secs(ideal)} s | {ideal / run.seconds:.0%} "
        f"| {_ms(run.task_p50_ms)} / {_ms(run.task_p95_ms)} ms "
        f"| {run.stored_items:,} ({run.stored_errors}) "
        f"| {run.evaluate_cpu:,.1f} / {run.provider_cpu:,.1f} / {run.server_cpu:,.1f} |"
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _notes(runs: Sequence[ExperimentRun]) -> list[str]:
    done = [run for run in runs if not run.failure and run.seconds]
    notes = []
    by_concurrency = {run.concurrency: run for run in done}
    fastest, slowest = max(by_concurrency, default=0), min(by_concurrency, default=0)
    if fastest != slowest:
        speedup = by_concurrency[slowest].seconds / by_concurrency[fastest].seconds
        notes.append(
            f"- Speed-up of concurrency {fastest} over {slowest}: **{speedup:.1f}x** "
            f"(ideal {fastest / slowest:.0f}x)."
        )
    for run in done:
        expected = run.items * CALLS_PER_ITEM
        counts = ", ".join(f"{name} {count:,}" for name, count in run.metric_counts.items())
        line = (
            f"- Concurrency {run.concurrency}: scores stored per metric: {counts}; "
            f"spans exported {run.spans_sent:,}, dropped {run.spans_dropped:,}"
        )
        if run.llm_calls != expected:
            extra = run.llm_calls - expected
            line += f"; {extra:+,} LLM calls beyond {expected:,} (retries or re-asks)"
        if run.metric_failures:
            failed = ", ".join(f"{name} {count}" for name, count in run.metric_failures.items())
            line += f"; cases a metric could not score: {failed}"
        notes.append(f"{line}; {run.machine}.")
    notes += [f"- Concurrency {run.concurrency}: {run.failure}" for run in runs if run.failure]
    return notes
