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
