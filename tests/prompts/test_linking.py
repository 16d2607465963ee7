import daytwo
from daytwo.prompts import PromptClient
from daytwo.sdk.integrations.calls import ModelCall
from tests.prompts.conftest import FakePromptServer
from tests.sdk.conftest import Sink, received


def test_rendering_inside_an_llm_span_records_the_prompt_on_it(
    traced: Sink, client: PromptClient
) -> None:
    prompt = client.get("support")

    with daytwo.span("answer", kind="llm"):
        prompt.render(product="Acme")

    llm = received(traced)[0]["llm"]
    assert llm["prompt"] == {"name": "support", "version": "1", "label": "production"}
    assert llm["prompt_template"] == "Help with {{ product }}."
    assert llm["prompt_variables"] == {"product": "Acme"}


def test_a_prompt_rendered_before_a_model_call_is_taken_by_its_span_only(
    traced: Sink, client: PromptClient
) -> None:
    with daytwo.span("handle", kind="chain"):
        client.get("support", label="production").render(product="Acme")
        with ModelCall("first", provider="openai", model="gpt-4o-mini") as call:
            call.end(output="ok")
        with ModelCall("second", provider="openai", model="gpt-4o-mini") as call:
            call.end(output="ok")

    spans = {span["name"]: span for span in received(traced)}
    assert spans["first"]["llm"]["prompt"]["version"] == "1"
    assert spans["first"]["llm"]["model"] == "gpt-4o-mini"
    assert "prompt" not in spans["second"]["llm"]
    assert "prompt" not in (spans["handle"].get("llm") or {})


def test_an_embedding_call_leaves_the_prompt_for_the_next_llm_call(
    traced: Sink, client: PromptClient
) -> None:
    client.get("support").render(product="Acme")
    with ModelCall("embed", provider="openai", model="e", kind="embedding") as call:
        call.end(output=[0.1])
    with ModelCall("chat", provider="openai", model="m") as call:
        call.end(output="ok")

    spans = {span["name"]: span for span in received(traced)}
    assert "prompt" not in spans["embed"]["llm"]
    assert spans["chat"]["llm"]["prompt"]["name"] == "support"


def test_a_default_prompt_is_recorded_as_the_default_version(
    traced: Sink, client: PromptClient, server: FakePromptServer
) -> None:
    server.down = True
    prompt = client.get("support", default=[{"role": "user", "content": "Hi {{ name }}"}])

    with daytwo.span("answer", kind="llm"):
        prompt.render(name="Ana")

    llm = received(traced)[0]["llm"]
    assert llm["prompt"] == {"name": "support", "version": "default"}
    assert llm["prompt_template"] == '[{"role": "user", "content": "Hi {{ name }}"}]'


def test_a_prompt_rendered_in_one_trace_is_not_taken_by_another(
    traced: Sink, client: PromptClient
) -> None:
    with daytwo.span("request-1"):
        client.get("support").render(product="Acme")
    with daytwo.span("request-2"), ModelCall("chat", provider="openai", model="m") as call:
        call.end(output="ok")

    spans = {span["name"]: span for span in received(traced)}
    assert "prompt" not in spans["chat"]["llm"]


def test_a_span_records_which_side_of_a_split_served_its_prompt(
    traced: Sink, client: PromptClient, server: FakePromptServer
) -> None:
    server.point("support", "production", 1, split=(2, 30))
    served = {key: client.get("support", key=key) for key in (f"user-{i}" for i in range(50))}
    in_split = next(p for p in served.values() if p.from_split)
    outside = next(p for p in served.values() if not p.from_split)

    with daytwo.span("candidate", kind="llm"):
        in_split.render(product="Acme", tone="kind")
    outside.render(product="Acme")
    with ModelCall("incumbent", provider="openai", model="m") as call:
        call.end(output="ok")

    spans = {span["name"]: span for span in received(traced)}
    candidate, incumbent = spans["candidate"], spans["incumbent"]
    assert candidate["llm"]["prompt"]["version"] == "2"
    assert candidate["attributes"] == {
        "daytwo.prompt.from_split": True,
        "daytwo.prompt.split_percent": 30.0,
    }
    assert incumbent["llm"]["prompt"]["version"] == "1"
    assert incumbent["attributes"]["daytwo.prompt.from_split"] is False
    assert incumbent["attributes"]["daytwo.prompt.split_percent"] == 30.0


def test_a_pinned_or_default_prompt_records_no_split(traced: Sink, client: PromptClient) -> None:
    with daytwo.span("answer", kind="llm"):
        client.get("support", version=2).render(product="Acme", tone="kind")

    assert "attributes" not in received(traced)[0]
