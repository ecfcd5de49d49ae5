"""Scheduled checks: one round runs every due slot exactly once; the worker repeats rounds.

A round plans the due slots of every campaign, claims them in the database (so concurrent
rounds on other processes or machines get disjoint work), runs them with the fetch engine and
gives back any claim it did not use. Between rounds the worker sleeps until the next slot.

Claims live on the wall clock (``clock``), apart from the logical time a round stands for
(``now``: the slots it plans, the checks' as-of): each chunk's claims are stamped when they are
claimed, a heartbeat renews them every third of the lease while their checks run, and a check
whose claim was lost anyway (the worker stalled past its lease and another took over) is
neither fetched nor stored.

:func:`run_claimed` is that claimed run for any list of slot tasks: a round's due slots, or
``backfill``'s past ones, so a backfill beside ``check --due``, a worker or another backfill
never pays twice for a slot. When the database fails during a run (disk full, connection
lost), no further check starts, those in flight end, the run's unused claims are given back
and a :class:`~serptrack.errors.DatabaseError` says so in one line: the next run checks the
slots left.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, delete, select, tuple_
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from . import store, tracker
from .defaults import DEFAULT_ALERT_BUDGET, DEFAULT_CONCURRENCY, DEFAULT_LEASE, DEFAULT_POLL
from .errors import DatabaseError, ProviderError
from .fetch import Fetcher, make_client
from .models import Campaign, Check, SlotClaim, utcnow
from .providers import Provider
from .snapshot import format_datetime
from .store import claims
from .vocabulary import FAILURE_STATUSES, CheckStatus, OutcomeStatus

__all__ = ["DEFAULT_POLL", "RoundReport", "next_wake", "run_claimed", "run_round", "run_worker"]

_CLAIM_BATCHES = 4  # slots claimed at a time, in multiples of the concurrency
_REOPEN_CHUNK = 400  # (keyword, slot) pairs per statement, as claims.py claims them


@dataclass
class RoundReport:
    """What one round did."""

    started: dt.datetime
    due: int = 0
    claimed: int = 0
    outcomes: list[tracker.CheckOutcome] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)  # campaigns skipped: a provider lacks its key
    seconds: float = 0.0
    next_slot: dt.datetime | None = None

    @property
    def stored(self) -> int:
        """How many checks this round stored."""
        return sum(1 for outcome in self.outcomes if outcome.check_id)

    def count(self, status: OutcomeStatus) -> int:
        """How many checks of this round ended with ``status``."""
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    def line(self, worker: str) -> str:
        """The one log line of the round."""
        failed = [o for o in self.outcomes if o.status in FAILURE_STATUSES]
        reasons = ", ".join(f"{r}: {n}" for r, n, _ in tracker.failure_summary(failed))
        text = (
            f"{format_datetime(self.started.replace(microsecond=0))} worker {worker}: {self.due} due, {self.claimed} claimed, "
            f"{self.count(OutcomeStatus.OK)} ok, {len(failed)} failed"
            + (f" ({reasons})" if reasons else "")
        )
        skipped = self.count(OutcomeStatus.SKIPPED)
        if skipped:
            text += f", {skipped} skipped"
        text += f" in {self.seconds:.1f} s"
        if self.unusable:
            text += "; not run: " + "; ".join(self.unusable)
        if self.next_slot:
            text += f"; next slot {format_datetime(self.next_slot)}"
        return text


def run_round(
    engine: Engine,
    *,
    now: dt.datetime,
    campaign: str | None = None,
    worker: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    lease: dt.timedelta = DEFAULT_LEASE,
    environ: Mapping[str, str] | None = None,
    strict_keys: bool = False,
    should_stop: Callable[[], bool] | None = None,
    on_done: Callable[[tracker.CheckOutcome], None] | None = None,
    record_dir: Path | None = None,
    client: httpx.AsyncClient | None = None,
    fetcher: Fetcher | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    renew_every: dt.timedelta | None = None,
    refuse_live: bool = False,
    alerts: bool = True,
) -> RoundReport:
    """Claim and run every due slot (of one campaign, or all); each slot is checked once.

    With ``refuse_live`` (a round that stands for a past ``now``), slots on live APIs are
    refused before anything is claimed: they can only answer for the present.

    ``now`` is what the round stands for (the slots due then, the checks' as-of); ``clock``
    is the wall clock the claims' leases are stamped from and renewed with (every
    ``renew_every``, a third of ``lease`` by default) while their checks run. ``client`` and
    ``fetcher`` are as for :func:`tracker.run_checks`. A campaign whose provider lacks its key
    is left for later (``strict_keys`` raises instead, as ``check --due`` does). Without
    ``alerts``, the checks find no alert events (their keywords' alert memory still follows).
    """
    started = time.monotonic()
    report = RoundReport(started=now)
    with _storage_errors_said(engine, report), Session(engine) as session:
        chosen = [store.get_campaign(session, campaign)] if campaign else _all_campaigns(session)
        planned = {c.name: tracker.plan_due(session, c, now) for c in chosen}
    tasks, providers = _usable(chosen, planned, environ, strict_keys, report)
    if not alerts:
        tasks = [replace(task, alerts=False) for task in tasks]
    if refuse_live:
        tracker.refuse_live_past([replace(task, past=True) for task in tasks], providers)
    report.due = sum(len(t) for t in planned.values())
    options = _Options(
        worker=worker or claims.worker_name(),
        concurrency=concurrency,
        lease=lease,
        renew_every=renew_every or lease / 3,
        clock=clock,
        client=client,
        fetcher=fetcher or Fetcher(),
        should_stop=should_stop,
        on_done=on_done,
        record_dir=record_dir,
        rotate=True,
    )
    _run(engine, tasks, providers, report, options)
    report.seconds = time.monotonic() - started
    with _storage_errors_said(engine, report):
        report.next_slot = next_wake(engine, now)
    return report


def run_claimed(
    engine: Engine,
    tasks: Sequence[tracker.CheckTask],
    providers: Mapping[tuple[str, str], Provider],
    *,
    now: dt.datetime | None = None,
    worker: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    lease: dt.timedelta = DEFAULT_LEASE,
    retry_failed: bool = False,
    should_stop: Callable[[], bool] | None = None,
    on_done: Callable[[tracker.CheckOutcome], None] | None = None,
    record_dir: Path | None = None,
    client: httpx.AsyncClient | None = None,
    fetcher: Fetcher | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    renew_every: dt.timedelta | None = None,
) -> RoundReport:
    """Run slot tasks (each with its ``slot``, e.g. from :func:`tracker.plan_backfill`) as a
    round runs its due slots: claimed a chunk at a time, in their order, leases renewed while
    they run; a slot another run holds or has checked meanwhile is not run (``claimed`` says
    how many were). With ``retry_failed``, a slot whose check failed or was blocked can be
    claimed again (its done claim is dropped first, only while its check is a failure).

    ``providers`` must serve every task (:func:`tracker.build_providers`); refusing past
    slots on live APIs is the caller's. Raises :class:`~serptrack.errors.DatabaseError`
    when the database fails meanwhile, once the unused claims are given back.
    """
    started = time.monotonic()
    report = RoundReport(started=now or clock(), due=len(tasks))
    options = _Options(
        worker=worker or claims.worker_name(),
        concurrency=concurrency,
        lease=lease,
        renew_every=renew_every or lease / 3,
        clock=clock,
        client=client,
        fetcher=fetcher or Fetcher(),
        should_stop=should_stop,
        on_done=on_done,
        record_dir=record_dir,
        retry_failed=retry_failed,
    )
    _run(engine, list(tasks), providers, report, options)
    report.seconds = time.monotonic() - started
    return report


@dataclass(frozen=True)
class _Options:
    """How a round runs its claimed checks."""

    worker: str
    concurrency: int
    lease: dt.timedelta
    renew_every: dt.timedelta
    clock: Callable[[], dt.datetime]
    client: httpx.AsyncClient | None
    fetcher: Fetcher
    should_stop: Callable[[], bool] | None
    on_done: Callable[[tracker.CheckOutcome], None] | None
    record_dir: Path | None
    rotate: bool = False  # start at a random place in the list (workers started together)
    retry_failed: bool = False  # a slot whose check failed may be claimed again


def _run(
    engine: Engine,
    tasks: list[tracker.CheckTask],
    providers: Mapping[tuple[str, str], Provider],
    report: RoundReport,
    options: _Options,
) -> None:
    """Run the claimed tasks in an event loop of their own; a database failure becomes one
    :class:`~serptrack.errors.DatabaseError` once the claims it left unused are given back."""
    with _storage_errors_said(engine, report), tracker.collector_for_a_run():
        asyncio.run(_run_claimed(engine, tasks, providers, report, options))


async def _run_claimed(
    engine: Engine,
    tasks: list[tracker.CheckTask],
    providers: Mapping[tuple[str, str], Provider],
    report: RoundReport,
    options: _Options,
) -> None:
    """Claim a few batches' worth of slots at a time, not every due slot at once, so workers
    started together share the work (with ``rotate``, each starts at its own place in the
    list; otherwise they go in order, and a second run of the same list takes the next chunk
    the first has not claimed); one client and one fetcher serve the whole run.

    When the database fails, no further check starts: the checks in flight end (stored if the
    database takes them), the chunk's unused claims are given back, then the error is raised.
    """
    chunk = max(1, options.concurrency) * _CLAIM_BATCHES
    offset = random.randrange(len(tasks)) if tasks and options.rotate else 0
    queue = tasks[offset:] + tasks[:offset]
    fetcher = options.fetcher
    client = options.client or make_client(options.concurrency, fetcher.policy)
    failures = _storage_errors(engine)
    broken: list[BaseException] = []

    def stopped() -> bool:
        return bool(broken) or (options.should_stop is not None and options.should_stop())

    try:
        while queue and not stopped():
            candidates, queue = queue[:chunk], queue[chunk:]
            pairs = [(t.keyword_id, _slot(t)) for t in candidates]
            if options.retry_failed:
                _reopen_failed(engine, pairs)
            claimed_at = options.clock()  # wall clock, never the round's logical now
            token, won = claims.claim_slots(
                engine, pairs, now=claimed_at, worker=options.worker, lease=options.lease
            )
            mine = [
                replace(t, claim_token=token) for t in candidates if (t.keyword_id, t.slot) in won
            ]
            report.claimed += len(mine)
            held = _Lease(engine, token, won, claimed_at, options)
            heartbeat = asyncio.create_task(held.beat())
            done: list[tracker.CheckOutcome] = []

            def finished(
                outcome: tracker.CheckOutcome, done: list[tracker.CheckOutcome] = done
            ) -> None:
                done.append(outcome)
                if options.on_done is not None:
                    options.on_done(outcome)

            before = asyncio.all_tasks()
            try:
                report.outcomes += await tracker.run_checks_async(
                    engine,
                    mine,
                    providers,
                    concurrency=options.concurrency,
                    client=client,
                    clock=options.clock,
                    fetcher=fetcher,
                    should_stop=stopped,
                    on_done=finished,
                    record_dir=options.record_dir,
                    claim_kept=held.kept,
                )
            except failures as error:
                broken.append(error)
                # the chunk's other checks run on: none starts now, those in flight end
                rest = await _settle(before)
                report.outcomes += done + [o for o in rest if not o.check_id]
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
                _give_back(engine, token, quiet=bool(broken), failures=failures)
    finally:
        if options.client is None:
            await client.aclose()
    if broken:
        raise broken[0]


async def _settle(before: set[asyncio.Task[Any]]) -> list[tracker.CheckOutcome]:
    """Wait for the tasks started since ``before`` (a chunk's checks) to end; their outcomes.

    Their errors are collected, not raised: the first one is already being handled."""
    current = asyncio.current_task()
    running = [task for task in asyncio.all_tasks() - before if task is not current]
    ended = await asyncio.gather(*running, return_exceptions=True)
    return [outcome for outcome in ended if isinstance(outcome, tracker.CheckOutcome)]


def _give_back(
    engine: Engine, token: str, *, quiet: bool, failures: tuple[type[BaseException], ...]
) -> None:
    """Release a chunk's unused claims. When the database already failed (``quiet``) and fails
    again here, the first error is the one to report: the claims left open are taken over
    at once by the next run on this machine (this process is gone), elsewhere after their
    lease."""
    try:
        claims.release(engine, token)
    except failures:
        if not quiet:
            raise


def _reopen_failed(engine: Engine, pairs: Sequence[claims.Claim]) -> None:
    """Drop the done claims of these slots whose check failed or was blocked, so that a
    ``--retry-failed`` run can claim them again (a done claim is never won).

    Only while the claim still names a failed check: two retries of the same slot both
    drop it, but one of them wins the new claim, and a slot retried successfully meanwhile
    keeps its claim.
    """
    failed = select(col(Check.id)).where(col(Check.status) != CheckStatus.OK)
    ordered = sorted(set(pairs))  # one global order for every writer, as claim_slots does
    with engine.begin() as connection:
        for first in range(0, len(ordered), _REOPEN_CHUNK):
            connection.execute(
                delete(SlotClaim).where(
                    tuple_(col(SlotClaim.keyword_id), col(SlotClaim.slot)).in_(
                        ordered[first : first + _REOPEN_CHUNK]
                    ),
                    col(SlotClaim.check_id).in_(failed),
                )
            )


def _storage_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    """What a failing database raises: SQLAlchemy's errors, serptrack's DatabaseError and the
    driver's own (PEP 249) errors, for what SQLAlchemy does not wrap."""
    dialect = engine.dialect
    driver = getattr(dialect, "loaded_dbapi", None) or getattr(dialect, "dbapi", None)
    own = getattr(driver, "Error", None)
    errors: tuple[type[BaseException], ...] = (SQLAlchemyError, DatabaseError)
    if isinstance(own, type) and issubclass(own, Exception):
        errors += (own,)
    return errors


@contextlib.contextmanager
def _storage_errors_said(engine: Engine, report: RoundReport) -> Iterator[None]:
    """Turn a database failure into one :class:`~serptrack.errors.DatabaseError` line."""
    try:
        yield
    except DatabaseError:
        raise
    except _storage_errors(engine) as error:
        cause = getattr(error, "orig", None) or error
        lines = str(cause).strip().splitlines() or [type(cause).__name__]
        raise DatabaseError(
            f"the database failed during the run ({lines[0][:200]}): stopped after "
            f"{report.stored} stored {'check' if report.stored == 1 else 'checks'}, with "
            "the unused claims given back; run again once it works (the slots left are "
            "checked then)"
        ) from None


class _Lease:
    """One chunk's claims (one token) kept alive while their checks run.

    The heartbeat extends the lease every ``renew_every``; a renewal that no longer finds a
    claim under this token marks it lost. A check about to be fetched or stored when the last
    renewal is two thirds of a lease old (the heartbeat is late: the process stalled, the
    database was slow) renews first, so a claim another worker took over meanwhile is known.
    """

    def __init__(
        self,
        engine: Engine,
        token: str,
        won: set[claims.Claim],
        claimed_at: dt.datetime,
        options: _Options,
    ) -> None:
        self._engine = engine
        self._token = token
        self._won = frozenset(won)
        self._clock = options.clock
        self._lease = options.lease
        self._every = options.renew_every
        self._lock = asyncio.Lock()
        self.expires = claimed_at + options.lease
        self.lost: set[claims.Claim] = set()

    def _late(self) -> bool:
        return self._clock() >= self.expires - self._lease / 3

    async def renew(self, *, if_late: bool = False) -> None:
        """Extend this token's leases from the wall clock now; note the claims it lost.

        With ``if_late``, only when the last renewal is two thirds of a lease old (so checks
        waiting on one renewal do not each renew again).
        """
        async with self._lock:
            if if_late and not self._late():
                return
            at = self._clock()
            renew = functools.partial(
                claims.renew, self._engine, self._token, now=at, lease=self._lease
            )
            held = await asyncio.get_running_loop().run_in_executor(None, renew)
            self.lost |= self._won - held
            self.expires = at + self._lease

    async def beat(self) -> None:
        """Renew every ``renew_every`` until cancelled; a failed renewal is retried next beat."""
        while True:
            await asyncio.sleep(self._every.total_seconds())
            try:
                await self.renew()
            except SQLAlchemyError:
                continue  # the checks confirm their claim before paying or storing

    async def kept(self, task: tracker.CheckTask) -> bool:
        """Whether ``task``'s claim is still this worker's (renewing first if the lease is late)."""
        pair = (task.keyword_id, _slot(task))
        if pair not in self.lost and self._late():
            await self.renew(if_late=True)
        return pair not in self.lost


def _all_campaigns(session: Session) -> list[Campaign]:
    return [store.get_campaign(session, row["name"]) for row in store.list_campaigns(session)]


def _slot(task: tracker.CheckTask) -> dt.datetime:
    assert task.slot is not None
    return task.slot


def _usable(
    campaigns: Sequence[Campaign],
    planned: Mapping[str, list[tracker.CheckTask]],
    environ: Mapping[str, str] | None,
    strict_keys: bool,
    report: RoundReport,
) -> tuple[list[tracker.CheckTask], dict[tuple[str, str], Provider]]:
    tasks: list[tracker.CheckTask] = []
    providers: dict[tuple[str, str], Provider] = {}
    for campaign in campaigns:
        campaign_tasks = planned[campaign.name]
        try:
            providers.update(tracker.build_providers([campaign], campaign_tasks, environ))
        except ProviderError as error:
            if strict_keys:
                raise
            report.unusable.append(f"{campaign.name} ({error})")
            continue
        tasks.extend(campaign_tasks)
    return tasks, providers


def next_wake(engine: Engine, now: dt.datetime) -> dt.datetime | None:
    """The earliest upcoming slot over every campaign's active keywords."""
    with Session(engine) as session:
        upcoming = [tracker.next_due(session, c, now) for c in _all_campaigns(session)]
    found = [slot for slot in upcoming if slot is not None]
    return min(found) if found else None


def run_worker(
    engine: Engine,
    *,
    stop: threading.Event,
    log: Callable[[str], None],
    once: bool = False,
    poll: float = DEFAULT_POLL,
    clock: Callable[[], dt.datetime] = utcnow,
    worker: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    lease: dt.timedelta = DEFAULT_LEASE,
    environ: Mapping[str, str] | None = None,
    client: httpx.AsyncClient | None = None,
    fetcher: Fetcher | None = None,
    renew_every: dt.timedelta | None = None,
    sleep: Callable[[float], object] | None = None,
    alerts: bool = True,
    alert_budget: float = DEFAULT_ALERT_BUDGET,
    http: httpx.Client | None = None,
) -> list[RoundReport]:
    """Run rounds until ``stop`` is set (or one round with ``once``), sleeping until the next
    slot between rounds, at most ``poll`` seconds so newly applied campaigns are picked up.

    Each round is as of ``clock()`` (the wall clock, which also stamps the leases);
    ``sleep(seconds)`` waits between rounds (``stop.wait`` by default, so a stop wakes it).
    After each round, pending alerts are delivered for at most ``alert_budget`` seconds
    (``http``: the client for webhooks); without ``alerts`` none are found or delivered.
    """
    name = worker or claims.worker_name()
    pause = sleep or stop.wait
    reports = []
    while not stop.is_set():
        report = run_round(
            engine,
            now=clock(),
            worker=name,
            concurrency=concurrency,
            lease=lease,
            environ=environ,
            should_stop=stop.is_set,
            client=client,
            fetcher=fetcher,
            clock=clock,
            renew_every=renew_every,
            alerts=alerts,
        )
        reports.append(report)
        log(report.line(name))
        if alerts:
            _deliver_alerts(engine, environ, alert_budget, clock, http, log)
        if once:
            break
        pause(_pause(report.next_slot, clock(), poll))
    return reports


def _deliver_alerts(
    engine: Engine,
    environ: Mapping[str, str] | None,
    budget: float,
    clock: Callable[[], dt.datetime],
    http: httpx.Client | None,
    log: Callable[[str], None],
) -> None:
    """Deliver what is pending (this round's events and earlier ones due for a retry)."""
    from .alerts import dispatch

    report = dispatch.deliver_pending(
        engine,
        environ=os.environ if environ is None else environ,
        budget=budget,
        now=clock,
        client=http,
    )
    for line in report.lines():
        log(line)


def _pause(next_slot: dt.datetime | None, now: dt.datetime, poll: float) -> float:
    if next_slot is None:
        return poll
    # a second past the slot, so the round that wakes finds it due
    return max(0.0, min(poll, (next_slot - now).total_seconds() + 1.0))
