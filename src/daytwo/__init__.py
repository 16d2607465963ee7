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
    from daytwo.sdk.executor import ThreadPoolExecutor

__all__ = [
    "ThreadPoolExecutor",
    "__version__",
    "configure",
    "continue_trace",
    "extract",
    "flush",
    "get_current_span",
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


def __getattr__(name: str) -> Any:
    # concurrent.futures (and the logging it imports) load only for those who use the pool.
    if name == "ThreadPoolExecutor":
        from daytwo.sdk.executor import ThreadPoolExecutor

        return ThreadPoolExecutor
    raise AttributeError(f"module 'daytwo' has no attribute {name!r}")
