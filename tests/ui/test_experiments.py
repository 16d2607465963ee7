"""The experiments pages in the browser: the list, one run, comparisons and judge calibration."""

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from daytwo.evals.calibration import calibrate
from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage, ingest
from tests.ui.data import PROJECT, XSS, rag_turn

API = f"/api/v1/projects/{PROJECT}"
PAGE = f"/projects/{PROJECT}/experiments"

QUESTIONS = [
    "How long do I have to return an item?",
    "Can I return a gift card?",
    "Do you ship to Norway?",
    "Where is order A-1001?",
    "Is shipping free?",
    "Can I change my address?",
    "Do you price match?",
    "How do I cancel an order?",
]
# The candidate answers these wrongly where the baseline was right, and the reverse.
WORSE, BETTER = ("q1", "q2"), ("q7",)


def api(server: LiveServer, method: str, path: str, **options: Any) -> Any:
    """Call the JSON API of ``server`` and return the decoded answer; fail on an error."""
    response = httpx.request(method, f"{server.url}{API}{path}", timeout=30, **options)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def start(server: LiveServer, name: str, **spec: Any) -> str:
    """Start an experiment and return its id."""
    return str(api(server, "POST", "/experiments", json={"name": name, **spec})["id"])


def record(server: LiveServer, experiment: str, items: list[dict[str, Any]]) -> None:
    api(server, "POST", f"/experiments/{experiment}/items", json={"items": items})


def run(n: int, candidate: bool) -> dict[str, Any]:
    """Return item ``q{n}``'s result: the candidate is less faithful, and right elsewhere."""
    item_id = f"q{n}"
    correct = item_id not in (WORSE if candidate else BETTER)
    return {
        "item_id": item_id,
        "trace_id": f"{(2 if candidate else 1) * 100 + n:032x}",
        "input": {"question": QUESTIONS[n]},
        "expected": "the policy's answer",
        "output": f"{'Candidate' if candidate else 'Baseline'} answer to: {QUESTIONS[n]}",
        "latency_ms": 900 + 40 * n + (300 if candidate else 0),
        "scores": {
            "correct": {"value": correct, "reason": "matches the policy" if correct else "wrong"},
            "faithfulness": {"value": round((0.7 if candidate else 0.95) - 0.02 * n, 2)},
            "context_precision": {"value": 0.3 if candidate and n % 2 else 0.85},
        },
    }


def baseline_and_candidate(server: LiveServer) -> tuple[str, str]:
    """Record two runs of the shop bot over ``refunds``, each item with its traced turn."""
    ingest(server, traced_turns(), PROJECT)
    api(server, "POST", "/datasets", json={"name": "refunds"})
    items = [{"id": f"q{n}", "input": {"question": q}} for n, q in enumerate(QUESTIONS)]
    api(server, "POST", "/datasets/refunds/items", json={"items": items})
    ids = []
    for name, candidate in (("prompt v1", False), ("prompt v2", True)):
        experiment = start(server, name, dataset="refunds", metadata={"prompt": name})
        record(server, experiment, [run(n, candidate) for n in range(len(QUESTIONS))])
        api(server, "PATCH", f"/experiments/{experiment}", json={"status": "completed"})
        ids.append(experiment)
    return ids[0], ids[1]


def traced_turns() -> dict[str, Any]:
    """Return one ingest batch with a chatbot turn for each item of both runs."""
    batch: dict[str, Any] = {"traces": [], "spans": []}
    for candidate in (1, 2):
        for n, question in enumerate(QUESTIONS):
            turn = rag_turn(f"{candidate * 100 + n:032x}", 60 - n, question, "An answer.")
            batch["traces"] += turn["traces"]
            batch["spans"] += turn["spans"]
    return batch


POLITE = [  # (answer, the people's label, the judge's label)
    ("Please wait a moment.", True, True),
    ("Wait.", False, False),
    ("Please hold, thank you.", True, True),
    ("Thanks for waiting!", True, False),
    ("No.", False, False),
    ("Please, no.", False, True),
]


def judge_calibration(server: LiveServer) -> str:
    """Record a politeness judge over a gold set, as ``calibrate_judge`` does."""
    experiment = start(server, "calibrate polite")
    record(
        server,
        experiment,
        [
            {
                "item_id": f"g{n}",
                "input": {"input": "Can you help?", "output": answer},
                "expected": people,
                "output": {"input": "Can you help?", "output": answer},
                "scores": {"polite": {"value": judge, "reason": f"judged {judge}"}},
            }
            for n, (answer, people, judge) in enumerate(POLITE)
        ],
    )
    return experiment


def test_the_list_shows_each_run_and_compares_the_picked_ones(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    baseline, candidate = baseline_and_candidate(ui_server)

    page.open(PAGE)

    row = page.page.locator(f'tr[data-experiment="{candidate}"]')
    assert row.locator("td").nth(1).inner_text().startswith("prompt v2")
    assert row.locator("td").nth(2).inner_text() == "refunds"
    assert row.locator("td").nth(3).inner_text() == "completed"
    assert row.locator('td[data-metric="correct"]').inner_text().split()[0] == "0.750"
    assert row.locator("td.num").nth(2).inner_text().startswith("$0.")
    # Newest first; the comparison still takes the oldest picked as its baseline.
    assert page.page.locator("tr[data-experiment]").first.get_attribute("data-experiment") == (
        candidate
    )
    page.page.get_by_label("Pick prompt v2").check()
    page.page.get_by_label("Pick prompt v1").check()
    page.page.get_by_role("button", name="Compare").click()

    expect(page.page).to_have_url(re.compile(rf"/compare\?ids={baseline}&ids={candidate}$"))


def test_the_list_keeps_to_one_dataset(page: WatchedPage, ui_server: LiveServer) -> None:
    baseline_and_candidate(ui_server)
    judge_calibration(ui_server)

    page.open(f"{PAGE}?dataset=refunds")

    names = page.page.locator("tr[data-experiment] td:nth-child(2) a").all_inner_texts()
    assert names == ["prompt v2", "prompt v1"]
    page.open(PAGE)
    assert page.page.locator("tr[data-experiment]").count() == 3


def test_an_experiment_shows_its_metrics_diagnosis_and_items(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    _, candidate = baseline_and_candidate(ui_server)

    page.open(f"{PAGE}/{candidate}")

    correct = page.page.locator('table.metrics tr[data-metric="correct"]')
    assert correct.locator("td.mean").inner_text() == "0.750"
    assert re.fullmatch(r"\[0\.\d{3}, 1\.000\]", correct.locator("td.ci").inner_text())
    # By its means the run fails at synthesis; by count, half its items fail at both.
    verdict = page.page.locator(".quadrants td.verdict")
    assert verdict.get_attribute("data-quadrant") == "synthesis_failure"
    mismatch = page.page.locator('.quadrants td[data-quadrant="domain_mismatch"]')
    assert mismatch.inner_text().split() == ["Domain", "mismatch", "4", "items"]
    assert "4 of 8 items show a domain mismatch" in page.page.locator(".advice").inner_text()
    assert page.page.locator(".quadrant-plot circle").count() == len(QUESTIONS)
    item = page.page.locator('table.experiment-items tr[data-item="q1"]')
    assert "Candidate answer to: Can I return a gift card?" in item.inner_text()
    assert item.locator('td[data-metric="correct"]').inner_text().startswith("no")
    link = item.get_by_role("link", name="trace").get_attribute("href")
    assert link == f"/projects/{PROJECT}/traces/{201:032x}"
    page.page.mouse.move(0, 0)
    page.screenshot("experiment")


def test_an_item_that_failed_shows_its_error(page: WatchedPage, ui_server: LiveServer) -> None:
    experiment = start(ui_server, "flaky")
    record(
        ui_server,
        experiment,
        [
            {"item_id": "a", "output": "fine", "scores": {"exact": {"value": 1.0}}},
            {"item_id": "b", "error": "TimeoutError: the model took too long"},
        ],
    )

    page.open(f"{PAGE}/{experiment}")

    failed = page.page.locator('tr[data-item="b"]')
    assert "TimeoutError: the model took too long" in failed.inner_text()
    assert failed.get_attribute("class") == "has-error"
    assert "1 errors" in page.page.locator(".facts").inner_text()


def test_a_comparison_highlights_the_items_that_got_worse_and_better(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    baseline, candidate = baseline_and_candidate(ui_server)

    page.open(f"{PAGE}/compare?ids={baseline}&ids={candidate}")

    faithfulness = page.page.locator('table.metric-comparison tr[data-metric="faithfulness"]')
    assert faithfulness.locator("td.difference").get_attribute("data-verdict") == "worse"
    assert faithfulness.locator("td.difference.regressed").count() == 1
    assert faithfulness.locator("td.difference").inner_text().startswith("-0.250")

    def cells(kind: str) -> set[str]:
        found = page.page.locator(f'table.item-changes td.{kind}[data-metric="correct"]')
        return {cell.evaluate("c => c.closest('tr').dataset.item") for cell in found.all()}

    assert cells("regressed") == set(WORSE)
    assert cells("improved") == set(BETTER)
    worse = page.page.locator('table.item-changes tr[data-item="q1"] td[data-metric="correct"]')
    assert worse.all_inner_texts() == ["1.000", "0.000"]
    side_by_side = page.page.locator("table.compared").inner_text()
    assert "Total cost" in side_by_side
    assert "p50 1.04 s, p95 1.17 s" in side_by_side
    page.screenshot("comparison")

    page.page.get_by_role("link", name="Better (1)").click()
    expect(page.page.locator("table.item-changes tbody tr")).to_have_count(1)
    page.page.get_by_role("link", name="make it the baseline").click()
    expect(page.page).to_have_url(re.compile(rf"ids={candidate}&ids={baseline}&show=better$"))
    assert cells("improved") == set(WORSE)


def test_a_calibration_reports_the_judges_agreement_with_people(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    experiment = judge_calibration(ui_server)
    page.open(f"{PAGE}/{experiment}")

    page.page.get_by_role("link", name="Judge calibration").click()

    expect(page.page.locator("h1")).to_have_text("Judge calibration: polite")
    accuracy = page.page.locator('tr[data-statistic="accuracy"]')
    assert accuracy.locator("td.value").inner_text() == f"{4 / 6:.3f}"
    kappa = page.page.locator('tr[data-statistic="kappa"]')
    # Both raters say True three times in six, so chance agreement is 1/2.
    assert kappa.locator("td.value").inner_text() == f"{(4 / 6 - 0.5) / 0.5:.3f}"
    assert kappa.locator("td.band").inner_text() == "fair"
    assert re.fullmatch(r"\[-?\d\.\d{3}, \d\.\d{3}\]", kappa.locator("td.ci").inner_text())
    confusion = page.page.locator("table.confusion tbody tr")
    assert confusion.all_inner_texts() == ["no\t2\t1", "yes\t1\t2"]
    disagreements = page.page.locator("table.disagreements tbody tr")
    assert sorted(row.get_attribute("data-item") or "" for row in disagreements.all()) == [
        "g3",
        "g5",
    ]
    page.screenshot("calibration")


def test_ordered_labels_from_a_score_get_weighted_kappa_and_spearman(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    people, judge = [1, 2, 3, 4, 5, 3, 2, 4], [1, 3, 3, 5, 4, 3, 1, 4]
    experiment = start(ui_server, "stars")
    record(
        ui_server,
        experiment,
        [
            {"item_id": f"s{n}", "scores": {"people": {"value": p}, "stars": {"value": j}}}
            for n, (p, j) in enumerate(zip(people, judge, strict=True))
        ],
    )
    report = calibrate(list(zip(people, judge, strict=True)), order=[1, 2, 3, 4, 5])

    # Scores are stored as numbers, so the order is what makes the stars ordered labels.
    page.open(f"{PAGE}/{experiment}/calibration?metric=stars&human=people&order=1,2,3,4,5")

    for name in ("linear_kappa", "quadratic_kappa", "spearman"):
        shown = page.page.locator(f'tr[data-statistic="{name}"] td.value').inner_text()
        assert shown == f"{report.statistics()[name].value:.3f}", name
    assert "ordinal, lowest first: 1, 2, 3, 4, 5" in page.page.locator(".facts").inner_text()


def test_hostile_markup_in_experiments_is_shown_as_text(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    payload = " ".join(XSS)
    hostile = {
        "input": payload,
        "output": {"answer": payload},
        "expected": XSS[0],
        "trace_id": XSS[1][:32],
        "scores": {XSS[3]: {"value": XSS[0], "reason": payload}, "tone": {"value": XSS[1]}},
    }
    ids = []
    for name in (XSS[1], XSS[3]):  # names hold no slash
        experiment = start(ui_server, name, metadata={"note": payload})
        record(
            ui_server,
            experiment,
            [
                {"item_id": XSS[2][:60], **hostile, "error": payload},
                {"item_id": "x1", **hostile, "expected": XSS[1]},
                {"item_id": "x2", **hostile, "scores": {"tone": {"value": XSS[0]}}},
                {"item_id": "x3", "trace_id": "../../../settings/costs", "output": "moved"},
            ],
        )
        ids.append(experiment)

    for path in (
        PAGE,
        f"{PAGE}/{ids[0]}",
        f"{PAGE}/compare?ids={ids[0]}&ids={ids[1]}",
        f"{PAGE}/{ids[0]}/calibration?metric=tone",
    ):
        page.open(path)
        assert XSS[0] in page.page.inner_text("main"), path
        for dangerous in ("[onerror]", "[onload]", "script:not([src])", 'a[href^="javascript"]'):
            assert page.page.locator(dangerous).count() == 0, (path, dangerous)
        assert page.page.locator("main svg:not(.quadrant-plot)").count() == 0, path
        # A trace id that is not one never becomes a link that could point elsewhere.
        assert page.page.locator('main a[href*="onerror"], main a[href*="settings"]').count() == 0


def test_bad_requests_are_error_pages(page: WatchedPage, ui_server: LiveServer) -> None:
    baseline, candidate = baseline_and_candidate(ui_server)
    page.expect_failures = True
    missing = "f" * 32

    cases = [
        ("/projects/nobody/experiments", 404, "no project named 'nobody'"),
        (f"{PAGE}?dataset=none", 404, "has no dataset named 'none'"),
        (f"{PAGE}/{missing}", 404, f"has no experiment '{missing}'"),
        (f"{PAGE}/{baseline}?page=two", 400, "page must be a whole number"),
        (f"{PAGE}/{baseline}?page=9", 404, "has 1 pages of items, not 9"),
        (f"{PAGE}/compare?ids={baseline}", 400, "pick two or more experiments"),
        (f"{PAGE}/compare?ids={baseline}&ids={baseline}", 400, "pick two or more experiments"),
        (f"{PAGE}/compare?ids={baseline}&ids={missing}", 404, f"no experiment '{missing}'"),
        (f"{PAGE}/compare?ids={baseline}&ids={candidate}&show=all", 400, "unknown show 'all'"),
        (f"{PAGE}/{baseline}/calibration", 404, "is not a judge calibration"),
        (f"{PAGE}/{baseline}/calibration?metric=nope", 400, "only 0 items have both"),
    ]
    for path, status, message in cases:
        response = page.open(path)
        assert response.status == status, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert message in page.page.inner_text("main"), path
