"""Undo the half-applied upgrades that serptrack left on SQLite before its upgrades were atomic.

Until migrations ran in one explicit transaction, the sqlite3 driver's legacy transaction control
committed every DDL statement of an upgrade as it went, and opened a transaction only at the
first data write. A process killed in between left the schema changes of the next revision in
place while ``alembic_version`` still named the old one; every later open then failed on them
(``table url_stances already exists``, ``no such index: ix_results_norm_url``).

What each revision's upgrade does before its first data write is known and small, so the
repair is exact: :func:`undo_partial_upgrade` takes back whatever of it is there, returning the
database to exactly the revision recorded, and the upgrade then runs in full (with the data
steps the interrupted run never committed, such as filling ``url_stances``). Nothing it takes
back can hold data: tables are dropped only when empty, and anything else is refused.

Revisions written since migrations are atomic need no entry here: a kill rolls them back whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from ...errors import DatabaseError

__all__ = ["undo_partial_upgrade"]

# The first revision's tables, parents first (each is dropped after the tables that use it).
_INITIAL_TABLES = (
    "campaigns",
    "annotations",
    "keywords",
    "label_rules",
    "checks",
    "payloads",
    "results",
)


def undo_partial_upgrade(connection: Connection, revision: str | None) -> list[str]:
    """Take back what an interrupted upgrade from ``revision`` left behind; say what was undone.

    Runs inside the caller's upgrade transaction, so the repair and the upgrade that follows
    commit together or not at all.
    """
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())

    def indexes(table: str) -> set[str]:
        if table not in tables:
            return set()
        return {str(index["name"]) for index in inspector.get_indexes(table)}

    undone: list[str] = []
    if revision is None:
        # 0001: its tables (and their indexes) before the first alembic_version row
        present = [name for name in _INITIAL_TABLES if name in tables]
        undone += _drop_empty_tables(connection, revision, reversed(present))
    elif revision == "0001":
        # 0002: url_stances, stance_marks, then the covering index on results
        if "ix_results_norm_url_positions" in indexes("results"):
            connection.exec_driver_sql("DROP INDEX ix_results_norm_url_positions")
            undone.append("index ix_results_norm_url_positions")
        present = [name for name in ("stance_marks", "url_stances") if name in tables]
        undone += _drop_empty_tables(connection, revision, present)
    elif revision == "0002":
        # 0003: slot_claims and its index (dropped with it)
        if "slot_claims" in tables:
            undone += _drop_empty_tables(connection, revision, ["slot_claims"])
    elif revision == "0003":
        # 0004: dropped two result indexes; rebuild whichever is gone
        for name, column in (("ix_results_norm_url", "norm_url"), ("ix_results_domain", "domain")):
            if "results" in tables and name not in indexes("results"):
                connection.exec_driver_sql(f"CREATE INDEX {name} ON results ({column})")
                undone.append(f"dropped index {name}")
    elif revision == "0004" and "stance_marks" in tables:
        # 0005: added stance_marks.check_id (its UPDATE was the first data write)
        columns = {column["name"] for column in inspector.get_columns("stance_marks")}
        if "check_id" in columns:
            operations = Operations(MigrationContext.configure(connection))
            with operations.batch_alter_table("stance_marks") as batch:
                batch.drop_column("check_id")
            undone.append("column stance_marks.check_id")
    return undone


def _drop_empty_tables(
    connection: Connection, revision: str | None, names: Iterable[str]
) -> list[str]:
    dropped: list[str] = []
    for name in names:
        if connection.exec_driver_sql(f'SELECT 1 FROM "{name}" LIMIT 1').first() is not None:
            raise DatabaseError(
                f"it is recorded at schema {revision or 'none'} but already has a table {name} "
                "with rows, which that schema does not have: restore it from a backup "
                "(nothing was changed)"
            )
        connection.exec_driver_sql(f'DROP TABLE "{name}"')
        dropped.append(f"table {name}")
    return dropped
