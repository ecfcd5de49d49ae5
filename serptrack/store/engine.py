"""Where the database is, opening it, and migrating it in place.

There is no module-level engine: :func:`connect` returns one and callers pass it (or a
session made from it) down.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import DatabaseError as SADatabaseError

from ..errors import DatabaseError, NotFoundError

__all__ = [
    "connect",
    "database_url",
    "default_db_path",
    "describe_target",
    "schema_revision",
]

_MIGRATIONS = Path(__file__).parent / "migrations"
_SQLITE_MAGIC = b"SQLite format 3\x00"


# --- where the database is ------------------------------------------------------------------


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$SERPTRACK_HOME/serptrack.db``, else ``$XDG_DATA_HOME/serptrack/serptrack.db``,
    else ``~/.local/share/serptrack/serptrack.db``."""
    env = os.environ if environ is None else environ
    if env.get("SERPTRACK_HOME"):
        return Path(env["SERPTRACK_HOME"]).expanduser() / "serptrack.db"
    base = (
        Path(env["XDG_DATA_HOME"]).expanduser()
        if env.get("XDG_DATA_HOME")
        else Path.home() / ".local" / "share"
    )
    return base / "serptrack" / "serptrack.db"


def database_url(
    target: str | None, environ: Mapping[str, str] | None = None, *, create: bool = True
) -> str:
    """A SQLAlchemy URL for ``target``: a URL as given, a file path as SQLite, None as the
    default (whose folder is made when ``create``)."""
    if target and "://" in target:
        return target
    if target:
        path = Path(target).expanduser()
        if create and not path.parent.is_dir():
            raise DatabaseError(
                f"cannot create database {target}: folder {path.parent} does not exist "
                "(create it, or pass another --db)"
            )
        return f"sqlite:///{path.resolve()}"
    path = default_db_path(environ)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def describe_target(url: str) -> str:
    """The URL with any password hidden, for messages and ``doctor``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


# --- opening and migrating ------------------------------------------------------------------


def connect(
    target: str | None = None, environ: Mapping[str, str] | None = None, *, create: bool = True
) -> Engine:
    """Open (upgrading in place) the serptrack database at ``target``.

    A SQLite file that does not exist yet is created only with ``create`` (the commands that
    store data); otherwise it is an error naming the path, so a mistyped ``--db`` never
    silently stands for an empty database.
    """
    url = database_url(target, environ, create=create)
    shown = describe_target(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"{url!r} is not a database URL or file path") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        path = Path(parsed.database)
        if not create and not parsed.database.startswith("file:") and not _has_data(path):
            raise NotFoundError(
                f"no serptrack database at {path}: create one with `serptrack apply FILE` "
                "(or `serptrack demo`), or pass the right --db or SERPTRACK_DB"
            )
        _require_sqlite_file(path)
        _require_serptrack_tables(path, shown)
    try:
        engine = _create_engine(url)
    except ImportError as error:
        raise DatabaseError(_missing_driver(shown, error)) from None
    except (ArgumentError, SQLAlchemyError) as error:
        raise DatabaseError(f"cannot open database {shown}: {_first_line(error)}") from None
    try:
        _migrate(engine, shown)
    except (OperationalError, SADatabaseError) as error:
        engine.dispose()
        raise DatabaseError(f"cannot open database {shown}: {_first_line(error)}") from None
    except DatabaseError:
        engine.dispose()
        raise
    return engine


def _create_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        _explain_read_only(engine, describe_target(url))
        return engine
    engine = create_engine(url, connect_args={"timeout": 30})
    _explain_read_only(engine, describe_target(url))

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Long histories read tens of thousands of rows: a larger page cache and memory-mapped
        # reads cut that time by a tenth.
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.execute("PRAGMA mmap_size = 268435456")
        cursor.close()

    return engine


_READ_ONLY = ("attempt to write a readonly database", "read-only transaction")


def _explain_read_only(engine: Engine, shown: str) -> None:
    """A write refused by a read-only database becomes one line that says so, not a traceback."""

    @event.listens_for(engine, "handle_error")
    def _read_only(context: Any) -> None:
        if any(text in str(context.original_exception) for text in _READ_ONLY):
            raise DatabaseError(
                f"database {shown} is read-only: this command stores data, so it needs a "
                "database it can write (read commands such as status and report work on it)"
            ) from None


def _has_data(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _missing_driver(shown: str, error: ImportError) -> str:
    if (error.name or "").startswith("psycopg"):
        return (
            f"cannot open database {shown}: the PostgreSQL driver is not installed; "
            "install it with: pip install 'serptrack[postgres]'"
        )
    return f"cannot open database {shown}: {_first_line(error)}"


def _require_serptrack_tables(path: Path, shown: str) -> None:
    """Refuse another application's SQLite file before anything (WAL mode first) touches it."""
    if not _has_data(path):
        return
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            tables = {
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"cannot open database {shown}: {error}") from None
    if tables and "alembic_version" not in tables:
        names = ", ".join(sorted(tables)[:5])
        raise DatabaseError(
            f"{shown} is not a serptrack database (it has tables: {names}); pass another --db"
        )


def _require_sqlite_file(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(_SQLITE_MAGIC))
    except OSError as error:
        raise DatabaseError(f"cannot read database {path}: {error.strerror}") from None
    if magic != _SQLITE_MAGIC:
        raise DatabaseError(
            f"{path} is not a serptrack database (not even SQLite); pass another --db"
        )


def _alembic_config(connection: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _migrate(engine: Engine, shown: str) -> None:
    with engine.begin() as connection:
        tables = set(inspect(connection).get_table_names())
        if tables and "alembic_version" not in tables:
            names = ", ".join(sorted(tables)[:5])
            raise DatabaseError(
                f"{shown} is not a serptrack database (it has tables: {names}); pass another --db"
            )
        config = _alembic_config(connection)
        script = ScriptDirectory.from_config(config)
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and not _known(script, current):
            raise DatabaseError(
                f"{shown} was written by a newer serptrack (schema {current}); upgrade serptrack"
            )
        if current != script.get_current_head():
            command.upgrade(config, "head")


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (CommandError, ResolutionError):
        return False


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
