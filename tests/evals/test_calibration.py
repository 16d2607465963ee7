"""Tests of judge calibration: kappa on worked examples, Spearman against scipy, edge cases."""

import itertools

import pytest
from scipy.stats import spearmanr  # type: ignore[import-untyped]

from daytwo.evals.calibration import Agreement, calibrate, infer_kind
from daytwo.evals.metric import ScoreResult

# 50 items rated yes/no by a human and a judge:
#               judge yes  judge no
#   human yes      20          5
#   human no       10         15
# Observed agreement p_o = (20 + 15) / 50 = 0.70. The human says yes to 25/50,
# the judge to 30/50, so chance agreement p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.50,
# and kappa = (0.70 - 0.50) / (1 - 0.50) = 0.40.
YES_NO = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15

# A 1-5 scale. Squared differences sum to 4 over 8 items (mean 0.5). Under
# independence the expected squared difference is Var(h) + Var(j) + (mean h -
# mean j)^2 = 1.734375 + 1.234375 + 0.0625 = 3.03125, so quadratic kappa is
# 1 - 0.5 / 3.03125 = 81/97.
LIKERT = [(1, 1), (2, 2), (3, 2), (4, 4), (5, 4), (3, 3), (1, 2), (2, 1)]


def _weighted_kappa_by_pairs(pairs: list[tuple[int, int]], power: int) -> float:
    """Compute weighted kappa as observed over chance disagreement, item by item."""
    human = [h for h, _ in pairs]
    judge = [j for _, j in pairs]
    observed = sum(abs(h - j) ** power for h, j in pairs) / len(pairs)
    chance = sum(abs(h - j) ** power for h, j in itertools.product(human, judge)) / len(pairs) ** 2
    return float(1 - observed / chance)


def test_cohen_kappa_of_the_worked_two_by_two_table() -> None:
    report = calibrate(YES_NO)

    assert report.kind == "nominal"
    assert report.n == 50
    assert report.accuracy is not None
    assert report.accuracy.value == pytest.approx(0.70)
    assert report.kappa is not None
    assert report.kappa.value == pytest.approx(0.40)
    assert report.categories == ("no", "yes")
    assert report.confusion == ((15, 10), (5, 20))


def test_the_intervals_contain_the_estimates() -> None:
    report = calibrate(YES_NO)

    for agreement in report.statistics().values():
        assert agreement.low is not None
        assert agreement.high is not None
        assert agreement.value is not None
        assert agreement.low <= agreement.value <= agreement.high


def test_quadratic_weighted_kappa_of_a_likert_example() -> None:
    report = calibrate(LIKERT)

    assert report.kind == "ordinal"
    assert report.quadratic_kappa is not None
    assert report.quadratic_kappa.value == pytest.approx(81 / 97)
    assert report.quadratic_kappa.value == pytest.approx(_weighted_kappa_by_pairs(LIKERT, 2))


def test_linear_weighted_kappa_matches_an_independent_computation() -> None:
    report = calibrate(LIKERT)

    assert report.linear_kappa is not None
    assert report.linear_kappa.value == pytest.approx(_weighted_kappa_by_pairs(LIKERT, 1))


def test_unweighted_kappa_of_the_likert_example() -> None:
    # p_o = 4/8. Marginals over 1..5: human (2, 2, 2, 1, 1), judge (2, 3, 1, 2, 0), so
    # p_e = (4 + 6 + 2 + 2 + 0) / 64 = 14/64 and kappa = (32/64 - 14/64) / (50/64) = 0.36.
    report = calibrate(LIKERT)

    assert report.kappa is not None
    assert report.kappa.value == pytest.approx(0.36)


def test_ordered_string_labels_weigh_near_misses_by_position() -> None:
    order = ["poor", "fair", "good", "great", "superb"]
    named = [(order[h - 1], order[j - 1]) for h, j in LIKERT]

    report = calibrate(named, order=order)

    assert report.kind == "ordinal"
    assert report.categories == tuple(order)
    assert report.quadratic_kappa is not None
    assert report.quadratic_kappa.value == pytest.approx(81 / 97)


def test_spearman_matches_scipy_for_numeric_scores() -> None:
    human = [0.1, 0.4, 0.35, 0.8, 0.9, 0.5, 0.5, 0.2]
    judge = [0.2, 0.3, 0.5, 0.7, 1.0, 0.6, 0.4, 0.2]

    report = calibrate(zip(human, judge, strict=True))

    assert report.kind == "numeric"
    assert report.spearman is not None
    assert report.spearman.value == pytest.approx(spearmanr(human, judge).statistic)
    assert report.kappa is None
    assert report.accuracy is None


def test_spearman_matches_scipy_for_ordinal_labels_with_ties() -> None:
    report = calibrate(LIKERT)

    expected = spearmanr([h for h, _ in LIKERT], [j for _, j in LIKERT]).statistic
    assert report.spearman is not None
    assert report.spearman.value == pytest.approx(expected)


def test_booleans_are_nominal_labels() -> None:
    report = calibrate([(True, True), (False, False), (True, False), (False, False)])

    assert report.kind == "nominal"
    assert report.categories == (False, True)
    assert report.linear_kappa is None


def test_a_judge_score_result_stands_for_its_value() -> None:
    pairs = [("pass", ScoreResult("judge", "pass")), ("fail", ScoreResult("judge", "fail"))]

    report = calibrate(pairs)

    assert report.accuracy is not None
    assert report.accuracy.value == 1.0


def test_the_kind_can_be_overridden() -> None:
    report = calibrate(LIKERT, kind="nominal")

    assert report.kind == "nominal"
    assert report.quadratic_kappa is None


def test_kappa_is_undefined_when_everyone_gives_one_label() -> None:
    report = calibrate([("pass", "pass")] * 5)

    assert report.accuracy == Agreement(1.0, 1.0, 1.0)
    assert report.kappa is not None
    assert report.kappa.value is None
    assert report.kappa.reason is not None
    assert "same label" in report.kappa.reason
    assert "Cohen's kappa              undefined (kappa is undefined" in report.summary()


def test_spearman_is_undefined_when_one_side_is_constant() -> None:
    report = calibrate([(0.2, 0.5), (0.4, 0.5), (0.9, 0.5)])

    assert report.spearman == Agreement(
        None, reason="Spearman's rho is undefined: every judge score is the same"
    )


def test_fewer_than_two_items_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 2 labelled items; got 1"):
        calibrate([("pass", "pass")])


def test_a_missing_label_is_an_error() -> None:
    with pytest.raises(ValueError, match="item 1 has no judge label"):
        calibrate([("pass", "pass"), ("fail", None)])  # type: ignore[list-item]


def test_a_label_outside_the_order_is_an_error() -> None:
    with pytest.raises(ValueError, match="are not in the order"):
        calibrate([("good", "bad"), ("good", "meh")], order=["bad", "good"])


def test_mixed_label_types_are_an_error() -> None:
    with pytest.raises(ValueError, match="labels mix int, str"):
        infer_kind(["pass", 1])


def test_the_summary_reads_as_a_table() -> None:
    summary = calibrate(YES_NO).summary()

    assert summary.splitlines()[0] == "Judge calibration: 50 items, nominal labels"
    assert "Cohen's kappa              0.400" in summary
    assert "(fair)" in summary
    assert "Confusion (rows: human, columns: judge)" in summary


def test_the_report_serialises_to_plain_values() -> None:
    data = calibrate(YES_NO).to_dict()

    assert data["kind"] == "nominal"
    assert data["kappa"]["value"] == pytest.approx(0.4)
    assert data["confusion"] == [[15, 10], [5, 20]]
    assert "spearman" not in data


def test_the_same_seed_gives_the_same_report() -> None:
    assert calibrate(LIKERT, seed=5) == calibrate(LIKERT, seed=5)
