"""The worker's claims on the wall clock: stamped when claimed, renewed while checks run, lost ones
neither fetched nor stored, and a dead worker's taken over after its lease.

In-process: two workers on fake host names share one database (SQLite, or PostgreSQL with
SERPTRACK_TEST_POSTGRES), a fake wall clock decides every lease, and each worker fetches from
its own SerpApi-shaped ``httpx.MockTransport`` that counts the calls it is paid for. The second
worker runs in a thread while the first one's check is in flight.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from serptrack import store, tracker, worker
from serptrack.campaign import load_campaign_file
from serptrack.cli import cli
from serptrack.errors import DatabaseError
from serptrack.fetch import Fetcher
from serptrack.models import Check, SlotClaim
from serptrack.store import claims
from serptrack.vocabulary import OutcomeStatus

from .providers_support import FAST, FakeClock, fixture

KEY = {"SERPAPI_API_KEY": "worker-test-key-0000"}
AS_OF = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)  # what a round stands for (`--as-of`)
SLOT = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)  # the daily slot due as of AS_OF
WALL = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)  # the wall clock when the round starts
LEASE = dt.timedelta(seconds=10)
FAST_BEAT = dt.timedelta(milliseconds=10)  # a live worker's heartbeat, in real time
NO_BEAT = dt.timedelta(hours=1)  # a stalled worker: no heartbeat within the test
PAGE = fixture("serpapi", "no_ads.json")

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class WallClock:
    """The fake wall clock both workers read; only the test moves it."""

    def __init__(self, at: dt.datetime = WALL) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


class Api:
    """A worker's SerpApi: counts the calls per query, then lets ``during`` run before answering."""

    def __init__(self, during: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.during = during

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        query = request.url.params["q"]
        self.calls[query] += 1
        if self.during is not None:
            await self.during(query)
        return httpx.Response(200, content=PAGE, headers={"content-type": "application/json"})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def campaign(engine: Engine, folder: Path, keywords: int) -> dict[str, int]:
    """A daily SerpApi campaign of ``keywords`` queries; their keyword ids by query."""
    lines = [
        '[campaign]\nname = "leases"\n',
        '[defaults]\nprovider = "serpapi"\ncountry = "us"\nlanguage = "en"\nschedule = "1d"\n'
        "depth = 5\n",
        '[providers.serpapi]\nbase_url = "https://serpapi.test"\n',
    ]
    lines += [f'[[keywords]]\nquery = "keyword {n}"\n' for n in range(keywords)]
    path = folder / "leases.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    store.apply_campaign(engine, load_campaign_file(path))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT query, id FROM keywords")).all()
    return {query: keyword_id for query, keyword_id in rows}


def run(
    engine: Engine,
    api: Api,
    wall: WallClock,
    host: str,
    *,
    now: dt.datetime | None = None,
    concurrency: int = 3,
    renew_every: dt.timedelta = FAST_BEAT,
) -> worker.RoundReport:
    """One round of the worker ``host`` as of ``now`` (the wall clock's time by default)."""
    return worker.run_round(
        engine,
        now=now or wall(),
        worker=host,
        concurrency=concurrency,
        lease=LEASE,
        environ=KEY,
        client=api.client(),
        fetcher=Fetcher(FAST, clock=FakeClock(), rand=lambda: 0.5),
        clock=wall,
        renew_every=renew_every,
    )


def claim_rows(engine: Engine) -> dict[int, SlotClaim]:
    """Every claim, by keyword id (one slot each)."""
    with Session(engine) as session:
        return {claim.keyword_id: claim for claim in session.exec(select(SlotClaim))}


def stored_checks(engine: Engine) -> dict[int, Check]:
    """Every stored check, by id."""
    with Session(engine) as session:
        return {check.id or 0: check for check in session.exec(select(Check))}


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Wait (in real time, letting the worker's loop run) until ``condition()`` holds, or not."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def fetcher() -> Fetcher:
    return Fetcher(FAST, clock=FakeClock(), rand=lambda: 0.5)


def test_leases_are_stamped_from_the_wall_clock_when_each_chunk_is_claimed(
    engine: Engine, tmp_path: Path
) -> None:
    ids = campaign(engine, tmp_path, 5)
    wall = WallClock()
    seen: list[tuple[dt.datetime, SlotClaim]] = []

    async def an_hour_each(query: str) -> None:
        seen.append((wall(), claim_rows(engine)[ids[query]]))
        wall.advance(3600)  # a long round: every check takes far longer than the lease

    # as of a past time (`check --due --as-of`), one at a time: two chunks of claims (4 + 1)
    report = run(
        engine, Api(an_hour_each), wall, "host-a:1", now=AS_OF, concurrency=1, renew_every=NO_BEAT
    )
    assert (report.due, report.claimed, report.count(OutcomeStatus.OK)) == (5, 5, 5)
    assert len(seen) == 5
    for fetched_at, claim in seen:
        assert claim.worker == "host-a:1" and claim.check_id is None
        assert claim.claimed_at <= fetched_at < claim.lease_until  # never fetched on a dead lease
    # each chunk stamped when it was claimed, on the wall clock, never as of AS_OF
    assert sorted({claim.claimed_at for _, claim in seen}) == [WALL, WALL + dt.timedelta(hours=4)]
    # the checks still stand for the round's slot
    assert [check.slot for check in stored_checks(engine).values()] == [SLOT] * 5
    assert all(claim.check_id for claim in claim_rows(engine).values())


def test_a_live_workers_claims_are_renewed_so_another_host_cannot_take_them_over(
    engine: Engine, tmp_path: Path
) -> None:
    ids = campaign(engine, tmp_path, 3)
    wall = WallClock()
    other = Api()
    others: list[worker.RoundReport] = []
    renewed: list[bool] = []
    released = asyncio.Event()

    async def slow(query: str) -> None:
        if sum(seen.calls.values()) < len(ids):
            await released.wait()
            return
        # all three checks are in flight (nothing left to start): only the heartbeat renews
        wall.advance(11)  # the checks outlast the lease they were claimed with
        renewed.append(
            await until(lambda: all(c.lease_until > wall() for c in claim_rows(engine).values()))
        )
        # worker B, on another host, starts its round now, while A's checks are in flight
        others.append(await asyncio.to_thread(run, engine, other, wall, "host-b:2"))
        released.set()

    seen = Api(slow)
    report = run(engine, seen, wall, "host-a:1", concurrency=3)
    (report_b,) = others
    assert (report_b.due, report_b.claimed, report_b.outcomes) == (3, 0, [])
    assert other.calls == Counter()
    assert seen.calls == Counter({query: 1 for query in ids})  # every slot paid once
    assert renewed == [True]
    assert (report.claimed, report.count(OutcomeStatus.OK)) == (3, 3)
    checks = stored_checks(engine)
    assert sorted(check.keyword_id for check in checks.values()) == sorted(ids.values())
    claimed = claim_rows(engine)
    assert {claim.worker for claim in claimed.values()} == {"host-a:1"}
    assert {claim.check_id for claim in claimed.values()} == set(checks)


def test_a_claim_lost_while_its_worker_stalled_is_neither_stored_nor_fetched(
    engine: Engine, tmp_path: Path
) -> None:
    ids = campaign(engine, tmp_path, 2)
    wall = WallClock()
    other = Api()
    others: list[worker.RoundReport] = []

    async def stall(query: str) -> None:
        if not others:
            wall.advance(11)  # A stalls past its lease with its heartbeat silent
            others.append(await asyncio.to_thread(run, engine, other, wall, "host-b:2"))

    mine = Api(stall)
    # one at a time: the second check is still waiting to start when B takes both over
    report = run(engine, mine, wall, "host-a:1", concurrency=1, renew_every=NO_BEAT)
    (report_b,) = others
    assert (report_b.claimed, report_b.count(OutcomeStatus.OK)) == (2, 2)
    assert other.calls == Counter({query: 1 for query in ids})
    assert sum(mine.calls.values()) == 1  # A never paid for a slot B held
    assert report.claimed == 2
    assert [o.status for o in report.outcomes] == [OutcomeStatus.SKIPPED] * 2
    assert all(o.check_id == 0 for o in report.outcomes)
    errors = sorted(o.error or "" for o in report.outcomes)
    assert errors[0].startswith("not fetched: another worker took over the slot's claim")
    assert errors[1].startswith("not stored: another worker took over the slot's claim")
    assert "0 ok, 0 failed, 2 skipped" in report.line("host-a:1")
    # B's checks are the ones stored, and its claims are done with them
    b_checks = {o.check_id for o in report_b.outcomes}
    assert set(stored_checks(engine)) == b_checks
    claimed = claim_rows(engine)
    assert {claim.worker for claim in claimed.values()} == {"host-b:2"}
    assert {claim.check_id for claim in claimed.values()} == b_checks


def test_a_check_whose_claim_was_lost_unnoticed_is_discarded_by_the_store(
    engine: Engine, tmp_path: Path
) -> None:
    (keyword,) = campaign(engine, tmp_path, 1).values()
    token, _ = claims.claim_slots(
        engine, [(keyword, SLOT)], now=WALL, worker="host-a:1", lease=LEASE
    )
    claims.claim_slots(
        engine, [(keyword, SLOT)], now=WALL + 2 * LEASE, worker="host-b:2", lease=LEASE
    )
    with Session(engine) as session:
        chosen = store.get_campaign(session, "leases")
        tasks = [replace(t, claim_token=token) for t in tracker.plan_due(session, chosen, AS_OF)]
        providers = tracker.build_providers([chosen], tasks, KEY)
    api = Api()
    # nothing tells run_checks the claim is lost: the write path finds out and drops the check
    (outcome,) = tracker.run_checks(
        engine, tasks, providers, client=api.client(), fetcher=fetcher()
    )
    assert (outcome.status, outcome.check_id) == (OutcomeStatus.SKIPPED, 0)
    assert outcome.error and "taken over by another worker" in outcome.error
    assert api.calls == Counter({"keyword 0": 1})
    with engine.connect() as connection:
        for table in ("checks", "results", "payloads"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
    claim = claim_rows(engine)[keyword]
    assert (claim.worker, claim.check_id) == ("host-b:2", None)


def test_a_dead_workers_claim_is_taken_over_once_its_lease_has_passed(
    engine: Engine, tmp_path: Path
) -> None:
    (keyword,) = campaign(engine, tmp_path, 1).values()
    # worker A (another host) claimed the slot, then died: nothing renews its claim
    claims.claim_slots(engine, [(keyword, SLOT)], now=WALL, worker="host-a:1", lease=LEASE)
    wall = WallClock(WALL + dt.timedelta(seconds=9))
    api = Api()
    early = run(engine, api, wall, "host-b:2", now=AS_OF)
    assert (early.due, early.claimed, early.outcomes) == (1, 0, [])
    assert api.calls == Counter()
    wall.advance(2)  # 11 s after A's claim, as of the same past time
    late = run(engine, api, wall, "host-b:2", now=AS_OF)
    assert (late.claimed, late.count(OutcomeStatus.OK)) == (1, 1)
    assert api.calls == Counter({"keyword 0": 1})
    claim = claim_rows(engine)[keyword]
    assert claim.worker == "host-b:2"
    assert claim.claimed_at == WALL + dt.timedelta(seconds=11)
    assert claim.check_id == late.outcomes[0].check_id
    assert stored_checks(engine)[late.outcomes[0].check_id].slot == SLOT


def test_the_worker_sleeps_until_the_next_slot_and_runs_it(engine: Engine, tmp_path: Path) -> None:
    ids = campaign(engine, tmp_path, 2)
    wall = WallClock()
    stop = threading.Event()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        wall.advance(seconds)
        if len(sleeps) == 2:
            stop.set()

    lines: list[str] = []
    api = Api()
    reports = worker.run_worker(
        engine,
        stop=stop,
        log=lines.append,
        poll=2 * 86400,
        clock=wall,
        worker="host-a:1",
        concurrency=2,
        lease=LEASE,
        environ=KEY,
        client=api.client(),
        fetcher=fetcher(),
        renew_every=FAST_BEAT,
        sleep=sleep,
    )
    # the next slot is midnight; the worker wakes a second past it
    assert sleeps == [12 * 3600 + 1.0, 24 * 3600.0]
    assert [(r.due, r.claimed, r.count(OutcomeStatus.OK)) for r in reports] == [(2, 2, 2)] * 2
    assert api.calls == Counter({query: 2 for query in ids})
    assert len(lines) == 2 and all("worker host-a:1: 2 due, 2 claimed, 2 ok" in x for x in lines)
    slots = Counter(check.slot for check in stored_checks(engine).values())
    assert slots == Counter({SLOT: 2, SLOT + dt.timedelta(days=1): 2})
    with Session(engine) as session:
        stamped = {claim.claimed_at for claim in session.exec(select(SlotClaim))}
    assert stamped == {WALL, WALL + dt.timedelta(seconds=12 * 3600 + 1)}


# --- a database that fails mid-round (disk full) ----------------------------------------------


class FullDisk:
    """The store's write (``write_checks``, inside each batch's transaction) fails when it
    would take the checks stored past ``after``, as SQLite does when the disk fills up (a
    batch refused is then written check by check, so exactly ``after`` are stored);
    ``full = False`` frees the disk."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, after: int) -> None:
        from serptrack.store import checks

        self.after = after
        self.full = True
        self.stored = 0
        self.refused = 0
        self._write = checks.write_checks
        monkeypatch.setattr(checks, "write_checks", self.write)

    def write(self, connection, records):
        if self.full and self.stored + len(records) > self.after:
            self.refused += 1
            raise OperationalError(
                "INSERT INTO checks ...", {}, sqlite3.OperationalError("database or disk is full")
            )
        ids = self._write(connection, records)
        self.stored += len(records)
        return ids


def open_claims(engine: Engine) -> int:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT count(*) FROM slot_claims WHERE check_id IS NULL")
        ).scalar()
    return int(found or 0)


def test_a_full_disk_stops_the_round_gives_back_its_claims_and_the_next_run_finishes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = campaign(engine, tmp_path, 20)  # chunks of 8 claims at concurrency 2
    wall = WallClock()
    disk = FullDisk(monkeypatch, after=3)
    api = Api()
    with pytest.raises(DatabaseError) as raised:
        run(engine, api, wall, "host-a:1", concurrency=2)
    message = str(raised.value)
    assert "database or disk is full" in message and "\n" not in message
    assert "unused claims given back" in message
    assert disk.refused >= 1
    stored = stored_checks(engine)
    assert 3 <= len(stored) < len(ids)
    assert f"after {len(stored)} stored checks" in message
    # no claim is left open: every claim left names a stored check
    assert open_claims(engine) == 0
    assert {claim.check_id for claim in claim_rows(engine).values()} == set(stored)
    # no chunk is claimed, and no check started, once the store failed
    assert sum(api.calls.values()) <= len(stored) + 8 < len(ids)
    # the disk is freed: the next round checks exactly the slots left
    disk.full = False
    again = Api()
    report = run(engine, again, wall, "host-b:2", concurrency=2)
    assert (report.due, report.claimed) == (len(ids) - len(stored), len(ids) - len(stored))
    assert report.count(OutcomeStatus.OK) == len(ids) - len(stored)
    checks = stored_checks(engine)
    assert sorted(check.keyword_id for check in checks.values()) == sorted(ids.values())
    assert {check.slot for check in checks.values()} == {SLOT}
    assert open_claims(engine) == 0
    assert {claim.check_id for claim in claim_rows(engine).values()} == set(checks)


def test_the_worker_loop_stops_on_a_database_failure_instead_of_retrying(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = campaign(engine, tmp_path, 4)
    FullDisk(monkeypatch, after=0)
    lines: list[str] = []
    stop = threading.Event()
    with pytest.raises(DatabaseError, match=r"database or disk is full"):
        worker.run_worker(
            engine,
            stop=stop,
            log=lines.append,
            clock=WallClock(),
            worker="host-a:1",
            concurrency=2,
            lease=LEASE,
            environ=KEY,
            client=Api().client(),
            fetcher=fetcher(),
            renew_every=FAST_BEAT,
            sleep=lambda _: stop.set(),
        )
    assert lines == []  # the error is the one line, said by the caller
    assert stored_checks(engine) == {} and open_claims(engine) == 0
    assert len(ids) == 4


WORKER_CAMPAIGN = """\
[campaign]
name = "disk"

[defaults]
provider = "replay"
schedule = "1d"

[providers.replay]
path = "fixtures"

[[keywords]]
query = "one"

[[keywords]]
query = "two"

[[keywords]]
query = "three"
"""


def test_serptrack_worker_says_one_error_line_and_exits_1_when_the_disk_is_full(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # keep pytest's own handlers
    path = tmp_path / "disk.toml"
    path.write_text(WORKER_CAMPAIGN, encoding="utf-8")
    (tmp_path / "fixtures").mkdir()  # no saved page: each check fails, and is stored so
    runner = CliRunner()
    assert runner.invoke(cli, ["apply", str(path), "--db", db_url]).exit_code == 0
    disk = FullDisk(monkeypatch, after=1)
    result = runner.invoke(cli, ["worker", "--once", "--concurrency", "1", "--db", db_url])
    assert result.exit_code == 1, result.output
    (line,) = result.output.splitlines()
    assert line.startswith("Error: the database failed during the run (database or disk is full)")
    assert "Traceback" not in result.output
    engine = store.connect(db_url)
    try:
        assert len(stored_checks(engine)) == 1 and open_claims(engine) == 0
        disk.full = False
        result = runner.invoke(cli, ["worker", "--once", "--db", db_url])
        assert result.exit_code == 0, result.output
        assert "2 due, 2 claimed" in result.output  # the slot stored before is not due
        checks = stored_checks(engine)
        assert len(checks) == 3 and len({(c.keyword_id, c.slot) for c in checks.values()}) == 3
        assert open_claims(engine) == 0
    finally:
        engine.dispose()


def test_a_round_sets_the_collector_for_its_run_and_puts_it_back(
    engine: Engine, tmp_path: Path
) -> None:
    # As for `check` (tracker.collector_for_a_run): what existed before the round is frozen
    # and the young are collected less often while it runs; afterwards all is as it was.
    campaign(engine, tmp_path, 2)
    seen: list[tuple[int, bool]] = []

    async def during(query: str) -> None:
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))

    before = gc.get_threshold(), gc.get_freeze_count()
    report = run(engine, Api(during), WallClock(), "host-a:1", now=AS_OF)
    assert report.count(OutcomeStatus.OK) == 2
    assert len(seen) == 2 and all(young >= 10_000 and frozen for young, frozen in seen)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
