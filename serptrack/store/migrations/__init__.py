"""The Alembic migrations of serptrack's schema, run by :mod:`serptrack.store.engine`."""

#: The newest revision in ``versions/``: a database already there opens without importing
#: Alembic (tests/test_migration_safety.py checks it against the scripts).
HEAD = "0011"
