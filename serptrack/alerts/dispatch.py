"""Delivering the outbox: lease pending deliveries, send each within a time budget, record
every attempt (SPEC section 7).

A command that stored checks calls :func:`deliver_pending` with a short budget, so a dead
receiver never holds a cron run for long: what is not delivered in time stays pending for
the next run or for ``serptrack alerts send``. A delivery is given up (``failed``) on an
answer that retrying cannot change (a 4xx other than 429, a refused address, a missing
variable) or after :data:`MAX_ATTEMPTS` attempts over all runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine

from ..defaults import DEFAULT_ALERT_BUDGET as DEFAULT_BUDGET
from ..models import utcnow
from ..redaction import redact
from ..store import outbox
from . import channels

__all__ = [
    "DEFAULT_BUDGET",
    "MAX_ATTEMPTS",
    "DeliveryReport",
    "deliver_pending",
    "send_test",
]

MAX_ATTEMPTS = 10  # over all runs, then the delivery is given up
_LEASE_MARGIN = dt.timedelta(seconds=60)
_RETRY_BASE = 30.0  # seconds before the next run may retry; doubles per attempt
_RETRY_CAP = 3600.0


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    pending: int = 0  # left for a later run (retryable, or out of time)
    failed: int = 0  # given up
    attempts: int = 0
    problems: list[str] = field(default_factory=list)  # one line per distinct problem
    channels: list[tuple[str, str, str | None]] = field(default_factory=list)  # name, state, error

    @property
    def delivered_all(self) -> bool:
        """Nothing was left pending or given up."""
        return not self.pending and not self.failed

    def line(self) -> str | None:
        """One line for stderr, or None when there was nothing to deliver."""
        if not (self.sent or self.pending or self.failed):
            return None
        parts = [f"{self.sent} sent"]
        if self.pending:
            parts.append(f"{self.pending} pending (run `serptrack alerts send` to retry)")
        if self.failed:
            parts.append(f"{self.failed} failed (see `serptrack alerts list`)")
        return "Alerts: " + ", ".join(parts) + "."

    def lines(self) -> list[str]:
        """What a command says of the run on stderr: :meth:`line`, then each problem."""
        line = self.line()
        return ([line] if line else []) + [f"  {problem}" for problem in self.problems]


def deliver_pending(
    engine: Engine,
    *,
    environ: Mapping[str, str],
    budget: float = DEFAULT_BUDGET,
    campaign_id: int | None = None,
    event_ids: Sequence[str] | None = None,
    due_only: bool = True,
    now: Callable[[], dt.datetime] = utcnow,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
    resolve: channels.Resolver | None = None,
) -> DeliveryReport:
    """Send pending deliveries (of one campaign, or of some events) within ``budget`` seconds.

    ``due_only`` leaves deliveries whose retry time has not come yet (``alerts send``
    delivers them all).
    """
    report = DeliveryReport()
    deadline = monotonic() + budget
    lease = dt.timedelta(seconds=budget) + _LEASE_MARGIN
    with engine.begin() as connection:
        leased = outbox.lease_deliveries(
            connection,
            now(),
            lease,
            campaign_id=campaign_id,
            event_ids=event_ids,
            due_only=due_only,
        )
    if not leased:
        return report
    own = client is None
    http = client or httpx.Client(follow_redirects=False)
    # A receiver may echo anything: every channel's secrets are masked in every error.
    secrets = sorted(
        {
            secret
            for item in leased
            for channel in item.campaign_channels
            for secret in channels.secrets_of(channel, environ)
        }
    )
    try:
        for item in leased:
            _deliver_one(
                engine,
                item,
                report,
                environ,
                deadline,
                (now, monotonic, sleep),
                http,
                resolve,
                secrets,
            )
    finally:
        if own:
            http.close()
    return report


def _deliver_one(
    engine: Engine,
    item: outbox.Leased,
    report: DeliveryReport,
    environ: Mapping[str, str],
    deadline: float,
    clocks: tuple[Callable[[], dt.datetime], Callable[[], float], Callable[[float], None]],
    client: httpx.Client,
    resolve: channels.Resolver | None,
    secrets: Sequence[str],
) -> None:
    now, monotonic, sleep = clocks
    attempts: list[channels.Attempt] = []
    if item.channel is None:
        problem = (
            f"alert channel {item.channel_name!r} is no longer defined in campaign "
            f"{item.alert.campaign!r}; add it back under [alerts.channels] or ignore this event"
        )
        report.problems.append(problem)
        report.channels.append((item.channel_name, "failed", problem))
        _record(engine, item, [], "failed", None, now(), problem)
        report.failed += 1
        return
    if monotonic() < deadline:
        attempts = channels.deliver(
            item.channel,
            item.alert,
            environ=environ,
            client=client,
            deadline=deadline,
            monotonic=monotonic,
            sleep=sleep,
            now=now,
            resolve=resolve or channels.resolve_host,
        )
    attempts = [
        dataclasses.replace(a, error=redact(a.error, secrets)) if a.error else a for a in attempts
    ]
    report.attempts += len(attempts)
    last = attempts[-1] if attempts else None
    state, retry_at = _outcome(item, attempts, now())
    if last is not None and not last.ok and last.error and last.error not in report.problems:
        report.problems.append(last.error)
    _record(engine, item, attempts, state, retry_at, now(), None)
    error = last.error if last is not None and not last.ok else None
    if not attempts:
        error = "not tried: the time budget ran out first"
    report.channels.append((item.channel_name, state, error))
    if state == "sent":
        report.sent += 1
    elif state == "failed":
        report.failed += 1
    else:
        report.pending += 1


def _outcome(
    item: outbox.Leased, attempts: Sequence[channels.Attempt], at: dt.datetime
) -> tuple[str, dt.datetime | None]:
    """The delivery's new state and when a later run may retry it."""
    if any(attempt.ok for attempt in attempts):
        return "sent", None
    last = attempts[-1] if attempts else None
    if last is not None and not last.retryable:
        return "failed", None
    tried = item.attempts + len(attempts)
    if tried >= MAX_ATTEMPTS:
        return "failed", None
    wait = min(_RETRY_CAP, _RETRY_BASE * 2 ** max(0, tried - 1))
    if last is not None and last.retry_after is not None:
        wait = max(wait, last.retry_after)
    return "pending", at + dt.timedelta(seconds=wait) if attempts else None


def _record(
    engine: Engine,
    item: outbox.Leased,
    attempts: Sequence[channels.Attempt],
    state: str,
    retry_at: dt.datetime | None,
    at: dt.datetime,
    error: str | None,
) -> None:
    rows = [outbox.AttemptRow(a.at, a.ok, a.status_code, a.error, a.duration) for a in attempts]
    with engine.begin() as connection:
        outbox.record_attempts(
            connection, item, rows, state=state, next_attempt_at=retry_at, now=at, error=error
        )


def send_test(
    engine: Engine,
    campaign_id: int,
    campaign: str,
    channel_names: Sequence[str],
    *,
    environ: Mapping[str, str],
    budget: float,
    now: Callable[[], dt.datetime] = utcnow,
    client: httpx.Client | None = None,
    resolve: channels.Resolver | None = None,
) -> DeliveryReport:
    """Store a ``test`` event for every channel and deliver it at once."""
    text = f"Test alert from serptrack for campaign {campaign!r}: this channel receives its alerts"
    with engine.begin() as connection:
        event = outbox.add_event(
            connection, campaign_id, outbox.TEST_KIND, text, channel_names, now()
        )
    return deliver_pending(
        engine,
        environ=environ,
        budget=budget,
        event_ids=[event],
        due_only=False,
        now=now,
        client=client,
        resolve=resolve,
    )
