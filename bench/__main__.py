"""Run daytwo's benchmarks and write their figures to docs/benchmarks.md.

python -m bench                  # ingest (daytwo on SQLite and PostgreSQL, Phoenix), query
python -m bench --skip-phoenix   # without Phoenix
python -m bench --quick          # a smoke run; writes bench/.results/benchmarks-quick.md
python -m bench --only query     # one benchmark; the other's section is kept
python -m bench --only ingest --skip-phoenix --profile   # where daytwo's ingest time goes
python -m bench --only sdk       # the SDK's overhead beside other tracers
python -m bench --only experiments   # evaluate() against a slow fake model, 16 at once and 1
python -m bench --only prompts   # get_prompt cached, split, uncached, and rendering
python -m bench --only ui        # the web UI in Chromium over the query data set
"""

import argparse
import logging
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from bench import (
    dataset,
    experiments,
    ingest,
    machine,
    postgres,
    prompts,
    query,
    report,
    sdk,
    ui,
)
from bench.phoenix import PhoenixTarget
from bench.targets import DaytwoTarget, Target

logger = logging.getLogger("bench")

RESULTS = Path(__file__).parent / ".results"
QUICK_INGEST_SPANS = 2_000
QUICK_QUERY_SPANS = 50_000
QUICK_EXPERIMENT_ITEMS = 100
DAYTWO_INGEST_RUNS = 3


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging()
    signal.signal(signal.SIGTERM, _exit_on_signal)  # so that `finally` stops the servers
    postgres_url = _postgres(args)
    info = _run_info(argv, postgres_url)
    sections: dict[str, str] = {}
    if args.only in (None, "ingest"):
        sections["ingest"] = _ingest(args, info, postgres_url)
    if args.only in (None, "query"):
        sections["query"] = _query(args, info, postgres_url)
    if args.only in (None, "sdk"):
        sections["sdk"] = _sdk(args, info)
    if args.only in (None, "experiments"):
        sections["experiments"] = _experiments(args, info)
    if args.only in (None, "prompts"):
        sections["prompts"] = _prompts(args, info)
    if args.only in (None, "ui"):
        sections["ui"] = _ui(args, info)
    output = _output(args)
    report.update_document(sections, output)
    print("\n\n".join(sections.values()))
    logger.info("wrote %s", output)
    return 0


def _output(args: argparse.Namespace) -> Path:
    # A quick run's figures would mislead in the published document.
    if args.output is not None:
        return Path(args.output)
    fewer_items = args.experiment_items not in (None, experiments.ITEMS)
    return RESULTS / "benchmarks-quick.md" if args.quick or fewer_items else report.DOCUMENT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer spans, no Phoenix")
    parser.add_argument("--skip-phoenix", action="store_true", help="do not run Arize Phoenix")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--only",
        choices=["ingest", "query", "sdk", "experiments", "prompts", "ui"],
        help="run one benchmark",
    )
    parser.add_argument("--spans", type=int, help="ingest: spans to send (default 20,000)")
    parser.add_argument(
        "--query-spans", type=int, help="query and ui: spans stored (default 1,000,000)"
    )
    parser.add_argument(
        "--reseed", action="store_true", help="query and ui: seed the data set again"
    )
    parser.add_argument(
        "--experiment-items",
        type=int,
        help="experiments: items per run (default 1,000; other counts write the quick document)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="ingest: also profile daytwo on SQLite with py-spy, in a separate pass",
    )
    parser.add_argument("--output", type=Path, help="the document to update")
    return parser


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _exit_on_signal(signum: int, _: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _postgres(args: argparse.Namespace) -> str | None:
    if args.skip_postgres:
        return None
    url = postgres.admin_url()
    if postgres.server_version(url) is None:
        logger.warning("no PostgreSQL at %s; running SQLite only", url)
        return None
    return url


def _run_info(argv: Sequence[str] | None, postgres_url: str | None) -> report.RunInfo:
    arguments = list(sys.argv[1:] if argv is None else argv)
    versions = {"daytwo": machine.daytwo_version()}
    if postgres_url is not None:
        versions["PostgreSQL"] = postgres.server_version(postgres_url) or "?"
    return report.RunInfo(
        command=shlex.join(["python", "-m", "bench", *arguments]),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine.this_machine(),
        versions=versions,
    )


def _ingest(args: argparse.Namespace, info: report.RunInfo, postgres_url: str | None) -> str:
    settings = ingest.IngestSettings()
    if args.quick or args.spans:
        settings = replace(settings, spans=args.spans or QUICK_INGEST_SPANS)
    targets: list[Target] = [DaytwoTarget()]
    if postgres_url is not None:
        targets.append(DaytwoTarget(postgres_url=postgres_url))
    versions = dict(info.versions)
    if not (args.quick or args.skip_phoenix):
        phoenix = PhoenixTarget()
        versions["Arize Phoenix"] = phoenix.version()
        targets.append(phoenix)
    load = ingest.build_workload(settings)
    results = []
    for target in targets:
        # Phoenix takes minutes a run; daytwo's runs vary by a fifth on a shared machine.
        repeats = 1 if args.quick or isinstance(target, PhoenixTarget) else DAYTWO_INGEST_RUNS
        runs = []
        for run in range(repeats):
            logger.info("ingest: %s, run %d of %d", target.label, run + 1, repeats)
            runs.append(ingest.run_target(target, load, settings))
        results.append(ingest.median_run(runs))
    if args.profile:
        _profile_ingest(load, settings)
    return report.ingest_section(replace(info, versions=versions), settings, load, results)


def _profile_ingest(load: ingest.Workload, settings: ingest.IngestSettings) -> None:
    directory = RESULTS / f"profile-{time.strftime('%Y%m%d-%H%M%S')}"
    logger.info("profiling daytwo on SQLite (figures not reported: the profiler costs CPU)")
    result = ingest.run_target(DaytwoTarget(), load, settings, profile_dir=directory)
    if result.profile:
        print(Path(result.profile).read_text())
        logger.info("profile in %s", directory)


def _query(args: argparse.Namespace, info: report.RunInfo, postgres_url: str | None) -> str:
    spans = args.query_spans or (QUICK_QUERY_SPANS if args.quick else None)
    spec = dataset.DatasetSpec() if spans is None else dataset.DatasetSpec(spans=spans)
    data = dataset.ensure_sqlite(spec, reseed=args.reseed)
    settings = query.QuerySettings(runs=10) if args.quick else query.QuerySettings()
    results = [query.run_target(DaytwoTarget(), data.sqlite_url, data, settings)]
    if postgres_url is not None and not args.quick:
        url = dataset.ensure_postgres(data, postgres_url, recopy=args.reseed)
        target = DaytwoTarget(postgres_url=postgres_url, database=dataset.POSTGRES_DATABASE)
        results.append(query.run_target(target, url, data, settings))
    return report.query_section(info, data, settings, results)


def _sdk(args: argparse.Namespace, info: report.RunInfo) -> str:
    settings = sdk.SdkSettings(calls=2_000, runs=1, e2e_spans=2_000) if args.quick else None
    settings = settings or sdk.SdkSettings()
    results, e2e = sdk.run(settings, skip_peers=args.quick)
    return report.sdk_section(info, settings, results, e2e)


def _experiments(args: argparse.Namespace, info: report.RunInfo) -> str:
    items = args.experiment_items or (QUICK_EXPERIMENT_ITEMS if args.quick else None)
    settings = experiments.ExperimentSettings()
    if items is not None:
        settings = replace(settings, items=items)
    runs = experiments.run(settings)
    return experiments.section(_daytwo_only(info), settings, runs)


def _prompts(args: argparse.Namespace, info: report.RunInfo) -> str:
    settings = prompts.PromptSettings(calls=2_000, fetches=50) if args.quick else None
    settings = settings or prompts.PromptSettings()
    return prompts.section(_daytwo_only(info), settings, prompts.run(settings))


def _ui(args: argparse.Namespace, info: report.RunInfo) -> str:
    spans = args.query_spans or (QUICK_QUERY_SPANS if args.quick else None)
    spec = dataset.DatasetSpec() if spans is None else dataset.DatasetSpec(spans=spans)
    data = dataset.ensure_sqlite(spec, reseed=args.reseed)
    settings = ui.UiSettings(runs=3, big_trace_spans=3_000) if args.quick else ui.UiSettings()
    results, note = ui.run(data, settings)
    return ui.section(_daytwo_only(info), data, results, note)


def _daytwo_only(info: report.RunInfo) -> report.RunInfo:
    # These benchmarks use neither PostgreSQL nor Phoenix; their versions would mislead.
    return replace(info, versions={"daytwo": info.versions["daytwo"]})


if __name__ == "__main__":
    sys.exit(main())
