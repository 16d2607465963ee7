"""RAG diagnosis: tell retrieval failures from synthesis failures.

A RAG answer can go wrong in two places: the retriever brings the wrong
passages, or the generator misuses good ones. Context precision (are the
retrieved passages relevant?) judges the first, faithfulness (is every claim of
the answer supported by the passages?) the second (both as defined by RAGAS,
Es et al., 2023). Placing an item in the quadrant of the two tells which
component to tune:

=================  ====================  ========================
                   faithful              unfaithful
=================  ====================  ========================
precise context    healthy               synthesis failure
imprecise context  retrieval failure     domain mismatch
=================  ====================  ========================

    report = diagnose(context_precision=[0.9, 0.2], faithfulness=[0.95, 0.9])
    report.verdict  # Quadrant.RETRIEVAL_FAILURE
    print(report.advice)
"""

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Quadrant(StrEnum):
    """Where an item falls on context precision against faithfulness."""

    HEALTHY = "healthy"
    RETRIEVAL_FAILURE = "retrieval_failure"
    SYNTHESIS_FAILURE = "synthesis_failure"
    DOMAIN_MISMATCH = "domain_mismatch"


ADVICE = {
    Quadrant.HEALTHY: (
        "Retrieval and generation both hold up: the passages are relevant and the "
        "answers stay within them."
    ),
    Quadrant.RETRIEVAL_FAILURE: (
        "Retrieval failure: the generator is faithful to passages that are mostly "
        "irrelevant. Tune the retriever: chunking, the embedding model, top-k, "
        "a reranker, query rewriting."
    ),
    Quadrant.SYNTHESIS_FAILURE: (
        "Synthesis failure: the passages are relevant but the answers claim more than "
        "they support. Tune generation: the prompt and its grounding instructions, "
        "the model, a lower temperature."
    ),
    Quadrant.DOMAIN_MISMATCH: (
        "Both fail, which usually means a domain mismatch: the corpus does not cover "
        "the questions, or the embeddings do not fit the domain. Check the corpus's "
        "coverage of real questions and try domain-specific embeddings before tuning "
        "either component alone."
    ),
}

_FAILURES = (Quadrant.RETRIEVAL_FAILURE, Quadrant.SYNTHESIS_FAILURE, Quadrant.DOMAIN_MISMATCH)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The scores at or above which context precision and faithfulness count as high.

    Context precision is a rank-weighted share of relevant passages; at 0.5,
    relevant passages at least hold their own among the top results, which is
    where retrieval starts to help the generator more than it distracts it.
    Faithfulness is the share of the answer's claims that the passages support.
    It gets the stricter 0.7 because unsupported claims reach the user
    directly: at 0.5, half of what an answer asserts would be unsupported, and
    with three claims, a single unsupported one (0.67) already counts as low.
    """

    context_precision: float = 0.5
    faithfulness: float = 0.7

    def __post_init__(self) -> None:
        for name in ("context_precision", "faithfulness"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"the {name} threshold must be in (0, 1]; got {value}")

    def quadrant(self, context_precision: float, faithfulness: float) -> Quadrant:
        """Return the quadrant of one pair of scores."""
        precise = context_precision >= self.context_precision
        faithful = faithfulness >= self.faithfulness
        if precise:
            return Quadrant.HEALTHY if faithful else Quadrant.SYNTHESIS_FAILURE
        return Quadrant.RETRIEVAL_FAILURE if faithful else Quadrant.DOMAIN_MISMATCH


@dataclass(frozen=True, slots=True)
class ItemDiagnosis:
    """The quadrant of one item and what to do about it."""

    id: str
    context_precision: float
    faithfulness: float
    quadrant: Quadrant

    @property
    def advice(self) -> str:
        """Return the advice for this item's quadrant."""
        return ADVICE[self.quadrant]

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return {
            "id": self.id,
            "context_precision": self.context_precision,
            "faithfulness": self.faithfulness,
            "quadrant": self.quadrant.value,
        }


@dataclass(frozen=True, slots=True)
class RunDiagnosis:
    """The quadrant of a whole run, by its mean scores and by counting items.

    ``verdict`` places the run's means; ``counts`` tallies the items per
    quadrant, and ``most_common_failure`` names the failure quadrant with the
    most items (None when every item is healthy), which can differ from the
    verdict when a minority of items fails badly. ``skipped`` counts items
    without both scores.
    """

    verdict: Quadrant
    mean_context_precision: float
    mean_faithfulness: float
    counts: dict[Quadrant, int]
    most_common_failure: Quadrant | None
    thresholds: Thresholds
    items: tuple[ItemDiagnosis, ...] = field(repr=False)
    skipped: int = 0

    @property
    def n(self) -> int:
        """Return the number of items diagnosed."""
        return len(self.items)

    @property
    def advice(self) -> str:
        """Return what to tune first, with the count of failing items behind it."""
        text = ADVICE[self.verdict]
        failure = self.most_common_failure
        if failure is not None and failure != self.verdict:
            name = failure.value.replace("_", " ")
            text += (
                f" Still, {self.counts[failure]} of {self.n} items show a {name}: "
                + ADVICE[failure].split(": ", 1)[-1]
            )
        return text

    def summary(self) -> str:
        """Return the diagnosis as readable text."""
        lines = [
            f"RAG diagnosis of {self.n} items: {self.verdict.value.replace('_', ' ')}",
            f"  mean context precision {self.mean_context_precision:.3f} "
            f"(high from {self.thresholds.context_precision})",
            f"  mean faithfulness      {self.mean_faithfulness:.3f} "
            f"(high from {self.thresholds.faithfulness})",
        ]
        lines += [f"  {quadrant.value:<18} {self.counts[quadrant]:>5}" for quadrant in Quadrant]
        if self.skipped:
            lines.append(f"  skipped (missing scores) {self.skipped}")
        return "\n".join([*lines, "", self.advice])

    def to_dict(self) -> dict[str, Any]:
        """Return the diagnosis as a JSON-ready dict."""
        return {
            "verdict": self.verdict.value,
            "n": self.n,
            "skipped": self.skipped,
            "mean_context_precision": self.mean_context_precision,
            "mean_faithfulness": self.mean_faithfulness,
            "counts": {quadrant.value: count for quadrant, count in self.counts.items()},
            "most_common_failure": self.most_common_failure and self.most_common_failure.value,
            "thresholds": {
                "context_precision": self.thresholds.context_precision,
                "faithfulness": self.thresholds.faithfulness,
            },
            "advice": self.advice,
            "items": [item.to_dict() for item in self.items],
        }


def diagnose(
    context_precision: Sequence[float | None],
    faithfulness: Sequence[float | None],
    *,
    ids: Sequence[str] | None = None,
    thresholds: Thresholds | None = None,
) -> RunDiagnosis:
    """Place each item and the whole run in the quadrant of context precision and faithfulness.

    The two score lists hold one score in [0, 1] per item, in the same order.
    An item missing either score (None, where a metric failed) is skipped and
    counted. ``ids`` name the items; by default they are their positions.
    """
    if len(context_precision) != len(faithfulness):
        raise ValueError(
            f"diagnose needs one faithfulness score per context precision score; got "
            f"{len(context_precision)} and {len(faithfulness)}"
        )
    names = [str(i) for i in range(len(faithfulness))] if ids is None else list(ids)
    if len(names) != len(faithfulness):
        raise ValueError(f"diagnose got {len(names)} ids for {len(faithfulness)} items")
    limits = thresholds if thresholds is not None else Thresholds()

    items = tuple(
        ItemDiagnosis(
            name,
            _check(name, "context precision", p),
            _check(name, "faithfulness", f),
            limits.quadrant(p, f),
        )
        for name, p, f in zip(names, context_precision, faithfulness, strict=True)
        if p is not None and f is not None
    )
    if not items:
        raise ValueError("diagnose needs at least one item with both scores; got none")
    return _run_diagnosis(items, limits, skipped=len(names) - len(items))


def _run_diagnosis(
    items: tuple[ItemDiagnosis, ...], limits: Thresholds, skipped: int
) -> RunDiagnosis:
    mean_precision = math.fsum(item.context_precision for item in items) / len(items)
    mean_faithfulness = math.fsum(item.faithfulness for item in items) / len(items)
    tally = Counter(item.quadrant for item in items)
    counts = {quadrant: tally[quadrant] for quadrant in Quadrant}

    # Ties go to the earlier failure in _FAILURES: retrieval is upstream of synthesis.
    failing = [quadrant for quadrant in _FAILURES if counts[quadrant]]
    most_common = max(failing, key=lambda quadrant: counts[quadrant], default=None)
    return RunDiagnosis(
        verdict=limits.quadrant(mean_precision, mean_faithfulness),
        mean_context_precision=mean_precision,
        mean_faithfulness=mean_faithfulness,
        counts=counts,
        most_common_failure=most_common,
        thresholds=limits,
        items=items,
        skipped=skipped,
    )


def _check(item: str, name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and 0 <= value <= 1):
        raise ValueError(f"item {item}: {name} must be a number in [0, 1]; got {value!r}")
    return float(value)
