"""Integrations with LLM client libraries, each imported only when used."""
