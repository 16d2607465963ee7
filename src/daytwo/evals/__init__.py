"""Evaluation: metrics, LLM judges, datasets, experiments and regression gates."""
