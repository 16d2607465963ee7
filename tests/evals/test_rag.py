"""RAG metrics: the RAGAS formulas on worked examples, and the metrics through the fake provider."""

import json
import math
from collections.abc import Iterator

import pytest

import daytwo
from daytwo.evals.metrics.rag import (
    AnswerRelevancy,
    ContextPrecision,
    ContextRecall,
    Faithfulness,
    answer_relevancy_from_embeddings,
    context_precision_from_verdicts,
    context_recall_from_verdicts,
    faithfulness_from_verdicts,
)
from daytwo.llm import LlmClient, RetryPolicy
from tests.doubles.openai_server import FakeOpenAIServer, Reply, Request
from tests.evals.test_judges import judge_responder, section


def rag_responder(request: Request) -> Reply | None:
    """Add the RAG prompts to the judges' responder; embeddings get the fake's own vectors."""
    if request.path != "/v1/chat/completions":
        return None
    prompt = next(m["content"] for m in request.body["messages"] if m["role"] == "user")
    if prompt.startswith("Given the question and the reference answer"):
        answer = section(prompt, "Reference answer").lower().rstrip(".")
        relevant = answer in section(prompt, "Passage").lower()
        return Reply(content=json.dumps({"reason": "checked", "verdict": int(relevant)}))
    if prompt.startswith("Write 3 different questions"):
        committal = "don't know" not in section(prompt, "Answer")
        questions = ["What is the capital of France?"] * 2 + ["Where is the Eiffel Tower?"]
        return Reply(content=json.dumps({"questions": questions, "noncommittal": not committal}))
    return judge_responder(request)


@pytest.fixture(scope="module")
def rag_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(responder=rag_responder) as server:
        yield server


@pytest.fixture
def judge(rag_server: FakeOpenAIServer) -> Iterator[LlmClient]:
    daytwo.configure(enabled=False)
    rag_server.reset()
    with LlmClient(
        "gpt-4o-mini",
        base_url=rag_server.base_url,
        embedding_model="text-embedding-3-small",
        retry=RetryPolicy(max_retries=0),
    ) as client:
        yield client


# The worked examples follow the definitions in the RAGAS paper and documentation.


def test_context_precision_averages_precision_at_each_relevant_rank() -> None:
    # Relevant at ranks 1 and 3: (1/1 + 2/3) / 2.
    assert context_precision_from_verdicts([1, 0, 1]) == pytest.approx(0.8333333)
    # The RAGAS documentation's example: one relevant chunk ranked second gives 1/2.
    assert context_precision_from_verdicts([0, 1]) == 0.5
    assert context_precision_from_verdicts([1, 1, 0]) == 1.0
    assert context_precision_from_verdicts([0, 0]) == 0.0


def test_context_recall_is_the_share_of_attributable_reference_claims() -> None:
    assert context_recall_from_verdicts([True, True, False]) == pytest.approx(2 / 3)
    assert context_recall_from_verdicts([]) == 1.0


def test_faithfulness_is_the_share_of_inferable_claims() -> None:
    # The RAGAS example: "Einstein was born in Germany on 20 March 1879" against a context
    # giving 14 March 1879: one of two statements is inferable.
    assert faithfulness_from_verdicts([True, False]) == 0.5


def test_answer_relevancy_is_the_mean_cosine_to_the_question() -> None:
    question = [1.0, 0.0]
    generated = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]

    expected = (1.0 + 0.0 + 1 / math.sqrt(2)) / 3
    assert answer_relevancy_from_embeddings(question, generated) == pytest.approx(expected)


CONTEXT = ["The Eiffel Tower is in Paris", "Paris is the capital of France"]
QUESTION = "What is the capital of France?"


def test_context_precision_judges_every_chunk_against_the_reference(judge: LlmClient) -> None:
    result = ContextPrecision(judge).score(
        input=QUESTION, expected="Paris is the capital of France.", context=CONTEXT
    )

    assert result.value == 0.5
    assert result.reason == "1 of 2 chunks relevant, at ranks 2"


def test_context_recall_attributes_the_reference_claims(judge: LlmClient) -> None:
    expected = "Paris is the capital of France. Paris has a tram network."

    result = ContextRecall(judge).score(input=QUESTION, expected=expected, context=CONTEXT)

    assert result.value == 0.5
    assert result.reason is not None
    assert "missing: 'Paris has a tram network.'" in result.reason


def test_faithfulness_checks_the_output_claims(judge: LlmClient) -> None:
    output = "Paris is the capital of France. The Eiffel Tower is in Paris."

    result = Faithfulness(judge).score(input=QUESTION, output=output, context=CONTEXT)

    assert result.value == 1.0
    assert Faithfulness.name == "faithfulness"
    assert ContextPrecision.name == "context_precision"


def test_answer_relevancy_compares_generated_questions_by_embedding(judge: LlmClient) -> None:
    result = AnswerRelevancy(judge, embedder=judge).score(input=QUESTION, output="Paris.")

    # Two of the three generated questions equal the input (cosine 1); the fake's hashed
    # embedding decides the third.
    assert result.details is not None
    similarities = result.details["similarities"]
    assert similarities[:2] == pytest.approx([1.0, 1.0])
    assert result.value == pytest.approx(max(sum(similarities) / 3, 0.0))


def test_a_noncommittal_answer_scores_zero(judge: LlmClient) -> None:
    result = AnswerRelevancy(judge, embedder=judge).score(input=QUESTION, output="I don't know.")

    assert result.value == 0.0
    assert result.reason == "the answer is noncommittal"


def test_answer_relevancy_falls_back_to_a_judge_rating_without_an_embedder(
    judge: LlmClient,
) -> None:
    result = AnswerRelevancy(judge).score(input=QUESTION, output="Paris.")

    assert result.value == 1.0
    assert result.reason == "judge rating 5/5: on topic"
