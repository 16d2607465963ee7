import pytest

from daytwo.prompts import PromptRenderError, PromptTemplateError
from daytwo.prompts.template import CompiledPrompt, find_variables

CHAT = [
    {
        "role": "system",
        "content": "You support {{ product }} customers{% if tone %}, {{ tone }}{% endif %}.",
    },
    {"role": "user", "content": "{{ question }}"},
]


def test_variables_are_the_names_a_template_reads_plus_those_declared() -> None:
    assert find_variables("Hi {{ name }}, {% for x in items %}{{ x }}{% endfor %}") == [
        "items",
        "name",
    ]
    assert find_variables(CHAT, declared=["locale"]) == ["locale", "product", "question", "tone"]


def test_a_text_prompt_renders_to_text_and_keeps_its_trailing_newline() -> None:
    compiled = CompiledPrompt("Hi {{ name | upper }}\n", ["name"], "prompt 'hi' version 1")

    assert compiled.render({"name": "ana"}) == "Hi ANA\n"


def test_a_chat_prompt_renders_to_messages_with_roles() -> None:
    compiled = CompiledPrompt(CHAT, find_variables(CHAT), "prompt 'support' version 3")

    rendered = compiled.render({"product": "Acme", "tone": "briefly", "question": "Refund?"})

    assert rendered == [
        {"role": "system", "content": "You support Acme customers, briefly."},
        {"role": "user", "content": "Refund?"},
    ]


def test_missing_variables_are_named_with_those_given() -> None:
    compiled = CompiledPrompt(
        "{{ product }} {{ tone }}", ["product", "tone"], "prompt 'support' version 3"
    )

    with pytest.raises(PromptRenderError) as caught:
        compiled.render({"product": "Acme"})

    assert str(caught.value).startswith(
        "prompt 'support' version 3 needs variables: product, tone; got: product"
    )
    assert "missing: tone" in str(caught.value)


def test_an_undefined_attribute_fails_instead_of_rendering_empty() -> None:
    compiled = CompiledPrompt("{{ user.name }}", ["user"], "prompt 'p' version 1")

    with pytest.raises(PromptRenderError, match=r"prompt 'p' version 1: .*'name'"):
        compiled.render({"user": {}})


def test_the_sandbox_refuses_python_internals() -> None:
    compiled = CompiledPrompt("{{ x.__class__.__mro__ }}", ["x"], "prompt 'p' version 1")

    with pytest.raises(PromptRenderError, match="prompt 'p' version 1"):
        compiled.render({"x": "text"})


def test_a_syntax_error_names_the_message_and_line() -> None:
    broken = [{"role": "system", "content": "ok"}, {"role": "user", "content": "a\n{% if %}"}]

    with pytest.raises(PromptTemplateError, match=r"message 2 \(user\).*line 2"):
        find_variables(broken)
