"""daytwo: see, judge, protect and improve LLM applications in production.

Importing this package stays cheap: the server, storage and pricing stacks are
only imported by the modules that need them.
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
