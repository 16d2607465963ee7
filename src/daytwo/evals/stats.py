"""Small statistics for experiments and judge calibration: bootstrap confidence intervals.

Intervals are percentile bootstrap intervals (Efron & Tibshirani, *An
Introduction to the Bootstrap*, 1993, ch. 13) drawn with a seeded numpy
``Generator``, so the same scores always give the same interval.

We do not use ``scipy.stats.bootstrap``: its default BCa interval needs a
jackknife that breaks down on constant data (every case passing is common in
evaluation), where it warns and returns NaN; and the agreement statistics of
judge calibration are undefined on some resamples, which we skip and count
rather than fail on. The percentile interval collapses to the point estimate on
constant data, which is the honest answer.

    summary = mean_with_ci([0.8, 0.9, 1.0, 0.7])
    print(summary)  # 0.850 [0.750, 0.950] (n=4, 95%)
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]
Scores = Sequence[float] | FloatArray

# 2,000 resamples keep the Monte Carlo error of a 95% percentile bound near 0.005
# for scores in [0, 1]; Efron & Tibshirani (1993, section 19.3) ask for at least 1,000.
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0

Verdict = Literal["better", "worse", "inconclusive"]


@dataclass(frozen=True, slots=True)
class MeanInterval:
    """The mean of some scores, with the bounds of its bootstrap confidence interval."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    def __str__(self) -> str:
        return (
            f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}] (n={self.n}, {self.confidence:.0%})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """How a candidate's per-item scores differ from a baseline's on the same items.

    ``difference`` is the mean of candidate minus baseline. The verdict is
    "better" or "worse" only when the confidence interval excludes 0.
    """

    baseline_mean: float
    candidate_mean: float
    difference: float
    low: float
    high: float
    n: int
    verdict: Verdict
    confidence: float = 0.95

    def __str__(self) -> str:
        return (
            f"{self.verdict}: {self.difference:+.3f} [{self.low:+.3f}, {self.high:+.3f}] "
            f"(n={self.n}, {self.confidence:.0%})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)


def bootstrap_ci(
    values: Scores,
    statistic: Callable[[FloatArray], float] = np.mean,
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Return the percentile bootstrap confidence interval of ``statistic`` over ``values``."""
    data = as_scores(values, "bootstrap_ci")
    interval = bootstrap_interval(
        len(data),
        lambda rows: float(statistic(data[rows])),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
    # Every resample of finite data gives a finite mean; a custom statistic may not.
    if interval is None:
        raise ValueError("bootstrap_ci: the statistic was undefined on every resample")
    return interval


def mean_with_ci(
    values: Scores,
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> MeanInterval:
    """Return the mean of ``values`` with its bootstrap confidence interval."""
    data = as_scores(values, "mean_with_ci")
    low, high = bootstrap_ci(data, confidence=confidence, resamples=resamples, seed=seed)
    return MeanInterval(float(np.mean(data)), low, high, len(data), confidence)


def paired_difference_ci(
    baseline: Scores,
    candidate: Scores,
    *,
    higher_is_better: bool = True,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> PairedDifference:
    """Compare two runs scored item by item on the same dataset.

    The ``i``-th baseline and candidate scores must belong to the same item.
    Resampling the per-item differences keeps the pairing, which removes the
    spread between easy and hard items from the comparison.
    """
    before = as_scores(baseline, "paired_difference_ci")
    after = as_scores(candidate, "paired_difference_ci")
    if len(before) != len(after):
        raise ValueError(
            f"paired_difference_ci needs one candidate score per baseline score; "
            f"got {len(before)} baseline and {len(after)} candidate scores"
        )
    differences = after - before
    low, high = bootstrap_ci(differences, confidence=confidence, resamples=resamples, seed=seed)

    verdict: Verdict = "inconclusive"
    if low > 0 or high < 0:
        improved = (low > 0) == higher_is_better
        verdict = "better" if improved else "worse"
    return PairedDifference(
        baseline_mean=float(np.mean(before)),
        candidate_mean=float(np.mean(after)),
        difference=float(np.mean(differences)),
        low=low,
        high=high,
        n=len(differences),
        verdict=verdict,
        confidence=confidence,
    )


def bootstrap_interval(
    n: int,
    estimate: Callable[[IndexArray], float | None],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float] | None:
    """Return the percentile interval of ``estimate`` over resampled item indices.

    ``estimate`` receives the indices of one resample (drawn with replacement
    from ``range(n)``) and returns the statistic, or None (or NaN) where the
    statistic is undefined on that resample; those resamples are skipped. The
    result is None when no resample gave a value.
    """
    _check_options(confidence, resamples)
    estimates = [e for rows in resample_indices(n, resamples, seed) if _finite(e := estimate(rows))]
    if not estimates:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(np.asarray(estimates, dtype=np.float64), [tail, 100 - tail])
    return float(low), float(high)


def resample_indices(n: int, resamples: int, seed: int) -> Iterator[IndexArray]:
    """Yield ``resamples`` arrays of ``n`` indices drawn with replacement from ``range(n)``."""
    generator = np.random.default_rng(seed)
    for _ in range(resamples):
        yield generator.integers(0, n, size=n)


def as_scores(values: Scores, caller: str) -> FloatArray:
    """Return ``values`` as a float array, rejecting an empty or non-finite input."""
    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 1 or len(data) == 0:
        raise ValueError(f"{caller} needs a non-empty list of numbers; got {len(data)} values")
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{caller} needs finite numbers; got NaN or infinity in {values!r:.80}")
    return data


def _check_options(confidence: float, resamples: int) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, e.g. 0.95; got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, e.g. {DEFAULT_RESAMPLES}; got {resamples}")


def _finite(value: float | None) -> bool:
    return value is not None and bool(np.isfinite(value))
