"""Storage that fails (a damaged file, a full disk) or cannot be written: one line, or an answer."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, event

from serptrack import store
from serptrack.cli import cli
from serptrack.errors import DamagedDatabaseError, DatabaseError, StorageFullError
from serptrack.store import engine as store_engine
from tests.crisis_scenario import build, campaign_text
from tests.test_migration_safety import ROOT, build_old, child_env
from tests.test_read_only import READS

CAMPAIGN = "acme-breach"


def sqlite(path: Path, **options: Any) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(path, **options))


def one_error_line(result: Result) -> str:
    """The command failed with one ``Error:`` line and no traceback; that line."""
    assert isinstance(result.exception, SystemExit), result.exception  # not an unhandled error
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert result.output.strip().splitlines()[-1] == errors[0]
    return errors[0]


def answer(runner: CliRunner, db: str, args: tuple[str, ...]) -> Any:
    """What a read command prints, less what names the database or the clock."""
    result = runner.invoke(cli, [*args, "--db", db])
    assert result.exit_code == 0, (args, result.output, result.exception)
    return normalised(args, result.stdout)


def normalised(args: tuple[str, ...] | list[str], stdout: str) -> Any:
    document = json.loads(stdout)
    if args[0] == "doctor":
        document.pop("database", None)
        document.pop("default_database", None)  # $SERPTRACK_HOME differs between tests
        document.pop("now", None)
    if args[0] == "report":
        document.pop("generated_at", None)
    return document


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crisis scenario's SQLite file, built once (tests copy it)."""
    folder = tmp_path_factory.mktemp("scenario")
    return Path(build(CliRunner(), folder))


@pytest.fixture(scope="module")
def expected(scenario: Path) -> dict[tuple[str, ...], Any]:
    """Every read command's answer on the writable scenario."""
    runner = CliRunner()
    return {args: answer(runner, str(scenario), args) for args in READS}


def copy_of(scenario: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / "serptrack.db"
    shutil.copyfile(scenario, target)
    return target


# --- a damaged file ---------------------------------------------------------------------------


def overwrite_pages(path: Path, pages: list[int]) -> None:
    """Write garbage over ``pages`` (numbered from 1) of the file, as a failing disk would."""
    with sqlite(path) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
    rng = random.Random(7)
    with path.open("r+b") as handle:
        for page in pages:
            handle.seek((page - 1) * size)
            handle.write(rng.randbytes(size))


def table_pages(path: Path, names: tuple[str, ...]) -> list[int]:
    with sqlite(path) as db:
        marks = ",".join("?" * len(names))
        rows = db.execute(f"SELECT pageno FROM dbstat WHERE name IN ({marks})", names)
        return sorted(row[0] for row in rows)


CORRUPTIONS = {
    "the pages of checks and results": lambda path: table_pages(
        path, ("checks", "results", "ix_results_norm_url_positions", "url_stances")
    ),
    "the middle third of the file": lambda path: list(
        range(path.stat().st_size // 4096 // 3, 2 * path.stat().st_size // 4096 // 3)
    ),
}


@pytest.mark.sqlite_only
@pytest.mark.parametrize("damage", list(CORRUPTIONS))
@pytest.mark.parametrize("command", ["status", "history"])
def test_a_file_damaged_mid_way_is_one_line_saying_how_to_restore_it(
    scenario: Path, tmp_path: Path, runner: CliRunner, damage: str, command: str
) -> None:
    db = copy_of(scenario, tmp_path / "damaged")
    pages = CORRUPTIONS[damage](db)
    assert len(pages) >= 5
    overwrite_pages(db, pages)
    line = one_error_line(runner.invoke(cli, [command, CAMPAIGN, "--db", str(db)]))
    assert f"Error: database {db} is damaged" in line
    assert "restore it from a backup" in line
    assert f'sqlite3 {db} ".recover"' in line


@pytest.mark.sqlite_only
@pytest.mark.parametrize("command", ["status", "history", "campaigns"])
def test_text_that_is_not_utf8_is_one_line_too(
    scenario: Path, tmp_path: Path, runner: CliRunner, command: str
) -> None:
    db = copy_of(scenario, tmp_path / "garbled")
    with sqlite(db) as connection:  # what a flipped bit in a text cell reads as
        connection.execute("UPDATE campaigns SET brand = CAST(x'41ff6d65' AS TEXT)")
        connection.commit()
    args = [command, *([CAMPAIGN] if command != "campaigns" else []), "--db", str(db)]
    line = one_error_line(runner.invoke(cli, args))
    assert "is damaged (Could not decode to UTF-8" in line
    assert ".recover" in line


@pytest.mark.sqlite_only
def test_the_damage_message_names_the_backup_an_upgrade_left(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    build_old(str(db), "0003", checks=50)
    store.connect(str(db)).dispose()  # upgrades, leaving old.db.bak-0003
    overwrite_pages(db, table_pages(db, ("results",)))
    engine = store.connect(str(db))
    try:
        with (
            engine.connect() as connection,
            pytest.raises(DamagedDatabaseError, match=r"serptrack's latest is .*old\.db\.bak-0003"),
        ):
            connection.exec_driver_sql("SELECT count(*), max(title) FROM results").all()
    finally:
        engine.dispose()


# --- a full disk ------------------------------------------------------------------------------


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every engine's connections may not grow the file: a full disk, as SQLite sees it."""
    real = store_engine._create_engine

    def capped(*args: Any, **kwargs: Any) -> Engine:
        engine = real(*args, **kwargs)

        @event.listens_for(engine, "connect")
        def _cap(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

        return engine

    monkeypatch.setattr(store_engine, "_create_engine", capped)
    yield


def big_campaign(folder: Path, keywords: int) -> Path:
    text = campaign_text(1).replace('name = "acme-breach"', 'name = "acme-big"')
    text += "".join(
        f'\n[[keywords]]\nquery = "acme breach {i} {"x" * 200}"\ncountry = "us"\nlanguage = "en"\n'
        for i in range(keywords)
    )
    path = folder / "big.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.sqlite_only
def test_a_full_disk_is_one_line_and_loses_nothing_stored_before(
    scenario: Path,
    tmp_path: Path,
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    disk_full: None,
) -> None:
    db = copy_of(scenario, tmp_path / "full")
    shutil.copytree(scenario.parent / "fixtures", tmp_path / "full" / "fixtures")
    campaign = big_campaign(tmp_path / "full", keywords=300)
    before = answer(runner, str(db), ("campaigns", "--json"))
    line = one_error_line(runner.invoke(cli, ["apply", str(campaign), "--db", str(db)]))
    assert line.startswith(f"Error: database sqlite:///{db}: the disk is full")
    assert "free some space and run the command again" in line
    assert "everything stored before is intact" in line
    monkeypatch.undo()  # space again
    assert answer(runner, str(db), ("campaigns", "--json")) == before
    with sqlite(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert runner.invoke(cli, ["apply", str(campaign), "--db", str(db)]).exit_code == 0


def test_postgresql_storage_failures_are_recognised_by_their_sqlstate() -> None:
    class Failure(Exception):
        def __init__(self, message: str, sqlstate: str) -> None:
            super().__init__(message)
            self.sqlstate = sqlstate

    shown = "postgresql+psycopg://me:***@db/serp"
    full = store_engine._storage_error(Failure("could not write block", "53100"), shown, None)
    damaged = store_engine._storage_error(Failure("invalid page in block", "XX001"), shown, None)
    assert isinstance(full, StorageFullError) and "the disk is full" in str(full)
    assert isinstance(damaged, DamagedDatabaseError)
    assert str(damaged) == (
        f"database {shown} is damaged (invalid page in block): restore it from a backup"
    )
    assert store_engine._storage_error(Failure("syntax error", "42601"), shown, None) is None


# --- a folder that cannot be written ----------------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def unwritable(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[Path]]:
    """Paths that ``os.access`` reports unwritable (tests run as root, which may write all)."""
    denied: set[Path] = set()
    real = os.access

    def access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
        if mode & os.W_OK and Path(path).resolve() in denied:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    yield denied


@pytest.mark.sqlite_only
@pytest.mark.parametrize("which", ["folder", "file"])
def test_reads_open_a_database_they_cannot_write_read_only_and_answer_the_same(
    scenario: Path,
    expected: dict[tuple[str, ...], Any],
    tmp_path: Path,
    runner: CliRunner,
    unwritable: set[Path],
    which: str,
) -> None:
    db = copy_of(scenario, tmp_path / "locked")
    unwritable.add((db.parent if which == "folder" else db).resolve())
    before = digest(db)
    engine = store.connect(str(db), create=False)
    try:
        reason = store_engine.opened_read_only(engine)
        assert engine.url.query.get("mode") == "ro"
    finally:
        engine.dispose()
    assert reason is not None
    assert reason.startswith(
        f"folder {db.parent} cannot be written" if which == "folder" else str(db)
    )
    assert "open read-only: commands that store data need it writable" in reason
    for args in READS:
        assert answer(runner, str(db), args) == expected[args], args
    assert digest(db) == before
    unwritable.clear()
    writable = store.connect(str(db), create=False)  # and a writable one opens as ever
    try:
        assert store_engine.opened_read_only(writable) is None
    finally:
        writable.dispose()


@pytest.mark.sqlite_only
def test_an_old_database_that_cannot_be_written_says_it_needs_one_upgrade(
    tmp_path: Path, unwritable: set[Path]
) -> None:
    db = tmp_path / "old" / "serptrack.db"
    db.parent.mkdir()
    build_old(str(db), "0003", checks=5)
    unwritable.add(db.parent.resolve())
    with pytest.raises(DatabaseError) as raised:
        store.connect(str(db), create=False)
    assert str(raised.value) == (
        f"database sqlite:///{db} is at schema 0003 and needs an upgrade to "
        f"{store_engine._script().get_current_head()}, but folder {db.parent} cannot be "
        "written: run a serptrack command on it once where it can be written"
    )
    unwritable.clear()
    given = f"sqlite:///file:{db}?mode=ro&uri=true"  # read-only as given, not as found
    with pytest.raises(
        DatabaseError, match=r"at schema 0003 and needs an upgrade to .*, but it is open read-only"
    ):
        store.connect(given, create=False)
    upgraded = store.connect(str(db))  # writable: upgrades as ever
    try:
        assert store.schema_revision(upgraded) == store_engine._script().get_current_head()
    finally:
        upgraded.dispose()


# Each read command, run in a process that sees the folder read-only for real.
READER = """\
import json, sys
from click.testing import CliRunner
from serptrack.cli import cli
runner = CliRunner()
answers = []
for args in json.loads(sys.argv[2]):
    result = runner.invoke(cli, [*args, "--db", sys.argv[1]])
    answers.append([result.exit_code, result.stdout, result.stderr, repr(result.exception)])
print(json.dumps(answers))
"""


def read_only_folder_command(folder: Path) -> list[str] | None:
    """A command prefix that runs what follows with ``folder`` read-only, or None if this
    machine offers none: a read-only bind mount in a private mount namespace as root (who
    ignores permissions), else the folder's own permissions."""
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0"',
            str(folder),
        ],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return None
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(folder)]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("wal", ["closed", "open elsewhere"])
def test_reads_answer_in_a_folder_that_is_really_read_only(
    scenario: Path, expected: dict[tuple[str, ...], Any], tmp_path: Path, wal: str
) -> None:
    folder = tmp_path / "mounted"
    db = copy_of(scenario, folder)
    prefix = read_only_folder_command(folder)
    if prefix is None:
        pytest.skip("no way to make a folder read-only for root here (unshare -m)")
    writer = None
    if wal == "open elsewhere":  # a writer elsewhere holds it open: -wal and -shm exist
        writer = sqlite3.connect(db)
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute("SELECT count(*) FROM checks").fetchone()
        assert (folder / "serptrack.db-shm").exists()
    before = digest(db)
    reads = [list(args) for args in READS]
    write = ["check", CAMPAIGN, "--as-of", "2026-04-30T07:00:00Z"]
    if not prefix:
        folder.chmod(0o555)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", READER, str(db), json.dumps([*reads, write])],
            capture_output=True,
            text=True,
            env=child_env(),
            cwd=ROOT,
            timeout=300,
            check=False,
        )
    finally:
        folder.chmod(0o755)
        if writer is not None:
            writer.close()
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    for args, (code, stdout, stderr, exception) in zip(reads, answers, strict=False):
        assert code == 0, (args, stderr, exception)
        assert normalised(args, stdout) == expected[tuple(args)], args
    code, stdout, stderr, exception = answers[-1]
    assert code == 1 and exception.startswith("SystemExit"), (stderr, exception)
    assert "Traceback" not in stdout + stderr
    assert [line for line in stderr.splitlines() if line.startswith("Error:")] == [
        stderr.strip()
    ], stderr
    assert "cannot be written" in stderr or "read-only" in stderr, stderr
    assert digest(db) == before
