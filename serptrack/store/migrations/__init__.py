"""The Alembic migrations of serptrack's schema, run by :mod:`serptrack.store.engine`."""
