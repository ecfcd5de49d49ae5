"""Running checks: plan which keyword is checked as of when, fetch concurrently, store each one.

Every check ends stored, as ``ok`` with its results or as ``failed``/``blocked`` with its error:
a failure is never recorded as a missing rank.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from .defaults import DEFAULT_CONCURRENCY
from .errors import FetchError, LivePastError, ParseError, RecordError
from .fetch import Fetcher, make_client
from .models import Campaign, Keyword, utcnow
from .parsers import sniff_kind
from .parsers.payload import pages_document
from .providers import Fetched, Provider, RawPage, SearchRequest, build_provider
from .providers.replay import fixture_path
from .redaction import redact, redact_bytes
from .schedule import latest_slot, next_slot, parse_schedule, parse_timezone, slots_between
from .store import (
    CheckRecord,
    SampleRecord,
    campaign_keywords,
    checked_slots,
    done_slots,
    record_check,
    record_checks,
)
from .vocabulary import FAILURE_STATUSES, CheckStatus, FailureKind, OutcomeStatus, identity_fields

__all__ = [
    "CheckOutcome",
    "CheckTask",
    "build_providers",
    "collector_for_a_run",
    "due_slots",
    "failure_summary",
    "next_due",
    "plan_backfill",
    "plan_checks",
    "plan_due",
    "record_pages",
    "run_checks",
]


@dataclass(frozen=True)
class CheckTask:
    """One check to run: a keyword, as of a time, in a schedule slot or ad hoc."""

    campaign: str
    keyword_id: int
    provider: str
    request: SearchRequest
    slot: dt.datetime | None = None
    claim_token: str | None = None  # the slot's claim, for scheduled checks (claims.py)
    past: bool = False  # stands for a moment a live API can no longer see (refuse_live_past)
    alerts: bool = True  # find alert events when stored (backfill without --alerts: False)
    samples: int = 1  # provider calls the check makes, each stored as a sample of it


@dataclass
class CheckOutcome:
    """What happened to one check, once stored."""

    task: CheckTask
    check_id: int
    status: OutcomeStatus
    observed_at: dt.datetime
    results: int = 0
    error: str | None = None
    error_kind: FailureKind | None = None
    status_code: int | None = None
    samples: int = 1  # answers asked for
    samples_ok: int = 1  # of which succeeded (0 for a failed check)
    #: the provider's raw responses kept as evidence, every sample's: what a paid API bills
    #: for (a SerpApi check whose AI overview is deferred has two: the search and its follow-up)
    pages: int = 0

    def to_json(self) -> dict[str, Any]:
        """The ``check --json`` object (SPEC section 6), with a few extra fields."""
        request = self.task.request
        return {
            "campaign": self.task.campaign,
            "query": request.query,
            "engine": request.engine,
            "country": request.country,
            "language": request.language,
            "device": request.device,
            "provider": self.task.provider,
            "check_id": self.check_id,
            "slot": self.task.slot,
            "status": self.status,
            "observed_at": self.observed_at,
            "results": self.results,
            # SPEC: error is null when ok; an ok check missing a block says so in incomplete
            "error": None if self.status == "ok" else self.error,
            "error_kind": None if self.status == "ok" else self.error_kind,
            "incomplete": self.error if self.status == "ok" else None,
            "samples": self.samples,
            "samples_ok": self.samples_ok,
            "pages": self.pages,
        }


def _request(keyword: Keyword, as_of: dt.datetime) -> SearchRequest:
    """What a check of ``keyword`` asks for: its identity, depth and prompt, as of ``as_of``."""
    return SearchRequest(
        **identity_fields(keyword),
        depth=keyword.depth,
        as_of=as_of,
        prompt=keyword.prompt,
        sample=1,  # each call of a sampled check asks with its own (_fetch_one)
    )


def plan_checks(session: Session, campaign: Campaign, as_of: dt.datetime) -> list[CheckTask]:
    """One ad-hoc check per active keyword of ``campaign``, as of ``as_of``."""
    return [
        CheckTask(
            campaign.name,
            _id(keyword),
            keyword.provider,
            _request(keyword, as_of),
            samples=keyword.samples,
        )
        for keyword in campaign_keywords(session, campaign)
    ]


def plan_backfill(
    session: Session,
    campaign: Campaign,
    first_day: dt.date,
    last_day: dt.date,
    *,
    now: dt.datetime,
    retry_failed: bool = False,
) -> list[CheckTask]:
    """Every schedule slot of every active keyword from ``first_day`` to ``last_day`` (local days,
    inclusive, never after ``now``) that has no check yet (no successful one with ``retry_failed``)."""
    tasks = []
    keywords = campaign_keywords(session, campaign)
    for keyword in keywords:
        tz = parse_timezone(keyword.timezone)
        start = dt.datetime.combine(first_day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
        end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(
            dt.UTC
        )
        end = min(end - dt.timedelta(microseconds=1), now)
        schedule = parse_schedule(keyword.schedule)
        slots = slots_between(schedule, start, end, tz)
        current = latest_slot(schedule, now, tz)  # the one slot a live API can still answer for
        done = done_slots(session, [_id(keyword)], start, end, ok_only=retry_failed)
        for slot in slots:
            if (keyword.id, slot) not in done:
                request = _request(keyword, slot)
                past = current is not None and slot < current
                tasks.append(
                    CheckTask(
                        campaign.name,
                        _id(keyword),
                        keyword.provider,
                        request,
                        slot,
                        past=past,
                        samples=keyword.samples,
                    )
                )
    tasks.sort(key=lambda task: (task.request.as_of, task.keyword_id))
    return tasks


def plan_due(session: Session, campaign: Campaign, now: dt.datetime) -> list[CheckTask]:
    """A check for each active keyword whose latest slot has passed with no check yet.

    A slot missed while nothing ran is checked once, as of ``now``, not once per missed slot.
    """
    tasks = []
    for keyword, slot in due_slots(session, campaign, now):
        tasks.append(
            CheckTask(
                campaign.name,
                _id(keyword),
                keyword.provider,
                _request(keyword, now),
                slot,
                samples=keyword.samples,
            )
        )
    return tasks


def due_slots(
    session: Session, campaign: Campaign, now: dt.datetime
) -> list[tuple[Keyword, dt.datetime]]:
    """(keyword, latest slot) for each active keyword whose latest slot has no check."""
    latest = []
    for keyword in campaign_keywords(session, campaign):
        slot = latest_slot(parse_schedule(keyword.schedule), now, parse_timezone(keyword.timezone))
        if slot is not None:
            latest.append((keyword, slot))
    done = checked_slots(session, [(_id(keyword), slot) for keyword, slot in latest])
    return [(keyword, slot) for keyword, slot in latest if (keyword.id, slot) not in done]


def next_due(session: Session, campaign: Campaign, now: dt.datetime) -> dt.datetime | None:
    """The earliest upcoming slot among the campaign's active keywords."""
    upcoming = [
        next_slot(parse_schedule(k.schedule), now, parse_timezone(k.timezone))
        for k in campaign_keywords(session, campaign)
    ]
    return min(upcoming) if upcoming else None


def _id(keyword: Keyword) -> int:
    assert keyword.id is not None
    return keyword.id


def build_providers(
    campaigns: Sequence[Campaign],
    tasks: Sequence[CheckTask],
    environ: Mapping[str, str] | None = None,
) -> dict[tuple[str, str], Provider]:
    """A configured provider per (campaign, provider name) the tasks use; raises if a key is missing."""
    settings = {c.name: (c.settings or {}).get("providers", {}) for c in campaigns}
    providers: dict[tuple[str, str], Provider] = {}
    for task in tasks:
        key = (task.campaign, task.provider)
        if key not in providers:
            provider = build_provider(
                task.provider, settings.get(task.campaign, {}).get(task.provider), environ
            )
            provider.require_keys()
            providers[key] = provider
    return providers


def run_checks(
    engine: Engine,
    tasks: Sequence[CheckTask],
    providers: Mapping[tuple[str, str], Provider],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: Callable[[CheckOutcome], None] | None = None,
    client: httpx.AsyncClient | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    fetcher: Fetcher | None = None,
    record_dir: Path | None = None,
    should_stop: Callable[[], bool] | None = None,
    claim_kept: Callable[[CheckTask], Awaitable[bool]] | None = None,
) -> list[CheckOutcome]:
    """Run ``tasks`` with at most ``concurrency`` in flight; store each check as it completes.

    ``fetcher`` sets the retry policy and rate limits (a default one otherwise);
    ``record_dir`` also writes each raw payload there in the replay layout (SPEC section 5);
    once ``should_stop()`` is true no further check starts (those in flight finish and are
    stored) and the rest come back ``skipped``. ``claim_kept(task)`` is asked before a claimed
    check is fetched and again before it is stored: a check whose slot claim another worker
    took over is not fetched (or not stored) and comes back ``skipped``.
    """
    with collector_for_a_run():
        return asyncio.run(
            run_checks_async(
                engine,
                tasks,
                providers,
                concurrency=concurrency,
                on_done=on_done,
                client=client,
                clock=clock,
                fetcher=fetcher,
                record_dir=record_dir,
                should_stop=should_stop,
                claim_kept=claim_kept,
            )
        )


#: the young generation's threshold during a run (Python's default is 700 allocations): a
#: result page is hundreds of short-lived objects that reference counting frees anyway
_YOUNG_THRESHOLD = 10_000


@contextlib.contextmanager
def collector_for_a_run() -> Iterator[None]:
    """The cyclic garbage collector, set for a run of checks, then put back as it was.

    What exists when the run starts (modules, classes, caches: start-up's hundred thousand
    objects) is frozen, so no full collection walks it again during the run, and the young
    generation is collected every 10,000 allocations instead of 700: the collector's time
    in a 1,000-check run fell from 0.25 s to under 0.1 s (6 % of the run's CPU). Nothing is
    lost: the frozen objects are unfrozen at the end (garbage among them is collected then),
    and a process that froze objects itself keeps its own arrangement.
    """
    import gc

    thresholds = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    gc.set_threshold(max(thresholds[0], _YOUNG_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if freeze:
            gc.unfreeze()


async def run_checks_async(
    engine: Engine,
    tasks: Sequence[CheckTask],
    providers: Mapping[tuple[str, str], Provider],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: Callable[[CheckOutcome], None] | None = None,
    client: httpx.AsyncClient | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    fetcher: Fetcher | None = None,
    record_dir: Path | None = None,
    should_stop: Callable[[], bool] | None = None,
    claim_kept: Callable[[CheckTask], Awaitable[bool]] | None = None,
) -> list[CheckOutcome]:
    """The async core of :func:`run_checks`; outcomes come back in task order."""
    fetching = asyncio.Semaphore(max(1, concurrency))
    # A fetched check waits for its group commit without holding a fetch slot, so SQLite's
    # batches grow (a check costs far less to store in a batch of 100 than alone); this bound
    # keeps memory in check when the store is slower than the API.
    held = max(1, concurrency) * 4
    holding = asyncio.Semaphore(held)
    secrets = [secret for provider in providers.values() for secret in provider.secrets()]
    fetcher = fetcher or Fetcher()
    for provider in providers.values():
        provider.attach(fetcher)
    own_client = client is None
    # One client for the run (connection reuse), its pool sharded for concurrency: fetch.py.
    http = client or make_client(concurrency, fetcher.policy)
    writer = _Writer(engine, full=held)  # no more than ``held`` checks can wait to be stored
    unrecorded: list[RecordError] = []  # --record files not written, raised after the run

    async def one(task: CheckTask) -> CheckOutcome:
        async with holding:
            async with fetching:
                if should_stop is not None and should_stop():
                    return _skipped(task)
                if not await _still_claimed(task, claim_kept):  # never pay for another's slot
                    return _skipped(task, _LOST_BEFORE_FETCH)
                provider = providers[(task.campaign, task.provider)]
                record = await _fetch_one(task, provider, http, secrets, clock, fetcher)
            if not await _still_claimed(task, claim_kept):
                return _skipped(task, _LOST_BEFORE_STORE)
            check_id = await writer.store(record)
        if check_id == 0:  # the slot's claim was taken over meanwhile: the check was not kept
            return _skipped(task, "the slot was taken over by another worker (its lease expired)")
        if record_dir is not None:
            ok = record.status == CheckStatus.OK
            for sample, _, _, pages in record.sample_parts():
                if pages:
                    _record(record_dir, task, pages, secrets, ok, unrecorded, sample)
        outcome = CheckOutcome(
            task=task,
            check_id=check_id,
            status=OutcomeStatus.of(record.status),
            observed_at=record.observed_at,
            results=len(record.items) if record.status == CheckStatus.OK else 0,
            error=record.error,
            error_kind=record.error_kind,
            status_code=record.status_code,
            samples=max(1, len(record.samples)),
            samples_ok=_samples_ok(record),
            pages=sum(len(pages) for _, _, _, pages in record.sample_parts()),
        )
        if on_done:
            on_done(outcome)
        return outcome

    try:
        return _raise_unrecorded(list(await asyncio.gather(*map(one, tasks))), unrecorded)
    finally:
        if own_client:
            await http.aclose()


_LOST_BEFORE_FETCH = (
    "not fetched: another worker took over the slot's claim (its lease expired) before it started"
)
_LOST_BEFORE_STORE = (
    "not stored: another worker took over the slot's claim (its lease expired) while it was fetched"
)


async def _still_claimed(
    task: CheckTask, claim_kept: Callable[[CheckTask], Awaitable[bool]] | None
) -> bool:
    """Whether a claimed check still holds its slot's claim (unclaimed checks always do)."""
    if claim_kept is None or task.claim_token is None:
        return True
    return await claim_kept(task)


def _skipped(task: CheckTask, reason: str = "stopped before it started") -> CheckOutcome:
    return CheckOutcome(
        task=task,
        check_id=0,
        status=OutcomeStatus.SKIPPED,
        observed_at=task.request.as_of,
        error=reason,
        error_kind=FailureKind.SKIPPED,
    )


class _Writer:
    """Stores checks off the event loop, in group commits.

    Checks that finish while one batch is being written go into the next batch, so a busy run
    commits once per batch instead of once per check, and the event loop keeps fetching while
    SQLite writes. Each check is still whole in one transaction (``record_checks``).

    An idle writer does not write a check the moment it arrives: it waits up to
    :attr:`WINDOW` seconds for others to join it (a group-commit window, as PostgreSQL's
    ``commit_delay``), or until ``full`` are waiting (at most :attr:`FULL`; a caller that
    lets no more than N checks wait says so, so that the writer never waits for a check
    that cannot come). Over a real network checks arrive one by one, and a batch costs
    about the same to store and to find alert events in whether it holds one check or
    twenty; a check waits a few milliseconds longer to be stored, never to be fetched.
    """

    WINDOW = 0.02  # seconds an idle writer waits for a batch to fill
    FULL = 64  # checks that start a write at once

    #: What a value the database cannot take raises besides SQLAlchemy's own errors: a lone
    #: surrogate (UnicodeEncodeError, a ValueError) or a number too large for a column
    #: (OverflowError on SQLite). The driver's errors are added per engine (``__init__``).
    _VALUE_ERRORS: tuple[type[Exception], ...] = (ValueError, OverflowError)

    def __init__(self, engine: Engine, full: int = FULL) -> None:
        self._engine = engine
        self._full = max(1, min(full, self.FULL))
        self._pending: list[tuple[CheckRecord, asyncio.Future[int]]] = []
        self._busy = False
        self._window: asyncio.TimerHandle | None = None  # an idle writer's wait for a batch
        # The driver's own errors (PEP 249 Error and DataError), for what SQLAlchemy does not
        # wrap: what one check's write may raise without the others of its batch at fault,
        # and which of those a value of the check itself caused.
        from sqlalchemy.exc import DataError

        dialect = engine.dialect
        driver = getattr(dialect, "loaded_dbapi", None) or getattr(dialect, "dbapi", None)
        own = [getattr(driver, name, None) for name in ("Error", "DataError")]
        error, data_error = [
            c if isinstance(c, type) and issubclass(c, Exception) else None for c in own
        ]
        self._failures: tuple[type[Exception], ...] = (SQLAlchemyError, *self._VALUE_ERRORS)
        self._bad_values: tuple[type[Exception], ...] = (DataError, *self._VALUE_ERRORS)
        if error is not None:
            self._failures += (error,)
        if data_error is not None:
            self._bad_values += (data_error,)

    def store(self, record: CheckRecord) -> asyncio.Future[int]:
        """Queue ``record`` for the next group commit; the future gives its check id."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._pending.append((record, future))
        if self._busy:
            return future  # the running write's callback takes it
        if len(self._pending) >= self._full:
            self._write_next()
        elif self._window is None:
            self._window = loop.call_later(self.WINDOW, self._write_next)
        return future

    def _write_next(self) -> None:
        if self._window is not None:
            self._window.cancel()
            self._window = None
        batch, self._pending = self._pending, []
        self._busy = bool(batch)
        if batch:
            records = [record for record, _ in batch]
            job = asyncio.get_running_loop().run_in_executor(None, self._write, records)
            job.add_done_callback(lambda done: self._written(batch, done))

    def _write(self, records: list[CheckRecord]) -> list[int | Exception]:
        failures = self._failures
        try:
            return list(record_checks(self._engine, records))
        except failures as failure:
            if len(records) == 1:
                return [self._store_failed(records[0], failure)]
        # One bad check must not lose the others of its batch: write them one by one.
        results: list[int | Exception] = []
        for record in records:
            try:
                results.append(record_check(self._engine, record))
            except failures as failure:
                results.append(self._store_failed(record, failure))
        return results

    def _store_failed(self, record: CheckRecord, failure: Exception) -> int | Exception:
        """Store a check whose write failed on a value of its own as a failed check saying
        so; hand any other failure (or one that even that write meets) to its waiter.

        ``record`` itself becomes the failed check, so that the run reports what was stored.
        """
        from sqlalchemy.exc import DBAPIError, StatementError

        from .snapshot import clean_text

        cause = getattr(failure, "orig", None) or failure
        # A StatementError that is no DBAPIError: a value failed SQLAlchemy's own processing.
        processing = isinstance(failure, StatementError) and not isinstance(failure, DBAPIError)
        if not (processing or isinstance(failure, self._bad_values)):
            return failure  # the database itself failed (locked, gone...): not this check's doing
        detail = str(cause).strip().partition("\n")[0][:200]
        reason = clean_text(
            f"the database refused a value of this check ({type(cause).__name__}: {detail}), "
            "so none of its results were stored"
        )
        ok = record.status == CheckStatus.OK
        failed = replace(
            record,
            status=CheckStatus.FAILED if ok else record.status,
            items=(),
            error=reason if ok else f"{clean_text(record.error or '')}; {reason}",
            error_kind=FailureKind.BAD_RESPONSE if ok else record.error_kind,
            source=clean_text(record.source) if record.source else record.source,
        )
        for keep in (True, False):  # the raw pages are evidence: dropped only if at fault
            pages = record.pages if keep else ()
            samples = [s if keep else replace(s, pages=()) for s in record.samples]
            try:
                check_id = record_check(self._engine, replace(failed, pages=pages, samples=samples))
            except self._failures:
                continue
            record.status, record.items, record.error = failed.status, (), failed.error
            record.error_kind, record.source, record.pages = failed.error_kind, failed.source, pages
            record.samples = samples
            return check_id
        return failure

    def _written(
        self,
        batch: list[tuple[CheckRecord, asyncio.Future[int]]],
        job: asyncio.Future[list[int | Exception]],
    ) -> None:
        error = None if job.cancelled() else job.exception()
        for index, (_, future) in enumerate(batch):
            if future.done():
                continue
            if job.cancelled():
                future.cancel()
            elif error is not None:
                future.set_exception(error)
            else:
                outcome = job.result()[index]
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
        self._write_next()


async def _fetch_one(
    task: CheckTask,
    provider: Provider,
    client: httpx.AsyncClient,
    secrets: Sequence[str],
    clock: Callable[[], dt.datetime],
    fetcher: Fetcher,
) -> CheckRecord:
    """Fetch one check within its time budget; every failure becomes a record, not a raise.

    A check of ``samples = N > 1`` makes N calls one after the other, all within the one
    budget of the check and through the provider's rate limiter; a call the budget leaves no
    time for is a failed sample (``timeout``), never a missing answer. See :func:`_sampled`.
    """
    calls: list[CheckRecord] = []
    wanted = max(1, task.samples)
    try:
        async with fetcher.check_budget():
            while len(calls) < wanted:
                call = _new_record(task)
                calls.append(call)
                request = replace(task.request, sample=len(calls)) if wanted > 1 else task.request
                await _fetch_call(call, request, provider, client, secrets, clock)
    except TimeoutError:  # the call in flight was cancelled; the rest cannot start
        budget = fetcher.policy.check_budget
        _timed_out(calls[-1], task, budget)
        while len(calls) < wanted:
            calls.append(_timed_out(_new_record(task), task, budget))
    if wanted == 1:
        return calls[0]
    return _sampled(calls)


def _new_record(task: CheckTask) -> CheckRecord:
    return CheckRecord(
        keyword_id=task.keyword_id,
        provider=task.provider,
        observed_at=task.request.as_of,
        slot=task.slot,
        claim_token=task.claim_token,
        alerts=task.alerts,
    )


def _timed_out(record: CheckRecord, task: CheckTask, budget: float) -> CheckRecord:
    record.status = CheckStatus.FAILED
    record.items = ()
    record.error = (
        f"{task.provider} did not deliver within {budget:g} s (retries included); try again later"
    )
    record.error_kind = FailureKind.TIMEOUT
    return record


async def _fetch_call(
    record: CheckRecord,
    request: SearchRequest,
    provider: Provider,
    client: httpx.AsyncClient,
    secrets: Sequence[str],
    clock: Callable[[], dt.datetime],
) -> None:
    """One provider call into ``record``: its answer, or its failure."""
    fetched: Fetched | None = None
    try:
        fetched = await provider.fetch(request, client)
    except FetchError as error:
        record.status = error.status
        record.error = redact(str(error), secrets)
        record.error_kind = error.kind
        record.status_code = error.status_code
        record.pages = error.pages
    except ParseError as error:
        record.status = CheckStatus.FAILED
        record.error = redact(str(error), secrets)
        record.error_kind = FailureKind.PARSE_ERROR
    except httpx.HTTPError as error:
        record.status = CheckStatus.FAILED
        record.error = redact(f"{type(error).__name__}: {error}", secrets)
        record.error_kind = FailureKind.HTTP_ERROR
    if fetched is not None:
        snapshot = fetched.snapshot
        record.pages = fetched.pages
        record.take(snapshot)
        if record.error:  # a gap's reason quotes an API message: mask keys once more
            record.error = redact(record.error, secrets)
        if snapshot.observed_at is not None:
            record.observed_at = snapshot.observed_at
        elif provider.uses_http:
            record.observed_at = clock()


def _sampled(calls: Sequence[CheckRecord]) -> CheckRecord:
    """One check from the records of its N calls, each kept as a sample of it.

    Samples are numbered with the successful answers first, in the order they were asked,
    then the failed ones: sample 1 of an ok check is always an answer, the ranking that rank
    views read. The check is ``ok`` when one answer came back; its failed samples then make
    it "ok but incomplete" (``error`` says so, as for a gap). With no answer at all, the check
    fails as its first call did.
    """
    ordered = [c for c in calls if c.status == CheckStatus.OK]
    ordered += [c for c in calls if c.status != CheckStatus.OK]
    first = ordered[0]
    samples = [
        SampleRecord(
            sample=number,
            status=call.status,
            items=call.items if call.status == CheckStatus.OK else (),
            pages=call.pages,
            error=call.error,
            error_kind=call.error_kind,
            status_code=call.status_code,
        )
        for number, call in enumerate(ordered, start=1)
    ]
    check = replace(first, samples=samples)
    failed = [s for s in samples if s.status != CheckStatus.OK]
    if first.status == CheckStatus.OK and failed:
        missing = (
            f"{len(failed)} of {len(samples)} samples failed "
            f"(sample {failed[0].sample}: {failed[0].error})"
        )
        check.error = f"{first.error}; {missing}" if first.error else missing
        check.error_kind = first.error_kind or failed[0].error_kind
    return check


def _samples_ok(record: CheckRecord) -> int:
    if record.status != CheckStatus.OK:
        return 0
    return sum(1 for s in record.samples if s.status == CheckStatus.OK) or 1


def record_pages(
    folder: Path,
    task: CheckTask,
    pages: Sequence[RawPage],
    secrets: Sequence[str],
    *,
    ok: bool,
    sample: int = 1,
) -> Path | None:
    """Write a check's raw pages where the replay provider will find them (SPEC section 5).

    Sample 1 of a sampled check is the replay file; sample ``k > 1`` goes beside it as
    ``<slug>.<country>-<language>-<device>.sample-<k>.<ext>``, which the replay provider reads
    for the check's k-th call.

    ``<folder>/<YYYY-MM-DD>/<slug>.<country>-<language>-<device>.<ext>`` (the replay
    provider's :func:`~serptrack.providers.replay.fixture_path`): one page as received,
    several as one ``serptrack-pages/1`` document. Secrets are stripped again. A failed
    check's pages are written only where no recording exists yet, so a later error does not
    replace a good recording of the same day. A file that cannot be written raises
    :class:`~serptrack.errors.RecordError`, naming it and why.
    """
    request = task.request
    bodies = [redact_bytes(page.body, secrets) for page in pages]
    data, ext = bodies[0], "json"
    if sniff_kind(data) == "html":
        ext = "html"
    elif len(bodies) > 1:
        try:
            docs = [json.loads(body) for body in bodies]
        except ValueError:
            docs = []
        if docs:
            data = json.dumps(pages_document(task.provider, docs), ensure_ascii=False).encode()
    elif sniff_kind(data) != "json":
        ext = "txt"
    path = fixture_path(
        folder,
        request.as_of,
        request.query,
        request.country,
        request.language,
        request.device,
        ext,
        request.engine,
    )
    if sample > 1:
        path = path.with_name(f"{path.stem}.sample-{sample}{path.suffix}")
    partial = path.with_name(f".{path.name}.partial")
    try:
        if not ok and path.exists():
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise RecordError(f"cannot record {path}: {error.strerror or error}") from None
    return path


def _record(
    folder: Path,
    task: CheckTask,
    pages: Sequence[RawPage],
    secrets: Sequence[str],
    ok: bool,
    unrecorded: list[RecordError],
    sample: int = 1,
) -> None:
    """:func:`record_pages`, keeping a failure in ``unrecorded`` so the run goes on."""
    try:
        record_pages(folder, task, pages, secrets, ok=ok, sample=sample)
    except RecordError as error:
        unrecorded.append(error)


def _raise_unrecorded(
    outcomes: list[CheckOutcome], unrecorded: Sequence[RecordError]
) -> list[CheckOutcome]:
    """``outcomes``, once every check is stored; a :class:`RecordError` if a file was not."""
    if not unrecorded:
        return outcomes
    ok = sum(1 for outcome in outcomes if outcome.status == OutcomeStatus.OK)
    stored = sum(1 for outcome in outcomes if outcome.check_id)
    first = min(unrecorded, key=str)  # the same line whichever check finished first
    files = (
        f"{len(unrecorded)} --record files were not written, e.g."
        if len(unrecorded) > 1
        else "a --record file was not written:"
    )
    raise RecordError(
        f"{stored} checks stored ({ok} ok, {stored - ok} failed or blocked), but {files} {first}",
        outcomes,
    )


def failure_summary(outcomes: Sequence[CheckOutcome]) -> list[tuple[str, int, str]]:
    """(reason, count, one example message) for each kind of failure, most frequent first."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for outcome in outcomes:
        if outcome.status not in FAILURE_STATUSES:
            continue
        reason = outcome.error_kind or outcome.status
        counts[reason] += 1
        examples.setdefault(reason, outcome.error or "")
    return [(reason, count, examples[reason]) for reason, count in counts.most_common()]


def refuse_live_past(
    tasks: Sequence[CheckTask], providers: Mapping[tuple[str, str], Provider]
) -> None:
    """Refuse past tasks on live APIs: they answer with today's page, which would be stored
    against the past slot, and each call is paid. Replays answer for any day."""
    from .providers.http import HttpProvider

    live = sorted(
        {
            (task.campaign, task.provider)
            for task in tasks
            if task.past and isinstance(providers[(task.campaign, task.provider)], HttpProvider)
        }
    )
    if live:
        count = sum(1 for task in tasks if task.past and (task.campaign, task.provider) in live)
        names = ", ".join(provider for _, provider in live)
        raise LivePastError(
            f"{count} {'check is' if count == 1 else 'checks are'} for past slots on live APIs "
            f"({names}), which can only answer "
            "for now: each would pay for today's page and store it as the past; replay saved "
            "pages instead, or pass --allow-live-past to run them anyway"
        )
