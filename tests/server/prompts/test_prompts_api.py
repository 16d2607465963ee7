from typing import Any

import pytest
from fastapi.testclient import TestClient

BASE = "/api/v1/projects/shop/prompts"

SUPPORT_V1 = {
    "type": "chat",
    "template": [
        {"role": "system", "content": "You support {{ product }} customers."},
        {"role": "user", "content": "{{ question }}"},
    ],
    "model": "gpt-4o-mini",
    "parameters": {"temperature": 0.2},
    "author": "ana",
    "message": "first cut",
}


def push(api: TestClient, name: str = "support", **changes: Any) -> Any:
    response = api.post(f"{BASE}/{name}/versions", json={**SUPPORT_V1, **changes})
    assert response.status_code in (200, 201), response.text
    return response.json()


def set_label(api: TestClient, label: str, version: int, **extra: Any) -> Any:
    response = api.put(f"{BASE}/support/labels/{label}", json={"version": version, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_pushing_makes_numbered_versions_with_hash_and_variables(api: TestClient) -> None:
    first = push(api)
    second = push(api, parameters={"temperature": 0.7}, author="bo", message="warmer")

    assert (first["version"], first["created"]) == (1, True)
    assert first["variables"] == ["product", "question"]
    assert len(first["hash"]) == 64
    assert (second["version"], second["author"], second["message"]) == (2, "bo", "warmer")
    assert second["hash"] != first["hash"]


def test_pushing_the_same_content_again_returns_the_existing_version(api: TestClient) -> None:
    first = api.post(f"{BASE}/support/versions", json=SUPPORT_V1)
    again = api.post(f"{BASE}/support/versions", json={**SUPPORT_V1, "message": "retry in CI"})

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["version"] == 1
    assert again.json()["created"] is False
    assert [v["version"] for v in api.get(f"{BASE}/support").json()["versions"]] == [1]


def test_declared_variables_are_added_to_those_the_template_uses(api: TestClient) -> None:
    pushed = push(api, "greeting", type="text", template="Hi {{ name }}", variables=["tone"])

    assert pushed["variables"] == ["name", "tone"]
    assert pushed["type"] == "text"


def test_a_push_that_only_declares_a_variable_makes_a_new_version(api: TestClient) -> None:
    first = push(api)
    declared = push(api, variables=["tone"])
    again = push(api, variables=["tone"])

    assert (declared["version"], declared["created"]) == (2, True)
    assert declared["variables"] == ["product", "question", "tone"]
    assert declared["hash"] != first["hash"]
    assert (again["version"], again["created"]) == (2, False)


def test_declaring_a_variable_the_template_reads_changes_nothing(api: TestClient) -> None:
    first = push(api)
    again = push(api, variables=["product"])

    assert (again["version"], again["created"], again["hash"]) == (1, False, first["hash"])


@pytest.mark.parametrize(
    "change",
    [
        {"template": [{"role": "user", "content": "{{ question }}"}]},
        {"type": "text", "template": "You support {{ product }} customers. {{ question }}"},
        {"model": "gpt-4o"},
        {"parameters": {"temperature": 0.2, "top_p": 0.9}},
        {"variables": ["tone"]},
    ],
)
def test_every_part_that_defines_a_version_is_in_its_hash(
    api: TestClient, change: dict[str, Any]
) -> None:
    first = push(api)
    changed = push(api, **change)

    assert (changed["version"], changed["created"]) == (2, True)
    assert changed["hash"] != first["hash"]


def test_a_template_that_does_not_parse_is_refused_with_its_line(api: TestClient) -> None:
    response = api.post(f"{BASE}/broken/versions", json={"template": "line one\n{{ name "})

    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "prompt 'broken'" in message
    assert "line 2" in message


def test_a_type_that_contradicts_the_template_is_refused(api: TestClient) -> None:
    response = api.post(f"{BASE}/x/versions", json={"type": "chat", "template": "text"})

    assert response.status_code == 422
    assert "list of messages" in response.json()["error"]["message"]


def test_prompts_are_listed_with_their_latest_version_and_labels(api: TestClient) -> None:
    push(api)
    push(api, parameters={"temperature": 0.9})
    push(api, "greeting", type="text", template="Hi")
    set_label(api, "production", 1)
    set_label(api, "staging", 2)

    listed = {p["name"]: p for p in api.get(BASE).json()}

    assert listed["support"]["latest_version"] == 2
    assert listed["support"]["labels"] == {"production": 1, "staging": 2}
    assert listed["greeting"]["labels"] == {}


def test_a_version_is_read_by_number_and_a_missing_one_is_named(api: TestClient) -> None:
    push(api)

    found = api.get(f"{BASE}/support/versions/1")
    missing = api.get(f"{BASE}/support/versions/7")

    assert found.json()["template"][0]["role"] == "system"
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "not_found",
        "message": "prompt 'support' has no version 7; the newest is 1",
    }


def test_an_unknown_prompt_is_a_404_naming_it(api: TestClient) -> None:
    push(api)

    response = api.get(f"{BASE}/nope")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "project 'shop' has no prompt named 'nope'"


def test_moving_a_label_is_audited_and_a_repeat_move_records_nothing(api: TestClient) -> None:
    push(api)
    push(api, model="gpt-4o")
    set_label(api, "production", 1, author="ana", message="launch")
    set_label(api, "production", 2, author="bo", message="bigger model")
    set_label(api, "production", 2, author="bo")

    history = api.get(f"{BASE}/support/labels/production/history").json()

    assert [(e["from_version"], e["to_version"], e["author"]) for e in history] == [
        (1, 2, "bo"),
        (None, 1, "ana"),
    ]
    assert history[0]["message"] == "bigger model"
    assert history[0]["action"] == "set"


def test_a_label_cannot_point_at_a_missing_version(api: TestClient) -> None:
    push(api)

    response = api.put(f"{BASE}/support/labels/production", json={"version": 3})

    assert response.status_code == 404
    assert response.json()["error"]["message"] == (
        "prompt 'support' has no version 3; the newest is 1"
    )


def test_a_label_name_must_be_lowercase_words(api: TestClient) -> None:
    push(api)

    response = api.put(f"{BASE}/support/labels/Prod!", json={"version": 1})

    assert response.status_code == 422


def test_a_split_needs_its_version_and_its_share_together(api: TestClient) -> None:
    push(api)
    push(api, model="gpt-4o")

    response = api.put(f"{BASE}/support/labels/production", json={"version": 1, "split_percent": 5})

    assert response.status_code == 422
    assert "split_version and split_percent together" in response.json()["error"]["message"]


def test_rollback_returns_to_the_previous_target_and_keeps_going_back(api: TestClient) -> None:
    for model in ("a", "b", "c"):
        push(api, model=model)
    for number in (1, 2, 3):
        set_label(api, "production", number)

    first = api.post(f"{BASE}/support/labels/production/rollback", json={"author": "ops"})
    second = api.post(f"{BASE}/support/labels/production/rollback")
    third = api.post(f"{BASE}/support/labels/production/rollback")

    assert first.json()["version"] == 2
    assert first.json()["updated_by"] == "ops"
    assert second.json()["version"] == 1
    assert third.status_code == 409
    assert third.json()["error"]["message"] == (
        "label 'production' of prompt 'support' has no earlier version to roll back to"
    )
    history = api.get(f"{BASE}/support/labels/production/history").json()
    assert [e["action"] for e in history[:2]] == ["rollback", "rollback"]


def test_rollback_restores_a_split_too(api: TestClient) -> None:
    push(api)
    push(api, model="gpt-4o")
    set_label(api, "production", 1, split_version=2, split_percent=10)
    set_label(api, "production", 2)

    restored = api.post(f"{BASE}/support/labels/production/rollback").json()

    assert (restored["version"], restored["split_version"], restored["split_percent"]) == (1, 2, 10)


def test_rolling_back_a_missing_label_is_a_404(api: TestClient) -> None:
    push(api)

    response = api.post(f"{BASE}/support/labels/production/rollback")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "prompt 'support' has no label 'production'"


def test_resolve_serves_the_label_and_keeps_each_key_on_one_version(api: TestClient) -> None:
    push(api)
    push(api, model="gpt-4o")
    set_label(api, "production", 1, split_version=2, split_percent=50)

    def served(key: str) -> tuple[int, bool]:
        found = api.get(f"{BASE}/support/resolve", params={"label": "production", "key": key})
        body = found.json()
        return body["version"], body["from_split"]

    answers = {key: served(key) for key in (f"user-{i}" for i in range(40))}

    assert {key: served(key) for key in answers} == answers
    assert {version for version, _ in answers.values()} == {1, 2}
    assert all(from_split == (version == 2) for version, from_split in answers.values())


def test_resolve_without_a_split_serves_the_label_version(api: TestClient) -> None:
    push(api)
    set_label(api, "staging", 1)

    body = api.get(f"{BASE}/support/resolve", params={"label": "staging"}).json()

    assert (body["version"], body["label"], body["from_split"]) == (1, "staging", False)


def test_a_label_is_read_with_both_of_its_versions(api: TestClient) -> None:
    push(api)
    push(api, model="gpt-4o")
    set_label(api, "production", 1, split_version=2, split_percent=10)

    body = api.get(f"{BASE}/support/labels/production").json()

    assert body["target"]["version"] == 1
    assert body["split_target"]["model"] == "gpt-4o"


def test_diff_shows_template_lines_and_parameter_changes(api: TestClient) -> None:
    push(api)
    changed = [
        {"role": "system", "content": "You support {{ product }} customers. Be brief."},
        {"role": "user", "content": "{{ question }}"},
    ]
    push(api, template=changed, parameters={"temperature": 0.2, "max_tokens": 200})

    body = api.get(f"{BASE}/support/diff", params={"from": 1, "to": 2}).json()

    assert "-You support {{ product }} customers." in body["template_diff"]
    assert "+You support {{ product }} customers. Be brief." in body["template_diff"]
    assert body["changes"] == [{"field": "parameters.max_tokens", "before": None, "after": 200}]


def test_diff_of_a_missing_version_is_a_404(api: TestClient) -> None:
    push(api)

    response = api.get(f"{BASE}/support/diff", params={"from": 1, "to": 4})

    assert response.status_code == 404
