"""The prompt client and the command line against a real ``daytwo serve``."""

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

import daytwo
import daytwo.prompts
from daytwo.cli import main
from daytwo.prompts import PromptClient, PromptUnavailableError
from daytwo.sdk.integrations import openai as daytwo_openai
from tests.conftest import LiveServer
from tests.doubles.openai_server import FakeOpenAIServer, Reply, Usage
from tests.prompts.conftest import FakeClock

MakeServer = Callable[..., LiveServer]


@pytest.fixture
def server(make_live_server: MakeServer) -> LiveServer:
    return make_live_server()


def cli(server: LiveServer, *args: str) -> int:
    return main(["prompt", *args, "--url", server.url, "--project", "shop"])


def push_text(server: LiveServer, name: str, template: str) -> None:
    with server.client() as http:
        response = http.post(
            f"/api/v1/projects/shop/prompts/{name}/versions", json={"template": template}
        )
        assert response.status_code in (200, 201), response.text


def point(server: LiveServer, name: str, label: str, version: int) -> None:
    with server.client() as http:
        response = http.put(
            f"/api/v1/projects/shop/prompts/{name}/labels/{label}", json={"version": version}
        )
        assert response.status_code == 200, response.text


def test_the_cache_serves_through_an_outage_and_refreshes_after_it(
    server: LiveServer, clock: FakeClock
) -> None:
    push_text(server, "support", "Help with {{ product }}.")
    point(server, "support", "production", 1)
    client = PromptClient(url=server.url, project="shop", ttl=60, clock=clock)
    assert client.get("support").version == 1

    server.kill()
    clock.advance(61)
    during = client.get("support")
    client.wait_for_refreshes(10)
    after_failed_refresh = client.get("support")
    with pytest.raises(PromptUnavailableError):
        PromptClient(url=server.url, project="shop").get("support")

    server.start()
    push_text(server, "support", "Help quickly with {{ product }}.")
    point(server, "support", "production", 2)
    clock.advance(client.retry_interval)
    client.get("support")
    client.wait_for_refreshes(10)

    assert (during.version, after_failed_refresh.version) == (1, 1)
    assert client.get("support").render(product="Acme") == "Help quickly with Acme."
    client.close()


@pytest.fixture
def sdk_on(server: LiveServer) -> Iterator[None]:
    daytwo.configure(url=server.url, project="shop", enabled=False)
    daytwo.prompts.configure(ttl=60)
    yield
    daytwo.prompts.configure()
    daytwo.configure(enabled=False)


@pytest.mark.usefixtures("sdk_on")
def test_get_prompt_uses_the_sdk_settings(server: LiveServer) -> None:
    push_text(server, "support", "Help with {{ product }}.")
    point(server, "support", "production", 1)

    prompt = daytwo.get_prompt("support")

    assert (prompt.name, prompt.version, prompt.label) == ("support", 1, "production")


@pytest.fixture
def traced_app(server: LiveServer, tmp_path: Path) -> Iterator[None]:
    """Trace to ``server`` and fetch prompts from it, with OpenAI clients instrumented."""
    daytwo.configure(
        url=server.url, project="shop", spool_dir=str(tmp_path / "spool"), flush_interval=0.05
    )
    daytwo.prompts.configure(ttl=60)
    daytwo_openai.instrument()
    yield
    daytwo_openai.uninstrument()
    daytwo.prompts.configure()
    daytwo.shutdown()
    daytwo.configure(enabled=False)


@pytest.mark.usefixtures("traced_app")
def test_a_rendered_prompt_reaches_its_versions_metrics_through_a_traced_call(
    server: LiveServer,
) -> None:
    with server.client() as http:
        template = [{"role": "user", "content": "Help with {{ product }}."}]
        body = {"template": template, "model": "gpt-4o-mini"}
        http.post("/api/v1/projects/shop/prompts/support/versions", json=body)
    point(server, "support", "production", 1)
    usage = Usage(input_tokens=1000, output_tokens=200)

    with (
        FakeOpenAIServer() as provider,
        openai.OpenAI(base_url=provider.base_url, api_key="test", max_retries=0) as client,
    ):
        provider.script(Reply(usage=usage), Reply(usage=usage), Reply(status=400))
        for product in ("Acme", "Zeta", "Nova"):
            with daytwo.trace("support turn"), contextlib.suppress(openai.BadRequestError):
                prompt = daytwo.get_prompt("support", key=product)
                messages = prompt.render(product=product)
                client.chat.completions.create(model=prompt.model or "", messages=messages)
    result = daytwo.flush(timeout=10)

    assert (result.failed, result.pending) == (0, 0), result
    with server.client() as http:
        metrics = http.get("/api/v1/projects/shop/prompts/support/metrics").json()
        listed = http.get(
            "/api/v1/projects/shop/traces", params={"prompt": "support", "prompt_version": "1"}
        ).json()
    [version] = metrics["versions"]
    assert (version["version"], version["spans"], version["errors"]) == ("1", 3, 1)
    assert (version["input_tokens"], version["output_tokens"]) == (2000, 400)
    # gpt-4o-mini: $0.15 per million input tokens and $0.60 per million output tokens.
    assert version["total_cost"] == pytest.approx(2 * (1000 * 0.15 + 200 * 0.60) / 1e6)
    assert len(listed["items"]) == 3


def test_the_command_line_pushes_labels_diffs_pulls_and_rolls_back(
    server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "support.prompt.json"
    source.write_text(
        json.dumps({"template": [{"role": "user", "content": "Hi {{ name }}"}], "model": "m"})
    )
    assert cli(server, "push", str(source), "-m", "first", "--author", "ana") == 0
    assert cli(server, "push", str(source), "--label", "production") == 0
    source.write_text(json.dumps({"template": [{"role": "user", "content": "Hello {{ name }}"}]}))
    assert cli(server, "push", str(source), "--label", "staging") == 0
    out = capsys.readouterr().out
    assert "support: version 1 (new)" in out
    assert "support: version 1 (unchanged)" in out
    assert "support: staging -> version 2" in out

    assert cli(server, "label", "support", "production", "2", "--split", "1:25") == 0
    assert "production -> version 2 (25% to version 1)" in capsys.readouterr().out
    assert cli(server, "rollback", "support", "production") == 0
    assert "rolled back to version 1" in capsys.readouterr().out

    assert cli(server, "diff", "support", "1", "2") == 0
    diff = capsys.readouterr().out
    assert "model: 'm' -> None" in diff
    assert "+Hello {{ name }}" in diff

    pulled = tmp_path / "pulled.prompt.json"
    assert cli(server, "pull", "support", "--label", "staging", "-o", str(pulled)) == 0
    assert json.loads(pulled.read_text())["template"][0]["content"] == "Hello {{ name }}"

    assert cli(server, "list") == 0
    assert "support  2       production=1, staging=2" in capsys.readouterr().out


def test_the_command_line_reports_bad_input_with_status_2(
    server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "notes.txt"
    wrong.write_text("hello")
    push_text(server, "other", "Hi")

    assert cli(server, "push", str(wrong)) == 2
    assert cli(server, "label", "nothing", "production", "1") == 2
    assert cli(server, "label", "x", "production", "1", "--split", "oops") == 2
    errors = capsys.readouterr().err
    assert "NAME.prompt.txt or NAME.prompt.json" in errors
    assert "project 'shop' has no prompt named 'nothing'" in errors


def prepare_check(server: LiveServer, folder: Path, lookup: str) -> list[str]:
    """Push two versions, point production at 1, and write a task that calls ``lookup``.

    Return the options of a check with that task on a two-item dataset.
    """
    push_text(server, "support", "Answer about {{ product }}.")
    push_text(server, "support", "Answer briefly about {{ product }}.")
    point(server, "support", "production", 1)
    with server.client() as http:
        http.post("/api/v1/projects/shop/datasets", json={"name": "products"})
        items = [{"input": "Acme", "expected": "Acme"}, {"input": "Zeta", "expected": "Zeta"}]
        http.post("/api/v1/projects/shop/datasets/products/items", json={"items": items})
    (folder / "support_task.py").write_text(
        f"import daytwo\n\ndef answer(product):\n    return {lookup}.render(product=product)\n"
    )
    return ["--check-dataset", "products", "--check-task", "support_task:answer"]


def experiment_names(server: LiveServer) -> list[str]:
    with server.client() as http:
        return sorted(e["name"] for e in http.get("/api/v1/projects/shop/experiments").json())


def test_a_label_moves_only_when_its_check_passes(
    server: LiveServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    check = prepare_check(server, tmp_path, "daytwo.get_prompt('support')")
    monkeypatch.chdir(tmp_path)

    strict = [*check, "--check-metric", "regex:^Answer about", "--check-threshold", "regex>=1"]
    refused = cli(server, "label", "support", "production", "2", *strict)
    loose = [*check, "--check-metric", "contains", "--check-threshold", "contains>=1"]
    accepted = cli(server, "label", "support", "staging", "2", *loose)

    output = capfd.readouterr()
    assert refused == 1, output
    assert "still points where it did" in output.err
    assert accepted == 0, output
    with server.client() as http:
        labels = http.get("/api/v1/projects/shop/prompts").json()[0]["labels"]
    assert labels == {"production": 1, "staging": 2}


def test_a_split_is_checked_on_its_candidate_even_when_the_task_names_the_label(
    server: LiveServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    lookup = "daytwo.get_prompt('support', label='production', key=product)"
    check = prepare_check(server, tmp_path, lookup)
    monkeypatch.chdir(tmp_path)
    # Version 1 passes the strict check; only version 2, the candidate, fails it.
    strict = [*check, "--check-metric", "regex:^Answer about", "--check-threshold", "regex>=1"]
    loose = [*check, "--check-metric", "contains", "--check-threshold", "contains>=1"]

    refused = cli(server, "label", "support", "production", "1", "--split", "2:10", *strict)
    output = capfd.readouterr()
    checked_when_refused = experiment_names(server)
    with server.client() as http:
        unmoved = http.get("/api/v1/projects/shop/prompts/support/labels/production").json()
    accepted = cli(server, "label", "support", "production", "1", "--split", "2:10", *loose)

    assert refused == 1, output
    assert "version 2 did not pass the check" in output.err
    assert checked_when_refused == ["prompt support v2"]
    assert unmoved["label"]["split_version"] is None
    assert accepted == 0, capfd.readouterr()
    assert experiment_names(server) == ["prompt support v2", "prompt support v2"]
    with server.client() as http:
        moved = http.get("/api/v1/projects/shop/prompts/support/labels/production").json()
    assert (moved["label"]["version"], moved["label"]["split_version"]) == (1, 2)


def test_a_new_label_with_a_split_checks_both_its_versions(
    server: LiveServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    check = prepare_check(server, tmp_path, "daytwo.get_prompt('support', label='canary')")
    monkeypatch.chdir(tmp_path)
    loose = [*check, "--check-metric", "contains", "--check-threshold", "contains>=1"]

    status = cli(server, "label", "support", "canary", "2", "--split", "1:50", *loose)

    assert status == 0, capfd.readouterr()
    assert experiment_names(server) == ["prompt support v1", "prompt support v2"]
