"""The rank store: where it lives, what it refuses to open, how it keeps time."""

from __future__ import annotations

import datetime as dt
import sqlite3
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session

from serptrack import store
from serptrack.cli import cli
from serptrack.errors import DatabaseError
from serptrack.models import Campaign, Check, Keyword
from serptrack.providers import RawPage
from serptrack.snapshot import Item
from serptrack.store import engine as store_engine
from serptrack.vocabulary import CheckStatus, FailureKind


@pytest.mark.sqlite_only
def test_default_database_lives_in_serptrack_home(tmp_path: Path) -> None:
    assert store.default_db_path({"SERPTRACK_HOME": str(tmp_path)}) == tmp_path / "serptrack.db"
    assert (
        store.default_db_path({"XDG_DATA_HOME": str(tmp_path)})
        == tmp_path / "serptrack" / "serptrack.db"
    )
    engine = store.connect(None)
    assert engine.url.database == str(tmp_path / "home" / "serptrack.db")
    engine.dispose()


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.sqlite_only
def test_database_in_a_missing_folder(tmp_path: Path, runner: CliRunner) -> None:
    target = tmp_path / "nowhere" / "x.db"
    result = runner.invoke(cli, ["check", "--db", str(target)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot create database {target}: folder {target.parent} does not exist "
        "(create it, or pass another --db)\n"
    )
    assert not target.parent.exists()


@pytest.mark.sqlite_only
def test_a_file_that_is_not_sqlite_is_refused_and_untouched(
    tmp_path: Path, runner: CliRunner
) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("my precious notes\n")
    result = runner.invoke(cli, ["history", "acme", "--db", str(target)])
    assert result.exit_code == 1
    assert (
        result.output
        == f"Error: {target} is not a serptrack database (not even SQLite); pass another --db\n"
    )
    assert target.read_text() == "my precious notes\n"


@pytest.mark.sqlite_only
def test_another_sqlite_database_is_refused_and_untouched(
    tmp_path: Path, runner: CliRunner
) -> None:
    target = tmp_path / "other.db"
    with sqlite3.connect(target) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        connection.execute("INSERT INTO invoices VALUES (1, 9.5)")
    result = runner.invoke(cli, ["campaigns", "--db", str(target)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: sqlite:///{target} is not a serptrack database (it has tables: invoices); pass another --db\n"
    )
    with sqlite3.connect(target) as connection:
        tables = [
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        assert tables == ["invoices"]


@pytest.mark.sqlite_only
def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "new.db"
    store.connect(str(target)).dispose()
    with sqlite3.connect(target) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(
        DatabaseError, match=r"was written by a newer serptrack \(schema 9999\); upgrade serptrack"
    ):
        store.connect(str(target))


@pytest.mark.sqlite_only
def test_migrations_upgrade_an_old_database_in_place(tmp_path: Path) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    target = tmp_path / "old.db"
    old = create_engine(f"sqlite:///{target}")
    with old.begin() as connection:
        # the first release's schema
        command.upgrade(store_engine._alembic_config(connection), "0001")
        connection.execute(
            text(
                "INSERT INTO campaigns (name, brand, description, source_path, settings, created_at, updated_at)"
                " VALUES ('kept', '', '', '', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    old.dispose()
    engine = store.connect(str(target))
    with Session(engine) as session:
        assert store.get_campaign(session, "kept").name == "kept"
    with engine.connect() as connection:
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        script = ScriptDirectory.from_config(store_engine._alembic_config(connection))
    assert head == script.get_current_head()
    engine.dispose()


def make_keyword(engine) -> int:
    with Session(engine) as session:
        campaign = Campaign(name="c")
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        keyword = Keyword(campaign_id=campaign.id, query="acme recall", provider="replay")
        session.add(keyword)
        session.commit()
        assert keyword.id is not None
        return keyword.id


def test_datetimes_come_back_aware_in_utc(engine) -> None:
    keyword_id = make_keyword(engine)
    paris = dt.timezone(dt.timedelta(hours=1))
    record = store.CheckRecord(keyword_id, "replay", dt.datetime(2026, 3, 3, 8, tzinfo=paris))
    check_id = store.record_check(engine, record)
    with Session(engine) as session:
        check = session.get(Check, check_id)
        assert check is not None
        assert check.observed_at == dt.datetime(2026, 3, 3, 7, tzinfo=dt.UTC)
        assert (
            check.observed_at.tzinfo is not None
            and check.observed_at.utcoffset() == dt.timedelta(0)
        )


def test_naive_datetimes_are_refused_on_save(engine) -> None:
    keyword_id = make_keyword(engine)
    with pytest.raises(StatementError, match="naive datetime"):
        store.record_check(engine, store.CheckRecord(keyword_id, "replay", dt.datetime(2026, 3, 3)))


def test_record_check_stores_results_and_compressed_payloads(engine) -> None:
    keyword_id = make_keyword(engine)
    items = [
        Item("paid", "https://www.acme.example/statement?gclid=x", "Acme", block="top"),
        Item("organic", "https://news.bbc.co.uk/acme/", "BBC", "snippet"),
    ]
    page = RawPage(b'{"raw": true}' * 50, "application/json", "https://api.example/search?q=acme")
    record = store.CheckRecord(
        keyword_id,
        "replay",
        dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
        items=items,
        pages=[page],
        source="test",
    )
    check_id = store.record_check(engine, record)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT placement, block, rank, page_position, url, norm_url, domain FROM results ORDER BY id"
            )
        ).all()
        body = connection.execute(text("SELECT body FROM payloads")).scalar()
    assert [tuple(r) for r in rows] == [
        (
            "paid",
            "top",
            1,
            1,
            "https://www.acme.example/statement?gclid=x",
            "https://acme.example/statement",
            "acme.example",
        ),
        (
            "organic",
            None,
            1,
            2,
            "https://news.bbc.co.uk/acme/",
            "https://news.bbc.co.uk/acme",
            "bbc.co.uk",
        ),
    ]
    assert len(body) < len(page.body) and zlib.decompress(body) == page.body
    with Session(engine) as session:
        assert store.load_payloads(session, check_id) == [("application/json", page.body)]


def test_a_check_is_written_in_one_transaction(engine) -> None:
    keyword_id = make_keyword(engine)
    bad_page = RawPage(b"x", "text/plain")
    bad_page.body = None  # type: ignore[assignment]  # makes the payload insert fail after the results
    record = store.CheckRecord(
        keyword_id,
        "replay",
        dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
        items=[Item("organic", "https://a.example/")],
        pages=[bad_page],
    )
    with pytest.raises((TypeError, IntegrityError)):
        store.record_check(engine, record)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM checks")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM results")).scalar() == 0


def test_failed_check_keeps_no_results(engine) -> None:
    keyword_id = make_keyword(engine)
    record = store.CheckRecord(
        keyword_id,
        "replay",
        dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
        status=CheckStatus.BLOCKED,
        items=[Item("organic", "https://a.example/")],
        error="captcha",
        error_kind=FailureKind.BLOCKED,
    )
    store.record_check(engine, record)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT status, error, result_count FROM checks")).one() == (
            "blocked",
            "captcha",
            0,
        )
        assert connection.execute(text("SELECT count(*) FROM results")).scalar() == 0


def test_postgres_urls_are_shown_without_password() -> None:
    assert (
        store.describe_target("postgresql+psycopg://me:secret@db/serp")
        == "postgresql+psycopg://me:***@db/serp"
    )
