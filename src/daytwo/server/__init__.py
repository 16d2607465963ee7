"""The daytwo server: ingest, query and (later) the web UI, on FastAPI."""
