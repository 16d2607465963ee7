"""Clients for language models, used by judges, the gateway and the optimizers."""
