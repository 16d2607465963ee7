"""Calibrating a judge on a gold set, through the real server."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import daytwo
from daytwo.evals.client import DaytwoClient
from daytwo.evals.gold import calibrate_judge
from daytwo.evals.metric import Metric, ScoreResult
from tests.conftest import LiveServer


class PolitenessJudge(Metric):
    """A deterministic stand-in for an LLM judge: polite when the answer says please."""

    name = "polite"
    source = "judge"

    def score(self, *, output: Any = None, **_: Any) -> ScoreResult:
        polite = "please" in str(output).lower()
        return ScoreResult(self.name, polite, "says please" if polite else "no please")


@pytest.fixture
def client(live_server: LiveServer, tmp_path: Path) -> Iterator[DaytwoClient]:
    daytwo.configure(url=live_server.url, project="gold", spool_dir=str(tmp_path))
    with DaytwoClient() as opened:
        yield opened
    daytwo.shutdown()
    daytwo.configure(enabled=False)


def test_a_judge_is_calibrated_against_peoples_labels(client: DaytwoClient) -> None:
    answers = {
        "Please wait a moment.": True,
        "Wait.": False,
        "Please hold, thank you.": True,
        "Thanks for waiting!": True,  # people find it polite; the judge will not
        "No.": False,
        "Please, no.": False,  # the judge will call it polite
    }
    client.create_dataset("politeness-gold")
    client.add_items(
        "politeness-gold",
        [
            {"input": {"input": "Can you help?", "output": text}, "expected": label}
            for text, label in answers.items()
        ],
    )

    experiment, report = calibrate_judge(
        "politeness-gold", PolitenessJudge(), client=client, progress=False
    )

    assert experiment.summary["item_count"] == 6
    assert report.n == 6
    assert report.accuracy is not None
    assert report.accuracy.value == pytest.approx(4 / 6)
    # Cohen's kappa: observed agreement 4/6; both say True 3 times in 6, so chance is 1/2.
    assert report.kappa is not None
    assert report.kappa.value == pytest.approx((4 / 6 - 0.5) / 0.5)
