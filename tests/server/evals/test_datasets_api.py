from typing import Any

from fastapi.testclient import TestClient

from daytwo.storage import datasets, migrate, tables
from daytwo.storage.engine import create_database_engine
from daytwo.storage.tables import dataset_items, projects

BASE = "/api/v1/projects/support/datasets"


def create(api: TestClient, name: str = "refunds") -> dict[str, Any]:
    response = api.post(BASE, json={"name": name, "description": "refund questions"})
    assert response.status_code == 201, response.text
    return response.json()


def add(api: TestClient, *items: dict[str, Any], name: str = "refunds") -> dict[str, Any]:
    response = api.post(f"{BASE}/{name}/items", json={"items": list(items)})
    assert response.status_code == 200, response.text
    return response.json()


def items(api: TestClient, name: str = "refunds", **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"{BASE}/{name}/items", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_new_dataset_is_empty_at_version_one(api: TestClient) -> None:
    created = create(api)

    assert (created["name"], created["version"], created["item_count"]) == ("refunds", 1, 0)
    assert [d["name"] for d in api.get(BASE).json()] == ["refunds"]


def test_a_dataset_name_is_unique_in_its_project(api: TestClient) -> None:
    create(api)

    again = api.post(BASE, json={"name": "refunds"})

    assert again.status_code == 409
    assert again.json()["error"]["message"] == "project 'support' has a dataset named 'refunds'"


def test_every_change_makes_a_version_and_old_versions_read_back(api: TestClient) -> None:
    create(api)
    added = add(
        api,
        {"id": "q1", "input": "Can I return shoes?", "expected": "Within 30 days."},
        {"id": "q2", "input": "Do you ship abroad?", "context": ["We ship to the EU."]},
    )
    edited = api.patch(f"{BASE}/refunds/items/q1", json={"expected": "Within 60 days."}).json()
    removed = api.delete(f"{BASE}/refunds/items/q2").json()

    assert (added["version"], added["added"]) == (2, 2)
    assert (edited["version"], edited["updated"]) == (3, 1)
    assert (removed["version"], removed["removed"]) == (4, 1)
    assert [(i["id"], i["expected"]) for i in items(api)] == [("q1", "Within 60 days.")]
    at_two = items(api, version=2)
    assert [(i["id"], i["expected"]) for i in at_two] == [("q1", "Within 30 days."), ("q2", None)]
    assert at_two[1]["context"] == ["We ship to the EU."]
    versions = api.get(f"{BASE}/refunds/versions").json()
    assert [(v["version"], v["change"], v["item_count"]) for v in versions] == [
        (4, "removed 1 item", 1),
        (3, "edited item q1", 2),
        (2, "added 2 items", 2),
        (1, "created", 0),
    ]


def test_adding_an_item_with_a_known_id_replaces_it(api: TestClient) -> None:
    create(api)
    add(api, {"id": "q1", "input": "old"})

    result = add(api, {"id": "q1", "input": "new"}, {"input": "another"})

    assert (result["added"], result["updated"]) == (1, 1)
    assert sorted(i["input"] for i in items(api)) == ["another", "new"]


def test_items_page_in_the_order_they_were_added(api: TestClient) -> None:
    create(api)
    for n in range(5):
        add(api, {"input": f"question {n}"})

    first = items(api, limit=3)
    rest = items(api, limit=3, after=first[-1]["id"])

    assert [i["input"] for i in first + rest] == [f"question {n}" for n in range(5)]


def test_items_list_in_the_order_added_whatever_their_ids(api: TestClient) -> None:
    create(api)
    add(api, {"id": "zebra", "input": 1}, {"id": "apple", "input": 2})
    add(api, {"id": "mango", "input": 3}, {"id": "banana", "input": 4}, {"id": "kiwi", "input": 5})
    api.patch(f"{BASE}/refunds/items/zebra", json={"input": 10})
    add(api, {"id": "apple", "input": 20})
    api.delete(f"{BASE}/refunds/items/mango")
    add(api, {"id": "mango", "input": 30})

    listed = [(i["id"], i["input"]) for i in items(api)]
    first = items(api, limit=2)
    rest = items(api, limit=2, after=first[-1]["id"])
    last = items(api, limit=2, after=rest[-1]["id"])

    # Edited and replaced items keep their place; a removed item added again goes last.
    assert listed == [("zebra", 10), ("apple", 20), ("banana", 4), ("kiwi", 5), ("mango", 30)]
    assert [i["id"] for i in first + rest + last] == [item_id for item_id, _ in listed]
    assert [i["id"] for i in items(api, version=3)] == ["zebra", "apple", "mango", "banana", "kiwi"]
    assert items(api, after="nothing") == []


def test_items_stored_before_positions_keep_the_order_they_were_added(database_url: str) -> None:
    engine = create_database_engine(database_url)
    migrate.downgrade(engine, "0004")
    try:
        with engine.begin() as connection:
            connection.execute(projects.insert().values(id=1, name="support", created_at=0))
            connection.execute(
                tables.datasets.insert().values(
                    id=1, project_id=1, name="refunds", version=3, created_at=0, updated_at=0
                )
            )
            # zebra and apple added at version 2; zebra edited at version 3.
            for item_id, added_in, removed_in in [
                ("zebra", 2, 3),
                ("apple", 2, None),
                ("zebra", 3, None),
            ]:
                connection.execute(
                    dataset_items.insert().values(
                        dataset_id=1,
                        item_id=item_id,
                        added_in=added_in,
                        removed_in=removed_in,
                        created_at=0,
                    )
                )
    finally:
        migrate.upgrade(engine)

    assert [item.id for item in datasets.items(engine, 1, 3)] == ["zebra", "apple"]
    assert [item.id for item in datasets.items(engine, 1, 2)] == ["zebra", "apple"]
    engine.dispose()


def test_jsonl_and_csv_round_trip(api: TestClient) -> None:
    create(api)
    add(
        api,
        {
            "id": "a",
            "input": {"question": "Refund?", "locale": "en"},
            "expected": "42",
            "context": ["doc one", "doc, two"],
            "metadata": {"tier": "gold"},
        },
        {"id": "b", "input": "plain text, with a comma"},
    )

    for format in ("jsonl", "csv"):
        exported = api.get(f"{BASE}/refunds/export", params={"format": format})
        assert exported.status_code == 200
        create(api, f"copy-{format}")
        imported = api.post(
            f"{BASE}/copy-{format}/import",
            params={"format": format},
            content=exported.content,
        )
        assert imported.status_code == 200, imported.text
        assert [
            {k: i[k] for k in ("id", "input", "expected", "context", "metadata")}
            for i in items(api, f"copy-{format}")
        ] == [
            {k: i[k] for k in ("id", "input", "expected", "context", "metadata")}
            for i in items(api)
        ]


def test_a_bad_import_names_the_line_and_adds_nothing(api: TestClient) -> None:
    create(api)
    body = '{"input": "fine"}\n{"input": "broken"\n'

    response = api.post(f"{BASE}/refunds/import", content=body.encode())

    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(
        "nothing was imported: line 2 is not valid JSON"
    )
    assert items(api) == []


def test_an_unknown_csv_column_is_named(api: TestClient) -> None:
    create(api)

    response = api.post(
        f"{BASE}/refunds/import", params={"format": "csv"}, content=b"input,answer\nhi,there\n"
    )

    assert response.status_code == 422
    assert "unknown CSV column answer" in response.json()["error"]["message"]


def test_items_are_made_from_stored_traces(api: TestClient) -> None:
    trace = "0af7651916cd43dd8448eb211c80319c"
    api.post(
        "/api/v1/ingest",
        headers={"X-Daytwo-Project": "support"},
        json={
            "spans": [
                {
                    "trace_id": trace,
                    "id": "00f067aa0ba902b7",
                    "name": "answer",
                    "input": {"question": "Can I return shoes?"},
                    "output": "Yes, within 30 days.",
                }
            ]
        },
    )
    create(api)

    added = api.post(f"{BASE}/refunds/items/from-traces", json={"trace_ids": [trace]})
    unknown = api.post(f"{BASE}/refunds/items/from-traces", json={"trace_ids": ["f" * 32]})

    assert added.status_code == 200, added.text
    [item] = items(api)
    assert item["input"] == {"question": "Can I return shoes?"}
    assert item["expected"] == "Yes, within 30 days."
    assert (item["source_trace_id"], item["source_span_id"]) == (trace, "00f067aa0ba902b7")
    assert unknown.status_code == 404


def test_missing_datasets_and_versions_are_404s(api: TestClient) -> None:
    create(api)

    assert api.get(f"{BASE}/nope/items").status_code == 404
    assert api.get(f"{BASE}/refunds/items", params={"version": 9}).status_code == 404
    assert api.patch(f"{BASE}/refunds/items/zzz", json={"input": 1}).status_code == 404
    assert api.get("/api/v1/projects/nobody/datasets").status_code == 404


def test_deleting_a_dataset_removes_it(api: TestClient) -> None:
    create(api)
    add(api, {"input": "x"})

    assert api.delete(f"{BASE}/refunds").status_code == 204
    assert api.get(f"{BASE}/refunds").status_code == 404
    assert api.get(BASE).json() == []
