"""Calibrate a judge against a gold set: how well does it agree with people?

A gold set is a dataset whose items hold a case to judge in ``input`` (the
question, the answer and any context, as a dict) and the people's label in
``expected``. ``calibrate_judge`` runs the judge over it as an experiment, so
the judge's verdicts, reasons and cost are kept and can be compared across
versions of the judge's prompt; ``agreement`` turns any such experiment into a
``CalibrationReport`` (accuracy and kappa for labels, weighted kappa for
ordered labels, Spearman for numbers, each with a bootstrap interval).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from daytwo.evals.calibration import CalibrationReport, Label, LabelKind, calibrate
from daytwo.evals.client import DaytwoClient
from daytwo.evals.metric import Metric
from daytwo.evals.runner import ExperimentResult, evaluate


def judged_case(case: Any) -> dict[str, Any]:
    """Return a gold item's case as the task's result, so the judge scores it as it is."""
    if not isinstance(case, Mapping) or "output" not in case:
        raise ValueError("a gold item's input must be a dict with the output to judge")
    return {key: case.get(key) for key in ("input", "output", "context", "messages") if key in case}


def calibrate_judge(
    gold: str | Sequence[Mapping[str, Any]],
    judge: Metric,
    *,
    order: Sequence[Label] | None = None,
    kind: LabelKind | None = None,
    client: DaytwoClient | None = None,
    **options: Any,
) -> tuple[ExperimentResult, CalibrationReport]:
    """Run ``judge`` over a gold set and report its agreement with the people's labels.

    experiment, report = calibrate_judge("tone-gold", CustomJudge(...), order=[1, 2, 3])
    print(report.summary())
    """
    options.setdefault("name", f"calibrate {judge.name}")
    result = evaluate(gold, judged_case, [judge], client=client, **options)
    owned = client is None
    client = client or DaytwoClient(project=options.get("project"))
    try:
        items = client.experiment_items(result.id)
    finally:
        if owned:
            client.close()
    return result, agreement(items, judge.name, order=order, kind=kind)


def agreement(
    items: Sequence[Mapping[str, Any]],
    metric: str,
    *,
    human: str | None = None,
    order: Sequence[Label] | None = None,
    kind: LabelKind | None = None,
) -> CalibrationReport:
    """Return how ``metric``'s values agree with the people's labels on experiment items.

    The people's label is each item's ``expected``, or its score named ``human``.
    Items without both are left out.
    """
    pairs: list[tuple[Label, Label]] = []
    for item in items:
        scores = item.get("scores") or {}
        judged = scores.get(metric)
        people = scores.get(human, {}).get("value") if human else item.get("expected")
        if judged is None or people is None or isinstance(people, (dict, list)):
            continue
        pairs.append((people, judged["value"]))
    if len(pairs) < 2:
        raise ValueError(
            f"only {len(pairs)} items have both a label and a {metric!r} score; need 2 or more"
        )
    return calibrate(pairs, order=order, kind=kind)
