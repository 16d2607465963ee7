"""RAG metrics as RAGAS defines them (Es et al. 2023, "RAGAS: Automated Evaluation of
Retrieval Augmented Generation"; the definitions follow the ragas documentation).

A judge makes the per-item decisions (is this chunk relevant, is this claim
supported); the formulas that turn them into a score are plain functions, so
they can be checked on worked examples:

    context_precision_from_verdicts([1, 0, 1])   # (1/1 + 2/3) / 2 = 0.8333...
    faithfulness_from_verdicts([True, True, False])  # 2/3

Every score is in [0, 1], higher is better. The names match what the RAG
diagnosis (``daytwo.evals.diagnosis``) reads: ``context_precision`` and
``faithfulness``.
"""

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from daytwo.evals.metric import ScoreResult, require
from daytwo.evals.metrics.heuristic import Embedder
from daytwo.evals.metrics.judges import (
    ANSWER_RELEVANCE_PROMPT,
    JudgeClient,
    LlmJudge,
    Rating,
    context_text,
    extract_claims,
    rating_result,
    verify_claims,
)
from daytwo.evals.workers import run_sync

CHUNK_RELEVANCE_PROMPT = """Given the question and the reference answer, decide whether the
retrieved passage was useful in arriving at the answer (1) or not (0).

Question:
{question}

Reference answer:
{answer}

Passage:
{passage}"""

ANSWER_QUESTIONS_PROMPT = """Write {n} different questions that the answer below answers,
each one a question a user could have asked to get this answer. Also say whether the answer is
noncommittal: evasive, vague or a refusal ("I don't know", "it depends") rather than an answer.

Answer:
{answer}"""


class ChunkVerdict(BaseModel):
    reason: str
    verdict: int


class GeneratedQuestions(BaseModel):
    questions: list[str]
    noncommittal: bool


def context_precision_from_verdicts(verdicts: Sequence[int | bool]) -> float:
    """Return RAGAS context precision for relevance verdicts in retrieval order.

    Context Precision@K = sum_k (Precision@k * v_k) / (number of relevant chunks in the top K),
    where v_k is 1 when chunk k is relevant and Precision@k the share of relevant chunks
    among the first k. No relevant chunk gives 0.
    """
    relevant = 0
    total = 0.0
    for k, verdict in enumerate(verdicts, 1):
        if verdict:
            relevant += 1
            total += relevant / k
    return total / relevant if relevant else 0.0


def context_recall_from_verdicts(attributed: Sequence[bool]) -> float:
    """Return RAGAS context recall: |reference claims attributable to the context| / |claims|."""
    return sum(map(bool, attributed)) / len(attributed) if attributed else 1.0


def faithfulness_from_verdicts(supported: Sequence[bool]) -> float:
    """Return RAGAS faithfulness: |claims inferable from the context| / |claims in the answer|."""
    return sum(map(bool, supported)) / len(supported) if supported else 1.0


def answer_relevancy_from_embeddings(
    question: Sequence[float], generated: Sequence[Sequence[float]]
) -> float:
    """Return RAGAS answer relevancy: the mean cosine of generated questions to the question.

    AR = (1/N) * sum_i cos(E_gi, E_o), with E_o the original question's embedding and
    E_gi those of the N questions generated from the answer.
    """
    if not generated:
        return 0.0
    return sum(_cosine(question, vector) for vector in generated) / len(generated)


class ContextPrecision(LlmJudge):
    """Score whether the relevant chunks of ``context`` are ranked first (RAGAS).

    The judge decides for each chunk whether it was useful for arriving at the
    ``expected`` answer; without one, at the ``output`` (RAGAS's variant
    without reference).
    """

    name = "context_precision"

    async def ascore(
        self,
        *,
        input: Any = None,
        output: Any = None,
        expected: Any = None,
        context: Sequence[str] | None = None,
        **_: Any,
    ) -> ScoreResult:
        """Judge each chunk's relevance, then average precision@k over the relevant ranks."""
        answer = expected if expected is not None else output
        require(self, input=input, context=context, expected=answer)
        chunks = _chunks(context)
        if not chunks:
            return ScoreResult(self.name, 0.0, "no context was retrieved")
        replies = await asyncio.gather(
            *(self._judge_chunk(input, answer, chunk) for chunk in chunks)
        )
        verdicts = [1 if reply.verdict else 0 for reply in replies]
        value = context_precision_from_verdicts(verdicts)
        relevant = [str(k) for k, verdict in enumerate(verdicts, 1) if verdict]
        where = f"at ranks {', '.join(relevant)}" if relevant else "none relevant"
        reason = f"{len(relevant)} of {len(chunks)} chunks relevant, {where}"
        details = {"verdicts": verdicts, "reasons": [reply.reason for reply in replies]}
        return ScoreResult(self.name, value, reason, details)

    async def _judge_chunk(self, question: Any, answer: Any, chunk: str) -> ChunkVerdict:
        prompt = CHUNK_RELEVANCE_PROMPT.format(question=question, answer=answer, passage=chunk)
        return (await self.ask(prompt, ChunkVerdict)).parsed


class ContextRecall(LlmJudge):
    """Score the share of the ``expected`` answer's claims the ``context`` supports (RAGAS)."""

    name = "context_recall"

    async def ascore(
        self,
        *,
        input: Any = None,
        expected: Any = None,
        context: Sequence[str] | None = None,
        **_: Any,
    ) -> ScoreResult:
        """Split the reference answer into claims and attribute each to the context."""
        require(self, expected=expected, context=context)
        claims = await extract_claims(self, str(expected), input)
        if not claims:
            return ScoreResult(self.name, 1.0, "the expected answer makes no claims")
        verdicts = await verify_claims(self, claims, context_text(_chunks(context)))
        attributed = [verdict.verdict == "supported" for verdict in verdicts]
        value = context_recall_from_verdicts(attributed)
        missing = [claims[i] for i, ok in enumerate(attributed) if not ok]
        reason = f"{sum(attributed)} of {len(claims)} reference claims found in the context"
        if missing:
            reason += "; missing: " + "; ".join(repr(claim) for claim in missing)
        return ScoreResult(self.name, value, reason, {"claims": claims, "attributed": attributed})


class Faithfulness(LlmJudge):
    """Score the share of the output's claims that can be inferred from the ``context`` (RAGAS)."""

    name = "faithfulness"

    async def ascore(
        self,
        *,
        input: Any = None,
        output: Any = None,
        context: Sequence[str] | None = None,
        **_: Any,
    ) -> ScoreResult:
        """Split the output into claims and check each against the context."""
        require(self, output=output, context=context)
        claims = await extract_claims(self, str(output), input)
        if not claims:
            return ScoreResult(self.name, 1.0, "the output makes no factual claims")
        verdicts = await verify_claims(self, claims, context_text(_chunks(context)))
        supported = [verdict.verdict == "supported" for verdict in verdicts]
        value = faithfulness_from_verdicts(supported)
        unfaithful = [claims[i] for i, ok in enumerate(supported) if not ok]
        reason = f"{sum(supported)} of {len(claims)} claims inferable from the context"
        if unfaithful:
            reason += "; not inferable: " + "; ".join(repr(claim) for claim in unfaithful)
        details = {"claims": claims, "verdicts": [v.model_dump() for v in verdicts]}
        return ScoreResult(self.name, value, reason, details)


class AnswerRelevancy(LlmJudge):
    """Score how well the output answers the input, the RAGAS way when an embedder is given.

    With an ``embedder`` (anything with ``embed``, such as ``LlmClient``), the
    judge writes ``questions`` questions the output answers and the score is
    their mean cosine similarity to the input; a noncommittal answer scores 0,
    as in RAGAS. Without one, the judge rates relevance from 1 to 5 instead
    (the ``AnswerRelevance`` judge), scaled to [0, 1].
    """

    name = "answer_relevancy"

    def __init__(
        self,
        judge: JudgeClient,
        embedder: Embedder | None = None,
        *,
        questions: int = 3,
        name: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(judge, name=name, parameters=parameters)
        if questions < 1:
            raise ValueError(f"questions is {questions}; expected 1 or more")
        self.embedder = embedder
        self.questions = questions

    async def ascore(self, *, input: Any = None, output: Any = None, **_: Any) -> ScoreResult:
        """Compare questions generated from the output with the input."""
        require(self, input=input, output=output)
        if self.embedder is None:
            prompt = ANSWER_RELEVANCE_PROMPT.format(input=input, output=output)
            result = rating_result(self.name, (await self.ask(prompt, Rating)).parsed)
            return ScoreResult(self.name, result.value, f"judge rating {result.reason}")
        prompt = ANSWER_QUESTIONS_PROMPT.format(n=self.questions, answer=output)
        generated = (await self.ask(prompt, GeneratedQuestions)).parsed
        if generated.noncommittal or not generated.questions:
            return ScoreResult(self.name, 0.0, "the answer is noncommittal", generated.model_dump())
        vectors = await _embed(self.embedder, [str(input), *generated.questions])
        similarities = [_cosine(vectors[0], vector) for vector in vectors[1:]]
        value = max(answer_relevancy_from_embeddings(vectors[0], vectors[1:]), 0.0)
        reason = (
            f"mean cosine {value:.3f} between the question and {len(similarities)} questions"
            f" generated from the answer"
        )
        details = {**generated.model_dump(), "similarities": similarities}
        return ScoreResult(self.name, value, reason, details)


async def _embed(embedder: Embedder, texts: list[str]) -> list[list[float]]:
    # A client with a native async method (LlmClient.aembed) avoids a worker thread.
    aembed = getattr(embedder, "aembed", None)
    if aembed is not None:
        vectors: list[list[float]] = await aembed(texts)
        return vectors
    return await run_sync(embedder.embed, texts)


def _chunks(context: Sequence[str] | str | None) -> list[str]:
    if context is None:
        return []
    return [context] if isinstance(context, str) else [str(chunk) for chunk in context]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0
