"""Reads never write: every read command answers on a read-only database as on the writable one."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event

from serptrack import store
from serptrack.store import checks as store_checks
from tests.crisis_scenario import build, invoke, relabel

CAMPAIGN = "acme-breach"
READS: list[tuple[str, ...]] = [
    ("status", CAMPAIGN, "--json"),
    ("overtakes", CAMPAIGN, "--json"),
    ("paid", CAMPAIGN, "--json"),
    ("labels", "suggest", CAMPAIGN, "--json"),
    ("history", CAMPAIGN, "--json"),
    ("campaigns", "--json"),
    ("doctor", "--json"),
    ("report", CAMPAIGN, "--format", "json", "--out", "-"),
]
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|TRUNCATE)\b", re.I)


def answer(runner: CliRunner, db: str, args: tuple[str, ...]) -> Any:
    """The JSON a read command prints, without what names the database or the clock."""
    result = invoke(runner, *args, "--db", db)
    assert result.exit_code == 0, (args, result.output)
    document = json.loads(result.stdout)
    if args[0] == "doctor":
        document.pop("database", None)
        document.pop("now", None)
    if args[0] == "report":
        document.pop("generated_at", None)
    return document


def read_only_target(db: str) -> str:
    """The same database opened read-only: SQLite's mode=ro, PostgreSQL's read-only sessions."""
    if db.startswith("postgresql"):
        return db + "?options=-c%20default_transaction_read_only%3Don"
    copy = Path(db).with_name("copy.db")
    shutil.copyfile(db, copy)
    return f"sqlite:///file:{copy}?mode=ro&uri=true"


def digest(target: str) -> str | None:
    if not target.startswith("sqlite:///file:"):
        return None
    path = Path(target.removeprefix("sqlite:///file:").split("?")[0])
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The crisis scenario, built once: a database whose last command was a check."""
    return build(CliRunner(), tmp_path_factory.mktemp("scenario"))


@pytest.mark.parametrize("args", READS, ids=lambda args: " ".join(args[:2]))
def test_a_read_only_copy_taken_right_after_a_check_answers_the_same(
    scenario: str, args: tuple[str, ...], runner: CliRunner
) -> None:
    target = read_only_target(scenario)
    before = digest(target)
    assert answer(runner, target, args) == answer(runner, scenario, args)
    assert digest(target) == before


def test_a_read_only_copy_of_data_the_table_does_not_cover_yet(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checks stored by a writer that skipped url_stances: the read-only copy labels them in
    # memory and answers as the writable database does once apply has stored their stances.
    monkeypatch.setattr(store_checks, "remember_url_stances", lambda *args: None)
    db = build(runner, tmp_path)
    monkeypatch.undo()
    target = read_only_target(db)
    answers = {args: answer(runner, target, args) for args in READS[:5]}
    relabel(runner, tmp_path, db, version=1)
    for args, expected in answers.items():
        assert answer(runner, db, args) == expected, args


def test_no_read_command_issues_a_write(
    scenario: str, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[str] = []
    connect: Callable[..., Engine] = store.connect

    def recording(*args: Any, **kwargs: Any) -> Engine:
        engine = connect(*args, **kwargs)
        event.listen(
            engine, "before_cursor_execute", lambda *a: statements.append(str(a[2])), retval=False
        )
        return engine

    monkeypatch.setattr(store, "connect", recording)
    for args in READS:
        statements.clear()
        result = invoke(runner, *args, "--db", scenario)
        assert result.exit_code == 0, (args, result.output)
        assert statements, args  # the listener saw the command's queries
        writes = [s for s in statements if _WRITE.match(s)]
        assert writes == [], (args, writes[:3])


def test_a_write_on_a_read_only_database_is_one_clear_line(
    scenario: str, runner: CliRunner
) -> None:
    target = read_only_target(scenario)
    result = invoke(runner, "check", CAMPAIGN, "--as-of", "2026-04-30T07:00:00Z", "--db", target)
    assert result.exit_code == 1
    assert "read-only" in result.output
    assert "Traceback" not in result.output
