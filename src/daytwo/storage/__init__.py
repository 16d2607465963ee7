"""Storage: SQLAlchemy tables, the engine, writes and queries.

Works on SQLite (the embedded default) and PostgreSQL by construction: portable
column types, one set of Alembic migrations, and tests run on both.
"""
