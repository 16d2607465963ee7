"""daytwo: see, judge, protect and improve LLM applications in production.

The package itself is the tracing SDK's facade. Importing it stays cheap: the
exporter starts with the first span, and the server, storage and pricing
stacks are only imported by the modules that need them.

    import daytwo

    @daytwo.track
    def answer(question: str) -> str: ...
"""

__version__ = "0.1.0.dev0"

from typing import TYPE_CHECKING, Any

from daytwo.sdk.api import (
    configure,
    flush,
    get_current_span,
    score,
    shutdown,
    span,
    stats,
    trace,
    update_current_span,
    update_current_trace,
)
from daytwo.sdk.decorator import track
from daytwo.sdk.propagation import continue_trace, extract, inject
from daytwo.sdk.threads import wrap

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from daytwo.evals.runner import evaluate
    from daytwo.prompts.prompt import Prompt
    from daytwo.sdk.executor import ThreadPoolExecutor

__all__ = [
    "ThreadPoolExecutor",
    "__version__",
    "configure",
    "continue_trace",
    "evaluate",
    "extract",
    "flush",
    "get_current_span",
    "get_prompt",
    "inject",
    "score",
    "shutdown",
    "span",
    "stats",
    "trace",
    "track",
    "update_current_span",
    "update_current_trace",
    "wrap",
]


def get_prompt(
    name: str,
    *,
    label: str | None = None,
    version: int | None = None,
    key: str | None = None,
    default: "str | Sequence[Mapping[str, str]] | None" = None,
    project: str | None = None,
) -> "Prompt":
    """Return a managed prompt: the version ``label`` (``production``) or ``version`` names.

    Prompts are cached in the process and refreshed in the background; see
    `daytwo.prompts.client.get_prompt` for the rules.

        prompt = daytwo.get_prompt("support", key=user_id, default="Help with {{ product }}.")
        text = prompt.render(product="Acme")
    """
    # Imported here: httpx and Jinja2 load with the first prompt, not with daytwo.
    from daytwo.prompts.client import get_prompt as fetch

    return fetch(name, label=label, version=version, key=key, default=default, project=project)


def __getattr__(name: str) -> Any:
    # concurrent.futures (and the logging it imports) load only for those who use the pool.
    if name == "ThreadPoolExecutor":
        from daytwo.sdk.executor import ThreadPoolExecutor

        return ThreadPoolExecutor
    # The evaluation runner (httpx, pydantic, the metrics) loads with the first experiment.
    if name == "evaluate":
        from daytwo.evals.runner import evaluate

        return evaluate
    raise AttributeError(f"module 'daytwo' has no attribute {name!r}")
