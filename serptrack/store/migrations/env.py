"""Alembic environment: serptrack runs migrations itself, on the connection it opened."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from serptrack import models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Migrate on the connection serptrack passed in (batch mode on SQLite, for ALTERs)."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("serptrack migrations run through serptrack.store.connect()")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
