"""The tables of a serptrack database (SQLModel on SQLAlchemy 2).

Every datetime is stored in UTC and comes back timezone-aware; a naive datetime is refused on
save, so local times can never slip in unnoticed. Schema changes go through the Alembic
migrations in ``serptrack/migrations``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from .vocabulary import KEYWORD_IDENTITY, CheckStatus, Device

__all__ = [
    "CHECK_STATUSES",
    "AlertAttempt",
    "AlertDelivery",
    "AlertEvent",
    "AlertMemory",
    "Annotation",
    "Campaign",
    "Check",
    "CheckSample",
    "Keyword",
    "LabelRule",
    "Payload",
    "Result",
    "SlotClaim",
    "StanceMark",
    "UTCDateTime",
    "UrlStance",
    "utcnow",
]

#: the values of ``checks.status``, from :class:`~serptrack.vocabulary.CheckStatus`
CHECK_STATUSES: tuple[str, ...] = tuple(status.value for status in CheckStatus)


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A datetime stored in UTC that refuses naive values and returns aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        """Convert to UTC for the database (naive on SQLite); a naive value is a ValueError."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: serptrack stores timezone-aware UTC only")
        value = value.astimezone(dt.UTC)
        # SQLite has no time zone type: store the UTC wall time and put the zone back on read.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        """Return an aware UTC datetime; a naive one from the database is taken as UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Campaign(SQLModel, table=True):
    """A crisis campaign: a brand, its keywords, its label rules and its annotations."""

    __tablename__ = "campaigns"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    brand: str = ""
    description: str = ""
    crisis_start: dt.date | None = None
    source_path: str = ""
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Keyword(SQLModel, table=True):
    """One query tracked with one engine, locale and device; deactivated, never deleted."""

    __tablename__ = "keywords"
    __table_args__ = (
        UniqueConstraint("campaign_id", *KEYWORD_IDENTITY, name="uq_keywords_identity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(
        sa_column=Column(Integer, ForeignKey("campaigns.id"), nullable=False, index=True)
    )
    query: str
    engine: str = "google"
    country: str = ""
    language: str = ""
    device: str = Device.DESKTOP.value
    location: str = ""
    provider: str
    depth: int = 10
    #: provider calls one check makes, each stored as a sample of it (schema 0009)
    samples: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    schedule: str = "1d"
    timezone: str = "UTC"
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: an answer engine's prompt template ("" asks the query itself). Schema 0008.
    prompt: str = Field(default="", sa_column=Column(String, nullable=False, server_default=""))


class LabelRule(SQLModel, table=True):
    """A pattern that gives matching result URLs a stance."""

    __tablename__ = "label_rules"
    __table_args__ = (UniqueConstraint("campaign_id", "key", name="uq_label_rules_key"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(
        sa_column=Column(Integer, ForeignKey("campaigns.id"), nullable=False, index=True)
    )
    stance: str
    pattern: str
    kind: str
    key: str
    position: int = 0


class Annotation(SQLModel, table=True):
    """A dated note on the campaign's timeline (a statement published, ads started ...)."""

    __tablename__ = "annotations"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(
        sa_column=Column(Integer, ForeignKey("campaigns.id"), nullable=False, index=True)
    )
    date: dt.date
    text: str
    query: str | None = None


class Check(SQLModel, table=True):
    """One attempt to record a keyword's result page: ``ok``, ``failed`` or ``blocked``."""

    __tablename__ = "checks"
    __table_args__ = (
        Index("ix_checks_keyword_observed", "keyword_id", "observed_at"),
        Index("ix_checks_keyword_slot", "keyword_id", "slot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    keyword_id: int = Field(sa_column=Column(Integer, ForeignKey("keywords.id"), nullable=False))
    provider: str
    slot: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    observed_at: dt.datetime = Field(sa_type=UTCDateTime)
    status: str = CheckStatus.OK.value  # a CheckStatus value
    error: str | None = None
    error_kind: str | None = None  # a FailureKind value
    status_code: int | None = None
    source: str | None = None
    result_count: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CheckSample(SQLModel, table=True):
    """How one sample of a check sampled more than once ended (schema 0009).

    A check whose keyword asks for ``samples = N > 1`` makes N provider calls and has N rows
    here; a check of one call has none (the check itself is its sample 1). Samples are
    numbered with the successful answers first, in the order they were asked, then the
    failed ones: sample 1 of an ok check is always an answer, the one rank views read.
    """

    __tablename__ = "check_samples"

    check_id: int = Field(
        sa_column=Column(Integer, ForeignKey("checks.id"), primary_key=True, nullable=False)
    )
    sample: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    status: str = CheckStatus.OK.value  # a CheckStatus value
    error: str | None = None
    error_kind: str | None = None  # a FailureKind value
    status_code: int | None = None
    result_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )


class Payload(SQLModel, table=True):
    """The raw response behind a check, one row per fetched page, zlib-compressed, keys stripped."""

    __tablename__ = "payloads"

    id: int | None = Field(default=None, primary_key=True)
    check_id: int = Field(
        sa_column=Column(Integer, ForeignKey("checks.id"), nullable=False, index=True)
    )
    page: int = 1  # 1-based within its sample
    sample: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    url: str = ""
    content_type: str = ""
    status_code: int | None = None
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Result(SQLModel, table=True):
    """One item of a check's result page."""

    __tablename__ = "results"
    __table_args__ = (
        Index("ix_results_check_position", "check_id", "page_position"),
        # Covers the lead analysis: its join from a campaign's official and critical URLs
        # reads index entries only, never the wide result rows (migration 0002).
        Index(
            "ix_results_norm_url_positions",
            "norm_url",
            "check_id",
            "placement",
            "rank",
            "page_position",
            "block",
            "sample",  # schema 0009: reads of a check's ranking (sample 1) stay index-only
        ),
        # A page's features (every placement but organic: a few of its hundred results), by
        # check: the report's feature and AI-citation reads never touch organic rows (0010).
        Index(
            "ix_results_features",
            "check_id",
            "sample",
            "placement",
            "block",
            "page_position",
            "norm_url",
            sqlite_where=text("placement <> 'organic'"),
            postgresql_where=text("placement <> 'organic'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    check_id: int = Field(sa_column=Column(Integer, ForeignKey("checks.id"), nullable=False))
    #: which answer of its check (1-based, schema 0009): rank views read sample 1 only
    sample: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    placement: str  # a Placement value
    block: str | None = None
    rank: int
    page_position: int
    url: str
    norm_url: str
    domain: str
    title: str = ""
    snippet: str = ""
    tracking_url: str | None = None


class UrlStance(SQLModel, table=True):
    """The stance one distinct result URL of a campaign takes under the campaign's rules.

    A cache of :class:`~serptrack.classify.Labeller` so analysis can join stances in SQL:
    ``rules_hash`` names the rules it was computed with, and rows computed with other rules are
    relabelled before any analysis reads them (labels apply retroactively).
    """

    __tablename__ = "url_stances"
    __table_args__ = (
        # What reads start from: a campaign's official or critical URLs under its current
        # rules (a seek, however many neutral URLs a year of checks has brought), and the
        # rows computed under other rules (none, but for data of another writer). Schema 0007.
        Index("ix_url_stances_stance", "campaign_id", "stance", "rules_hash", "norm_url"),
        Index("ix_url_stances_rules", "campaign_id", "rules_hash", "norm_url"),
    )

    campaign_id: int = Field(
        sa_column=Column(Integer, ForeignKey("campaigns.id"), primary_key=True, nullable=False)
    )
    norm_url: str = Field(primary_key=True)
    stance: str = "neutral"
    rule: str | None = None  # the key of the deciding rule; None when no rule matches
    rules_hash: str = ""


class UrlKey(SQLModel, table=True):
    """What a result URL is grouped by (its normalised form and registrable domain), kept
    once per distinct URL so that no process computes them again for a URL the database has
    met: computing them costs tens of microseconds a URL, most of a stored result's cost.

    ``digest`` (BLAKE2b of the URL, 32 hex digits) is the key, since a URL may be longer than
    a PostgreSQL index entry can be; ``url`` is kept to confirm a match. ``version`` names the
    rules of :mod:`serptrack.urls` the keys were computed with: rows of another version are
    computed again.
    """

    __tablename__ = "url_keys"

    digest: str = Field(primary_key=True)
    url: str
    norm_url: str
    domain: str
    version: int


class StanceMark(SQLModel, table=True):
    """How far ``url_stances`` covers a campaign: every check of it up to ``check_id`` has the
    rows of its result URLs (``result_id`` is the mark of schema 0002-0004, no longer read)."""

    __tablename__ = "stance_marks"

    campaign_id: int = Field(
        sa_column=Column(Integer, ForeignKey("campaigns.id"), primary_key=True, nullable=False)
    )
    result_id: int = 0
    check_id: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class SlotClaim(SQLModel, table=True):
    """A worker's claim on one schedule slot of one keyword: the slot is checked exactly once.

    The primary key makes a second claim on the same slot impossible; ``check_id`` is set in
    the transaction that stores the check. A claim without a check whose lease has passed (or
    whose worker process is gone) can be taken over.
    """

    __tablename__ = "slot_claims"

    keyword_id: int = Field(
        sa_column=Column(Integer, ForeignKey("keywords.id"), primary_key=True, nullable=False)
    )
    slot: dt.datetime = Field(sa_column=Column(UTCDateTime, primary_key=True, nullable=False))
    worker: str
    token: str
    claimed_at: dt.datetime = Field(sa_type=UTCDateTime)
    lease_until: dt.datetime = Field(sa_type=UTCDateTime)
    check_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("checks.id"), nullable=True)
    )

    __table_args__ = (Index("ix_slot_claims_token", "token"),)


class AlertMemory(SQLModel, table=True):
    """What alert finding remembers of a keyword's last check (see :mod:`serptrack.alerts.events`).

    A cache of the keyword's history, like ``url_stances``: ``stamp`` is ``<basis>/<nonce>``,
    the basis naming the label and alert rules it was computed with (a memory of other rules
    is rebuilt from the stored checks), the nonce new at each write. Its row is locked while
    a check of the keyword is stored, so racing workers take turns.
    """

    __tablename__ = "alert_memory"

    keyword_id: int = Field(
        sa_column=Column(Integer, ForeignKey("keywords.id"), primary_key=True, nullable=False)
    )
    check_id: int = 0
    observed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    stamp: str = ""
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AlertEvent(SQLModel, table=True):
    """One alert event: the outbox row, written in the transaction that stored its check.

    ``id`` is stable (derived from the rule, keyword, kind, view, URL and the check compared
    against), so the same event can never be stored twice. ``suppressed`` says why an event
    was kept but not sent (``cooldown``, ``daily-cap``).
    """

    __tablename__ = "alert_events"
    __table_args__ = (
        Index("ix_alert_events_campaign_at", "campaign_id", "at"),
        # covering: the daily cap counts a rule's deliveries of a day from the index alone
        Index("ix_alert_events_rule_day", "campaign_id", "rule", "day", "suppressed", "kind"),
    )

    id: str = Field(primary_key=True)
    campaign_id: int = Field(sa_column=Column(Integer, ForeignKey("campaigns.id"), nullable=False))
    keyword_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("keywords.id"), nullable=True)
    )
    check_id: int | None = None
    rule: str
    kind: str
    view: str | None = None
    at: dt.datetime = Field(sa_type=UTCDateTime)
    day: dt.date
    url: str | None = None
    position: int | None = None
    official_url: str | None = None
    official_position: int | None = None
    critical_url: str | None = None
    critical_position: int | None = None
    text: str = ""
    suppressed: str | None = None
    ordinal: int = 0  # its place among the events of its check (the rules' file order)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AlertDelivery(SQLModel, table=True):
    """One event's delivery to one channel: ``pending``, ``sent`` or ``failed`` (given up).

    A sender leases a pending row (``lease_token``, ``lease_until``) before it sends, so two
    processes never send the same delivery at once; a crashed sender's lease runs out.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_state", "state", "next_attempt_at"),)

    event_id: str = Field(
        sa_column=Column(
            String(64), ForeignKey("alert_events.id"), primary_key=True, nullable=False
        )
    )
    channel: str = Field(primary_key=True)
    state: str = "pending"
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_token: str | None = None
    lease_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlertAttempt(SQLModel, table=True):
    """One attempt to deliver an event to a channel, with what the receiver answered."""

    __tablename__ = "alert_attempts"
    __table_args__ = (Index("ix_alert_attempts_event", "event_id", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str
    channel: str
    at: dt.datetime = Field(sa_type=UTCDateTime)
    ok: bool = False
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0
