"""Token prices, and the cost of each model call computed from its token usage.

Prices come from the snapshot bundled with genai-prices, never from the network,
and operators can override them per model name or glob. Pure Python: no
database, no HTTP.

Modules, from the bottom up: ``rates`` (prices and the cost arithmetic),
``catalogue`` (the bundled prices, found by the names telemetry uses),
``overrides`` (operator prices) and ``prices`` (the ``PriceBook`` facade).
"""

from daytwo.pricing.overrides import PriceOverride, PriceOverrideError, load_overrides_file
from daytwo.pricing.prices import PriceBook
from daytwo.pricing.rates import ModelPrice

__all__ = [
    "ModelPrice",
    "PriceBook",
    "PriceOverride",
    "PriceOverrideError",
    "load_overrides_file",
]
