"""Benchmarks of daytwo against its peers: `python -m bench` (see bench/README.md)."""
