"""Tests of the bootstrap statistics: seeded, so every run gives the same intervals."""

import numpy as np
import pytest

from daytwo.evals.stats import (
    MeanInterval,
    bootstrap_ci,
    mean_with_ci,
    paired_difference_ci,
)


def _scores(n: int, seed: int = 7) -> list[float]:
    return list(np.random.default_rng(seed).uniform(0, 1, n))


def test_the_interval_contains_the_mean() -> None:
    values = _scores(40)

    summary = mean_with_ci(values)

    assert summary.low < summary.mean < summary.high
    assert summary.mean == pytest.approx(float(np.mean(values)))
    assert summary.n == 40


def test_the_interval_narrows_with_more_data() -> None:
    small = mean_with_ci(_scores(20))
    large = mean_with_ci(_scores(2000))

    assert large.high - large.low < (small.high - small.low) / 4


def test_a_higher_confidence_gives_a_wider_interval() -> None:
    values = _scores(50)

    narrow = mean_with_ci(values, confidence=0.8)
    wide = mean_with_ci(values, confidence=0.99)

    assert wide.low < narrow.low
    assert narrow.high < wide.high


def test_the_same_seed_gives_the_same_interval() -> None:
    values = _scores(30)

    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)


def test_constant_scores_give_a_point_interval() -> None:
    assert mean_with_ci([1.0] * 10) == MeanInterval(1.0, 1.0, 1.0, 10)


def test_bootstrap_ci_takes_any_statistic() -> None:
    low, high = bootstrap_ci([1.0, 2.0, 3.0, 4.0, 100.0], np.median)

    assert 1.0 <= low <= 3.0 <= high <= 100.0


def test_the_summary_reads_as_mean_and_bounds() -> None:
    assert str(MeanInterval(0.85, 0.75, 0.95, 4)) == "0.850 [0.750, 0.950] (n=4, 95%)"
    assert MeanInterval(0.85, 0.75, 0.95, 4).to_dict() == {
        "mean": 0.85,
        "low": 0.75,
        "high": 0.95,
        "n": 4,
        "confidence": 0.95,
    }


def test_paired_difference_detects_a_clear_regression() -> None:
    rng = np.random.default_rng(11)
    baseline = rng.uniform(0.2, 1.0, 100)
    candidate = baseline - 0.1 + rng.normal(0, 0.05, 100)

    result = paired_difference_ci(baseline, candidate)

    assert result.verdict == "worse"
    assert result.high < 0
    assert result.difference == pytest.approx(float(np.mean(candidate - baseline)))


def test_paired_difference_calls_noise_inconclusive() -> None:
    rng = np.random.default_rng(12)
    baseline = rng.uniform(0.2, 1.0, 100)
    candidate = baseline + rng.normal(0, 0.05, 100)

    result = paired_difference_ci(baseline, candidate)

    assert result.verdict == "inconclusive"
    assert result.low < 0 < result.high


def test_paired_difference_detects_an_improvement() -> None:
    baseline = _scores(60, seed=1)
    candidate = [score + 0.2 for score in baseline]

    assert paired_difference_ci(baseline, candidate).verdict == "better"


def test_paired_difference_flips_for_scores_where_lower_is_better() -> None:
    latency_before = [1.0, 1.2, 0.9, 1.1, 1.0, 1.3]
    latency_after = [1.5, 1.8, 1.4, 1.6, 1.5, 1.7]

    result = paired_difference_ci(latency_before, latency_after, higher_is_better=False)

    assert result.verdict == "worse"


def test_paired_difference_needs_as_many_candidate_as_baseline_scores() -> None:
    with pytest.raises(ValueError, match="got 3 baseline and 2 candidate scores"):
        paired_difference_ci([1.0, 0.0, 1.0], [1.0, 0.0])


@pytest.mark.parametrize(
    ("values", "message"),
    [([], "needs a non-empty list"), ([0.5, float("nan")], "needs finite numbers")],
)
def test_bad_scores_are_rejected(values: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mean_with_ci(values)


def test_a_confidence_outside_zero_and_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        bootstrap_ci([0.5, 0.6], confidence=95)
