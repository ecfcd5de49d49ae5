"""Scheduled checks across processes: every slot once, crashes and stops handled.

Real processes (`python -m serptrack`) share one database (SQLite, or PostgreSQL with
SERPTRACK_TEST_POSTGRES) and fetch from a SerpApi-shaped mock on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlmodel import Session

from serptrack import store, tracker
from serptrack.cli import cli
from tests.loopback_server import Reply, Seen, base_url, json_reply, loopback

KEY = "scaling-test-key-0000"


def serpapi_page(seen: Seen, delay: float = 0.0) -> Reply:
    query = seen.query.get("q", "")
    results = [
        {
            "position": n,
            "title": f"{query} {n}",
            "link": f"https://site{n}.example/{query.replace(' ', '-')}",
        }
        for n in range(1, 11)
    ]
    reply = json_reply({"search_metadata": {"status": "Success"}, "organic_results": results})
    reply.delay = delay
    return reply


def campaign_file(folder: Path, server_url: str, keywords: int) -> Path:
    lines = [
        '[campaign]\nname = "scale"\n',
        '[defaults]\nprovider = "serpapi"\ncountry = "us"\nlanguage = "en"\nschedule = "1d"\n',
        f'[providers.serpapi]\nbase_url = "{server_url}"\n',
    ]
    lines += [f'[[keywords]]\nquery = "keyword {n}"\n' for n in range(keywords)]
    path = folder / "scale.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def serptrack(*args: str) -> list[str]:
    return [sys.executable, "-m", "serptrack", *args]


def environment() -> dict[str, str]:
    return {**os.environ, "SERPAPI_API_KEY": KEY}


def counts(db: str) -> dict[str, int]:
    engine = store.connect(db)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT count(*), count(DISTINCT keyword_id), count(DISTINCT keyword_id || '@' || CAST(slot AS TEXT)),"
                " sum(CASE WHEN status = 'ok' THEN 1 ELSE 0 END) FROM checks"
            )
        ).one()
        open_claims = connection.execute(
            text("SELECT count(*) FROM slot_claims WHERE check_id IS NULL")
        ).scalar()
        torn = connection.execute(
            text(
                "SELECT count(*) FROM checks c WHERE c.result_count !="
                " (SELECT count(*) FROM results r WHERE r.check_id = c.id)"
            )
        ).scalar()
    engine.dispose()
    return {
        "checks": row[0],
        "keywords": row[1],
        "slots": row[2],
        "ok": row[3] or 0,
        "open_claims": open_claims,
        "torn": torn,
    }


@pytest.fixture
def mock_api() -> Iterator[object]:
    with loopback(lambda seen: serpapi_page(seen, delay=0.01)) as server:
        yield server


def apply(runner: CliRunner, path: Path, db: str) -> None:
    result = runner.invoke(cli, ["apply", str(path), "--db", db])
    assert result.exit_code == 0, result.output


def test_four_workers_check_every_due_slot_exactly_once(
    tmp_path: Path, db_url: str, runner: CliRunner, mock_api
) -> None:
    apply(runner, campaign_file(tmp_path, base_url(mock_api), 200), db_url)
    workers = [
        subprocess.Popen(
            serptrack("worker", "--once", "--concurrency", "10", "--db", db_url),
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    logs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0, 0], logs
    for _, stderr in logs:
        assert "database is locked" not in stderr
        assert " due, " in stderr and "claimed" in stderr
    assert counts(db_url) == {
        "checks": 200,
        "keywords": 200,
        "slots": 200,
        "ok": 200,
        "open_claims": 0,
        "torn": 0,
    }
    claimed = sum(int(stderr.split(" claimed")[0].rsplit(", ", 1)[1]) for _, stderr in logs)
    assert claimed == 200
    assert len(mock_api.seen) == 200
    assert all(seen.query["api_key"] == KEY for seen in mock_api.seen)


def test_two_check_due_runs_at_once_share_the_slots(
    tmp_path: Path, db_url: str, runner: CliRunner, mock_api
) -> None:
    apply(runner, campaign_file(tmp_path, base_url(mock_api), 60), db_url)
    runs = [
        subprocess.Popen(
            serptrack("check", "--due", "--json", "--db", db_url),
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all("database is locked" not in stderr for _, stderr in outputs)
    import json

    stored = [check for stdout, _ in outputs for check in json.loads(stdout)]
    assert len(stored) == 60 and len({check["query"] for check in stored}) == 60
    assert counts(db_url)["slots"] == 60
    # once done, the slots are not due any more
    again = subprocess.run(
        serptrack("check", "--due", "--json", "--db", db_url),
        env=environment(),
        capture_output=True,
        text=True,
    )
    assert (again.returncode, again.stdout.strip()) == (0, "[]")


def test_a_killed_worker_leaves_whole_checks_and_the_next_run_finishes(
    tmp_path: Path, db_url: str, runner: CliRunner
) -> None:
    with loopback(lambda seen: serpapi_page(seen, delay=0.2)) as server:
        apply(runner, campaign_file(tmp_path, base_url(server), 40), db_url)
        worker = subprocess.Popen(
            serptrack("worker", "--once", "--concurrency", "4", "--db", db_url),
            env=environment(),
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while counts(db_url)["checks"] < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        after_kill = counts(db_url)
        assert 5 <= after_kill["checks"] < 40
        assert after_kill["torn"] == 0  # no half-written check
        assert after_kill["open_claims"] > 0  # the dead worker's claims, taken over below at once
        rerun = subprocess.run(
            serptrack("worker", "--once", "--db", db_url),
            env=environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert rerun.returncode == 0, rerun.stderr
    assert counts(db_url) == {
        "checks": 40,
        "keywords": 40,
        "slots": 40,
        "ok": 40,
        "open_claims": 0,
        "torn": 0,
    }


def test_sigterm_finishes_checks_in_flight_and_exits_0(
    tmp_path: Path, db_url: str, runner: CliRunner
) -> None:
    with loopback(lambda seen: serpapi_page(seen, delay=0.3)) as server:
        apply(runner, campaign_file(tmp_path, base_url(server), 30), db_url)
        worker = subprocess.Popen(
            serptrack("worker", "--poll", "60", "--concurrency", "3", "--db", db_url),
            env=environment(),
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while len(server.seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
        asked = len(server.seen)
    assert worker.returncode == 0, stderr
    state = counts(db_url)
    assert state["checks"] == asked < 30  # every check it started was stored; none started after
    assert state["torn"] == 0 and state["open_claims"] == 0  # unused claims given back
    assert "skipped" in stderr.splitlines()[-1]


def test_a_missed_day_is_checked_once_not_once_per_missed_slot(
    db_url: str, runner: CliRunner, tmp_path: Path, mock_api
) -> None:
    apply(runner, campaign_file(tmp_path, base_url(mock_api), 2), db_url)
    engine = store.connect(db_url)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "scale")
        first = tracker.plan_due(session, campaign, dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))
        assert [t.slot for t in first] == [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)] * 2
        # three days later nothing ran in between: one check per keyword, for the latest slot
        later = tracker.plan_due(session, campaign, dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC))
        assert [t.slot for t in later] == [dt.datetime(2026, 3, 4, tzinfo=dt.UTC)] * 2
    engine.dispose()


def _unshare_works() -> bool:
    try:
        probe = subprocess.run(["unshare", "--uts", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs `unshare --uts` (root or user namespaces)")
def test_a_slow_check_keeps_its_claim_against_a_worker_on_another_host(
    tmp_path: Path, db_url: str, runner: CliRunner
) -> None:
    """The issue's reproduction: the provider takes longer than the lease; a second worker on
    another host (its own UTS namespace, so only the lease protects the claim) starts once the
    first worker's original lease has passed. The first worker renews, so nothing is paid twice."""
    with loopback(lambda seen: serpapi_page(seen, delay=15.0)) as server:
        apply(runner, campaign_file(tmp_path, base_url(server), 3), db_url)
        first = subprocess.Popen(
            serptrack("worker", "--once", "--lease", "10", "--concurrency", "3", "--db", db_url),
            env=environment(),
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while len(server.seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(10.5)  # the first worker's claims were stamped before its first call
        second = subprocess.run(
            [
                "unshare",
                "--uts",
                "sh",
                "-c",
                'hostname serptrack-other-host && exec "$0" "$@"',
                *serptrack("worker", "--once", "--lease", "10", "--db", db_url),
            ],
            env=environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        asked_meanwhile = len(server.seen)
        _, first_log = first.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (0, 0), (first_log, second.stderr)
    assert "worker serptrack-other-host:" in second.stderr
    assert "3 due, 0 claimed" in second.stderr
    assert "3 due, 3 claimed, 3 ok" in first_log
    assert asked_meanwhile == len(server.seen) == 3  # every keyword fetched once
    assert counts(db_url) == {
        "checks": 3,
        "keywords": 3,
        "slots": 3,
        "ok": 3,
        "open_claims": 0,
        "torn": 0,
    }
