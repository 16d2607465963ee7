import math
import threading

import httpx
import pytest

from daytwo.prompts import PromptClient, PromptUnavailableError
from daytwo.sdk.errors import ConfigError
from tests.prompts.conftest import FakeClock, FakePromptServer


def test_a_label_is_fetched_once_and_served_from_the_cache(
    client: PromptClient, server: FakePromptServer
) -> None:
    first = client.get("support")
    second = client.get("support")

    assert (first.version, first.label, first.type) == (1, "production", "text")
    assert second.version == 1
    assert server.requests == 1


def test_a_stale_entry_is_served_at_once_while_one_thread_refreshes_it(
    client: PromptClient, server: FakePromptServer, clock: FakeClock
) -> None:
    client.get("support")
    server.point("support", "production", 2)
    clock.advance(61)

    stale = client.get("support")
    client.wait_for_refreshes(5)
    fresh = client.get("support")

    assert stale.version == 1
    assert fresh.version == 2
    assert server.requests == 2


def test_many_callers_of_a_stale_entry_start_one_refresh(
    server: FakePromptServer, clock: FakeClock
) -> None:
    gate = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        if server.requests >= 1:
            gate.wait(5)
        return server.transport().handle_request(request)

    client = PromptClient(
        url="http://p.test", ttl=60, clock=clock, transport=httpx.MockTransport(slow)
    )
    client.get("support")
    clock.advance(61)

    versions = {client.get("support").version for _ in range(50)}
    gate.set()
    client.wait_for_refreshes(5)

    assert versions == {1}
    assert server.requests == 2
    client.close()


def test_the_last_known_version_is_served_while_the_server_is_down(
    client: PromptClient, server: FakePromptServer, clock: FakeClock
) -> None:
    client.get("support")
    server.down = True
    clock.advance(61)

    served = [client.get("support").version for _ in range(3)]
    client.wait_for_refreshes(5)

    assert served == [1, 1, 1]
    assert client.get("support").version == 1


def test_a_failed_refresh_is_retried_after_the_retry_interval_not_on_every_call(
    client: PromptClient, server: FakePromptServer, clock: FakeClock
) -> None:
    client.get("support")
    server.down = True
    clock.advance(61)
    client.get("support")
    client.wait_for_refreshes(5)
    failed_at = server.requests

    client.get("support")
    client.wait_for_refreshes(5)
    assert server.requests == failed_at

    server.down = False
    server.point("support", "production", 2)
    clock.advance(client.retry_interval)
    client.get("support")
    client.wait_for_refreshes(5)
    assert client.get("support").version == 2


def test_with_nothing_cached_the_default_is_used(
    client: PromptClient, server: FakePromptServer
) -> None:
    server.down = True

    prompt = client.get("support", default="Help, please, with {{ product }}.")

    assert prompt.version is None
    assert prompt.is_default
    assert prompt.variables == ["product"]
    assert prompt.render(product="Acme") == "Help, please, with Acme."


def test_a_chat_default_renders_as_messages(client: PromptClient, server: FakePromptServer) -> None:
    server.down = True

    prompt = client.get("support", default=[{"role": "user", "content": "Hi {{ name }}"}])

    assert prompt.type == "chat"
    assert prompt.render(name="Ana") == [{"role": "user", "content": "Hi Ana"}]


def test_with_nothing_cached_and_no_default_the_prompt_is_unavailable(
    client: PromptClient, server: FakePromptServer
) -> None:
    server.down = True

    with pytest.raises(PromptUnavailableError, match="prompt 'support' is unavailable"):
        client.get("support")


def test_an_unknown_label_without_a_default_is_unavailable_with_the_servers_reason(
    client: PromptClient,
) -> None:
    with pytest.raises(PromptUnavailableError, match=r"label 'staging'.*404"):
        client.get("support", label="staging")


def test_a_version_by_number_never_expires(
    client: PromptClient, server: FakePromptServer, clock: FakeClock
) -> None:
    client.get("support", version=2)
    clock.advance(10_000)

    prompt = client.get("support", version=2)
    client.wait_for_refreshes(5)

    assert (prompt.version, prompt.label) == (2, None)
    assert server.requests == 1


def test_pinned_versions_override_labels_even_a_label_the_caller_names(
    client: PromptClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYTWO_PROMPT_VERSIONS", "support=2, other=5")

    pinned = client.get("support")
    by_label = client.get("support", label="production")
    by_other_label = client.get("support", label="staging")
    by_number = client.get("support", version=1)

    assert (pinned.version, pinned.label) == (2, None)
    assert (by_label.version, by_label.label) == (2, None)
    assert by_other_label.version == 2
    assert by_number.version == 1


def test_a_pin_does_not_excuse_an_invalid_label(
    client: PromptClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYTWO_PROMPT_VERSIONS", "support=2")

    with pytest.raises(ValueError, match="label 'Prod' is not valid"):
        client.get("support", label="Prod")


def test_a_malformed_pin_is_refused_with_the_entry(
    client: PromptClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYTWO_PROMPT_VERSIONS", "support:2")

    with pytest.raises(ConfigError, match="entry 'support:2' is not NAME=VERSION"):
        client.get("support")


def test_misuse_is_refused_at_the_call(client: PromptClient) -> None:
    with pytest.raises(ValueError, match="not both"):
        client.get("support", label="production", version=1)
    with pytest.raises(ValueError, match="label 'Prod' is not valid"):
        client.get("support", label="Prod")
    with pytest.raises(ValueError, match="must be 1 or more"):
        client.get("support", version=0)


@pytest.mark.parametrize("percent", [10.0, 50.0])
def test_a_split_sends_its_share_of_keys_to_the_second_version(
    client: PromptClient, server: FakePromptServer, percent: float
) -> None:
    server.point("support", "production", 1, split=(2, percent))
    keys = [f"user-{i}" for i in range(10_000)]

    share = sum(client.get("support", key=key).version == 2 for key in keys) / len(keys)

    p = percent / 100
    standard_error = math.sqrt(p * (1 - p) / len(keys))
    assert abs(share - p) < 4 * standard_error


def test_a_key_keeps_its_version_and_the_split_is_reported(
    client: PromptClient, server: FakePromptServer
) -> None:
    server.point("support", "production", 1, split=(2, 30))

    first = {f"k{i}": client.get("support", key=f"k{i}") for i in range(200)}
    again = {key: client.get("support", key=key).version for key in first}

    assert again == {key: prompt.version for key, prompt in first.items()}
    assert all(p.from_split == (p.version == 2) for p in first.values())
    assert {p.split_percent for p in first.values()} == {30}
    assert server.requests == 1


def test_a_label_without_a_split_reports_no_share(client: PromptClient) -> None:
    prompt = client.get("support", key="k1")

    assert (prompt.from_split, prompt.split_percent) == (False, None)


def test_a_ttl_from_the_environment_must_be_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    from daytwo.prompts import client as module

    monkeypatch.setenv("DAYTWO_PROMPT_CACHE_TTL", "soon")

    with pytest.raises(ConfigError, match="DAYTWO_PROMPT_CACHE_TTL='soon'"):
        module.configure()
