"""The SDK benchmark: what tracing costs the application, beside other tracers.

Each tracer runs alone in a fresh process (``bench/sdk_probe.py``), in the
interpreter where it is installed: daytwo and the OpenTelemetry SDK in
daytwo's own environment, Langfuse and Phoenix's OpenInference tracer in
virtualenvs of their own under ``bench/.venvs`` (installed on first use).
Their exporters all send to one local sink process that accepts everything,
so the export's network and serialization cost counts, and the receiver's
does not. A second measurement sends daytwo's spans to a real ``daytwo
serve`` and times them until its query API counts them all.
"""

import json
import logging
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import processes
from bench.targets import DaytwoTarget

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
VENVS = HERE / ".venvs"
PROBE = HERE / "sdk_probe.py"
SINK = HERE / "sink.py"
INSTALL_TIMEOUT = 900.0

# Tracer, label, virtualenv (None: daytwo's own), requirements, module whose import is timed.
TRACERS: tuple[tuple[str, str, str | None, tuple[str, ...], str | None], ...] = (
    ("undecorated", "undecorated call", None, (), None),
    ("daytwo", "daytwo `@track`", None, (), "daytwo"),
    ("otel-noop", "OpenTelemetry SDK, batch processor, no-op exporter", None, (), None),
    (
        "otel-otlp",
        "OpenTelemetry SDK, batch processor, OTLP/HTTP exporter",
        None,
        (),
        "opentelemetry.sdk.trace",
    ),
    ("langfuse", "Langfuse `@observe`", "langfuse", ("langfuse",), "langfuse"),
    (
        "openinference",
        "Phoenix OpenInference tracer (`phoenix.otel`, batched)",
        "openinference",
        ("arize-phoenix-otel", "openinference-instrumentation"),
        "phoenix.otel",
    ),
)


@dataclass(frozen=True, slots=True)
class SdkSettings:
    calls: int = 20_000
    runs: int = 3
    e2e_spans: int = 20_000
    import_runs: int = 5


@dataclass(slots=True)
class TracerResult:
    key: str
    label: str
    version: str = ""
    flat_us: float | None = None
    nested_us: float | None = None
    cpu_flat_us: float | None = None
    cpu_nested_us: float | None = None
    import_ms: float | None = None
    failure: str | None = None


@dataclass(slots=True)
class EndToEnd:
    spans: int
    sdk_seconds: float = 0.0
    queryable_seconds: float | None = None
    failure: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


def run(settings: SdkSettings, skip_peers: bool) -> tuple[list[TracerResult], EndToEnd]:
    """Measure every tracer that installs, then daytwo end to end."""
    results = []
    with _sink() as sink_url:
        for key, label, venv, requirements, module in TRACERS:
            if skip_peers and venv is not None:
                continue
            results.append(_measure(key, label, venv, requirements, module, sink_url, settings))
    return results, _end_to_end(settings)


def _measure(
    key: str,
    label: str,
    venv: str | None,
    requirements: Sequence[str],
    module: str | None,
    sink_url: str,
    settings: SdkSettings,
) -> TracerResult:
    result = TracerResult(key, label)
    try:
        python = _python(venv, requirements)
    except subprocess.SubprocessError as exc:
        result.failure = f"did not install: {exc}"
        return result
    result.version = _version(python, _PACKAGES.get(key, requirements))
    runs = []
    for number in range(settings.runs):
        logger.info("sdk: %s, run %d of %d", label, number + 1, settings.runs)
        command = [str(python), str(PROBE), key, str(settings.calls), sink_url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            result.failure = done.stderr.strip().splitlines()[-1] if done.stderr else "failed"
            return result
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    result.flat_us = statistics.median(r["flat_us"] for r in runs)
    result.nested_us = statistics.median(r["nested_us"] for r in runs)
    result.cpu_flat_us = statistics.median(r["cpu_per_span_flat_us"] for r in runs)
    result.cpu_nested_us = statistics.median(r["cpu_per_span_nested_us"] for r in runs)
    if module is not None:
        result.import_ms = _import_ms(python, module, settings.import_runs)
    return result


def _python(venv: str | None, requirements: Sequence[str]) -> Path:
    if venv is None:
        return Path(sys.executable)
    directory = VENVS / venv
    python = directory / "bin" / "python"
    marker = directory / ".installed"
    if not marker.exists():
        logger.info("installing %s into %s", ", ".join(requirements), directory)
        subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True, timeout=120)
        pip = [str(python), "-m", "pip", "install", "--quiet", *requirements]
        subprocess.run(pip, check=True, timeout=INSTALL_TIMEOUT)
        marker.touch()
    return python


_PACKAGES = {
    "undecorated": (),
    "daytwo": ("daytwo",),
    "otel-noop": ("opentelemetry-sdk",),
    "otel-otlp": ("opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"),
}


def _version(python: Path, names: Sequence[str]) -> str:
    if not names:
        return ""
    script = (
        "import importlib.metadata as m\n"
        f"for name in {list(names)!r}:\n"
        "    try: print(name, m.version(name))\n"
        "    except m.PackageNotFoundError: pass\n"
    )
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=60)
    return ", ".join(done.stdout.split("\n")[:-1]) if done.returncode == 0 else "?"


def _import_ms(python: Path, module: str, runs: int) -> float:
    """Return the median time a fresh interpreter takes to import ``module``."""
    script = (
        "import time; started = time.perf_counter(); "
        f"import {module}; print((time.perf_counter() - started) * 1000)"
    )
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [str(python), "-c", script], capture_output=True, text=True, check=True, timeout=120
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


@contextmanager
def _sink() -> Iterator[str]:
    port = processes.free_port()
    process = subprocess.Popen([sys.executable, str(SINK), str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(url)
        yield url
    finally:
        processes.stop(process)


def _wait_for_port(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(url, content=b"", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"the sink at {url} did not start")


_PRODUCER = textwrap.dedent(
    """
    import sys, time
    import daytwo

    url, spans = sys.argv[1], int(sys.argv[2])
    daytwo.configure(url=url, project="bench-sdk", max_queue=spans)

    @daytwo.track(kind="retrieval")
    def retrieve(question):
        return ["a document about " + question]

    @daytwo.track(kind="llm")
    def generate(question, documents):
        daytwo.update_current_span(
            model="gpt-4o-mini",
            provider="openai",
            usage={"input_tokens": 900, "output_tokens": 120},
        )
        return "an answer to " + question

    @daytwo.track(kind="tool")
    def lookup(question):
        return {"order": 42}

    @daytwo.track(kind="agent")
    def answer(question):
        lookup(question)
        return generate(question, retrieve(question))

    started, wall = time.perf_counter(), time.time()
    for n in range(spans // 4):
        answer(f"question {n}")
    result = daytwo.flush(300)
    print(wall, time.perf_counter() - started, result.sent, result.failed, result.pending)
    """
)


def _end_to_end(settings: SdkSettings) -> EndToEnd:
    """Send spans from one process to ``daytwo serve`` (SQLite) until all are queryable."""
    spans = settings.e2e_spans - settings.e2e_spans % 4
    result = EndToEnd(spans)
    target = DaytwoTarget()
    with processes.workspace("sdk-e2e") as workdir, target.launch(workdir) as server:
        logger.info("sdk: %d spans end to end into daytwo serve (SQLite)", spans)
        done = subprocess.run(
            [sys.executable, "-c", _PRODUCER, server.base_url, str(spans)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            result.failure = done.stderr.strip()[-300:]
            return result
        started, seconds, sent, failed, pending = done.stdout.split()
        result.sdk_seconds = float(seconds)
        result.extra = {"sent": int(sent), "failed": int(failed), "pending": int(pending)}
        with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if target.count_spans(client, "bench-sdk") >= spans:
                    result.queryable_seconds = time.time() - float(started)
                    break
                time.sleep(0.1)
    return result
