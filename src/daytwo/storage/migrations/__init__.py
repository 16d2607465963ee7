"""Alembic migrations for daytwo's schema (SQLite and PostgreSQL)."""
