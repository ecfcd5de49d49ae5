"""The url_stances table behind the analysis: complete, current and per campaign, whoever wrote."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlmodel import Session

from serptrack import analysis, store
from serptrack.cli import cli
from serptrack.store import checks as store_checks
from tests.conftest import write_snapshot
from tests.crisis_scenario import build, invoke, json_of, relabel

MIGRATIONS = Path(store.__file__).parent / "migrations"


def stance_rows(db: str) -> dict[str, tuple[str, str | None]]:
    engine = store.connect(db)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT norm_url, stance, rule FROM url_stances")).all()
    engine.dispose()
    return {url: (stance, rule) for url, stance, rule in rows}


def test_checks_record_the_stance_of_new_urls(runner: CliRunner, tmp_path: Path) -> None:
    db = build(runner, tmp_path)
    stances = stance_rows(db)
    assert stances["https://news.example/acme-breach"] == (
        "critical",
        "https://news.example/acme-breach",
    )
    assert stances["https://twitter.com/acme_help"] == ("official", "https://twitter.com/acme_help")
    assert stances["https://blog.example/acme-leak"] == ("neutral", None)


def test_apply_relabels_in_its_own_transaction(runner: CliRunner, tmp_path: Path) -> None:
    db = build(runner, tmp_path)
    relabel(runner, tmp_path, db, version=2)
    assert stance_rows(db)["https://blog.example/acme-leak"] == (
        "critical",
        "https://blog.example/acme-leak",
    )


def test_results_written_by_another_path_are_labelled_in_memory_until_the_next_write(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bulk loader (or any writer) that skips the check path leaves url_stances behind:
    # reads label its URLs in memory, without writing; the next apply stores them.
    monkeypatch.setattr(store_checks, "remember_url_stances", lambda *args: None)
    db = build(runner, tmp_path)
    assert stance_rows(db) == {}
    events = json_of(runner, "overtakes", "acme-breach", "--db", db)
    assert len(events) == 12
    assert stance_rows(db) == {}  # a read never writes
    monkeypatch.undo()
    relabel(runner, tmp_path, db, version=1)
    assert stance_rows(db)["https://watchdog.example/acme/report"][0] == "critical"
    assert json_of(runner, "overtakes", "acme-breach", "--db", db) == events


def test_the_next_check_covers_checks_another_writer_stored(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_checks, "remember_url_stances", lambda *args: None)
    db = build(runner, tmp_path)
    monkeypatch.undo()
    # a later day has no fixture: a failed check, stored through the check path all the same
    invoke(runner, "check", "acme-breach", "--as-of", "2026-04-30T07:00:00Z", "--db", db)
    assert stance_rows(db)["https://watchdog.example/acme/report"][0] == "critical"


def test_a_database_from_before_the_stance_table(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        now = "2026-03-01 07:00:00.000000"
        connection.execute(
            text(
                "INSERT INTO campaigns (id, name, brand, description, source_path, settings, created_at, updated_at) "
                "VALUES (1, 'old', 'Acme', '', '', '{}', :now, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO keywords (id, campaign_id, query, engine, country, language, device, location, "
                "provider, depth, schedule, timezone, tags, active, created_at, updated_at) "
                "VALUES (1, 1, 'acme', 'google', '', '', 'desktop', '', 'replay', 10, '1d', 'UTC', '[]', 1, :now, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO label_rules (campaign_id, stance, pattern, kind, key, position) VALUES "
                "(1, 'official', 'acme.example', 'host', 'acme.example', 0), "
                "(1, 'critical', 'news.example', 'host', 'news.example', 1)"
            )
        )
        for check_id, day, urls in (
            (1, "2026-03-01", ["https://news.example/a", "https://acme.example/s"]),
            (2, "2026-03-02", ["https://acme.example/s", "https://news.example/a"]),
        ):
            at = f"{day} 07:00:00.000000"
            connection.execute(
                text(
                    "INSERT INTO checks (id, keyword_id, provider, observed_at, status, result_count, created_at) "
                    "VALUES (:id, 1, 'replay', :at, 'ok', 2, :at)"
                ),
                {"id": check_id, "at": at},
            )
            for position, url in enumerate(urls, start=1):
                connection.execute(
                    text(
                        "INSERT INTO results (check_id, placement, rank, page_position, url, norm_url, domain, title, snippet) "
                        "VALUES (:c, 'organic', :p, :p, :u, :u, '', '', '')"
                    ),
                    {"c": check_id, "p": position, "u": url},
                )
    engine.dispose()
    upgraded = store.connect(str(db))  # runs 0002: every known URL gets a stale row
    assert stance_rows(str(db)) == {
        "https://news.example/a": ("neutral", None),
        "https://acme.example/s": ("neutral", None),
    }
    with Session(upgraded) as session:
        campaign = store.get_campaign(session, "old")
        [event] = analysis.overtakes(session, campaign, views=("organic",))
    upgraded.dispose()
    assert (event.kind, event.at) == ("overtake", dt.datetime(2026, 3, 2, 7, tzinfo=dt.UTC))
    # the stale rows were labelled in memory: the read wrote nothing
    assert stance_rows(str(db))["https://news.example/a"] == ("neutral", None)


def test_stances_are_per_campaign(db_url: str, runner: CliRunner, tmp_path: Path) -> None:
    db = db_url
    for name, critical in (("first", '["news.example"]'), ("second", "[]")):
        folder = tmp_path / name
        write_snapshot(
            folder / "fixtures",
            "2026-03-01",
            "acme",
            [
                {"placement": "organic", "url": "https://news.example/a"},
                {"placement": "organic", "url": "https://acme.example/s"},
            ],
            observed_at="2026-03-01T07:00:00Z",
        )
        (folder / "c.toml").write_text(
            f'[campaign]\nname = "{name}"\n[defaults]\nprovider = "replay"\n[providers.replay]\n'
            f'path = "fixtures"\n[[keywords]]\nquery = "acme"\n[labels]\n'
            f'official = ["acme.example"]\ncritical = {critical}\n',
            encoding="utf-8",
        )
        assert runner.invoke(cli, ["apply", str(folder / "c.toml"), "--db", db]).exit_code == 0
        result = runner.invoke(
            cli, ["backfill", name, "--from", "2026-03-01", "--to", "2026-03-01", "--db", db]
        )
        assert result.exit_code == 0
    [first] = json_of(runner, "status", "first", "--db", db)["keywords"]
    [second] = json_of(runner, "status", "second", "--db", db)["keywords"]
    assert (first["organic"]["leader"], first["critical_on_page_1"]) == ("critical", 1)
    assert (second["organic"]["leader"], second["critical_on_page_1"]) == ("official", 0)
