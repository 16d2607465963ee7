"""A metric of the demo's own, written the way a user writes one."""

from typing import Any

from daytwo.evals.metric import Metric, ScoreResult, require


class KeyFact(Metric):
    """Whether the answer states the item's key fact (``metadata["key"]``), ignoring case."""

    name = "key_fact"
    source = "rule"

    def score(
        self, *, output: str | None = None, metadata: dict[str, Any] | None = None, **_: Any
    ) -> ScoreResult:
        require(self, output=output, metadata=metadata)
        if output is None or metadata is None:
            raise AssertionError("require() let a missing input through")
        key = str(metadata.get("key", ""))
        found = key.lower() in output.lower().replace(",", "")
        return ScoreResult(self.name, found, f"{'states' if found else 'misses'} {key!r}")
