"""Where the database is, opening it, and migrating it in place.

There is no module-level engine: :func:`connect` returns one and callers pass it (or a
session made from it) down.

Opening upgrades the schema, safely against kills and races:

- a first read on the app's own engine finds a database already at head (the common case) and
  takes no lock at all;
- otherwise the upgrade takes the database's write lock and reads the revision again under it,
  so of several processes opening an old (or new) database at once one upgrades and the others
  find it done: on SQLite ``BEGIN IMMEDIATE`` on a connection of its own, whose driver is told
  not to manage transactions (its legacy control commits each DDL statement as it goes), so the
  whole upgrade is one transaction and a kill at any moment leaves the database as it was; on
  PostgreSQL (transactional DDL) a transaction-level advisory lock;
- before upgrading an existing SQLite file it copies it to ``<file>.bak-<revision>``;
- a half-applied upgrade left by an older serptrack is taken back first
  (:mod:`.migrations.repair`), then the upgrade runs in full.

A read command (``create=False``) on a SQLite file whose folder or file cannot be written opens
it read-only (``mode=ro``, or ``immutable=1`` when SQLite cannot create its ``-shm`` file
either); :func:`opened_read_only` says so, for the caller to tell the user.

Storage failures (a damaged file, a full disk, a read-only database asked to write) become one
:class:`~serptrack.errors.DatabaseError` line saying what to do, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.pool import NullPool

from ..errors import DamagedDatabaseError, DatabaseError, NotFoundError, StorageFullError
from .migrations import HEAD

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = [
    "connect",
    "database_url",
    "default_db_path",
    "describe_target",
    "opened_read_only",
    "schema_revision",
]

_MIGRATIONS = Path(__file__).parent / "migrations"
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: seconds a command waits for the database's write lock (another process's write)
_BUSY_TIMEOUT = 30
#: seconds an opening process waits for another one's upgrade (a large database takes minutes)
_UPGRADE_TIMEOUT = 600
#: the PostgreSQL advisory lock that serialises upgrades (any constant: a lock is per database)
_UPGRADE_LOCK = 0x5E9F_7AC4


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

_OPENED_READ_ONLY: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def connect(
    target: str | None = None, environ: Mapping[str, str] | None = None, *, create: bool = True
) -> Engine:
    """Open (upgrading in place) the serptrack database at ``target``.

    A SQLite file that does not exist yet is created only with ``create`` (the commands that
    store data); otherwise it is an error naming the path, so a mistyped ``--db`` never
    silently stands for an empty database. Without ``create``, a SQLite file in a folder (or
    itself) that cannot be written is opened read-only: see :func:`opened_read_only`.
    """
    url = database_url(target, environ, create=create)
    shown = describe_target(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"{url!r} is not a database URL or file path") from None
    read_only: str | None = None
    path: Path | None = None
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        path = Path(parsed.database)
        given_as_uri = parsed.database.startswith("file:")
        if not create and not given_as_uri and not _has_data(path):
            raise NotFoundError(
                f"no serptrack database at {path}: create one with `serptrack apply FILE` "
                "(or `serptrack demo`), or pass the right --db or SERPTRACK_DB"
            )
        _require_sqlite_file(path)
        if not create and not given_as_uri:
            read_only = _unwritable(path)
        read_only_query = _require_serptrack_tables(path, shown, allow_immutable=bool(read_only))
        if read_only is not None:
            parsed = _read_only_url(path, read_only_query)
    try:
        engine = _create_engine(parsed, shown)
    except ImportError as error:
        raise DatabaseError(_missing_driver(shown, error)) from None
    except (ArgumentError, SQLAlchemyError) as error:
        raise DatabaseError(f"cannot open database {shown}: {_first_line(error)}") from None
    given_read_only = parsed.query.get("mode") == "ro" or parsed.query.get("immutable") == "1"
    try:
        _migrate(engine, shown, read_only or ("it is open read-only" if given_read_only else None))
    except (OperationalError, SADatabaseError) as error:
        engine.dispose()
        stores = path if read_only is None else None  # not a read already made read-only
        raise DatabaseError(_opening_failure(shown, error, stores)) from None
    except DatabaseError:
        engine.dispose()
        raise
    if read_only is not None:
        _OPENED_READ_ONLY[engine] = (
            f"{read_only}, so database {shown} is open read-only: commands that store data "
            "need it writable"
        )
    return engine


def opened_read_only(engine: Engine) -> str | None:
    """Why :func:`connect` opened this engine's database read-only (one sentence), else None.

    The library never prints: a command that wants the user told says this once on stderr.
    """
    return _OPENED_READ_ONLY.get(engine)


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        if "alembic_version" not in inspect(connection).get_table_names():
            return None
        return _current_revision(connection)


def _current_revision(connection: Connection) -> str | None:
    """What ``alembic_version`` holds (one row: serptrack's history has a single branch)."""
    rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    if len(rows) > 1:
        from alembic.runtime.migration import MigrationContext  # several heads: Alembic says

        return MigrationContext.configure(connection).get_current_revision()
    return str(rows[0][0]) if rows else None


def _create_engine(url: str | URL, shown: str | None = None) -> Engine:
    parsed = make_url(url)
    shown = shown or describe_target(parsed.render_as_string(hide_password=False))
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(parsed, pool_pre_ping=True)
        _explain_storage_failures(engine, shown, None)
        return engine
    engine = create_engine(parsed, connect_args={"timeout": _BUSY_TIMEOUT})
    _explain_storage_failures(engine, shown, _sqlite_file(parsed))

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        _set_pragmas(dbapi_connection, _BUSY_TIMEOUT)

    return engine


def _set_pragmas(dbapi_connection: sqlite3.Connection, busy_timeout: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {busy_timeout * 1000}")
    _use_wal(cursor, busy_timeout)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    # Long histories read tens of thousands of rows: a larger page cache and memory-mapped
    # reads cut that time by a tenth.
    cursor.execute("PRAGMA cache_size = -65536")
    cursor.execute("PRAGMA mmap_size = 268435456")
    cursor.close()


def _use_wal(cursor: sqlite3.Cursor, timeout: float) -> None:
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "readonly" in str(error):
                return  # a read-only connection reads in whatever mode the file is in
            # Switching a file into WAL mode takes an exclusive lock, and while other
            # connections open it too (processes sharing a new database) SQLite says "locked"
            # at once instead of waiting its busy timeout: wait here.
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _migrate(engine: Engine, shown: str, read_only: str | None) -> None:
    with engine.connect() as connection:
        current, head = _revisions(connection, shown)
    if current == head:
        return
    if read_only is not None:
        raise DatabaseError(
            f"database {shown} is at schema {current or 'none'} and needs an upgrade to {head}, "
            f"but {read_only}: run a serptrack command on it once where it can be written"
        )
    if engine.dialect.name == "sqlite":
        _upgrade_sqlite(engine, shown)
        # The upgrade ran on a connection of its own: pooled ones opened before it may hold a
        # stale copy of the schema (SQLite's PRAGMA-based reflection reads it), so start afresh.
        engine.dispose()
    else:
        _upgrade_locked(engine, shown)


def _revisions(connection: Connection, shown: str) -> tuple[str | None, str]:
    """The revision the database is at and the head, refusing what serptrack cannot upgrade."""
    tables = set(inspect(connection).get_table_names())
    if tables and "alembic_version" not in tables:
        names = ", ".join(sorted(tables)[:5])
        raise DatabaseError(
            f"{shown} is not a serptrack database (it has tables: {names}); pass another --db"
        )
    current = _current_revision(connection) if tables else None
    if current == HEAD:  # the common case, answered without importing Alembic
        return current, HEAD
    script = _script()
    if current is not None and not _known(script, current):
        raise DatabaseError(
            f"{shown} was written by a newer serptrack (schema {current}); upgrade serptrack"
        )
    head = script.get_current_head()
    assert head is not None  # the package ships its migrations
    return current, head


def _upgrade_locked(engine: Engine, shown: str) -> None:
    """PostgreSQL: check and upgrade in one transaction holding the upgrade advisory lock."""
    with engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        current, head = _revisions(connection, shown)  # again: another process may be done
        if current != head:
            _upgrade(connection)


def _upgrade(connection: Connection) -> None:
    from alembic import command  # Alembic (and Mako) load only when a schema changes

    command.upgrade(_alembic_config(connection), "head")


def _upgrade_sqlite(engine: Engine, shown: str) -> None:
    """SQLite: back up, repair and upgrade in one ``BEGIN IMMEDIATE`` transaction."""
    path = _sqlite_file(engine.url)
    if path is None:  # in memory: nothing else can see it, nor survive a kill
        with engine.begin() as connection:
            _upgrade(connection)
        return
    upgrader = create_engine(
        engine.url, connect_args={"timeout": _UPGRADE_TIMEOUT}, poolclass=NullPool
    )
    _explain_storage_failures(upgrader, shown, path)

    # SQLAlchemy's recipe for transactional DDL on pysqlite: the driver emits no BEGIN (nor the
    # implicit COMMITs of its legacy mode); SQLAlchemy's "begin" emits ours.
    @event.listens_for(upgrader, "connect")
    def _own_transactions(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        _set_pragmas(dbapi_connection, _UPGRADE_TIMEOUT)

    @event.listens_for(upgrader, "begin")
    def _begin(connection: Connection) -> None:
        # IMMEDIATE: the write lock now, so one process upgrades at a time; unlike EXCLUSIVE
        # it leaves readers be, in rollback-journal mode too, such as the backup's.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with upgrader.begin() as connection:
            current, head = _revisions(connection, shown)  # again, under the lock
            if current == head:
                return
            if current is not None:
                _back_up(path, current, shown)
            from .migrations.repair import undo_partial_upgrade

            try:
                undo_partial_upgrade(connection, current)
            except DatabaseError as error:
                raise DatabaseError(f"cannot upgrade database {shown}: {error}") from None
            _upgrade(connection)
    finally:
        upgrader.dispose()


def _back_up(path: Path, revision: str, shown: str) -> Path:
    """Copy the database (as committed: the upgrade has written nothing yet) beside itself."""
    backup = path.with_name(f"{path.name}.bak-{revision}")
    partial = backup.with_name(f"{backup.name}.partial")
    try:
        partial.unlink(missing_ok=True)
        with (
            contextlib.closing(sqlite3.connect(path, timeout=_UPGRADE_TIMEOUT)) as source,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            source.backup(copy)
        os.replace(partial, backup)
    except (OSError, sqlite3.Error) as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise DatabaseError(
            f"cannot upgrade database {shown} from schema {revision}: the copy it makes first, "
            f"{backup}, failed ({reason}); nothing was changed: free some space or make "
            f"{backup.parent} writable, then run the command again"
        ) from None
    return backup


# --- storage failures -----------------------------------------------------------------------

_READ_ONLY = ("attempt to write a readonly database", "read-only transaction")
_DAMAGED = (
    "database disk image is malformed",
    "file is not a database",
    "malformed database schema",
    "could not decode to utf-8",
)
_DAMAGED_SQLSTATES = ("XX001", "XX002")  # PostgreSQL: data_corrupted, index_corrupted
_FULL = ("database or disk is full", "no space left on device", "could not extend file")
_FULL_SQLSTATES = ("53100",)  # PostgreSQL: disk_full


def _explain_storage_failures(engine: Engine, shown: str, path: Path | None) -> None:
    """A failure of the storage itself becomes one line that says what to do."""

    @event.listens_for(engine, "handle_error")
    def _storage_failure(context: ExceptionContext) -> None:
        error = _storage_error(context.original_exception, shown, path)
        if error is not None:
            raise error from None


def _storage_error(error: BaseException, shown: str, path: Path | None) -> DatabaseError | None:
    message = str(error)
    lowered = message.lower()
    sqlstate = getattr(error, "sqlstate", None)
    if any(text in message for text in _READ_ONLY):
        return DatabaseError(
            f"database {shown} is read-only: this command stores data, so it needs a "
            "database it can write (read commands such as status and report work on it)"
        )
    if sqlstate in _DAMAGED_SQLSTATES or any(text in lowered for text in _DAMAGED):
        return DamagedDatabaseError(_damaged(shown, path, _first_line(error)))
    if sqlstate in _FULL_SQLSTATES or any(text in lowered for text in _FULL):
        return StorageFullError(
            f"database {shown}: the disk is full ({_first_line(error)}): free some space and "
            "run the command again; everything stored before is intact, only what this "
            "command was storing when the disk filled was not saved"
        )
    return None


def _damaged(shown: str, path: Path | None, detail: str) -> str:
    if path is None:
        return f"database {shown} is damaged ({detail}): restore it from a backup"
    backups: list[tuple[float, Path]] = []
    with contextlib.suppress(OSError):
        for backup in path.parent.glob(f"{path.name}.bak-*"):
            if not backup.name.endswith(".partial"):
                backups.append((backup.stat().st_mtime, backup))
    restore = (
        f"restore it from a backup (serptrack's latest is {max(backups)[1]}, taken before an "
        "upgrade; what was stored since is not in it)"
        if backups
        else "restore it from a backup"
    )
    return (
        f"database {path} is damaged ({detail}): {restore}, or salvage what can be read "
        f'into a new file with: sqlite3 {path} ".recover" | sqlite3 {path}.recovered'
    )


def _opening_failure(shown: str, error: SQLAlchemyError, path: Path | None) -> str:
    line = _first_line(error)
    if path is not None and (unwritable := _cannot_store(shown, path)):
        return unwritable
    if "database is locked" in line:
        return (
            f"cannot open database {shown}: {line} (another serptrack process kept it busy, "
            "upgrading it or writing, longer than this one waits); run the command again"
        )
    return f"cannot open database {shown}: {line}"


# --- read-only SQLite -----------------------------------------------------------------------


def _cannot_store(shown: str, path: Path) -> str | None:
    """Why a command that stores data cannot open ``path``, if it is that it cannot write."""
    reason = _unwritable(path) if path.exists() else None
    if reason is None:
        return None
    return (
        f"cannot open database {shown} to store data: {reason} (SQLite creates "
        f"{path.name}-wal and {path.name}-shm beside it); read commands such as status and "
        "report work on it"
    )


def _unwritable(path: Path) -> str | None:
    """Why SQLite could not write ``path`` (in WAL mode it writes ``-wal`` and ``-shm`` files
    beside it), else None."""
    if not os.access(path.parent, os.W_OK):
        return f"folder {path.parent} cannot be written"
    if not os.access(path, os.W_OK):
        return f"{path} cannot be written"
    return None


def _sqlite_uri(path: Path, query: Mapping[str, str]) -> str:
    return f"file:{quote(str(path.resolve()))}?" + "&".join(f"{k}={v}" for k, v in query.items())


def _read_only_url(path: Path, query: Mapping[str, str]) -> URL:
    return URL.create(
        "sqlite", database=f"file:{quote(str(path.resolve()))}", query={**query, "uri": "true"}
    )


def _sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL opens (a ``file:`` URI's path too); None for memory."""
    database = url.database
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        database = unquote(database.removeprefix("file:").split("?", 1)[0])
        database = "/" + database.lstrip("/") if database.startswith("//") else database
    return Path(database)


def _require_serptrack_tables(
    path: Path, shown: str, *, allow_immutable: bool = False
) -> dict[str, str]:
    """Refuse another application's SQLite file before anything (WAL mode first) touches it.

    Returns the URI query that read it: ``mode=ro``, or with ``allow_immutable`` (a folder that
    cannot be written, so no ``-shm`` file can be made) ``immutable=1`` when that is the only
    way in.
    """
    query = {"mode": "ro"}
    if not _has_data(path):
        return query
    try:
        tables = _table_names(path, query)
    except sqlite3.OperationalError as error:
        if not allow_immutable or "unable to open" not in str(error):
            raise _unreadable(error, shown, path) from None
        wal = path.with_name(f"{path.name}-wal")
        if _has_data(wal):
            raise DatabaseError(
                f"cannot open database {shown} read-only: {wal} holds writes that SQLite can "
                f"read only by creating {path.name}-shm beside it, and {path.parent} cannot be "
                "written; open it once where it can be written"
            ) from None
        query = {"mode": "ro", "immutable": "1"}
        try:
            tables = _table_names(path, query)
        except sqlite3.DatabaseError as retry:
            raise _unreadable(retry, shown, path) from None
    except sqlite3.DatabaseError as error:
        raise _unreadable(error, shown, path) from None
    if tables and "alembic_version" not in tables:
        names = ", ".join(sorted(tables)[:5])
        raise DatabaseError(
            f"{shown} is not a serptrack database (it has tables: {names}); pass another --db"
        )
    return query


def _table_names(path: Path, query: Mapping[str, str]) -> set[str]:
    with contextlib.closing(sqlite3.connect(_sqlite_uri(path, query), uri=True)) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}


def _unreadable(error: sqlite3.Error, shown: str, path: Path) -> DatabaseError:
    if "unable to open" in str(error) and (unwritable := _cannot_store(shown, path)):
        return DatabaseError(unwritable)
    return _storage_error(error, shown, path) or DatabaseError(
        f"cannot open database {shown}: {error}"
    )


# --- small helpers --------------------------------------------------------------------------


def _has_data(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _missing_driver(shown: str, error: ImportError) -> str:
    if (error.name or "").startswith("psycopg"):
        return (
            f"cannot open database {shown}: the PostgreSQL driver is not installed; "
            "install it with: pip install 'serptrack[postgres]'"
        )
    return f"cannot open database {shown}: {_first_line(error)}"


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _script() -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return ScriptDirectory.from_config(config)


def _known(script: ScriptDirectory, revision: str) -> bool:
    from alembic.script.revision import ResolutionError
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except (CommandError, ResolutionError):
        return False


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
