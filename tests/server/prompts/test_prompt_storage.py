"""Pushing versions in storage on each dialect: hashes kept from before, and racing pushes."""

import threading
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, update

from daytwo.model.prompts import PromptVersionIn, PushedVersion, template_data
from daytwo.prompts.template import find_variables
from daytwo.storage import prompts
from daytwo.storage.projects import ProjectDirectory
from daytwo.storage.tables import prompt_versions


@pytest.fixture
def project_id(engine: Engine) -> int:
    return ProjectDirectory(engine).ensure(["shop"])["shop"]


def push(engine: Engine, project_id: int, template: str, **extra: Any) -> PushedVersion:
    """Push a version of ``support`` as the API does, with the variables it finds."""
    spec = PromptVersionIn(template=template, **extra)
    variables = find_variables(template_data(spec.template), spec.variables or ())
    return prompts.push(engine, project_id, "support", spec, variables)


def test_a_version_hashed_before_variables_were_is_still_found_by_its_content(
    engine: Engine, project_id: int
) -> None:
    push(engine, project_id, "Hi {{ name }}", variables=["tone"])
    # What a version pushed before variables were part of the hash carries.
    legacy = PromptVersionIn(template="Hi {{ name }}").content_hash(None)
    with engine.begin() as connection:
        connection.execute(update(prompt_versions).values(hash=legacy))

    again = push(engine, project_id, "Hi {{ name }}", variables=["tone"])
    without_tone = push(engine, project_id, "Hi {{ name }}")

    assert (again.version, again.created, again.hash) == (1, False, legacy)
    assert (without_tone.version, without_tone.created) == (2, True)
    assert without_tone.hash != legacy


@pytest.mark.parametrize(
    ("templates", "expected"),
    [
        (("Hi {{ name }}", "Hello {{ name }}"), [(1, True), (2, True)]),
        (("Hi {{ name }}", "Hi {{ name }}"), [(1, False), (1, True)]),
    ],
    ids=["different content", "same content"],
)
def test_pushes_racing_for_the_first_number_of_a_new_prompt_both_succeed(
    engine: Engine,
    project_id: int,
    monkeypatch: pytest.MonkeyPatch,
    templates: tuple[str, str],
    expected: list[tuple[int, bool]],
) -> None:
    found: list[int | None] = []
    looked = threading.Barrier(2)
    find = prompts._find_prompt
    racing = engine.dialect.name == "postgresql"

    def find_then_wait_for_the_other(connection: Connection, project: int, name: str) -> int | None:
        prompt = find(connection, project, name)
        found.append(prompt)
        if prompt is None and racing:
            # Neither goes on before both have seen no prompt, so both create it and
            # number version 1; the loser's insert fails and its retry numbers again.
            looked.wait(timeout=10)
        return prompt

    monkeypatch.setattr(prompts, "_find_prompt", find_then_wait_for_the_other)
    start = threading.Barrier(2)
    results: list[PushedVersion] = []
    errors: list[BaseException] = []

    def run(template: str) -> None:
        start.wait(timeout=10)
        try:
            results.append(push(engine, project_id, template))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(template,)) for template in templates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sorted((result.version, result.created) for result in results) == expected
    # On PostgreSQL both first attempts saw no prompt and one push retried; SQLite
    # admits one writer at a time (BEGIN IMMEDIATE), so the second found the first's.
    assert found.count(None) == (2 if racing else 1)
    assert len(found) == (3 if racing else 2)
