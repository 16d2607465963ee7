"""The prompt client and the command line against a real ``daytwo serve``."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import daytwo
import daytwo.prompts
from daytwo.cli import main
from daytwo.prompts import PromptClient, PromptUnavailableError
from tests.conftest import LiveServer
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


def test_a_label_moves_only_when_its_check_passes(
    server: LiveServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    push_text(server, "support", "Answer about {{ product }}.")
    push_text(server, "support", "Answer briefly about {{ product }}.")
    point(server, "support", "production", 1)
    with server.client() as http:
        http.post("/api/v1/projects/shop/datasets", json={"name": "products"})
        items = [{"input": "Acme", "expected": "Acme"}, {"input": "Zeta", "expected": "Zeta"}]
        http.post("/api/v1/projects/shop/datasets/products/items", json={"items": items})
    (tmp_path / "support_task.py").write_text(
        "import daytwo\n\n"
        "def answer(product):\n"
        "    return daytwo.get_prompt('support').render(product=product)\n"
    )
    monkeypatch.chdir(tmp_path)
    check = ["--check-dataset", "products", "--check-task", "support_task:answer"]

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
