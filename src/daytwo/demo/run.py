"""``daytwo demo``: from nothing to a populated UI, on this machine, with no API key.

It starts the server (or uses one), serves the local model, has three
conversations with the documentation chatbot, records a few reviewer scores,
runs an experiment with heuristic, RAG and judge metrics, and says what to
open. Every step prints what it did.

It exits 0 when the experiment has at least one judge or RAG score, even if
the judge could not give others (a 135M model often cannot), and says how
many failed and why; it exits 1 when the judge gave none of them, since the
experiment then shows nothing of what those metrics do.
"""

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

import daytwo
from daytwo.demo import local_model
from daytwo.demo.questions import CONVERSATIONS, Question, all_questions

PROJECT = "daytwo-demo"
DATASET = "daytwo-docs-qa"
DEFAULT_URL = "http://127.0.0.1:7700"
MODEL_PORT = 7701
# The experiment's metrics that the model itself judges.
JUDGED = ("context_precision", "faithfulness", "answer_relevance")


def add_parser(commands: Any) -> None:
    """Add ``daytwo demo`` and ``daytwo model serve`` to the command line."""
    demo = commands.add_parser("demo", help="run a traced, evaluated chatbot on a local model")
    demo.add_argument("--url", default=DEFAULT_URL, help="daytwo server (started if not running)")
    demo.add_argument(
        "--model-url", help="an OpenAI-compatible endpoint instead of the local model"
    )
    demo.add_argument("--model", default=local_model.MODEL_ALIAS, help="model name to ask for")
    demo.add_argument("--api-key", default="local", help="key for --model-url")
    demo.add_argument("--threads", type=int, help="CPU threads for the local model")
    demo.add_argument("--questions", type=int, help="ask only the first N questions")
    demo.add_argument("--exit", action="store_true", help="stop the server when done")
    demo.set_defaults(handler=main)

    model = commands.add_parser("model", help="serve the local model")
    actions = model.add_subparsers(metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="serve it as an OpenAI-compatible endpoint")
    serve.add_argument("--port", type=int, default=MODEL_PORT)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--threads", type=int, help="CPU threads (default: up to 2)")
    serve.set_defaults(handler=serve_model)


def serve_model(args: argparse.Namespace) -> int:
    """Serve the local model in the foreground until interrupted."""
    try:
        local_model.check_installed()
    except local_model.LocalModelMissingError as error:
        print(f"daytwo: {error}", file=sys.stderr)
        return 2
    command = local_model.server_command(args.port, args.threads, args.host)
    print(f"serving {local_model.MODEL_ALIAS} at http://{args.host}:{args.port}/v1")
    with contextlib.suppress(KeyboardInterrupt):
        return subprocess.call(command)
    return 0


def main(args: argparse.Namespace) -> int:
    """Run the demo; return the exit status."""
    check = (
        local_model.check_installed if args.model_url is None else local_model.check_demo_installed
    )
    try:
        check()
    except local_model.LocalModelMissingError as error:
        print(f"daytwo demo: {error}", file=sys.stderr)
        return 2
    started = time.monotonic()
    with _server(args.url, keep=not args.exit) as (url, server), _model(args) as model_url:
        _step(f"daytwo server at {url}, model {args.model} at {model_url}")
        daytwo.configure(url=url, project=PROJECT)
        if args.model == local_model.MODEL_ALIAS:
            _price_local_model(url)
        questions = all_questions()[: args.questions] if args.questions else all_questions()
        bot = _bot(model_url, args)
        turns = _converse(bot, len(questions))
        _review(turns)
        result = _experiment(bot, model_url, args, questions)
        daytwo.flush()
        _report(url, result, time.monotonic() - started)
        status = _report_judge_failures(result, args.model, model_url)
        if server is not None and not args.exit:
            print("\nThe server keeps running; press Ctrl+C to stop it.")
            with contextlib.suppress(KeyboardInterrupt):
                server.wait()
    return status


def _bot(model_url: str, args: argparse.Namespace) -> Any:
    from openai import OpenAI

    from daytwo.demo.bot import DocsBot
    from daytwo.demo.corpus import load
    from daytwo.sdk.integrations import openai as daytwo_openai

    client = OpenAI(base_url=model_url, api_key=args.api_key)
    daytwo_openai.instrument(client)
    passages = load()
    _step(f"indexed {len(passages)} sections of daytwo's documentation with BM25")
    return DocsBot(client, args.model, passages)


def _converse(bot: Any, limit: int) -> list[tuple[Question, Any]]:
    from tqdm import tqdm

    turns: list[tuple[Question, Any]] = []
    with tqdm(total=limit, desc="conversations", unit="turn") as bar:
        for conversation in CONVERSATIONS:
            for question in conversation.questions:
                if len(turns) == limit:
                    break
                turn = bot.answer(
                    question.text, thread_id=conversation.thread_id, user_id=conversation.user_id
                )
                turns.append((question, turn))
                bar.update(1)
    _step(f"answered {len(turns)} questions in {len(CONVERSATIONS)} conversations (threads)")
    return turns


def _review(turns: list[tuple[Question, Any]]) -> None:
    """Score the turns as a reviewer would: thumbs up when the key fact is in the answer."""
    for question, turn in turns:
        found = question.key.lower() in turn.answer.lower().replace(",", "")
        daytwo.score(
            "reviewer thumbs up",
            found,
            trace_id=turn.trace_id,
            source="human",
            author="demo reviewer",
            reason=f"the answer {'gives' if found else 'misses'} {question.key!r}",
        )
    _step(f"recorded {len(turns)} reviewer scores")


# A CPU model on busy cores can take minutes per verdict: wait as long as the
# openai client does (600 s), since a retry after a timeout only queues the
# same work again behind the request the server is still computing.
JUDGE_TIMEOUT = 600.0


def judge_client(model: str, model_url: str, api_key: str) -> Any:
    """Return the metrics' LLM client; the bundled model is held to each verdict's schema.

    Asked for any JSON object, SmolLM2-135M wrote objects without the verdict's
    fields and gave no 1-5 rating in three tries (22 minutes on two busy cores);
    held to the schema by llama.cpp's grammar, it gave answer relevance, context
    precision and faithfulness for the same case in 105 s.
    """
    from daytwo.llm import LlmClient

    local = model == local_model.MODEL_ALIAS
    return LlmClient(
        model,
        base_url=model_url,
        api_key=api_key,
        max_concurrency=1,
        timeout=JUDGE_TIMEOUT,
        json_mode="json_object_schema" if local else "json_object",
    )


def _experiment(
    bot: Any, model_url: str, args: argparse.Namespace, questions: list[Question]
) -> Any:
    from daytwo.demo.metrics import KeyFact
    from daytwo.evals.client import DaytwoClient
    from daytwo.evals.metrics.heuristic import LevenshteinRatio
    from daytwo.evals.metrics.judges import AnswerRelevance
    from daytwo.evals.metrics.rag import ContextPrecision, Faithfulness
    from daytwo.evals.runner import evaluate

    with DaytwoClient() as client:
        client.ensure_dataset(DATASET, "Questions about daytwo with reference answers")
        client.add_items(
            DATASET,
            [
                {"id": f"q{n}", "input": q.text, "expected": q.expected, "metadata": {"key": q.key}}
                for n, q in enumerate(questions)
            ],
        )
        judge = judge_client(args.model, model_url, args.api_key)
        metrics = [
            KeyFact(),
            LevenshteinRatio(),
            ContextPrecision(judge),
            Faithfulness(judge),
            AnswerRelevance(judge),
        ]

        def task(question: str) -> dict[str, Any]:
            turn = bot.answer_alone(question)
            return {"output": turn.answer, "context": [p.text for p in turn.passages]}

        _step(
            "running an experiment: key fact, Levenshtein, context precision, faithfulness, "
            f"answer relevance (judged by {args.model})"
        )
        with judge:
            return evaluate(
                DATASET,
                task,
                metrics,
                name=f"docs bot on {args.model}",
                concurrency=1,
                client=client,
            )


def _report(url: str, result: Any, seconds: float) -> None:
    print()
    for metric in result.summary.get("metrics", []):
        if metric["mean"] is not None:
            print(f"  {metric['name']:<20} {metric['mean']:.2f}  ({metric['count']} items)")
    scorable = sum(run.error is None for run in result.runs)
    for name, (count, reason) in result.metric_failures.items():
        print(f"  {name:<20} could not score {count} of {scorable} items: {reason[:160]}")
    print(f"\nDone in {seconds:.0f} s. Open {url}/ to see:")
    print(f"  traces      {url}/projects/{PROJECT}/traces")
    print(f"  threads     {url}/projects/{PROJECT}/threads")
    print(f"  dashboard   {url}/projects/{PROJECT}/dashboard")
    print(f"  experiment  {result.url}")


def _report_judge_failures(result: Any, model: str, model_url: str) -> int:
    """Say how many judge and RAG scores the judge could not give; return the exit status."""
    given = sum(name in JUDGED for run in result.runs for name in run.scores)
    failed = sum(result.metric_failures.get(name, (0, ""))[0] for name in JUDGED)
    if not failed:
        return 0
    if given:
        print(
            f"\nThe judge ({model}) could not give {failed} of {given + failed} judge and RAG "
            "scores (reasons above). The scores it gave are stored; each failure is recorded "
            "on its metric's span in the evaluation trace of the item."
        )
        return 0
    print(
        f"\ndaytwo demo: the judge ({model} at {model_url}) could not give any of the "
        f"{failed} judge and RAG scores, so the experiment has none (reasons above). "
        "Check that the model answers chat completions with JSON "
        '(response_format {"type": "json_object"}).',
        file=sys.stderr,
    )
    return 1


def _price_local_model(url: str) -> None:
    """Price daytwo's own local model at zero, so its cost is known rather than unknown.

    Only that model's name is priced: an override is server-wide, and a model
    that someone pays for must keep its price.
    """
    model = local_model.MODEL_ALIAS
    override = {"model": model, "input_per_mtok": 0.0, "output_per_mtok": 0.0}
    httpx.put(f"{url}/api/v1/prices/overrides", json=override, timeout=10).raise_for_status()
    _step(f"priced {model} at $0 per token (it runs on this machine)")


@contextlib.contextmanager
def _server(url: str, keep: bool) -> Iterator[tuple[str, subprocess.Popen[bytes] | None]]:
    if _healthy(url):
        yield url, None
        return
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    log = Path.home() / ".cache" / "daytwo-demo-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "daytwo", "serve", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    _step(f"started daytwo serve on port {port} (log: {log})")
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daytwo serve did not start; see {log}")
            time.sleep(0.2)
        yield url, process
    finally:
        if not keep or process.poll() is not None:
            process.terminate()
            process.wait(30)


@contextlib.contextmanager
def _model(args: argparse.Namespace) -> Iterator[str]:
    if args.model_url:
        yield args.model_url.rstrip("/")
        return
    _step("starting the local model (SmolLM2-135M-Instruct on the CPU)")
    log = Path.home() / ".cache" / "daytwo-demo-model.log"
    with local_model.serving(MODEL_PORT, args.threads, log) as base_url:
        yield base_url


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def _step(message: str) -> None:
    print(f"• {message}", flush=True)
