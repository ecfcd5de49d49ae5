"""``backfill`` claims its slots as ``check --due`` and the worker do: every slot once.

Real processes (`python -m serptrack`) share one database (SQLite, or PostgreSQL with
SERPTRACK_TEST_POSTGRES) and replay saved pages: a backfill beside another backfill of the
same days, or beside ``check --due``, stores exactly one check per slot (each duplicate would
be a paid call on a live API).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text
from sqlmodel import Session, select

from serptrack import store
from serptrack.cli import cli
from serptrack.models import Check, Keyword, SlotClaim
from tests.conftest import write_snapshot
from tests.test_scaling import counts, environment, serptrack

KEYWORDS = 10
DAYS = 30


def replay_campaign(folder: Path, days: list[dt.date]) -> Path:
    """A daily replay campaign of KEYWORDS queries with a saved page for each of ``days``."""
    queries = [f"keyword {n}" for n in range(KEYWORDS)]
    for day in days:
        for query in queries:
            results = [
                {"placement": "organic", "url": f"https://site{n}.example/{day}", "title": f"{n}"}
                for n in range(1, 11)
            ]
            write_snapshot(folder / "fixtures", day.isoformat(), query, results)
    lines = [
        '[campaign]\nname = "fill"\n',
        '[defaults]\nprovider = "replay"\ncountry = "us"\nlanguage = "en"\nschedule = "1d"\n',
        '[providers.replay]\npath = "fixtures"\n',
    ]
    lines += [f'[[keywords]]\nquery = "{query}"\n' for query in queries]
    path = folder / "fill.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def apply(runner: CliRunner, path: Path, db: str) -> None:
    result = runner.invoke(cli, ["apply", str(path), "--db", db])
    assert result.exit_code == 0, result.output


# `python -m serptrack ARGS`, except that the process first pays for its imports (about 3 s
# here, far longer than a replay backfill of 300 slots takes), says so and waits for the test's
# go: the test decides when each run plans, so the runs truly overlap
WAITING = """
import pathlib, sys, time
import serptrack.cli, serptrack.parsers, serptrack.providers, serptrack.store
import serptrack.tracker, serptrack.worker
ready, go, *args = sys.argv[1:]
pathlib.Path(ready).touch()
while not pathlib.Path(go).exists():
    time.sleep(0.005)
serptrack.cli.cli.main(args, prog_name="serptrack")
"""


class Run:
    """One ``serptrack`` process, held before it starts its command."""

    def __init__(self, folder: Path, name: str, *args: str) -> None:
        self.ready = folder / f"{name}.ready"
        self.go = folder / f"{name}.go"
        self.process = subprocess.Popen(
            [sys.executable, "-c", WAITING, str(self.ready), str(self.go), *args],
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.exists():
            assert self.process.poll() is None, self.process.communicate()
            assert time.monotonic() < deadline, "the process never got ready"
            time.sleep(0.01)

    def start(self) -> None:
        self.go.touch()

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        stdout, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stdout, stderr


def backfill(folder: Path, name: str, first: dt.date, last: dt.date, db: str) -> Run:
    return Run(
        folder, name, "backfill", "fill", "--from", first.isoformat(), "--to", last.isoformat(),
        "--concurrency", "2", "--json", "--db", db,
    )  # fmt: skip


def claims_without_checks(db: str) -> int:
    engine = store.connect(db)
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT count(*) FROM slot_claims s LEFT JOIN checks c ON c.id = s.check_id"
                " WHERE c.id IS NULL"
            )
        ).scalar()
    engine.dispose()
    return int(found or 0)


def test_two_overlapping_backfills_check_every_slot_once(
    tmp_path: Path, db_url: str, runner: CliRunner
) -> None:
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=n) for n in range(DAYS)]
    apply(runner, replay_campaign(tmp_path, days), db_url)
    runs = [backfill(tmp_path, f"fill-{n}", days[0], days[-1], db_url) for n in range(2)]
    for run in runs:
        run.wait_ready()
    for run in runs:
        run.start()
    finished = [run.finish() for run in runs]
    assert [code for code, _, _ in finished] == [0, 0], finished
    outputs = [(stdout, stderr) for _, stdout, stderr in finished]
    assert all("database is locked" not in stderr for _, stderr in outputs)
    stored = [check for stdout, _ in outputs for check in json.loads(stdout)]
    assert len(stored) == KEYWORDS * DAYS
    assert len({(check["query"], check["slot"]) for check in stored}) == KEYWORDS * DAYS
    assert {check["status"] for check in stored} == {"ok"}
    assert counts(db_url) == {
        "checks": KEYWORDS * DAYS,
        "keywords": KEYWORDS,
        "slots": KEYWORDS * DAYS,
        "ok": KEYWORDS * DAYS,
        "open_claims": 0,
        "torn": 0,
    }
    assert claims_without_checks(db_url) == 0
    # a run that found slots taken says so, on stderr (stdout stays one JSON document)
    for (stdout, stderr), other in zip(outputs, reversed(outputs), strict=True):
        mine, theirs = len(json.loads(stdout)), len(json.loads(other[0]))
        if theirs:
            assert f"{theirs} slot" in stderr and "another run claimed or checked" in stderr
        assert mine + theirs == KEYWORDS * DAYS
    # nothing is left to backfill
    again = subprocess.run(
        serptrack(
            "backfill", "fill", "--from", days[0].isoformat(), "--to", days[-1].isoformat(),
            "--db", db_url,
        ),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert (again.returncode, again.stdout) == (0, "0 checks: 0 ok, 0 failed or blocked.\n")


def test_a_backfill_beside_check_due_checks_todays_slots_once(
    tmp_path: Path, db_url: str, runner: CliRunner
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=DAYS - 1 - n) for n in range(DAYS)]
    apply(runner, replay_campaign(tmp_path, days), db_url)
    filling = backfill(tmp_path, "fill", days[0], today, db_url)
    due = Run(tmp_path, "due", "check", "--due", "--json", "--db", db_url)
    filling.wait_ready()
    due.wait_ready()
    # the backfill plans first (it stores only once it has planned), then `check --due` runs:
    # today's slots, the backfill's last, are then wanted by both
    filling.start()
    deadline = time.monotonic() + 120
    while counts(db_url)["checks"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    due.start()
    due_code, due_stdout, due_stderr = due.finish()
    fill_code, fill_stdout, fill_stderr = filling.finish()
    assert (fill_code, due_code) == (0, 0), (fill_stderr, due_stderr)
    assert "database is locked" not in fill_stderr + due_stderr
    checked_due = json.loads(due_stdout)
    checked_fill = json.loads(fill_stdout)
    assert len(checked_due) + len(checked_fill) == KEYWORDS * DAYS
    midnight = f"{today.isoformat()}T00:00:00Z"
    assert {check["slot"] for check in checked_due} <= {midnight}
    if checked_due:  # `check --due` took today's slots first: the backfill left them
        assert f"{len(checked_due)} slot" in fill_stderr
        assert "another run claimed or checked" in fill_stderr
    state = counts(db_url)
    assert state == {
        "checks": KEYWORDS * DAYS,
        "keywords": KEYWORDS,
        "slots": KEYWORDS * DAYS,
        "ok": KEYWORDS * DAYS,
        "open_claims": 0,
        "torn": 0,
    }
    assert claims_without_checks(db_url) == 0


def test_two_retry_failed_backfills_retry_a_failed_slot_once(
    tmp_path: Path, db_url: str, runner: CliRunner
) -> None:
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=n) for n in range(3)]
    apply(runner, replay_campaign(tmp_path, days), db_url)
    missing = tmp_path / "fixtures" / "2026-03-02" / "keyword-3.json"
    saved = missing.read_bytes()
    missing.unlink()
    first = runner.invoke(
        cli, ["backfill", "fill", "--from", "2026-03-01", "--to", "2026-03-03", "--db", db_url]
    )
    assert first.exit_code == 1 and "30 checks: 29 ok, 1 failed or blocked." in first.output
    # the failed slot's claim is done (it names the failed check): a retry must reopen it
    assert counts(db_url)["open_claims"] == 0
    missing.write_bytes(saved)
    retry = ["backfill", "fill", "--from", "2026-03-01", "--to", "2026-03-03", "--retry-failed"]
    runs = [Run(tmp_path, f"retry-{n}", *retry, "--json", "--db", db_url) for n in range(2)]
    for run in runs:
        run.wait_ready()
    for run in runs:
        run.start()
    finished = [run.finish() for run in runs]
    assert [code for code, _, _ in finished] == [0, 0], finished
    retried = [check for _, stdout, _ in finished for check in json.loads(stdout)]
    assert [(c["query"], c["slot"], c["status"]) for c in retried] == [
        ("keyword 3", "2026-03-02T00:00:00Z", "ok")
    ]
    assert sum("1 slot not checked here" in stderr for _, _, stderr in finished) == 1
    state = counts(db_url)
    assert (state["checks"], state["slots"], state["ok"]) == (31, 30, 30)
    assert state["open_claims"] == 0 and claims_without_checks(db_url) == 0
    # the slot's claim now names the successful check; the failure stays as evidence
    engine = store.connect(db_url)
    with Session(engine) as session:
        (keyword,) = session.exec(select(Keyword).where(Keyword.query == "keyword 3")).all()
        slot = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
        checks = session.exec(
            select(Check).where(Check.keyword_id == keyword.id, Check.slot == slot)
        ).all()
        claim = session.get(SlotClaim, (keyword.id, slot))
        rows = [
            (check.status, claim is not None and claim.check_id == check.id) for check in checks
        ]
    engine.dispose()
    assert sorted(rows) == [("failed", False), ("ok", True)]
