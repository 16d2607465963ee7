"""Judge calibration: how well an LLM judge agrees with human gold labels.

Give ``calibrate`` (human, judge) pairs for the same items. The statistics
follow the kind of label:

- nominal labels (strings, booleans): exact agreement and Cohen's kappa
  (Cohen, 1960), which discounts the agreement two raters reach by chance;
- ordinal labels (strings with an explicit ``order``, or integers such as a 1-5
  scale): the above, plus weighted kappa with linear and quadratic weights
  (Cohen, 1968), which credits near misses, and Spearman's rho;
- numeric scores (floats): Spearman's rank correlation.

Every statistic comes with a percentile bootstrap confidence interval over the
items (see ``daytwo.evals.stats``). A statistic that cannot be computed, such
as kappa when both raters gave every item the same label, is reported as a
value of None with the reason, never as NaN.

    report = calibrate([("pass", "pass"), ("fail", "pass"), ("fail", "fail")])
    print(report.summary())
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from daytwo.evals.metric import ScoreResult
from daytwo.evals.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    FloatArray,
    IndexArray,
    bootstrap_interval,
)

Label = str | bool | int | float
LabelKind = Literal["nominal", "ordinal", "numeric"]
# A statistic of two aligned columns (category codes or scores): human, then judge.
Statistic = Callable[[Any, Any], float | None]

# Landis & Koch (1977), "The measurement of observer agreement for categorical
# data", Biometrics 33(1), p. 165: the customary reading of kappa.
_KAPPA_BANDS = [
    (0.20, "slight"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "substantial"),
    (1.0, "almost perfect"),
]


@dataclass(frozen=True, slots=True)
class Agreement:
    """One agreement statistic with its confidence interval, or None and why."""

    value: float | None
    low: float | None = None
    high: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return {"value": self.value, "low": self.low, "high": self.high, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    """How a judge's labels agree with human labels on the same items.

    A statistic that does not apply to the kind of label is None; one that
    applies but is undefined on this data is an ``Agreement`` whose value is
    None and whose reason says why. ``confusion[i][j]`` counts the items the
    humans labelled ``categories[i]`` and the judge ``categories[j]``.
    """

    kind: LabelKind
    n: int
    confidence: float
    accuracy: Agreement | None = None
    kappa: Agreement | None = None
    linear_kappa: Agreement | None = None
    quadratic_kappa: Agreement | None = None
    spearman: Agreement | None = None
    categories: tuple[Label, ...] = ()
    confusion: tuple[tuple[int, ...], ...] = ()

    def statistics(self) -> dict[str, Agreement]:
        """Return the statistics that apply to this kind of label, by name."""
        named = {
            "accuracy": self.accuracy,
            "kappa": self.kappa,
            "linear_kappa": self.linear_kappa,
            "quadratic_kappa": self.quadratic_kappa,
            "spearman": self.spearman,
        }
        return {name: value for name, value in named.items() if value is not None}

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {
            "kind": self.kind,
            "n": self.n,
            "confidence": self.confidence,
            **{name: value.to_dict() for name, value in self.statistics().items()},
            "categories": list(self.categories),
            "confusion": [list(row) for row in self.confusion],
        }

    def summary(self) -> str:
        """Return the report as readable text: one line per statistic, then the confusion."""
        lines = [f"Judge calibration: {self.n} items, {self.kind} labels"]
        for name, agreement in self.statistics().items():
            lines.append(f"  {_TITLES[name]:<27}{_describe(name, agreement, self.confidence)}")
        if self.confusion:
            lines += ["", "Confusion (rows: human, columns: judge)", *self._confusion_lines()]
        return "\n".join(lines)

    def _confusion_lines(self) -> list[str]:
        names = [str(category) for category in self.categories]
        width = max(5, *(len(name) for name in names))
        header = " " * (width + 2) + " ".join(f"{name:>{width}}" for name in names)
        rows = [
            f"  {name:<{width}}" + " ".join(f"{count:>{width}}" for count in row)
            for name, row in zip(names, self.confusion, strict=True)
        ]
        return [header, *rows]


_TITLES = {
    "accuracy": "accuracy",
    "kappa": "Cohen's kappa",
    "linear_kappa": "weighted kappa (linear)",
    "quadratic_kappa": "weighted kappa (quadratic)",
    "spearman": "Spearman's rho",
}


def calibrate(
    pairs: Iterable[tuple[Label | ScoreResult, Label | ScoreResult]],
    *,
    kind: LabelKind | None = None,
    order: Sequence[Label] | None = None,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> CalibrationReport:
    """Measure how a judge's labels agree with human labels.

    ``pairs`` holds one (human, judge) pair per item; a judge's ``ScoreResult``
    stands for its value. ``kind`` overrides the kind inferred from the labels;
    ``order`` lists ordinal categories from lowest to highest and implies
    ``kind="ordinal"``.
    """
    human, judge = _unpack(pairs)
    if order is not None and kind is None:
        kind = "ordinal"
    kind = kind if kind is not None else infer_kind(human + judge)
    if kind == "numeric":
        return _numeric_report(human, judge, confidence, resamples, seed)

    categories, positions = _categories(human + judge, kind, order)
    index = {category: i for i, category in enumerate(categories)}
    codes = (np.array([index[h] for h in human]), np.array([index[j] for j in judge]))
    confusion = _confusion(*codes, len(categories))
    options = _Bootstrap(confidence, resamples, seed)

    report = CalibrationReport(
        kind=kind,
        n=len(human),
        confidence=confidence,
        accuracy=options.agreement(codes, _accuracy),
        kappa=options.agreement(codes, _kappa_with(_weights(positions, 0))),
        categories=tuple(categories),
        confusion=tuple(tuple(int(c) for c in row) for row in confusion),
    )
    if kind == "nominal":
        return report
    values = (positions[codes[0]], positions[codes[1]])
    return replace(
        report,
        linear_kappa=options.agreement(codes, _kappa_with(_weights(positions, 1))),
        quadratic_kappa=options.agreement(codes, _kappa_with(_weights(positions, 2))),
        spearman=options.agreement(values, _spearman, _fast_spearman),
    )


def infer_kind(labels: Sequence[Label]) -> LabelKind:
    """Return the kind of label: booleans and strings nominal, integers ordinal, floats numeric."""
    if all(isinstance(label, (bool, str)) for label in labels):
        return "nominal"
    if any(isinstance(label, (bool, str)) for label in labels):
        kinds = sorted({type(label).__name__ for label in labels})
        raise ValueError(
            f"labels mix {', '.join(kinds)}; give one kind of label, or an explicit order"
        )
    if all(isinstance(label, int) for label in labels):
        return "ordinal"
    return "numeric"


def cohen_kappa(confusion: FloatArray, weights: FloatArray) -> float | None:
    """Return (weighted) kappa of a confusion matrix, or None where it is undefined.

    With ``w`` the disagreement weights, ``o`` the observed and ``e`` the chance
    proportions (outer product of the raters' marginals), kappa is
    ``1 - sum(w * o) / sum(w * e)`` (Cohen, 1968). Weights of 1 off the diagonal
    give Cohen's unweighted kappa (Cohen, 1960). Kappa is undefined when
    chance alone predicts no disagreement: both raters used one same category.
    """
    total = confusion.sum()
    observed = confusion / total
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    chance_disagreement = float((weights * expected).sum())
    if chance_disagreement <= 1e-12:
        return None
    return 1 - float((weights * observed).sum()) / chance_disagreement


def _unpack(
    pairs: Iterable[tuple[Label | ScoreResult, Label | ScoreResult]],
) -> tuple[list[Label], list[Label]]:
    human: list[Label] = []
    judge: list[Label] = []
    for position, (h, j) in enumerate(pairs):
        for side, label in (("human", h), ("judge", j)):
            value = label.value if isinstance(label, ScoreResult) else label
            if value is None or (isinstance(value, float) and not np.isfinite(value)):
                raise ValueError(f"item {position} has no {side} label; got {value!r}")
            (human if side == "human" else judge).append(value)
    if len(human) < 2:
        raise ValueError(f"calibration needs at least 2 labelled items; got {len(human)}")
    return human, judge


def _categories(
    labels: Sequence[Label], kind: LabelKind, order: Sequence[Label] | None
) -> tuple[list[Label], FloatArray]:
    """Return the categories and their positions on the ordinal scale."""
    seen = set(labels)
    if order is not None:
        unknown = seen - set(order)
        if unknown:
            raise ValueError(
                f"labels {sorted(map(repr, unknown))} are not in the order {list(order)!r}; "
                "add them to the order"
            )
        categories = list(order)
        return categories, np.arange(len(categories), dtype=np.float64)
    if kind == "ordinal":
        if not all(isinstance(label, (int, float)) for label in seen):
            raise ValueError("ordinal string labels need an explicit order, lowest first")
        categories = sorted(seen, key=float)
        return categories, np.array([float(c) for c in categories], dtype=np.float64)
    categories = sorted(seen, key=lambda label: (type(label).__name__, label))
    return categories, np.arange(len(categories), dtype=np.float64)


def _weights(positions: FloatArray, power: int) -> FloatArray:
    """Return disagreement weights ``|x_i - x_j| ** power``; power 0 means all-or-nothing."""
    distance = np.abs(positions[:, None] - positions[None, :])
    if power == 0:
        return (distance > 0).astype(np.float64)
    return distance**power


def _confusion(human: IndexArray, judge: IndexArray, size: int) -> FloatArray:
    counts = np.bincount(human * size + judge, minlength=size * size)
    return counts.reshape(size, size).astype(np.float64)


def _accuracy(human: IndexArray, judge: IndexArray) -> float | None:
    return float(np.mean(human == judge))


def _kappa_with(weights: FloatArray) -> Statistic:
    size = len(weights)

    def kappa(human: IndexArray, judge: IndexArray) -> float | None:
        return cohen_kappa(_confusion(human, judge, size), weights)

    return kappa


def _spearman(human: FloatArray, judge: FloatArray) -> float | None:
    from scipy.stats import spearmanr  # type: ignore[import-untyped]

    if _constant(human) or _constant(judge):
        return None
    return float(spearmanr(human, judge).statistic)


def _fast_spearman(human: FloatArray, judge: FloatArray) -> float | None:
    """Return Spearman's rho as the Pearson correlation of average ranks, as scipy defines it.

    Many times quicker than ``spearmanr`` per call, which matters over 2,000 resamples.
    """
    if _constant(human) or _constant(judge):
        return None
    x, y = _average_ranks(human), _average_ranks(judge)
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


def _average_ranks(values: FloatArray) -> FloatArray:
    """Rank from 1, giving tied values the mean of the ranks they span."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return (last - (counts - 1) / 2)[inverse].astype(np.float64)


def _constant(values: FloatArray) -> bool:
    # Rho is undefined when one side never varies; scipy warns and returns NaN there.
    return bool(np.all(values == values[0]))


@dataclass(frozen=True, slots=True)
class _Bootstrap:
    confidence: float
    resamples: int
    seed: int

    def agreement(
        self, columns: tuple[Any, Any], statistic: Statistic, resampled: Statistic | None = None
    ) -> Agreement:
        """Compute ``statistic(human, judge)`` and its bootstrap interval over items.

        ``resampled`` is a quicker equivalent of ``statistic`` for the resamples.
        """
        human, judge = columns
        value = statistic(human, judge)
        if value is None:
            return Agreement(None, reason=_undefined_reason(statistic, human, judge))
        on_rows = resampled if resampled is not None else statistic
        interval = bootstrap_interval(
            len(human),
            lambda rows: on_rows(human[rows], judge[rows]),
            confidence=self.confidence,
            resamples=self.resamples,
            seed=self.seed,
        )
        low, high = interval if interval is not None else (None, None)
        return Agreement(value, low, high)


def _undefined_reason(statistic: Statistic, human: Any, judge: Any) -> str:
    if statistic is _spearman:
        side = "human" if _constant(human) else "judge"
        return f"Spearman's rho is undefined: every {side} score is the same"
    return (
        "kappa is undefined: humans and judge gave every item the same label, "
        "so chance alone explains all agreement"
    )


def _numeric_report(
    human: list[Label], judge: list[Label], confidence: float, resamples: int, seed: int
) -> CalibrationReport:
    try:
        values = (np.array(human, dtype=np.float64), np.array(judge, dtype=np.float64))
    except ValueError as error:
        raise ValueError(f"numeric calibration needs numbers: {error}") from error
    spearman = _Bootstrap(confidence, resamples, seed).agreement(values, _spearman, _fast_spearman)
    return CalibrationReport(kind="numeric", n=len(human), confidence=confidence, spearman=spearman)


def _describe(name: str, agreement: Agreement, confidence: float) -> str:
    if agreement.value is None:
        return f"undefined ({agreement.reason})"
    text = f"{agreement.value:.3f}"
    if agreement.low is not None and agreement.high is not None:
        text += f"  [{agreement.low:.3f}, {agreement.high:.3f}] {confidence:.0%} CI"
    if "kappa" in name:
        text += f"  ({_kappa_band(agreement.value)})"
    return text


def _kappa_band(value: float) -> str:
    if value < 0:
        return "poor"
    return next(band for bound, band in _KAPPA_BANDS if value <= bound)
