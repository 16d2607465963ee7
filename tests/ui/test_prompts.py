"""The prompts pages in the browser: the list, a prompt's labels, metrics and versions, diffs."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage, ingest
from tests.ui.data import PROJECT, XSS, error_trace

PROMPTS = f"/api/v1/projects/{PROJECT}/prompts"
PAGE = f"/projects/{PROJECT}/prompts"

SYSTEM_V1 = "You support {{ product }} customers.\nAnswer briefly."
SYSTEM_V2 = "You support {{ product }} customers.\nAnswer in a friendly tone."
SYSTEM_V3 = SYSTEM_V2 + "\nCite the order number."


def chat(system: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": "{{ question }}"}]


SUPPORT_VERSIONS: list[dict[str, Any]] = [
    {
        "template": chat(SYSTEM_V1),
        "model": "gpt-4o-mini",
        "parameters": {"temperature": 0.2},
        "description": "First answer of the support bot",
        "author": "ana",
        "message": "first cut",
    },
    {
        "template": chat(SYSTEM_V2),
        "model": "gpt-4o-mini",
        "parameters": {"temperature": 0.7},
        "author": "bo",
        "message": "friendlier",
    },
    {
        "template": chat(SYSTEM_V3),
        "model": "gpt-4o",
        "parameters": {"temperature": 0.7},
        "author": "cy",
        "message": "bigger model",
    },
]


# Data, sent through the JSON API.


def call(server: LiveServer, method: str, path: str, **options: Any) -> Any:
    """Call the JSON API and return its answer; fail unless it succeeded."""
    response = httpx.request(method, f"{server.url}{path}", timeout=30, **options)
    assert response.status_code < 300, response.text
    return response.json()


def push(server: LiveServer, name: str, spec: dict[str, Any]) -> Any:
    return call(server, "POST", f"{PROMPTS}/{name}/versions", json=spec)


def move(server: LiveServer, name: str, label: str, **spec: Any) -> Any:
    return call(server, "PUT", f"{PROMPTS}/{name}/labels/{label}", json=spec)


def label_now(server: LiveServer, label: str, name: str = "support") -> Any:
    return call(server, "GET", f"{PROMPTS}/{name}/labels/{label}")["label"]


def linked_span(
    number: int, version: str, ms: float, cost: float, *, error: bool = False, days_ago: int = 0
) -> dict[str, Any]:
    """Return an llm span that recorded version ``version`` of the support prompt."""
    start = datetime.now(UTC) - timedelta(days=days_ago, minutes=30 + number)
    return {
        "trace_id": f"{number:032x}",
        "id": f"{number:016x}",
        "name": "openai.chat",
        "kind": "llm",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(milliseconds=ms)).isoformat(),
        "llm": {
            "model": "gpt-4o-mini",
            "prompt": {"name": "support", "version": version, "label": "production"},
        },
        "cost": {"total": cost},
        "status": "error" if error else "ok",
    }


def seed_prompts(server: LiveServer) -> list[Any]:
    """Push three support versions and a text prompt, move labels, and record linked spans.

    production serves v1 with 10% to v2 and staging serves v3. Version 1 has
    three calls this week (one failed) and one ten days ago; version 2 has two.
    """
    pushed = [push(server, "support", spec) for spec in SUPPORT_VERSIONS]
    push(server, "greeting", {"template": "Hello {{ name }}!", "author": "ana"})
    move(server, "support", "production", version=1, author="ana", message="launch")
    move(
        server,
        "support",
        "production",
        version=1,
        split_version=2,
        split_percent=10,
        author="bo",
        message="try friendlier on 10%",
    )
    move(server, "support", "staging", version=3, author="cy")
    spans = [
        linked_span(1, "1", 100, 0.01),
        linked_span(2, "1", 300, 0.02, error=True),
        linked_span(3, "1", 500, 0.03),
        linked_span(4, "2", 50, 0.02),
        linked_span(5, "2", 70, 0.02),
        linked_span(6, "1", 900, 0.05, days_ago=10),
    ]
    scores = [
        {"trace_id": f"{1:032x}", "span_id": f"{1:016x}", "name": "helpful", "value": 1.0},
        {"trace_id": f"{2:032x}", "span_id": f"{2:016x}", "name": "helpful", "value": 0.0},
        {"trace_id": f"{4:032x}", "name": "helpful", "value": 1.0},
    ]
    ingest(server, {"spans": spans, "scores": scores})
    return pushed


def cells(page: WatchedPage, row: str) -> list[str]:
    texts: list[str] = page.page.locator(row).locator("td").all_inner_texts()
    return [text.strip() for text in texts]


def submit(page: WatchedPage, form: str, button: str) -> Any:
    """Click ``button`` in ``form`` and return the answer to the POST."""
    with page.page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.page.locator(form).get_by_role("button", name=button).click()
    page.page.wait_for_load_state()
    return posted.value


# The list.


def test_the_list_shows_each_prompt_with_its_latest_version_and_labels(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)

    page.open(PAGE)

    support = cells(page, 'tr[data-prompt="support"]')
    assert support[:3] == ["support", "First answer of the support bot", "v3"]
    labels = page.page.locator('tr[data-prompt="support"] .tag.label').all_inner_texts()
    assert labels == ["production: v1, 10% to v2", "staging: v3"]
    assert cells(page, 'tr[data-prompt="greeting"]')[2:4] == ["v1", "no labels"]
    link = page.page.get_by_role("link", name="support", exact=True)
    assert link.get_attribute("href") == f"{PAGE}/support"
    page.screenshot("prompts")


def test_a_project_without_prompts_says_how_to_push_one(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    ingest(ui_server, error_trace())

    page.open(PAGE)

    assert "daytwo prompt push" in page.page.inner_text("main")


def test_an_unknown_project_prompt_or_version_is_a_404_page(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)
    page.expect_failures = True

    missing = {
        "/projects/nope/prompts": "no project named 'nope'",
        f"{PAGE}/nope": f"project '{PROJECT}' has no prompt named 'nope'",
        f"{PAGE}/support/diff?from=1&to=9": "prompt 'support' has no version 9; the newest is 3",
    }
    for path, message in missing.items():
        assert page.open(path).status == 404
        assert page.page.inner_text(".error-message") == message


# A prompt: labels, versions, metrics and the label log.


def test_labels_show_their_targets_and_the_share_of_a_split(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)

    page.open(f"{PAGE}/support")

    assert cells(page, 'tr[data-label="production"]')[1:3] == ["v1, 10% to v2", "bo"]
    assert cells(page, 'tr[data-label="staging"]')[1:3] == ["v3", "cy"]
    served = {
        number: page.page.locator(f"#v{number} .about > .tag.label").all_inner_texts()
        for number in (1, 2, 3)
    }
    assert served == {1: ["production (90%)"], 2: ["production (10%)"], 3: ["staging"]}


def test_the_version_history_shows_each_version_with_its_template(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    pushed = seed_prompts(ui_server)

    page.open(f"{PAGE}/support")

    versions = page.page.locator("#versions article")
    assert versions.evaluate_all("found => found.map(article => article.id)") == ["v3", "v2", "v1"]
    first = page.page.locator("#v1")
    assert first.locator(".hash").inner_text() == pushed[0]["hash"][:12]
    facts = first.locator(".facts dd").all_inner_texts()
    assert facts[:2] == ["first cut", "ana"]
    assert facts[3:] == ["gpt-4o-mini", "temperature: 0.2", "productquestion"]
    assert first.locator(".badge").inner_text() == "chat"
    system = first.locator(".message.role-system .content")
    assert system.inner_text() == SYSTEM_V1
    assert first.locator(".message.role-user .content").inner_text() == "{{ question }}"


def test_a_text_template_is_shown_as_it_was_pushed(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)

    page.open(f"{PAGE}/greeting")

    assert page.page.inner_text("#v1 pre.prompt-text") == "Hello {{ name }}!"
    assert page.page.inner_text("#v1 .badge") == "text"
    assert "No label points at a version yet" in page.page.inner_text("#labels")


def test_metrics_are_shown_side_by_side_for_each_version(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)

    page.open(f"{PAGE}/support")

    table = ".prompt-metrics"
    headers = page.page.locator(f"{table} th").all_inner_texts()
    assert headers[2:] == ["LLM calls", "Errors", "p50", "p95", "Cost", "Per call", "helpful"]
    first = cells(page, f'{table} tr[data-version="1"]')
    assert first == [
        "v1",
        "production (90%)",
        "3",
        "1 (33.3%)",
        "300 ms",
        "480 ms",
        "$0.06",
        "$0.02",
        "0.5 n=2",
    ]
    second = cells(page, f'{table} tr[data-version="2"]')
    assert second == [
        "v2",
        "production (10%)",
        "2",
        "0 (0%)",
        "60 ms",
        "69 ms",
        "$0.04",
        "$0.02",
        "1 n=1",
    ]
    assert page.page.locator(f'{table} tr[data-version="3"]').count() == 0
    page.screenshot("prompt")


def test_the_metrics_range_can_be_chosen(page: WatchedPage, ui_server: LiveServer) -> None:
    seed_prompts(ui_server)
    page.open(f"{PAGE}/support")

    page.page.locator("#metrics select[name=range]").select_option("all")
    page.page.locator("#metrics").get_by_role("button", name="Show").click()

    expect(page.page.locator('.prompt-metrics tr[data-version="1"] td').nth(2)).to_have_text("4")
    assert page.page.url.endswith(f"{PAGE}/support?range=all#metrics")
    assert page.page.locator("#metrics select[name=range]").input_value() == "all"


def test_a_versions_count_of_calls_opens_its_traces_in_the_explorer(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)
    page.open(f"{PAGE}/support")

    page.page.locator('.prompt-metrics tr[data-version="2"] a.traces-link').click()
    page.page.wait_for_load_state("networkidle")

    assert f"/projects/{PROJECT}/traces?prompt=support&prompt_version=2&from=" in page.page.url
    rows = page.page.locator("table.traces tbody tr[data-trace]")
    shown = {rows.nth(i).get_attribute("data-trace") for i in range(rows.count())}
    assert shown == {f"{4:032x}", f"{5:032x}"}
    assert page.page.locator(".more-filters input[name=prompt]").input_value() == "support"
    assert page.page.locator(".more-filters input[name=prompt_version]").input_value() == "2"


def test_an_unknown_range_is_refused_above_an_empty_table(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)
    page.expect_failures = True

    response = page.open(f"{PAGE}/support?range=forever")

    assert response.status == 400
    notice = page.page.inner_text("#metrics .notice.error")
    assert notice == "unknown range 'forever'; choose one of: 24h, 7d, 30d, all"
    assert page.page.locator(".prompt-metrics").count() == 0


def test_the_label_log_says_who_moved_which_label_and_why(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)

    page.open(f"{PAGE}/support")

    rows = page.page.locator(".label-log tbody tr")
    moves = [
        [cell.strip() for cell in row.locator("td").all_inner_texts()[1:]] for row in rows.all()
    ]
    assert moves == [
        ["staging", "moved", "new label", "v3", "cy", ""],
        ["production", "moved", "v1", "v1, 10% to v2", "bo", "try friendlier on 10%"],
        ["production", "moved", "new label", "v1", "ana", "launch"],
    ]


# Moving and rolling back labels from the page.


def test_moving_a_label_from_the_page_is_what_the_api_then_serves(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)
    page.open(f"{PAGE}/support")

    form = page.page.locator("form.move")
    form.locator("[name=label]").fill("production")
    form.locator("[name=version]").select_option("3")
    form.locator("[name=split_version]").select_option("2")
    form.locator("[name=split_percent]").fill("25")
    form.locator("[name=author]").fill("dana")
    form.locator("[name=message]").fill("promote v3")
    answer = submit(page, "form.move", "Move label")

    assert answer.status == 303
    notice = page.page.locator(".notice[role=status]")
    expect(notice).to_have_text("production now serves v3, 25% to v2.")
    now = label_now(ui_server, "production")
    assert (now["version"], now["split_version"], now["split_percent"]) == (3, 2, 25)
    assert now["updated_by"] == "dana"
    newest = cells(page, ".label-log tbody tr:first-child")[1:]
    assert newest == ["production", "moved", "v1, 10% to v2", "v3, 25% to v2", "dana", "promote v3"]


def test_rolling_a_label_back_from_the_page_restores_its_previous_target(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)
    page.open(f"{PAGE}/support")

    row = page.page.locator('tr[data-label="production"]')
    row.locator("[name=author]").fill("ops")
    answer = submit(page, 'tr[data-label="production"] form', "Roll back")

    assert answer.status == 303
    expect(page.page.locator(".notice[role=status]")).to_have_text(
        "production was rolled back; it serves v1."
    )
    now = label_now(ui_server, "production")
    assert (now["version"], now["split_version"], now["updated_by"]) == (1, None, "ops")
    history = call(ui_server, "GET", f"{PROMPTS}/support/labels/production/history")
    assert (history[0]["action"], history[0]["author"]) == ("rollback", "ops")
    assert page.page.inner_text(".label-log tbody tr:first-child .badge") == "rolled back"


def test_a_bad_split_percent_is_refused_and_what_was_typed_is_kept(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)
    page.open(f"{PAGE}/support")
    page.expect_failures = True

    form = page.page.locator("form.move")
    form.locator("[name=version]").select_option("3")
    form.locator("[name=split_version]").select_option("2")
    form.locator("[name=split_percent]").fill("150")
    form.locator("[name=message]").fill("too much")
    answer = submit(page, "form.move", "Move label")

    assert answer.status == 400
    error = page.page.inner_text(".notice.error")
    assert error == "the split percent must be a number from 0 to 100, not '150'"
    assert form.locator("[name=split_percent]").input_value() == "150"
    assert form.locator("[name=version]").input_value() == "3"
    assert form.locator("[name=message]").input_value() == "too much"
    assert label_now(ui_server, "production")["split_percent"] == 10


def test_a_split_to_the_labels_own_version_is_refused(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)
    page.open(f"{PAGE}/support")
    page.expect_failures = True

    form = page.page.locator("form.move")
    form.locator("[name=version]").select_option("2")
    form.locator("[name=split_version]").select_option("2")
    form.locator("[name=split_percent]").fill("5")
    answer = submit(page, "form.move", "Move label")

    assert answer.status == 400
    assert page.page.inner_text(".notice.error") == "split_version 2 is the label's own version"


def test_a_move_to_a_missing_version_is_refused_with_its_number(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)

    # The page offers only stored versions; a hand-made request can name others.
    answer = page.page.request.post(
        f"{ui_server.url}{PAGE}/support/labels",
        form={"label": "production", "version": "9"},
        headers={"Origin": ui_server.url},
    )

    assert answer.status == 400
    assert "prompt &#39;support&#39; has no version 9; the newest is 3" in answer.text()
    assert label_now(ui_server, "production")["version"] == 1


def test_rolling_back_a_label_with_no_earlier_target_says_so(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)
    page.open(f"{PAGE}/support")
    page.expect_failures = True

    answer = submit(page, 'tr[data-label="staging"] form', "Roll back")

    assert answer.status == 409
    error = page.page.inner_text(".notice.error")
    assert error == "label 'staging' has no earlier version to roll back to"
    assert label_now(ui_server, "staging")["version"] == 3


def test_a_form_sent_from_another_site_is_refused(page: WatchedPage, ui_server: LiveServer) -> None:
    seed_prompts(ui_server)

    url = f"{ui_server.url}{PAGE}/support/labels/production/rollback"
    for headers in ({"Origin": "https://attacker.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = page.page.request.post(url, form={"author": "mallory"}, headers=headers)

        assert answer.status == 403
    assert label_now(ui_server, "production")["split_version"] == 2


# Diffs.


def test_the_diff_of_two_chosen_versions_shows_lines_and_field_changes(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)
    page.open(f"{PAGE}/support")

    compare = page.page.locator("form.compare")
    compare.locator("[name=from]").select_option("1")
    compare.locator("[name=to]").select_option("3")
    compare.get_by_role("button", name="Compare").click()

    expect(page.page.locator("h1")).to_have_text("support: v1 → v3")
    assert page.page.url.endswith(f"{PAGE}/support/diff?from=1&to=3")
    added = page.page.locator(".prompt-diff .add").all_inner_texts()
    removed = page.page.locator(".prompt-diff .del").all_inner_texts()
    assert added == ["+Answer in a friendly tone.", "+Cite the order number."]
    assert removed == ["-Answer briefly."]
    changes = {
        row.locator("th").inner_text(): row.locator("td").all_inner_texts()
        for row in page.page.locator(".field-changes tbody tr").all()
    }
    assert changes == {
        "model": ["gpt-4o-mini", "gpt-4o"],
        "parameters.temperature": ["0.2", "0.7"],
    }


def test_a_diff_of_a_version_with_itself_says_nothing_changed(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)

    page.open(f"{PAGE}/support/diff?from=2&to=2")

    assert page.page.inner_text("#changes p") == "The same in both versions."
    assert page.page.inner_text("#template p") == "The templates are the same."


def test_a_version_that_is_not_a_number_is_a_400_page(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_prompts(ui_server)
    page.expect_failures = True

    response = page.open(f"{PAGE}/support/diff?from=one&to=2")

    assert response.status == 400
    message = "'from' must be a version number such as 1, not 'one'"
    assert page.page.inner_text(".error-message") == message


# Untrusted text.


def test_hostile_markup_in_a_prompt_is_shown_as_text(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    payload = " ".join(XSS)
    hostile = {
        "template": payload,
        "description": payload,
        "model": XSS[3],
        "parameters": {XSS[0]: XSS[1]},
        "author": XSS[2],
        "message": XSS[0],
    }
    push(ui_server, "hostile", hostile)
    push(ui_server, "hostile", {**hostile, "template": [{"role": "user", "content": payload}]})
    move(ui_server, "hostile", "production", version=1, author=XSS[1], message=payload)

    for path in ("", "/hostile", "/hostile/diff?from=1&to=2"):
        page.open(f"{PAGE}{path}")
        main = page.page.locator("main")
        assert XSS[0] in main.inner_text()
        for tag in ("script", "img", "svg", "a[href^=javascript]"):
            assert main.locator(tag).count() == 0, f"{tag} rendered from data on {path}"
    page.open(f"{PAGE}/hostile")
    assert page.page.inner_text("#v1 .author") == XSS[2]
    assert page.page.inner_text("#v2 .message.role-user .content") == payload
    assert cells(page, ".label-log tbody tr")[5:] == [XSS[1], payload]
