"""Metrics: heuristics, LLM judges, RAG, conversation and agent metrics."""
