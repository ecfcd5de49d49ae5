"""Upgrades in place survive a kill -9, an older serptrack's half-applied upgrade, and a race."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError

import serptrack
from serptrack import store
from serptrack.errors import DatabaseError
from serptrack.store import engine as store_engine
from tests.conftest import PG_VARIABLE, new_database

HEAD = store_engine._script().get_current_head()
ROOT = str(Path(serptrack.__file__).resolve().parent.parent)
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# A child that opens (so upgrades) the database; "ready" once its imports are done.
UPGRADE = """\
import sys
import serptrack.models, alembic.command  # the imports, before the clock starts
from serptrack import store
print("ready", flush=True)
if len(sys.argv) > 2:
    sys.stdin.readline()  # the start signal: every process opens at once
store.connect(sys.argv[1]).dispose()
print("done", flush=True)
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


def build_old(url: str, revision: str, checks: int, per_check: int = 10) -> dict[str, int]:
    """A database at ``revision`` (an older serptrack's schema) holding ``checks`` checks of one
    keyword with ``per_check`` results each; returns the row counts it holds."""
    target = url if "://" in url else f"sqlite:///{url}"
    old = create_engine(target)
    with old.begin() as connection:
        command.upgrade(store_engine._alembic_config(connection), revision)
        connection.execute(
            text(
                "INSERT INTO campaigns (id, name, brand, description, source_path, settings,"
                " created_at, updated_at) VALUES (1, 'kept', 'Kept', '', '', '{}', :t, :t)"
            ),
            {"t": T0},
        )
        connection.execute(
            text(
                "INSERT INTO keywords (id, campaign_id, query, engine, country, language, device,"
                " location, provider, depth, schedule, timezone, tags, active, created_at,"
                " updated_at) VALUES (1, 1, 'kept query', 'google', 'us', 'en', 'desktop', '',"
                " 'replay', 10, '1d', 'UTC', '[]', :yes, :t, :t)"
            ),
            {"t": T0, "yes": True},
        )
        connection.execute(
            text(
                "INSERT INTO checks (id, keyword_id, provider, slot, observed_at, status,"
                " result_count, created_at) VALUES (:id, 1, 'replay', NULL, :t, 'ok', :n, :t)"
            ),
            [
                {"id": i, "t": T0 + dt.timedelta(hours=i), "n": per_check}
                for i in range(1, checks + 1)
            ],
        )
        connection.execute(
            text(
                "INSERT INTO results (check_id, placement, rank, page_position, url, norm_url,"
                " domain, title, snippet) VALUES (:c, 'organic', :r, :r, :u, :u, 'x.example',"
                " 'title', 'snippet')"
            ),
            [
                {"c": i, "r": r, "u": f"https://d{(i * 7 + r) % 997}.example/p{r}"}
                for i in range(1, checks + 1)
                for r in range(1, per_check + 1)
            ],
        )
        if revision < "0002":  # 0002 fills url_stances and stance_marks from what is stored
            urls = "SELECT count(DISTINCT norm_url) FROM results"
            marks = "SELECT count(*) FROM campaigns"
        else:  # later rows are labelled by serptrack as it goes, not by a migration
            urls, marks = "SELECT count(*) FROM url_stances", "SELECT count(*) FROM stance_marks"
        counts = {
            "checks": checks,
            "results": checks * per_check,
            "urls": int(connection.execute(text(urls)).scalar() or 0),
            "marks": int(connection.execute(text(marks)).scalar() or 0),
        }
    old.dispose()
    return counts


def assert_whole(url: str, counts: dict[str, int]) -> None:
    """The database opens, at head once, holding all it held, with url_stances filled."""
    engine = store.connect(url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            assert [row[0] for row in versions] == [HEAD]

            def count(sql: str) -> int:
                return int(connection.execute(text(sql)).scalar() or 0)

            assert count("SELECT count(*) FROM checks") == counts["checks"]
            assert count("SELECT count(*) FROM results") == counts["results"]
            assert count("SELECT count(*) FROM campaigns WHERE name = 'kept'") == 1
            assert count("SELECT count(*) FROM url_stances") == counts["urls"]
            assert count("SELECT count(*) FROM stance_marks") == counts["marks"]
            if engine.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        engine.dispose()


def shape(url: str) -> dict[str, Any]:
    """Tables, their columns and their indexes: what two databases at head must share."""
    engine = store.connect(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            return {
                table: (
                    sorted(column["name"] for column in inspector.get_columns(table)),
                    sorted(str(index["name"]) for index in inspector.get_indexes(table)),
                )
                for table in inspector.get_table_names()
            }
    finally:
        engine.dispose()


def sqlite(path: Path, **options: Any) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(path, **options))


def revision_in(path: Path) -> str | None:
    with sqlite(path) as db:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


# --- a kill -9 during the automatic upgrade -------------------------------------------------


@pytest.fixture(scope="module")
def old_databases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """Populated databases of two older releases, built once."""
    folder = tmp_path_factory.mktemp("old")
    built = {}
    for revision in ("0001", "0003"):
        path = folder / f"at-{revision}.db"
        built[revision] = (path, build_old(str(path), revision, checks=3000))
    return built


def start_upgrade(target: str) -> subprocess.Popen[str]:
    """A child process opening (so upgrading) ``target``, past its imports."""
    child = subprocess.Popen(
        [sys.executable, "-c", UPGRADE, target], stdout=subprocess.PIPE, text=True, env=child_env()
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    return child


def timed_upgrade(target: str) -> float:
    child = start_upgrade(target)
    start = time.monotonic()
    assert child.wait(timeout=120) == 0
    return time.monotonic() - start


def revision_at(target: str) -> str | None:
    engine = create_engine(target if "://" in target else f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def kill_during_upgrade(target: str, delay: float) -> bool:
    """SIGKILL a child ``delay`` seconds into its upgrade of ``target``; True when it died
    before its upgrade committed."""
    child = start_upgrade(target)
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    return child.returncode == -signal.SIGKILL and revision_at(target) != HEAD


def report(kills: int, interrupted: int, opened: int, durations: dict[str, float]) -> None:
    print(
        f"\nkill -9 during upgrade: {kills} kills, {interrupted} before the upgrade committed, "
        f"{opened} databases open whole afterwards (upgrade takes "
        + ", ".join(f"{d:.2f} s from {r}" for r, d in durations.items())
        + ")"
    )


@pytest.mark.sqlite_only
def test_an_upgrade_killed_at_any_moment_leaves_a_database_that_opens_whole(
    old_databases: dict[str, tuple[Path, dict]], tmp_path: Path
) -> None:
    durations = {}
    for revision, (path, _) in old_databases.items():
        shutil.copyfile(path, tmp_path / f"timing-{revision}.db")
        durations[revision] = timed_upgrade(str(tmp_path / f"timing-{revision}.db"))
    rng = random.Random(20261202)
    deadline = time.monotonic() + 150
    kills = interrupted = opened = 0
    failures: list[str] = []
    while kills < 16 and (kills < 10 or time.monotonic() < deadline):
        revision = ("0001", "0003")[kills % 2]
        source, counts = old_databases[revision]
        target = tmp_path / f"kill-{kills}.db"
        shutil.copyfile(source, target)
        interrupted += kill_during_upgrade(str(target), rng.uniform(0, durations[revision] * 1.1))
        kills += 1
        try:
            assert_whole(str(target), counts)
            opened += 1
        except (AssertionError, DatabaseError) as error:
            failures.append(f"kill {kills} (from {revision}): {error}")
        for leftover in tmp_path.glob(f"kill-{kills - 1}.db*"):
            leftover.unlink()
    report(kills, interrupted, opened, durations)
    assert failures == []
    assert opened == kills
    assert interrupted >= 3, "too few kills landed during an upgrade to prove anything"


@pytest.mark.skipif(not os.environ.get(PG_VARIABLE), reason=f"needs {PG_VARIABLE}")
def test_an_upgrade_killed_on_postgresql_leaves_a_database_that_opens_whole(
    tmp_path: Path,
) -> None:
    # PostgreSQL's DDL is transactional; what this proves is the advisory lock of a killed
    # process: the server drops it with the connection, and the next open upgrades.
    timing = new_database(tmp_path)
    build_old(timing, "0001", checks=3000)
    durations = {"0001": timed_upgrade(timing)}
    rng = random.Random(20261203)
    kills = interrupted = opened = 0
    for kills in range(1, 7):
        revision = ("0001", "0003")[kills % 2]
        target = new_database(tmp_path)
        counts = build_old(target, revision, checks=3000)
        interrupted += kill_during_upgrade(target, rng.uniform(0, durations["0001"] * 1.1))
        assert_whole(target, counts)
        opened += 1
    report(kills, interrupted, opened, durations)
    assert interrupted >= 1


@pytest.mark.sqlite_only
def test_an_upgrade_backs_the_file_up_first(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    counts = build_old(str(path), "0003", checks=20)
    assert_whole(str(path), counts)
    backup = tmp_path / "old.db.bak-0003"
    assert revision_in(backup) == "0003"
    with sqlite(backup) as db:
        assert db.execute("SELECT count(*) FROM results").fetchone() == (counts["results"],)
    assert not list(tmp_path.glob("*.partial"))
    store.connect(str(path)).dispose()  # at head: no second backup, no new one
    assert sorted(p.name for p in tmp_path.glob("old.db.bak-*")) == ["old.db.bak-0003"]


@pytest.mark.sqlite_only
def test_a_failed_backup_stops_the_upgrade_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    counts = build_old(str(path), "0003", checks=20)
    (tmp_path / "old.db.bak-0003.partial").mkdir()  # cannot be replaced by a file
    (tmp_path / "old.db.bak-0003.partial" / "x").touch()
    with pytest.raises(DatabaseError) as raised:
        store.connect(str(path))
    message = str(raised.value)
    assert f"{tmp_path / 'old.db.bak-0003'}" in message
    assert "nothing was changed" in message
    assert revision_in(path) == "0003"
    shutil.rmtree(tmp_path / "old.db.bak-0003.partial")
    assert_whole(str(path), counts)


# --- a half-applied upgrade left by an older serptrack -----------------------------------------

# What an older serptrack's legacy-mode SQLite upgrade committed before a kill: the DDL of the
# next revision, up to its first data write, with alembic_version unchanged.
HALF_APPLIED: dict[str, tuple[str, list[str]]] = {
    "0000 (no revision yet)": (
        "0001",
        ["DELETE FROM alembic_version", "DROP TABLE results", "DROP TABLE payloads"],
    ),
    "0001 with url_stances": (
        "0001",
        [
            "CREATE TABLE url_stances (campaign_id INTEGER NOT NULL, norm_url VARCHAR NOT NULL,"
            " stance VARCHAR NOT NULL, rule VARCHAR, rules_hash VARCHAR NOT NULL,"
            " PRIMARY KEY (campaign_id, norm_url), FOREIGN KEY(campaign_id) REFERENCES campaigns (id))",
            "CREATE TABLE stance_marks (campaign_id INTEGER NOT NULL, result_id INTEGER NOT NULL,"
            " PRIMARY KEY (campaign_id), FOREIGN KEY(campaign_id) REFERENCES campaigns (id))",
            "CREATE INDEX ix_results_norm_url_positions ON results"
            " (norm_url, check_id, placement, rank, page_position, block)",
        ],
    ),
    "0001 with only url_stances": (
        "0001",
        [
            "CREATE TABLE url_stances (campaign_id INTEGER NOT NULL, norm_url VARCHAR NOT NULL,"
            " stance VARCHAR NOT NULL, rule VARCHAR, rules_hash VARCHAR NOT NULL,"
            " PRIMARY KEY (campaign_id, norm_url))",
        ],
    ),
    "0002 with slot_claims": (
        "0002",
        [
            "CREATE TABLE slot_claims (keyword_id INTEGER NOT NULL, slot DATETIME NOT NULL,"
            " worker VARCHAR NOT NULL, token VARCHAR NOT NULL, claimed_at DATETIME NOT NULL,"
            " lease_until DATETIME NOT NULL, check_id INTEGER, PRIMARY KEY (keyword_id, slot))",
            "CREATE INDEX ix_slot_claims_token ON slot_claims (token)",
        ],
    ),
    "0003 with an index dropped": ("0003", ["DROP INDEX ix_results_norm_url"]),
    "0003 with both indexes dropped": (
        "0003",
        ["DROP INDEX ix_results_norm_url", "DROP INDEX ix_results_domain"],
    ),
    "0004 with stance_marks.check_id": (
        "0004",
        [
            # a mark stored at 0004 (the campaign's last result), then 0005's DDL
            "INSERT INTO stance_marks (campaign_id, result_id) SELECT 1, max(id) FROM results",
            "ALTER TABLE stance_marks ADD COLUMN check_id INTEGER DEFAULT '0' NOT NULL",
        ],
    ),
}


@pytest.mark.sqlite_only
@pytest.mark.parametrize("state", list(HALF_APPLIED))
def test_a_half_applied_upgrade_by_an_older_serptrack_is_finished(
    state: str, tmp_path: Path
) -> None:
    revision, statements = HALF_APPLIED[state]
    path = tmp_path / "half.db"
    fresh = tmp_path / "fresh.db"
    if state.startswith("0000"):
        old = create_engine(f"sqlite:///{path}")
        with old.begin() as connection:
            command.upgrade(store_engine._alembic_config(connection), revision)
        old.dispose()
        counts = None
    else:
        counts = build_old(str(path), revision, checks=40)
    with sqlite(path, isolation_level=None) as db:
        for statement in statements:
            db.execute(statement)
    if counts is not None and revision == "0004":
        counts["marks"] = 1
    before = revision_in(path)
    assert before == (None if counts is None else revision)
    with pytest.raises(OperationalError, match=r"already exists|no such index|duplicate column"):
        # what the older serptrack's own upgrade now fails on, every time
        plain = create_engine(f"sqlite:///{tmp_path / 'probe.db'}")
        shutil.copyfile(path, tmp_path / "probe.db")
        try:
            with plain.begin() as connection:
                command.upgrade(store_engine._alembic_config(connection), "head")
        finally:
            plain.dispose()
    if counts is not None:
        assert_whole(str(path), counts)
    assert shape(str(path)) == shape(str(fresh))
    if revision == "0004":
        with sqlite(path) as db:  # 0005's data step ran: the mark is the last check
            assert db.execute("SELECT check_id FROM stance_marks").fetchone() == (40,)


@pytest.mark.sqlite_only
def test_a_half_applied_table_that_holds_rows_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    build_old(str(path), "0002", checks=5)
    with sqlite(path) as db:
        db.execute("CREATE TABLE slot_claims (keyword_id INTEGER, slot DATETIME)")
        db.execute("INSERT INTO slot_claims VALUES (1, '2026-01-01')")
        db.commit()
    with pytest.raises(DatabaseError, match=r"slot_claims with rows.*restore it from a backup"):
        store.connect(str(path))
    assert revision_in(path) == "0002"
    with sqlite(path) as db:
        assert db.execute("SELECT count(*) FROM slot_claims").fetchone() == (1,)


# --- processes that open the same database at once -------------------------------------------


def open_at_once(url: str, processes: int = 4) -> list[tuple[int, str]]:
    """Start ``processes`` children, let each import, then have all open ``url`` at once."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE, url, "wait"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for _ in range(processes)
    ]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child in children:
        _, err = child.communicate(timeout=180)
        results.append((child.returncode, err[-4000:]))
    return results


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    """A new, empty database: a SQLite file not made yet, or a new PostgreSQL database."""
    yield new_database(tmp_path)


def test_processes_opening_a_new_database_at_once_all_succeed(
    database: str, tmp_path: Path
) -> None:
    results = open_at_once(database)
    assert [code for code, _ in results] == [0, 0, 0, 0], results
    engine = store.connect(database)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert [row[0] for row in versions] == [HEAD]
    assert shape(database) == shape(new_database(tmp_path))


def test_processes_upgrading_an_old_database_at_once_all_succeed(
    database: str, tmp_path: Path
) -> None:
    counts = build_old(database, "0003", checks=300)
    results = open_at_once(database)
    assert [code for code, _ in results] == [0, 0, 0, 0], results
    assert_whole(database, counts)
    if "://" not in database:
        assert sorted(p.name for p in tmp_path.glob("*.bak-*")) == [
            f"{Path(database).name}.bak-0003"
        ]


def test_head_names_the_newest_migration_script() -> None:
    from serptrack.store.migrations import HEAD

    assert store_engine._script().get_current_head() == HEAD


def test_a_database_at_head_opens_without_importing_alembic(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'serptrack.db'}"
    store.connect(db).dispose()  # created and migrated here
    script = (
        "import sys\nfrom serptrack import store\n"
        f"engine = store.connect({db!r})\n"
        "print(store.schema_revision(engine), sorted(m for m in sys.modules if m.startswith('alembic') or m == 'mako'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    from serptrack.store.migrations import HEAD

    assert done.stdout == f"{HEAD} []\n"
