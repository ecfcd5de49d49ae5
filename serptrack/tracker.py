"""Running checks: plan which keyword is checked as of when, fetch concurrently, store each one.

Every check ends stored, as ``ok`` with its results or as ``failed``/``blocked`` with its error:
a failure is never recorded as a missing rank.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from .errors import FetchError, ParseError
from .models import Campaign, Keyword, utcnow
from .providers import Fetched, Provider, SearchRequest, build_provider
from .redaction import redact
from .schedule import latest_slot, next_slot, parse_schedule, parse_timezone, slots_between
from .storage import CheckRecord, campaign_keywords, done_slots, record_check

__all__ = [
    "CheckOutcome",
    "CheckTask",
    "build_providers",
    "due_slots",
    "failure_summary",
    "next_due",
    "plan_backfill",
    "plan_checks",
    "plan_due",
    "run_checks",
]

DEFAULT_CONCURRENCY = 10


@dataclass(frozen=True)
class CheckTask:
    """One check to run: a keyword, as of a time, in a schedule slot or ad hoc."""

    campaign: str
    keyword_id: int
    provider: str
    request: SearchRequest
    slot: dt.datetime | None = None


@dataclass
class CheckOutcome:
    """What happened to one check, once stored."""

    task: CheckTask
    check_id: int
    status: str
    observed_at: dt.datetime
    results: int = 0
    error: str | None = None
    error_kind: str | None = None
    status_code: int | None = None
    snapshot: Any = field(default=None, repr=False)

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
            "error": self.error,
            "error_kind": self.error_kind,
        }


def _request(keyword: Keyword, as_of: dt.datetime) -> SearchRequest:
    return SearchRequest(
        query=keyword.query,
        engine=keyword.engine,
        country=keyword.country,
        language=keyword.language,
        device=keyword.device,
        location=keyword.location,
        depth=keyword.depth,
        as_of=as_of,
    )


def plan_checks(session: Session, campaign: Campaign, as_of: dt.datetime) -> list[CheckTask]:
    """One ad-hoc check per active keyword of ``campaign``, as of ``as_of``."""
    return [
        CheckTask(campaign.name, _id(keyword), keyword.provider, _request(keyword, as_of))
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
        slots = slots_between(parse_schedule(keyword.schedule), start, end, tz)
        done = done_slots(session, [_id(keyword)], start, end, ok_only=retry_failed)
        for slot in slots:
            if (keyword.id, slot) not in done:
                tasks.append(
                    CheckTask(
                        campaign.name, _id(keyword), keyword.provider, _request(keyword, slot), slot
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
            CheckTask(campaign.name, _id(keyword), keyword.provider, _request(keyword, now), slot)
        )
    return tasks


def due_slots(
    session: Session, campaign: Campaign, now: dt.datetime
) -> list[tuple[Keyword, dt.datetime]]:
    """(keyword, latest slot) for each active keyword whose latest slot has no check."""
    due = []
    for keyword in campaign_keywords(session, campaign):
        slot = latest_slot(parse_schedule(keyword.schedule), now, parse_timezone(keyword.timezone))
        if slot is not None and not done_slots(session, [_id(keyword)], slot, slot):
            due.append((keyword, slot))
    return due


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
) -> list[CheckOutcome]:
    """Run ``tasks`` with at most ``concurrency`` in flight; store each check as it completes."""
    return asyncio.run(
        run_checks_async(
            engine,
            tasks,
            providers,
            concurrency=concurrency,
            on_done=on_done,
            client=client,
            clock=clock,
        )
    )


async def run_checks_async(
    engine: Engine,
    tasks: Sequence[CheckTask],
    providers: Mapping[tuple[str, str], Provider],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: Callable[[CheckOutcome], None] | None = None,
    client: httpx.AsyncClient | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> list[CheckOutcome]:
    """The async core of :func:`run_checks`; outcomes come back in task order."""
    semaphore = asyncio.Semaphore(max(1, concurrency))
    secrets = [secret for provider in providers.values() for secret in provider.secrets()]
    own_client = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))

    async def one(task: CheckTask) -> CheckOutcome:
        async with semaphore:
            provider = providers[(task.campaign, task.provider)]
            outcome = await _run_one(engine, task, provider, http, secrets, clock)
        if on_done:
            on_done(outcome)
        return outcome

    try:
        return list(await asyncio.gather(*(one(task) for task in tasks)))
    finally:
        if own_client:
            await http.aclose()


async def _run_one(
    engine: Engine,
    task: CheckTask,
    provider: Provider,
    client: httpx.AsyncClient,
    secrets: Sequence[str],
    clock: Callable[[], dt.datetime],
) -> CheckOutcome:
    record = CheckRecord(
        keyword_id=task.keyword_id,
        provider=task.provider,
        observed_at=task.request.as_of,
        slot=task.slot,
    )
    fetched: Fetched | None = None
    try:
        fetched = await provider.fetch(task.request, client)
    except FetchError as error:
        record.status = error.status
        record.error = redact(str(error), secrets)
        record.error_kind = error.kind
        record.status_code = error.status_code
        record.pages = error.pages
    except ParseError as error:
        record.status = "failed"
        record.error = redact(str(error), secrets)
        record.error_kind = "parse-error"
    except httpx.HTTPError as error:
        record.status = "failed"
        record.error = redact(f"{type(error).__name__}: {error}", secrets)
        record.error_kind = "http-error"
    if fetched is not None:
        snapshot = fetched.snapshot
        record.items = snapshot.results
        record.pages = fetched.pages
        record.source = snapshot.source
        if snapshot.observed_at is not None:
            record.observed_at = snapshot.observed_at
        elif provider.uses_http:
            record.observed_at = clock()
    check_id = record_check(engine, record)
    return CheckOutcome(
        task=task,
        check_id=check_id,
        status=record.status,
        observed_at=record.observed_at,
        results=len(record.items) if record.status == "ok" else 0,
        error=record.error,
        error_kind=record.error_kind,
        status_code=record.status_code,
        snapshot=fetched.snapshot if fetched else None,
    )


def failure_summary(outcomes: Sequence[CheckOutcome]) -> list[tuple[str, int, str]]:
    """(reason, count, one example message) for each kind of failure, most frequent first."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for outcome in outcomes:
        if outcome.status == "ok":
            continue
        reason = outcome.error_kind or outcome.status
        counts[reason] += 1
        examples.setdefault(reason, outcome.error or "")
    return [(reason, count, examples[reason]) for reason, count in counts.most_common()]
