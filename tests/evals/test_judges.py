"""LLM judges through the fake provider: a responder answers each prompt with a fixed verdict."""

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import daytwo
from daytwo.evals.client import DaytwoClient
from daytwo.evals.metric import MetricError
from daytwo.evals.metrics.judges import (
    AnswerRelevance,
    CustomJudge,
    GEval,
    Hallucination,
    Moderation,
    Usefulness,
    weighted_score,
)
from daytwo.evals.runner import evaluate
from daytwo.llm import LlmClient, RetryPolicy
from tests.conftest import LiveServer
from tests.doubles.openai_server import FakeOpenAIServer, Reply, Request

CHAT = "/v1/chat/completions"


def section(prompt: str, heading: str) -> str:
    """Return the text under ``heading:`` up to the next blank line followed by a heading."""
    match = re.search(rf"^{heading}:\n(.*?)(?:\n\n[A-Z][\w ]*:\n|\Z)", prompt, re.S | re.M)
    return match[1].strip() if match else ""


def verdicts(prompt: str) -> dict[str, Any]:
    context = section(prompt, "Context").lower()
    claims = re.findall(r"^(\d+)\. (.+)$", section(prompt, "Claims"), re.M)
    found = []
    for number, claim in claims:
        supported = claim.lower().rstrip(".") in context
        verdict = "supported" if supported else "unsupported"
        found.append({"claim": int(number), "reason": f"{verdict} by context", "verdict": verdict})
    return {"verdicts": found}


def judge_responder(request: Request) -> Reply:
    """Answer a judge's prompt with a verdict that follows from the prompt's content."""
    prompt = next(m["content"] for m in request.body["messages"] if m["role"] == "user")
    answer: dict[str, Any]
    if prompt.startswith("Break the text below"):
        text = section(prompt, "Text")
        answer = {"claims": [s.strip() for s in text.split(". ") if s.strip()]}
    elif prompt.startswith("For each numbered claim"):
        answer = verdicts(prompt)
    elif prompt.startswith("Rate how well the answer addresses"):
        on_topic = "paris" in section(prompt, "Answer").lower()
        answer = {"reason": "on topic" if on_topic else "off topic", "score": 5 if on_topic else 2}
    elif prompt.startswith("Rate how useful"):
        answer = {"reason": "actionable", "score": 4}
    elif prompt.startswith("Check the text for unsafe content"):
        violent = "hurt" in section(prompt, "Text")
        flags = [{"category": "violence", "severity": 0.75}] if violent else []
        answer = {"reason": "threat of harm" if violent else "benign", "flags": flags}
    elif prompt.startswith("You will evaluate AI outputs"):
        answer = {"steps": ["Read the output.", "Check it against the criteria."]}
    elif prompt.startswith("Evaluate the output against the criteria"):
        answer = {"reason": "mostly coherent", "score": 4}
    elif prompt.startswith("Evaluate the output by this rubric"):
        polite = "please" in section(prompt, "Output").lower()
        answer = {"reason": "polite" if polite else "curt", "label": "yes" if polite else "no"}
        if "whole-number score" in prompt:
            answer = {"reason": "fine", "score": 7}
    else:
        return Reply(content="I cannot judge that.")
    return Reply(content=json.dumps(answer))


@pytest.fixture(scope="module")
def judge_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(responder=judge_responder) as server:
        yield server


@pytest.fixture
def judge(judge_server: FakeOpenAIServer) -> Iterator[LlmClient]:
    daytwo.configure(enabled=False)
    judge_server.reset()
    retry = RetryPolicy(max_retries=0)
    with LlmClient("gpt-4o-mini", base_url=judge_server.base_url, retry=retry) as client:
        yield client


CONTEXT = ["Paris is the capital of France", "The Eiffel Tower is in Paris"]


def test_hallucination_is_the_share_of_supported_claims(judge: LlmClient) -> None:
    output = "Paris is the capital of France. Paris has ten million bridges."

    result = Hallucination(judge).score(input="Tell me about Paris", output=output, context=CONTEXT)

    assert result.value == 0.5
    assert result.reason is not None
    assert "1 of 2 claims supported" in result.reason
    assert "unsupported: 'Paris has ten million bridges.'" in result.reason
    assert Hallucination.source == "judge"


def test_judge_calls_ask_for_json_at_temperature_zero(
    judge: LlmClient, judge_server: FakeOpenAIServer
) -> None:
    AnswerRelevance(judge).score(input="Capital of France?", output="Paris.")

    body = judge_server.requests_to(CHAT)[0].body
    assert body["temperature"] == 0.0
    assert body["response_format"] == {"type": "json_object"}


def test_a_judge_in_an_experiment_is_traced_as_evaluation_traffic_with_its_tokens(
    judge_server: FakeOpenAIServer, live_server: LiveServer, tmp_path: Path
) -> None:
    judge_server.reset()
    daytwo.configure(
        url=live_server.url, project="judged", spool_dir=str(tmp_path), flush_interval=0.05
    )
    retry = RetryPolicy(max_retries=0)
    try:
        with (
            LlmClient("gpt-4o-mini", base_url=judge_server.base_url, retry=retry) as judge,
            DaytwoClient() as client,
        ):
            result = evaluate(
                [{"id": "paris", "input": "Capital of France?"}],
                lambda question: "Paris.",
                [AnswerRelevance(judge)],
                name="judged",
                progress=False,
                client=client,
            )
    finally:
        daytwo.shutdown()
        daytwo.configure(enabled=False)

    [run] = result.runs
    assert run.scores["answer_relevance"].value == 1.0
    with live_server.client() as http:
        base = "/api/v1/projects/judged/traces"
        [scoring] = http.get(base, params={"tag": "evaluation"}).json()["items"]
        tree = http.get(f"{base}/{scoring['id']}").json()
        llm = next(node for node in tree["spans"] if node["kind"] == "llm")
        span = http.get(f"{base}/{scoring['id']}/spans/{llm['id']}").json()
        task = http.get(f"{base}/{run.trace_id}").json()["trace"]
    # The runner's scoring trace: tagged, linked to the experiment and the trace it scored.
    assert scoring["tags"] == ["evaluation"]
    assert tree["metadata"]["experiment_id"] == result.id
    assert tree["metadata"]["scored_trace_id"] == run.trace_id
    assert [(n["name"], n["kind"], n["depth"]) for n in tree["spans"]] == [
        ("evaluate judged", "evaluator", 0),
        ("answer_relevance", "evaluator", 1),
        ("chat gpt-4o-mini", "llm", 2),
    ]
    # The judge's call: marked as evaluation traffic, with the usage the server costs it by.
    assert span["metadata"]["daytwo.evaluation"] is True
    assert span["metadata"]["daytwo.purpose"] == "evaluation"
    assert span["input_tokens"] > 0
    assert span["output_tokens"] > 0
    assert span["total_cost"] > 0
    assert scoring["total_cost"] == span["total_cost"]
    # None of it is counted as the task's.
    assert (task["llm_count"], task["total_cost"]) == (0, None)


def test_answer_relevance_scales_the_rating_and_keeps_the_reason(judge: LlmClient) -> None:
    good = AnswerRelevance(judge).score(input="Capital of France?", output="Paris.")
    bad = AnswerRelevance(judge).score(input="Capital of France?", output="Bananas are yellow.")

    assert (good.value, good.reason) == (1.0, "5/5: on topic")
    assert bad.value == 0.25


def test_usefulness_scales_the_rating(judge: LlmClient) -> None:
    assert (
        Usefulness(judge).score(input="How do I reset it?", output="Hold the button.").value == 0.75
    )


def test_moderation_scores_one_when_safe_and_one_minus_severity_when_not(judge: LlmClient) -> None:
    safe = Moderation(judge).score(output="Have a lovely day.")
    unsafe = Moderation(judge).score(output="I will hurt you.")

    assert safe.value == 1.0
    assert unsafe.value == 0.25
    assert unsafe.reason == "unsafe: violence (0.75); threat of harm"


def test_g_eval_generates_the_steps_once_and_reuses_them(
    judge: LlmClient, judge_server: FakeOpenAIServer
) -> None:
    metric = GEval(judge, "Coherence: the answer is well structured.")

    first = metric.score(output="First, ... Then, ...")
    metric.score(output="Another answer.")

    assert first.value == 0.75
    assert first.details is not None
    assert first.details["evaluation_steps"] == [
        "Read the output.",
        "Check it against the criteria.",
    ]
    assert first.details["weighted_score"] is None
    prompts = [r.body["messages"][1]["content"] for r in judge_server.requests_to(CHAT)]
    assert sum(p.startswith("You will evaluate") for p in prompts) == 1
    assert "1. Read the output." in prompts[-1]


def test_g_eval_weights_the_candidate_scores_by_their_probabilities(
    judge: LlmClient, judge_server: FakeOpenAIServer
) -> None:
    text = '{"reason": "good", "score": 4}'
    tokens = ['{"', "reason", '":', ' "', "good", '",', ' "', "score", '":', " ", "4", "}"]
    assert "".join(tokens) == text
    top = [("4", 0.6), ("3", 0.3), ("5", 0.1)]
    logprobs = [{"token": t, "logprob": 0.0, "top_logprobs": []} for t in tokens]
    logprobs[10] = {
        "token": "4",
        "logprob": math.log(0.6),
        "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in top],
    }
    judge_server.script(Reply(content=text, logprobs=tuple(logprobs)))
    metric = GEval(judge, "Coherence.", evaluation_steps=["Read it."])

    result = metric.score(output="An answer.")

    # (4 * 0.6 + 3 * 0.3 + 5 * 0.1) / 1.0 = 3.8, scaled as (3.8 - 1) / 4 = 0.7.
    assert result.value == pytest.approx(0.7)
    assert result.details is not None
    assert result.details["probabilities"] == pytest.approx({4: 0.6, 3: 0.3, 5: 0.1})
    assert judge_server.requests_to(CHAT)[0].body["top_logprobs"] == 5


def test_weighted_score_renormalizes_over_the_candidates() -> None:
    assert weighted_score({1: 0.2, 5: 0.2}) == pytest.approx(3.0)
    assert weighted_score({}) is None


def test_a_custom_judge_with_labels_returns_the_label(judge: LlmClient) -> None:
    metric = CustomJudge(judge, "polite", "Is the reply polite?", labels=["yes", "no"])

    assert metric.score(output="Please find it attached.").value == "yes"
    assert metric.score(output="Whatever.").value == "no"


def test_a_custom_judge_on_a_scale_normalizes_the_score(judge: LlmClient) -> None:
    metric = CustomJudge(judge, "depth", "How deep is the analysis?", scale=(1, 10))

    result = metric.score(output="A thorough analysis.")

    assert result.value == pytest.approx(6 / 9)
    assert result.reason == "7/10: fine"


def test_a_custom_judge_needs_a_scale_or_labels(judge: LlmClient) -> None:
    with pytest.raises(ValueError, match="either scale"):
        CustomJudge(judge, "x", "rubric")


def test_a_malformed_verdict_is_re_asked(judge: LlmClient, judge_server: FakeOpenAIServer) -> None:
    judge_server.script(Reply(content='{"reason": "ok", "score": 9}'))

    result = AnswerRelevance(judge).score(input="Capital of France?", output="Paris.")

    assert result.value == 1.0
    second = judge_server.requests_to(CHAT)[1].body["messages"]
    assert "less than or equal to 5" in second[-1]["content"]


def test_a_reply_that_is_not_json_is_re_asked_and_the_judge_succeeds(
    judge: LlmClient, judge_server: FakeOpenAIServer
) -> None:
    judge_server.script(Reply(content='{"reason": "on topic", "score": 5'))

    result = AnswerRelevance(judge).score(input="Capital of France?", output="Paris.")

    assert (result.value, result.reason) == (1.0, "5/5: on topic")
    requests = judge_server.requests_to(CHAT)
    assert len(requests) == 2
    second = requests[1].body["messages"]
    assert second[-2] == {"role": "assistant", "content": '{"reason": "on topic", "score": 5'}
    assert "Invalid JSON" in second[-1]["content"]


def test_a_judge_that_never_answers_properly_raises_metric_error(
    judge: LlmClient, judge_server: FakeOpenAIServer
) -> None:
    judge_server.script(*[Reply(content="five")] * 3)

    with pytest.raises(MetricError, match="answer_relevance: the judge failed"):
        AnswerRelevance(judge).score(input="Capital of France?", output="Paris.")


def test_a_judge_timeout_raises_metric_error(judge_server: FakeOpenAIServer) -> None:
    judge_server.script(Reply(delay=2.0))
    retry = RetryPolicy(max_retries=0)
    with (
        LlmClient("m", base_url=judge_server.base_url, timeout=0.2, retry=retry) as slow,
        pytest.raises(MetricError, match="no answer from"),
    ):
        Usefulness(slow).score(input="q", output="a")


def test_missing_inputs_are_named(judge: LlmClient) -> None:
    with pytest.raises(MetricError, match="hallucination needs context"):
        Hallucination(judge).score(output="Paris.")
