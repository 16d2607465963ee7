"""The one small base class every metric derives from, and what a metric returns.

A metric scores one case: the ``input`` a system was given, the ``output`` it
produced, and whatever the metric needs besides (the ``expected`` output, the
retrieved ``context``, the ``messages`` of a conversation, the ``tool_calls``
made and the ``expected_tool_calls``). Every metric takes these as keyword
arguments and ignores the ones it does not use, so one case can be scored by
any list of metrics.

A subclass implements ``score`` (synchronous work, such as a heuristic) or
``ascore`` (work that awaits, such as an LLM judge), and gets the other for
free::

    class Concise(Metric):
        name = "concise"

        def score(self, *, output: str = "", **_: Any) -> ScoreResult:
            words = len(output.split())
            return ScoreResult(self.name, 1.0 if words <= 50 else 50 / words, f"{words} words")
"""

from dataclasses import dataclass, field
from typing import Any

from daytwo.evals.workers import run_sync, run_to_end

ScoreValue = float | bool | str


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A metric's verdict on one case: a value, and why."""

    name: str
    value: ScoreValue
    reason: str | None = None
    # Anything a person may want to see beside the reason: the claims a judge
    # found, the statements it checked, the raw judge reply.
    details: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def numeric(self) -> float | None:
        """Return the value as a number (booleans as 0 or 1); None for labels."""
        if isinstance(self.value, bool):
            return 1.0 if self.value else 0.0
        if isinstance(self.value, (int, float)):
            return float(self.value)
        return None


class MetricError(Exception):
    """A metric could not score a case: missing inputs, or a judge that never answered."""


class Metric:
    """A way to score a case. Subclass and implement ``score`` or ``ascore``."""

    name: str = "metric"

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name

    def score(self, **case: Any) -> ScoreResult:
        """Score one case; by default runs ``ascore`` to completion."""
        if type(self).ascore is Metric.ascore:
            raise NotImplementedError(f"{type(self).__name__} implements neither score nor ascore")
        return run_to_end(self.ascore(**case))

    async def ascore(self, **case: Any) -> ScoreResult:
        """Score one case without blocking the event loop; by default runs ``score`` in a thread.

        Inside an experiment the thread comes from the run's pool, sized to its concurrency.
        """
        if type(self).score is Metric.score:
            raise NotImplementedError(f"{type(self).__name__} implements neither score nor ascore")
        return await run_sync(self.score, **case)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def require(metric: Metric, **values: Any) -> None:
    """Raise ``MetricError`` naming the inputs ``metric`` needs that the case lacks."""
    missing = [key for key, value in values.items() if value is None]
    if missing:
        raise MetricError(f"{metric.name} needs {', '.join(missing)}; the case has none")
