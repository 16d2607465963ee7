"""Agent metrics: deterministic checks of the tools an agent called.

A tool call is a dict with a ``name`` and ``arguments`` (a dict, or a JSON
string as the chat completions API sends it); the OpenAI shape
``{"function": {"name", "arguments"}}`` is read too.

    ToolCallCorrectness().score(
        tool_calls=[{"name": "search", "arguments": {"q": "paris", "limit": 5}}],
        expected_tool_calls=[{"name": "search", "arguments": {"q": "paris"}}],
    ).value  # 1.0 with the default subset match
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from daytwo.evals.metric import Metric, MetricError, ScoreResult, require


@dataclass(frozen=True, slots=True)
class Call:
    """A tool call reduced to what is compared: its name and its arguments."""

    name: str
    arguments: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.name}({json.dumps(self.arguments, sort_keys=True)})"


class ToolCallCorrectness(Metric):
    """Compare the ``tool_calls`` made with the ``expected_tool_calls``.

    Calls are paired by name. Arguments match ``exactly``, or as a ``subset``
    (every expected argument present with the expected value; extra ones
    allowed). With ``ordered``, expected calls must appear in the given order
    (other calls may come between them); a call out of order counts as missing
    and unexpected. The score is correct / (expected + unexpected), so that both
    a missing and an extra call cost; 1.0 when nothing was expected and nothing
    called. The reason lists missing, unexpected and wrong-argument calls.
    """

    name = "tool_call_correctness"
    source = "rule"

    def __init__(
        self,
        *,
        arguments: Literal["exact", "subset"] = "subset",
        ordered: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if arguments not in ("exact", "subset"):
            raise ValueError(
                f"unknown arguments match {arguments!r}; expected one of: exact, subset"
            )
        self.arguments = arguments
        self.ordered = ordered

    def score(
        self,
        *,
        tool_calls: Sequence[Any] | None = None,
        expected_tool_calls: Sequence[Any] | None = None,
        **_: Any,
    ) -> ScoreResult:
        """Pair the calls made with the expected ones and count the differences."""
        require(self, tool_calls=tool_calls, expected_tool_calls=expected_tool_calls)
        made = [self._call(call, "tool_calls") for call in tool_calls or ()]
        expected = [self._call(call, "expected_tool_calls") for call in expected_tool_calls or ()]
        correct, wrong, missing, unexpected = self._pair(made, expected)

        denominator = len(expected) + len(unexpected)
        value = len(correct) / denominator if denominator else 1.0
        parts = [f"{len(correct)} of {len(expected)} expected calls correct"]
        if missing:
            parts.append("missing: " + ", ".join(map(str, missing)))
        if unexpected:
            parts.append("unexpected: " + ", ".join(map(str, unexpected)))
        if wrong:
            parts.append(
                "wrong arguments: " + ", ".join(f"{got} (expected {want})" for want, got in wrong)
            )
        details = {
            "correct": [str(c) for c in correct],
            "missing": [str(c) for c in missing],
            "unexpected": [str(c) for c in unexpected],
            "wrong_arguments": [{"expected": str(w), "got": str(g)} for w, g in wrong],
        }
        return ScoreResult(self.name, value, "; ".join(parts), details)

    def _pair(
        self, made: list[Call], expected: list[Call]
    ) -> tuple[list[Call], list[tuple[Call, Call]], list[Call], list[Call]]:
        """Return the correct calls, (expected, got) argument mismatches, missing, unexpected."""
        unused = list(range(len(made)))
        correct: list[Call] = []
        wrong: list[tuple[Call, Call]] = []
        missing: list[Call] = []
        start = 0
        for want in expected:
            candidates = [i for i in unused if i >= start and made[i].name == want.name]
            # The first call with matching arguments, else the first by name.
            matching = [i for i in candidates if self._matches(made[i].arguments, want.arguments)]
            found = matching or candidates
            if not found:
                missing.append(want)
                continue
            chosen = found[0]
            unused.remove(chosen)
            if self.ordered:
                start = chosen + 1
            if matching:
                correct.append(want)
            else:
                wrong.append((want, made[chosen]))
        return correct, wrong, missing, [made[i] for i in unused]

    def _matches(self, got: dict[str, Any], want: dict[str, Any]) -> bool:
        if self.arguments == "exact":
            return got == want
        return all(key in got and got[key] == value for key, value in want.items())

    def _call(self, call: Any, key: str) -> Call:
        if not isinstance(call, dict):
            raise MetricError(f"{self.name}: {key} holds {call!r}; expected a dict with a name")
        nested = call.get("function")
        function: dict[str, Any] = nested if isinstance(nested, dict) else call
        name = function.get("name")
        if not isinstance(name, str):
            raise MetricError(f"{self.name}: a call in {key} has no name: {call!r}")
        arguments = function.get("arguments") or {}
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                raise MetricError(
                    f"{self.name}: the arguments of {name} in {key} are not JSON: {arguments!r}"
                ) from None
        if not isinstance(arguments, dict):
            raise MetricError(f"{self.name}: the arguments of {name} in {key} are not an object")
        return Call(name, arguments)
