"""Crisis alerts end to end (SPEC section 7): the day-by-day scenario of
tests/alert_scenario.py checked through the CLI, with a real webhook receiver on 127.0.0.1
that verifies every signature."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, func, select

from serptrack import store
from serptrack.cli import cli
from serptrack.snapshot import Item
from serptrack.store import outbox
from serptrack.store.checks import CheckRecord, record_checks
from serptrack.store.schema import (
    ALERT_ATTEMPTS,
    ALERT_DELIVERIES,
    ALERT_EVENTS,
    ALERT_MEMORY,
    CHECKS,
    KEYWORDS,
)
from tests.alert_scenario import CN, CW, DAYS, EXPECTED, OS, QUERY, write_scenario
from tests.loopback_server import Reply, Seen, base_url, loopback

SECRET = "whsec-5f1c0b9e7d2a44c1b8e3"
HOOK_PATH = "/hooks/T0KEN-in-the-path-9a8b7c"


class Receiver:
    """A webhook receiver: verifies each signature, answers as ``answer`` says."""

    def __init__(self, answer: Callable[[int], Reply] | None = None) -> None:
        self.answer = answer or (lambda _n: Reply(200, b"ok"))
        self.bodies: list[dict[str, Any]] = []
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, seen: Seen) -> Reply:
        timestamp = seen.headers["x-serptrack-timestamp"]
        signed = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + seen.body, hashlib.sha256)
        assert seen.headers["x-serptrack-signature"] == f"sha256={signed.hexdigest()}"
        assert seen.headers["content-type"] == "application/json"
        assert seen.path == HOOK_PATH
        with self.lock:
            self.count += 1
            number = self.count
        reply = self.answer(number)
        if 200 <= reply.status < 300:
            with self.lock:
                self.bodies.append(json.loads(seen.body))
        return reply


@contextmanager
def receiving(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> Iterator[Any]:
    with loopback(receiver) as server:
        monkeypatch.setenv("ACME_HOOK_URL", base_url(server) + HOOK_PATH)
        monkeypatch.setenv("ACME_HOOK_SECRET", SECRET)
        yield server


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args))


def check_day(runner: CliRunner, db: str, day: str, *extra: str) -> Result:
    return run(runner, "check", "acme-alerts", "--as-of", f"{day}T07:00:00Z", "--db", db, *extra)


def listed(runner: CliRunner, db: str) -> list[dict[str, Any]]:
    result = run(runner, "alerts", "list", "acme-alerts", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    return list(reversed(json.loads(result.stdout)))  # oldest first


def facts(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["at"][:10], e["kind"], e["view"], e["url"]) for e in events]


@pytest.fixture
def scenario(tmp_path: Path, runner: CliRunner, db_url: str) -> str:
    path = write_scenario(tmp_path)
    applied = run(runner, "apply", str(path), "--db", db_url)
    assert applied.exit_code == 0, applied.output
    return db_url


def test_the_scenario_fires_exactly_the_expected_events_each_delivered_once(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        for day in DAYS:
            check_day(runner, scenario, day)
    events = listed(runner, scenario)
    assert facts(events) == EXPECTED
    assert {e["state"] for e in events} == {"sent"}
    assert all(e["deliveries"][0]["attempts"] == 1 for e in events)
    # the receiver got each event once, with the SPEC body
    assert sorted(b["id"] for b in receiver.bodies) == sorted(e["id"] for e in events)
    body = next(b for b in receiver.bodies if b["kind"] == "overtake")
    assert list(body) == [
        "schema",
        "id",
        "campaign",
        "rule",
        "kind",
        "query",
        "country",
        "language",
        "device",
        "view",
        "at",
        "check_id",
        "url",
        "position",
        "official_url",
        "official_position",
        "critical_url",
        "critical_position",
        "text",
    ]
    assert body["schema"] == "serptrack-alert/1"
    assert (body["campaign"], body["query"], body["country"], body["language"]) == (
        "acme-alerts",
        QUERY,
        "us",
        "en",
    )
    assert (body["url"], body["position"], body["official_url"]) == (OS, 1, OS)
    assert (body["critical_url"], body["critical_position"]) == (CN, 2)
    assert body["at"] == "2026-05-05T07:00:00Z" and body["rule"] == "overtake#1"
    lost = next(b for b in receiver.bodies if b["kind"] == "lost" and b["view"] == "organic")
    assert (lost["url"], lost["position"], lost["official_position"]) == (CW, 1, 2)
    failing = next(b for b in receiver.bodies if b["kind"] == "failing")
    assert failing["url"] is None and failing["position"] is None
    assert "last 2 checks" in failing["text"]


def test_a_retried_check_and_a_rerun_fire_nothing_twice(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        for day in DAYS[:6]:
            check_day(runner, scenario, day)
        before = listed(runner, scenario)
        for day in DAYS[4:6]:  # the same days again: same pages, nothing new
            check_day(runner, scenario, day)
        check_day(runner, scenario, DAYS[5])
    assert listed(runner, scenario) == before
    assert len(receiver.bodies) == len(before)


def test_an_older_check_stored_late_fires_nothing(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiving(monkeypatch, Receiver()):
        for day in (DAYS[0], DAYS[1], DAYS[5]):
            check_day(runner, scenario, day)
        count = len(listed(runner, scenario))
        check_day(runner, scenario, DAYS[4])  # day 5, stored after day 6: history, not news
    assert len(listed(runner, scenario)) == count


def test_no_alerts_finds_nothing_but_the_baseline_follows(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        for day in DAYS[:5]:
            check_day(runner, scenario, day, "--no-alerts")
        assert listed(runner, scenario) == []
        check_day(runner, scenario, DAYS[5])
    # day 6 compares with day 5 (seen under --no-alerts), never with an older check
    assert facts(listed(runner, scenario)) == [e for e in EXPECTED if e[0] == DAYS[5]]
    assert len(receiver.bodies) == 5


def test_backfill_finds_no_events_unless_asked(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        result = run(
            runner, "backfill", "acme-alerts", "--from", DAYS[0], "--to", DAYS[4], "--db", scenario
        )
        assert result.exit_code == 1  # days 3 and 4 fail
        assert listed(runner, scenario) == [] and receiver.bodies == []
        result = run(
            runner,
            "backfill",
            "acme-alerts",
            "--from",
            DAYS[5],
            "--to",
            DAYS[-1],
            "--alerts",
            "--db",
            scenario,
        )
        assert result.exit_code == 0, result.output
    assert facts(listed(runner, scenario)) == [e for e in EXPECTED if e[0] >= DAYS[5]]
    assert len(receiver.bodies) == len([e for e in EXPECTED if e[0] >= DAYS[5]])


def test_a_receiver_failing_with_500_is_retried_and_acknowledged_once(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver(lambda n: Reply(500, b"oops") if n == 1 else Reply(200, b"ok"))
    with receiving(monkeypatch, receiver):
        for day in DAYS[:2]:
            check_day(runner, scenario, day)
    (event,) = listed(runner, scenario)
    assert event["state"] == "sent"
    assert event["deliveries"][0]["attempts"] == 2
    assert receiver.count == 2 and len(receiver.bodies) == 1
    with store.connect(scenario).connect() as connection:
        attempts = connection.execute(
            select(ALERT_ATTEMPTS.c.ok, ALERT_ATTEMPTS.c.status_code).order_by(ALERT_ATTEMPTS.c.id)
        ).all()
    assert [(a.ok, a.status_code) for a in attempts] == [(False, 500), (True, 200)]
    log = event["deliveries"][0]["log"]
    assert [(entry["ok"], entry["status"]) for entry in log] == [(False, 500), (True, 200)]
    assert "500" in log[0]["error"] and log[1]["error"] is None


def test_a_dead_receiver_does_not_hold_the_run_and_alerts_send_delivers_later(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hanging = Receiver(lambda _n: Reply(200, b"ok", delay=30))
    with receiving(monkeypatch, hanging):
        check_day(runner, scenario, DAYS[0])
        started = time.monotonic()
        result = check_day(runner, scenario, DAYS[1], "--alert-budget", "1")
        took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert took < 10, took  # bounded by --alert-budget, not by the receiver
    assert "0 sent, 1 pending (run `serptrack alerts send` to retry)" in result.stderr
    (event,) = listed(runner, scenario)
    assert event["state"] == "pending"
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        sent = run(runner, "alerts", "send", "--db", scenario)
    assert sent.exit_code == 0, sent.output
    assert "1 sent" in sent.stdout
    assert [b["id"] for b in receiver.bodies] == [event["id"]]
    (event,) = listed(runner, scenario)
    assert event["state"] == "sent"


def test_a_receiver_refusing_with_404_is_not_retried(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver(lambda _n: Reply(404, b"no_service"))
    with receiving(monkeypatch, receiver):
        for day in DAYS[:2]:
            result = check_day(runner, scenario, day)
        sent = run(runner, "alerts", "send", "--db", scenario)
    assert "1 failed (see `serptrack alerts list`)" in result.stderr
    assert receiver.count == 1
    (event,) = listed(runner, scenario)
    assert event["state"] == "failed"
    assert event["deliveries"][0]["last_status"] == 404
    assert sent.exit_code == 0 and "No alerts pending." in sent.stdout


def test_cooldown_keeps_a_repeat_but_does_not_send_it(
    runner: CliRunner, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_scenario(tmp_path, cooldown="5d")
    assert run(runner, "apply", str(path), "--db", db_url).exit_code == 0
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        for day in DAYS:
            check_day(runner, db_url, day)
    events = listed(runner, db_url)
    assert facts(events) == EXPECTED  # found all the same
    suppressed = [(e["at"][:10], e["kind"], e["view"]) for e in events if e["suppressed"]]
    # within 5 days of an event of the same rule, keyword and URL (whatever the view): day 6's
    # page view after its organic view, day 8 after day 5, day 9 after day 6
    assert suppressed == [
        ("2026-05-06", "lost", "page"),
        ("2026-05-08", "overtake", "organic"),
        ("2026-05-08", "overtake", "page"),
        ("2026-05-09", "lost", "organic"),
        ("2026-05-09", "lost", "page"),
        ("2026-05-09", "critical-enters", None),
        ("2026-05-09", "critical-share", None),
    ]
    assert {e["state"] for e in events if e["suppressed"]} == {"suppressed"}
    assert len(receiver.bodies) == len(EXPECTED) - len(suppressed)


def test_daily_cap_sends_one_notice_then_keeps_the_rest(
    runner: CliRunner, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_scenario(tmp_path, daily_cap=1)
    assert run(runner, "apply", str(path), "--db", db_url).exit_code == 0
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        for day in DAYS:
            check_day(runner, db_url, day)
    events = listed(runner, db_url)
    # one event per rule and UTC day is sent; the next is kept, and one notice goes out
    capped = [(e["at"][:10], e["kind"], e["view"], e["url"]) for e in events if e["suppressed"]]
    assert capped == [
        (DAYS[5], "lost", "page", CW),
        (DAYS[7], "overtake", "page", OS),
        (DAYS[8], "lost", "page", CW),
        (DAYS[8], "critical-enters", None, CN),
        (DAYS[8], "official-leaves", None, "https://acme.example/faq"),
    ]
    assert {e["suppressed"] for e in events if e["suppressed"]} == {"daily-cap"}
    notices = [(n["at"][:10], n["rule"]) for n in events if n["kind"] == "cap-reached"]
    assert notices == [
        (DAYS[5], "lost#2"),
        (DAYS[7], "overtake#1"),
        (DAYS[8], "lost#2"),
        (DAYS[8], "critical-enters#3"),
        (DAYS[8], "official-leaves#4"),
    ]
    assert [b["kind"] for b in receiver.bodies].count("cap-reached") == 5
    assert len(receiver.bodies) == len(EXPECTED)  # 5 kept back, 5 notices sent
    assert all(e["kind"] != "cap-reached" or e["state"] == "sent" for e in events)


def test_a_lost_memory_is_rebuilt_from_the_history(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiving(monkeypatch, Receiver()):
        for day in DAYS[:7]:
            check_day(runner, scenario, day)
        engine = store.connect(scenario)
        with engine.begin() as connection:  # as after an upgrade, or alerts added late
            connection.execute(delete(ALERT_MEMORY))
        for day in DAYS[7:]:
            check_day(runner, scenario, day)
        with engine.connect() as connection:
            assert connection.execute(select(ALERT_MEMORY.c.check_id)).scalar_one() > 0
        engine.dispose()
    assert facts(listed(runner, scenario)) == EXPECTED


def checkpoint(db: str) -> int:
    """The check the keyword's memory row was last written at (its checkpoint)."""
    engine = store.connect(db)
    with engine.connect() as connection:
        found = connection.execute(select(ALERT_MEMORY.c.check_id)).scalar_one()
    engine.dispose()
    return int(found)


def test_a_new_process_replays_the_checks_after_the_checkpoint_and_loses_or_doubles_nothing(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        for number, day in enumerate(DAYS):
            if number in (3, 4, 7):  # the process stops: only what it committed is left
                outbox._MEMORIES.clear()
            check_day(runner, scenario, day)
            if number == 2:  # days 2 and 3 were stepped in this process, not written
                assert checkpoint(scenario) < latest_check(scenario)
    events = listed(runner, scenario)
    assert facts(events) == EXPECTED
    assert sorted(b["id"] for b in receiver.bodies) == sorted(e["id"] for e in events)


def test_a_batch_that_rolls_back_leaves_no_memory_behind(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Crash(Exception):
        """The batch's transaction fails after its events were found (before commit)."""

    real = outbox.find_events

    def crashing(*args: Any, **kwargs: Any) -> int:
        real(*args, **kwargs)
        raise Crash

    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        for number, day in enumerate(DAYS):
            if number in (4, 6):
                with monkeypatch.context() as patched:
                    patched.setattr(outbox, "find_events", crashing)
                    assert check_day(runner, scenario, day).exit_code != 0
            check_day(runner, scenario, day)  # stored (again) and its events found once
    events = listed(runner, scenario)
    assert facts(events) == EXPECTED
    assert sorted(b["id"] for b in receiver.bodies) == sorted(e["id"] for e in events)


def test_the_checkpoint_is_written_every_so_many_checks(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "_CHECKPOINT_EVERY", 3)
    written = []
    with receiving(monkeypatch, Receiver()):
        for day in DAYS[:7]:
            check_day(runner, scenario, day)
            written.append(checkpoint(scenario) == latest_check(scenario))
    # day 1 builds the memory; then every third check stepped writes it
    assert written == [True, False, False, True, False, False, True]
    assert facts(listed(runner, scenario)) == [e for e in EXPECTED if e[0] <= DAYS[6]]


def latest_check(db: str) -> int:
    engine = store.connect(db)
    with engine.connect() as connection:
        found = connection.execute(select(func.max(CHECKS.c.id))).scalar_one()
    engine.dispose()
    return int(found)


def test_relabelling_rebuilds_the_memory_under_the_new_labels(
    runner: CliRunner, tmp_path: Path, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiving(monkeypatch, Receiver()):
        for day in DAYS[:8]:
            check_day(runner, scenario, day)
        # filler1 becomes critical: at day 9 it is at #3 and was #3 at day 8 (not entering),
        # so day 9's critical-enters are CW and CN only, as before
        path = tmp_path / "campaign.toml"
        text = path.read_text().replace(
            'critical = ["news.example"', 'critical = ["filler1.example", "news.example"'
        )
        text = text.replace('"filler1.example", "filler2', '"filler2')
        path.write_text(text)
        assert run(runner, "apply", str(path), "--db", scenario).exit_code == 0
        check_day(runner, scenario, DAYS[8])
    day9 = [e for e in listed(runner, scenario) if e["at"].startswith(DAYS[8])]
    assert sorted(e["url"] for e in day9 if e["kind"] == "critical-enters") == sorted([CW, CN])


def test_events_are_kept_with_their_check_and_the_outbox_is_consistent(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiving(monkeypatch, Receiver()):
        for day in DAYS:
            check_day(runner, scenario, day)
    engine = store.connect(scenario)
    with engine.connect() as connection:
        events = connection.execute(select(ALERT_EVENTS.c.id, ALERT_EVENTS.c.check_id)).all()
        deliveries = connection.execute(select(ALERT_DELIVERIES.c.event_id)).all()
    engine.dispose()
    assert len(events) == len(EXPECTED) and len(deliveries) == len(EXPECTED)
    history = json.loads(run(runner, "history", "acme-alerts", "--db", scenario, "--json").stdout)
    ok = {row["check_id"] for row in history if row["status"] == "ok"}
    failed = {row["check_id"] for row in history if row["status"] != "ok"}
    assert {e.check_id for e in events} <= ok | failed


def test_alerts_test_reaches_every_channel(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        result = run(runner, "alerts", "test", "acme-alerts", "--db", scenario)
    assert result.exit_code == 0, result.output
    assert result.stdout == "ops: sent\n"
    (body,) = receiver.bodies
    assert body["kind"] == "test" and body["query"] is None and body["url"] is None
    (event,) = listed(runner, scenario)
    assert event["kind"] == "test" and event["state"] == "sent"


def test_alerts_test_says_which_channel_failed(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_HOOK_URL", raising=False)
    result = run(runner, "alerts", "test", "acme-alerts", "--db", scenario)
    assert result.exit_code == 1
    assert result.stdout.startswith("ops: failed (")
    assert "ACME_HOOK_URL" in result.stdout
    assert result.stderr.strip().endswith("Error: 1 of 1 channels did not take the test alert")


def test_alerts_list_table_and_empty(runner: CliRunner, scenario: str) -> None:
    result = run(runner, "alerts", "list", "acme-alerts", "--db", scenario)
    assert result.exit_code == 0 and result.stdout == "No alert events for 'acme-alerts' yet.\n"
    missing = run(runner, "alerts", "list", "nope", "--db", scenario)
    assert missing.exit_code == 1 and "no campaign named 'nope'" in missing.stderr


def test_import_serp_finds_events_too(
    runner: CliRunner, scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    fixtures = tmp_path / "fixtures"
    with receiving(monkeypatch, receiver):
        for day in (DAYS[0], DAYS[1]):
            page = fixtures / day / "acme-recall.json"
            result = run(
                runner,
                "import-serp",
                str(page),
                "--campaign",
                "acme-alerts",
                "--query",
                QUERY,
                "--observed-at",
                f"{day}T07:00:00Z",
                "--db",
                scenario,
            )
            assert result.exit_code == 0, result.output
    assert facts(listed(runner, scenario)) == [EXPECTED[0]]
    assert len(receiver.bodies) == 1


def test_alerts_send_failed_retries_what_was_given_up(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiving(monkeypatch, Receiver(lambda _n: Reply(404, b"no_service"))):
        for day in DAYS[:2]:
            check_day(runner, scenario, day)
    assert [e["state"] for e in listed(runner, scenario)] == ["failed"]
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        plain = run(runner, "alerts", "send", "--db", scenario)
        again = run(runner, "alerts", "send", "acme-alerts", "--failed", "--db", scenario)
    assert plain.exit_code == 0 and plain.stdout == "No alerts pending.\n"  # given up: left
    assert again.exit_code == 0, again.output
    assert again.stdout == "Alerts: 1 sent.\n"
    (event,) = listed(runner, scenario)
    assert event["state"] == "sent" and event["deliveries"][0]["attempts"] == 1
    assert len(receiver.bodies) == 1


def test_rules_removed_then_added_back_start_from_the_history(
    runner: CliRunner, tmp_path: Path, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "campaign.toml"
    with_rules = path.read_text()
    without = with_rules.split("[alerts]")[0]
    with receiving(monkeypatch, Receiver()):
        for day in DAYS[:2]:
            check_day(runner, scenario, day)
        path.write_text(without)
        assert run(runner, "apply", str(path), "--db", scenario).exit_code == 0
        engine = store.connect(scenario)
        with engine.connect() as connection:
            assert connection.execute(select(ALERT_MEMORY.c.keyword_id)).all() == []
        for day in DAYS[4:7]:  # checked without alerting: no memory kept
            check_day(runner, scenario, day)
        path.write_text(with_rules)
        assert run(runner, "apply", str(path), "--db", scenario).exit_code == 0
        check_day(runner, scenario, DAYS[7])
        engine.dispose()
    # day 8 compares with day 7 (from the history), not with day 2 (the old memory)
    assert facts(listed(runner, scenario)) == [EXPECTED[0]] + [
        e for e in EXPECTED if e[0] == DAYS[7]
    ]


def test_doctor_says_what_alerting_needs_and_what_is_pending(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_HOOK_URL", raising=False)
    monkeypatch.setenv("ACME_HOOK_SECRET", SECRET)
    for day in DAYS[:2]:
        check_day(runner, scenario, day, "--alert-budget", "0")
    result = run(runner, "doctor", "--db", scenario)
    assert (
        "    alerts: 9 rules to ops (ACME_HOOK_URL not set); 1 deliveries pending, 0 given up "
        "(serptrack alerts list)"
    ) in result.stdout.splitlines()
    report = json.loads(run(runner, "doctor", "--db", scenario, "--json").stdout)
    assert report["campaigns"][0]["alerts"] == {
        "rules": 9,
        "channels": {"ops": ["ACME_HOOK_URL"]},
        "pending": 1,
        "failed": 0,
    }
    assert SECRET not in result.stdout


def test_backfill_alerts_finds_the_events_in_time_order_whatever_order_checks_finish(
    runner: CliRunner, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    with receiving(monkeypatch, receiver):
        result = run(
            runner,
            "backfill",
            "acme-alerts",
            "--from",
            DAYS[0],
            "--to",
            DAYS[-1],
            "--alerts",
            "--concurrency",
            "9",
            "--db",
            scenario,
        )
    assert result.exit_code == 1  # days 3 and 4
    assert facts(listed(runner, scenario)) == EXPECTED
    assert len(receiver.bodies) == len(EXPECTED)


def test_a_flood_past_the_daily_cap_is_kept_back_without_counting_again(
    tmp_path: Path, db_url: str, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checks of one UTC day whose critical result comes and goes: the first entry is sent,
    the second makes the one notice, the rest are kept back; once the cap is known reached
    (stored and noticed), a batch keeps its events back without reading the counts."""
    path = tmp_path / "flood.toml"
    path.write_text(
        '[campaign]\nname = "flood"\n\n[defaults]\nprovider = "serpapi"\ncountry = "us"\n'
        'language = "en"\n\n[labels]\ncritical = ["critic.example"]\n\n'
        '[alerts]\ndaily_cap = 1\n\n[alerts.channels.ops]\ntype = "webhook"\n'
        'url_env = "FLOOD_HOOK_URL"\n\n[[alerts.rules]]\non = "critical-enters"\ntop = 3\n'
        'channels = ["ops"]\n\n[[keywords]]\nquery = "acme flood"\n',
        encoding="utf-8",
    )
    assert run(runner, "apply", str(path), "--db", db_url).exit_code == 0
    engine = store.connect(db_url)
    with engine.connect() as connection:
        keyword_id = connection.execute(select(KEYWORDS.c.id)).scalar_one()
    reads = []
    real = outbox._Noise.read.__func__  # type: ignore[attr-defined]

    def counted(cls: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(outbox._Noise, "read", classmethod(counted))
    start = dt.datetime(2026, 6, 1, 1, tzinfo=dt.UTC)
    for hour in range(12):  # the critical result at #1, then #8, then #1 ...
        critical = Item("organic", "https://critic.example/acme")
        fillers = [Item("organic", f"https://site{n}.example/acme") for n in range(1, 8)]
        items = [critical, *fillers] if hour % 2 == 0 else [*fillers, critical]
        record = CheckRecord(keyword_id, "serpapi", start + dt.timedelta(hours=hour), items=items)
        record_checks(engine, [record])
    with engine.connect() as connection:
        events = connection.execute(
            select(ALERT_EVENTS.c.kind, ALERT_EVENTS.c.suppressed).order_by(
                ALERT_EVENTS.c.at, ALERT_EVENTS.c.ordinal
            )
        ).all()
    engine.dispose()
    # entries at hours 2, 4, ..., 10: one sent, one kept back with the notice, three kept back
    assert [tuple(e) for e in events] == [
        ("critical-enters", None),
        ("critical-enters", "daily-cap"),
        ("cap-reached", None),
        *[("critical-enters", "daily-cap")] * 3,
    ]
    # read at hours 2 and 4 (the cap is reached there) and 6 (which finds it noticed), not after
    assert len(reads) == 3
