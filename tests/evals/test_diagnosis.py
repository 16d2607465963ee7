"""Tests of RAG diagnosis: each quadrant, and the verdict on a whole run."""

import pytest

from daytwo.evals.diagnosis import ADVICE, Quadrant, Thresholds, diagnose


@pytest.mark.parametrize(
    ("precision", "faithfulness", "quadrant"),
    [
        (0.9, 0.95, Quadrant.HEALTHY),
        (0.2, 0.9, Quadrant.RETRIEVAL_FAILURE),
        (0.9, 0.3, Quadrant.SYNTHESIS_FAILURE),
        (0.1, 0.2, Quadrant.DOMAIN_MISMATCH),
    ],
)
def test_each_item_lands_in_its_quadrant(
    precision: float, faithfulness: float, quadrant: Quadrant
) -> None:
    report = diagnose([precision], [faithfulness])

    assert report.items[0].quadrant == quadrant
    assert report.items[0].advice == ADVICE[quadrant]


def test_a_score_at_the_threshold_counts_as_high() -> None:
    report = diagnose([0.5], [0.7])

    assert report.items[0].quadrant == Quadrant.HEALTHY


def test_the_thresholds_are_configurable() -> None:
    strict = Thresholds(context_precision=0.8, faithfulness=0.9)

    report = diagnose([0.7], [0.95], thresholds=strict)

    assert report.items[0].quadrant == Quadrant.RETRIEVAL_FAILURE


def test_retrieval_advice_points_at_the_retriever() -> None:
    advice = ADVICE[Quadrant.RETRIEVAL_FAILURE]

    assert all(word in advice for word in ("chunking", "embedding", "top-k", "rerank"))


def test_the_run_verdict_follows_the_mean_scores() -> None:
    report = diagnose([0.2, 0.3, 0.9, 0.1], [0.9, 0.95, 0.9, 0.8])

    assert report.verdict == Quadrant.RETRIEVAL_FAILURE
    assert report.mean_context_precision == pytest.approx(0.375)
    assert report.counts == {
        Quadrant.HEALTHY: 1,
        Quadrant.RETRIEVAL_FAILURE: 3,
        Quadrant.SYNTHESIS_FAILURE: 0,
        Quadrant.DOMAIN_MISMATCH: 0,
    }
    assert report.most_common_failure == Quadrant.RETRIEVAL_FAILURE
    assert report.advice == ADVICE[Quadrant.RETRIEVAL_FAILURE]


def test_a_healthy_run_still_names_its_most_common_failure() -> None:
    report = diagnose([0.9, 0.9, 0.9, 0.8, 0.9], [0.95, 0.9, 0.9, 0.2, 0.9])

    assert report.verdict == Quadrant.HEALTHY
    assert report.most_common_failure == Quadrant.SYNTHESIS_FAILURE
    assert "Still, 1 of 5 items show a synthesis failure" in report.advice


def test_a_run_failing_on_both_axes_suggests_a_domain_mismatch() -> None:
    report = diagnose([0.1, 0.3, 0.2], [0.2, 0.4, 0.1])

    assert report.verdict == Quadrant.DOMAIN_MISMATCH
    assert "domain" in report.advice
    assert "domain mismatch" in report.summary()


def test_an_all_healthy_run_has_no_failure() -> None:
    report = diagnose([0.9, 0.8], [0.9, 1.0])

    assert report.most_common_failure is None
    assert report.advice == ADVICE[Quadrant.HEALTHY]


def test_items_missing_a_score_are_skipped_and_counted() -> None:
    report = diagnose([0.9, None, 0.2], [0.9, 0.8, None], ids=["q1", "q2", "q3"])

    assert [item.id for item in report.items] == ["q1"]
    assert report.skipped == 2
    assert "skipped (missing scores) 2" in report.summary()


def test_the_report_serialises_to_plain_values() -> None:
    data = diagnose([0.9, 0.2], [0.9, 0.9], ids=["a", "b"]).to_dict()

    assert data["verdict"] == "healthy"
    assert data["counts"]["retrieval_failure"] == 1
    assert data["most_common_failure"] == "retrieval_failure"
    assert data["items"][1] == {
        "id": "b",
        "context_precision": 0.2,
        "faithfulness": 0.9,
        "quadrant": "retrieval_failure",
    }


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan")])
def test_scores_outside_zero_and_one_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match=r"item 0: faithfulness must be a number in \[0, 1\]"):
        diagnose([0.5], [bad])


def test_score_lists_of_different_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="got 2 and 1"):
        diagnose([0.5, 0.5], [0.5])


def test_a_run_without_scored_items_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least one item with both scores"):
        diagnose([None], [0.5])


def test_a_threshold_outside_zero_and_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="faithfulness threshold must be in"):
        Thresholds(faithfulness=70)
