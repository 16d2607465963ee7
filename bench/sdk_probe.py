"""Measure one tracer's cost inside the process that uses it; print the figures as JSON.

Run by ``bench/sdk.py`` as ``python bench/sdk_probe.py TRACER CALLS SINK_URL`` in
the interpreter where that tracer is installed. It imports only the standard
library and the tracer under test, so that each tracer is measured alone.

Three figures, all for the same two workloads (a trivial function, and a parent
calling three children):
- wall time per call on the caller's thread: the median of timing every call;
- process CPU per span, including the tracer's background export: CPU time of
  the whole process over a run of calls and the flush that follows, less the
  CPU of the same run undecorated, divided by the spans created;
- the time ``import`` of the tracer's package takes (measured first).
"""

import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

Decorate = Callable[[Callable[..., Any], str], Callable[..., Any]]

# Run as a script, this file's directory leads sys.path, and its bench/phoenix.py
# would shadow the tracer package of the same name.
sys.path = [entry for entry in sys.path if entry != sys.path[0] or not entry.endswith("bench")]


def setup(tracer: str, sink: str) -> tuple[Decorate, Callable[[], None], float]:
    """Return a decorator, a flush function and the import time in ms of ``tracer``."""
    started = time.perf_counter()
    if tracer == "undecorated":
        return (lambda function, name: function), lambda: None, 0.0
    if tracer == "daytwo":
        import daytwo

        imported = time.perf_counter() - started
        daytwo.configure(url=sink, spool=False)
        return (
            lambda function, name: daytwo.track(name=name)(function),
            lambda: _check_daytwo(daytwo.flush(60)),
            imported,
        )
    if tracer.startswith("otel"):
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        imported = time.perf_counter() - started
        if tracer == "otel-otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter: Any = OTLPSpanExporter(endpoint=f"{sink}/v1/traces")
        else:

            class Discard(SpanExporter):
                def export(self, spans: Any) -> SpanExportResult:
                    return SpanExportResult.SUCCESS

            exporter = Discard()
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(exporter))
        otel = provider.get_tracer("bench")
        return (
            lambda function, name: otel.start_as_current_span(name)(function),
            lambda: provider.force_flush(60_000) and None,
            imported,
        )
    if tracer == "langfuse":
        import os

        os.environ.update(
            LANGFUSE_PUBLIC_KEY="pk-bench", LANGFUSE_SECRET_KEY="sk-bench", LANGFUSE_HOST=sink
        )
        from langfuse import get_client, observe

        imported = time.perf_counter() - started
        client = get_client()
        return (lambda function, name: observe(name=name)(function)), client.flush, imported
    if tracer == "openinference":
        from phoenix.otel import register

        imported = time.perf_counter() - started
        provider = register(
            endpoint=f"{sink}/v1/traces",
            batch=True,
            set_global_tracer_provider=False,
            verbose=False,
        )
        oi = provider.get_tracer("bench")
        return (
            lambda function, name: oi.chain(name=name)(function),
            lambda: provider.force_flush(60_000) and None,
            imported,
        )
    raise SystemExit(f"unknown tracer {tracer!r}")


def _check_daytwo(result: Any) -> None:
    if result.failed or result.pending:
        raise SystemExit(f"daytwo lost spans: {result}")


def workloads(decorate: Decorate) -> tuple[Callable[[int], int], Callable[[int], int]]:
    def leaf(x: int) -> int:
        return x

    flat = decorate(leaf, "flat")
    child = decorate(leaf, "child")

    def parent_body(x: int) -> int:
        return child(x) + child(x) + child(x)

    return flat, decorate(parent_body, "parent")


def per_call_us(function: Callable[[int], int], calls: int) -> float:
    clock = time.perf_counter_ns
    samples = []
    for n in range(calls):
        start = clock()
        function(n)
        samples.append(clock() - start)
    return statistics.median(samples) / 1000


def cpu_us(function: Callable[[int], int], calls: int, flush: Callable[[], None]) -> float:
    gc.collect()
    start = time.process_time()
    for n in range(calls):
        function(n)
    flush()
    return (time.process_time() - start) * 1e6


def main() -> None:
    tracer, calls, sink = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    decorate, flush, imported = setup(tracer, sink)
    flat, nested = workloads(decorate)
    bare_flat, bare_nested = workloads(lambda function, name: function)
    for function in (flat, nested):  # warm up: first calls start threads and connections
        for n in range(200):
            function(n)
    flush()

    figures = {
        "tracer": tracer,
        "import_ms": imported * 1000,
        "flat_us": per_call_us(flat, calls),
        "nested_us": per_call_us(nested, calls // 4),
    }
    flush()
    spent = cpu_us(flat, calls, flush) - cpu_us(bare_flat, calls, lambda: None)
    figures["cpu_per_span_flat_us"] = spent / calls
    spent = cpu_us(nested, calls // 4, flush) - cpu_us(bare_nested, calls // 4, lambda: None)
    figures["cpu_per_span_nested_us"] = spent / calls  # calls // 4 parents of 4 spans each
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
