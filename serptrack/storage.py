"""The rank store: engines, migrations, sessions and the typed queries every command uses.

There is no module-level engine: :func:`connect` returns one and callers pass it (or a
session made from it) down.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
import os
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, delete, event, func, insert, inspect, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlmodel import Session, col, select

from . import claims
from .classify import Labeller, Rule
from .errors import DatabaseError, NotFoundError
from .models import Annotation, Campaign, Check, Keyword, LabelRule, Payload, utcnow
from .snapshot import Item, positions
from .store.stances import bring_up_to_date, read_view, remember_url_stances
from .urls import normalise_url, registrable_domain
from .vocabulary import CheckStatus, FailureKind, identity_of

if TYPE_CHECKING:
    from .campaign import CampaignSpec, KeywordSpec

__all__ = [
    "ApplySummary",
    "CheckRecord",
    "apply_campaign",
    "campaign_labeller",
    "campaign_rules",
    "checked_slots",
    "connect",
    "database_url",
    "default_db_path",
    "describe_target",
    "done_slots",
    "get_campaign",
    "history_rows",
    "list_campaigns",
    "load_payloads",
    "record_check",
    "record_checks",
]

_MIGRATIONS = Path(__file__).parent / "migrations"
_SQLITE_MAGIC = b"SQLite format 3\x00"


# --- where the database is ------------------------------------------------------------------


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$SERPTRACK_HOME/serptrack.db``, else ``$XDG_DATA_HOME/serptrack/serptrack.db``,
    else ``~/.local/share/serptrack/serptrack.db``."""
    env = os.environ if environ is None else environ
    if env.get("SERPTRACK_HOME"):
        return Path(env["SERPTRACK_HOME"]).expanduser() / "serptrack.db"
    base = (
        Path(env["XDG_DATA_HOME"]).expanduser()
        if env.get("XDG_DATA_HOME")
        else Path.home() / ".local" / "share"
    )
    return base / "serptrack" / "serptrack.db"


def database_url(target: str | None, environ: Mapping[str, str] | None = None) -> str:
    """A SQLAlchemy URL for ``target``: a URL as given, a file path as SQLite, None as the default."""
    if target and "://" in target:
        return target
    if target:
        path = Path(target).expanduser()
        if not path.parent.is_dir():
            raise DatabaseError(
                f"cannot create database {target}: folder {path.parent} does not exist "
                "(create it, or pass another --db)"
            )
        return f"sqlite:///{path.resolve()}"
    path = default_db_path(environ)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def describe_target(url: str) -> str:
    """The URL with any password hidden, for messages and ``doctor``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


# --- opening and migrating ------------------------------------------------------------------


def connect(target: str | None = None, environ: Mapping[str, str] | None = None) -> Engine:
    """Open (creating or upgrading in place) the serptrack database at ``target``."""
    url = database_url(target, environ)
    shown = describe_target(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"{url!r} is not a database URL or file path") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        _require_sqlite_file(Path(parsed.database))
    try:
        engine = _create_engine(url)
    except (ArgumentError, ImportError, SQLAlchemyError) as error:
        raise DatabaseError(f"cannot open database {shown}: {_first_line(error)}") from None
    try:
        _migrate(engine, shown)
    except (OperationalError, SADatabaseError) as error:
        engine.dispose()
        raise DatabaseError(f"cannot open database {shown}: {_first_line(error)}") from None
    except DatabaseError:
        engine.dispose()
        raise
    return engine


def _create_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        _explain_read_only(engine, describe_target(url))
        return engine
    engine = create_engine(url, connect_args={"timeout": 30})
    _explain_read_only(engine, describe_target(url))

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Long histories read tens of thousands of rows: a larger page cache and memory-mapped
        # reads cut that time by a tenth.
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.execute("PRAGMA mmap_size = 268435456")
        cursor.close()

    return engine


_READ_ONLY = ("attempt to write a readonly database", "read-only transaction")


def _explain_read_only(engine: Engine, shown: str) -> None:
    """A write refused by a read-only database becomes one line that says so, not a traceback."""

    @event.listens_for(engine, "handle_error")
    def _read_only(context: Any) -> None:
        if any(text in str(context.original_exception) for text in _READ_ONLY):
            raise DatabaseError(
                f"database {shown} is read-only: this command stores data, so it needs a "
                "database it can write (read commands such as status and report work on it)"
            ) from None


def _require_sqlite_file(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(_SQLITE_MAGIC))
    except OSError as error:
        raise DatabaseError(f"cannot read database {path}: {error.strerror}") from None
    if magic != _SQLITE_MAGIC:
        raise DatabaseError(
            f"{path} is not a serptrack database (not even SQLite); pass another --db"
        )


def _alembic_config(connection: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _migrate(engine: Engine, shown: str) -> None:
    with engine.begin() as connection:
        tables = set(inspect(connection).get_table_names())
        if tables and "alembic_version" not in tables:
            names = ", ".join(sorted(tables)[:5])
            raise DatabaseError(
                f"{shown} is not a serptrack database (it has tables: {names}); pass another --db"
            )
        config = _alembic_config(connection)
        script = ScriptDirectory.from_config(config)
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and not _known(script, current):
            raise DatabaseError(
                f"{shown} was written by a newer serptrack (schema {current}); upgrade serptrack"
            )
        if current != script.get_current_head():
            command.upgrade(config, "head")


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (CommandError, ResolutionError):
        return False


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


# --- campaigns ------------------------------------------------------------------------------


@dataclass
class ApplySummary:
    """What ``apply`` changed."""

    campaign: str
    created: bool
    keywords_added: list[str] = field(default_factory=list)
    keywords_updated: list[str] = field(default_factory=list)
    keywords_reactivated: list[str] = field(default_factory=list)
    keywords_deactivated: list[str] = field(default_factory=list)
    keywords_active: int = 0
    rules: int = 0
    annotations: int = 0


def apply_campaign(
    engine: Engine, spec: CampaignSpec, now: dt.datetime | None = None
) -> ApplySummary:
    """Create or update a campaign from its validated file, in one transaction."""
    now = now or utcnow()
    with Session(engine) as session, session.begin():
        campaign = session.exec(select(Campaign).where(Campaign.name == spec.name)).first()
        created = campaign is None
        if campaign is None:
            campaign = Campaign(name=spec.name, created_at=now)
        campaign.brand = spec.brand
        campaign.description = spec.description
        campaign.crisis_start = spec.crisis_start
        campaign.source_path = spec.path
        campaign.settings = spec.settings
        campaign.updated_at = now
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        summary = ApplySummary(spec.name, created)
        _apply_keywords(session, campaign.id, spec.keywords, now, summary)
        session.execute(delete(LabelRule).where(col(LabelRule.campaign_id) == campaign.id))
        session.execute(delete(Annotation).where(col(Annotation.campaign_id) == campaign.id))
        for position, rule in enumerate(spec.rules):
            session.add(
                LabelRule(
                    campaign_id=campaign.id,
                    stance=rule.stance,
                    pattern=rule.pattern,
                    kind=rule.kind,
                    key=rule.key,
                    position=position,
                )
            )
        for note in spec.annotations:
            session.add(
                Annotation(
                    campaign_id=campaign.id, date=note.date, text=note.text, query=note.query
                )
            )
        # labels apply retroactively: relabel every URL already seen, in this same transaction
        bring_up_to_date(session.connection(), campaign.id, spec.rules)
        summary.rules = len(spec.rules)
        summary.annotations = len(spec.annotations)
        summary.keywords_active = len(spec.keywords)
    return summary


def _apply_keywords(
    session: Session,
    campaign_id: int,
    specs: Sequence[KeywordSpec],
    now: dt.datetime,
    summary: ApplySummary,
) -> None:
    existing = {
        _identity(k): k
        for k in session.exec(select(Keyword).where(col(Keyword.campaign_id) == campaign_id))
    }
    wanted = {spec.identity for spec in specs}
    for spec in specs:
        keyword = existing.get(spec.identity)
        values: dict[str, Any] = {
            "provider": spec.provider,
            "depth": spec.depth,
            "schedule": spec.schedule,
            "timezone": spec.timezone,
            "tags": list(spec.tags),
        }
        if keyword is None:
            session.add(
                Keyword(
                    campaign_id=campaign_id,
                    query=spec.query,
                    engine=spec.engine,
                    country=spec.country,
                    language=spec.language,
                    device=spec.device,
                    location=spec.location,
                    active=True,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            summary.keywords_added.append(spec.query)
            continue
        changed = any(getattr(keyword, name) != value for name, value in values.items())
        if not keyword.active:
            summary.keywords_reactivated.append(spec.query)
        elif changed:
            summary.keywords_updated.append(spec.query)
        if changed or not keyword.active:
            for name, value in values.items():
                setattr(keyword, name, value)
            keyword.active = True
            keyword.updated_at = now
            session.add(keyword)
    for identity, keyword in existing.items():
        if identity not in wanted and keyword.active:
            keyword.active = False
            keyword.updated_at = now
            session.add(keyword)
            summary.keywords_deactivated.append(keyword.query)


def _identity(keyword: Keyword) -> tuple[str, ...]:
    return identity_of(keyword)


def get_campaign(session: Session, name: str) -> Campaign:
    """The campaign called ``name``, or an error that says how to create it."""
    campaign = session.exec(select(Campaign).where(Campaign.name == name)).first()
    if campaign is None:
        names = list(session.exec(select(Campaign.name).order_by(col(Campaign.name))))
        known = f" (known: {', '.join(names)})" if names else ""
        raise NotFoundError(
            f"no campaign named {name!r}{known}; create it with: serptrack apply FILE"
        )
    return campaign


def list_campaigns(session: Session) -> list[dict[str, Any]]:
    """Every campaign with its keyword and check counts."""
    keyword_counts: dict[int | None, int] = dict(
        session.exec(
            select(Keyword.campaign_id, func.count())
            .where(col(Keyword.active))
            .group_by(col(Keyword.campaign_id))
        ).all()
    )
    check_counts: dict[int | None, int] = dict(
        session.exec(
            select(Keyword.campaign_id, func.count(col(Check.id)))
            .join(Check, col(Check.keyword_id) == col(Keyword.id))
            .group_by(col(Keyword.campaign_id))
        ).all()
    )
    rows = []
    for campaign in session.exec(select(Campaign).order_by(col(Campaign.name))):
        rows.append(
            {
                "name": campaign.name,
                "brand": campaign.brand,
                "crisis_start": campaign.crisis_start.isoformat()
                if campaign.crisis_start
                else None,
                "keywords": keyword_counts.get(campaign.id, 0),
                "checks": check_counts.get(campaign.id, 0),
                "source_path": campaign.source_path,
            }
        )
    return rows


def campaign_keywords(
    session: Session, campaign: Campaign, *, active_only: bool = True
) -> list[Keyword]:
    """The campaign's keywords, in the order they were added."""
    query = select(Keyword).where(col(Keyword.campaign_id) == campaign.id)
    if active_only:
        query = query.where(col(Keyword.active))
    return list(session.exec(query.order_by(col(Keyword.id))))


def campaign_rules(session: Session, campaign: Campaign) -> list[Rule]:
    """The campaign's label rules in file order."""
    rows = session.exec(
        select(LabelRule)
        .where(col(LabelRule.campaign_id) == campaign.id)
        .order_by(col(LabelRule.position))
    )
    return [Rule(r.stance, r.pattern, r.kind, r.key) for r in rows]


def campaign_labeller(session: Session, campaign: Campaign) -> Labeller:
    """A labeller for the campaign's current rules (labels apply retroactively)."""
    return Labeller(campaign_rules(session, campaign))


# --- checks ---------------------------------------------------------------------------------


@dataclass
class CheckRecord:
    """Everything stored for one check."""

    keyword_id: int
    provider: str
    observed_at: dt.datetime
    status: CheckStatus = CheckStatus.OK
    slot: dt.datetime | None = None
    items: Sequence[Item] = ()
    pages: Sequence[Any] = ()  # RawPage-like: body, content_type, url, status_code
    error: str | None = None
    error_kind: FailureKind | None = None
    status_code: int | None = None
    source: str | None = None
    claim_token: str | None = None  # set when the slot was claimed (worker, check --due)


_RESULT_COLUMNS = (
    "check_id",
    "placement",
    "block",
    "rank",
    "page_position",
    "url",
    "norm_url",
    "domain",
    "title",
    "snippet",
    "tracking_url",
)


def record_check(engine: Engine, record: CheckRecord) -> int:
    """Store one check, its results and its raw pages in one transaction; return its id."""
    return record_checks(engine, [record])[0]


def record_checks(engine: Engine, records: Sequence[CheckRecord]) -> list[int]:
    """Store several whole checks in one transaction (a group commit); return their ids.

    A check is never split across transactions: either all of a batch is stored or none. A
    check whose slot claim was lost meanwhile (see :mod:`serptrack.claims`) is not kept; its
    id comes back as 0.
    """
    if not records:
        return []
    with engine.begin() as connection:
        return write_checks(connection, records)


def write_checks(connection: Any, records: Sequence[CheckRecord]) -> list[int]:
    """Write ``records`` on ``connection`` inside the caller's transaction; return their ids.

    Every table takes one multi-row statement for the whole batch: per-statement overhead, not
    rows, is what costs most when checks of 100 results are stored.
    """
    now = utcnow()
    counts = [len(r.items) if r.status == "ok" else 0 for r in records]
    check_rows = [
        {
            "keyword_id": r.keyword_id,
            "provider": r.provider,
            "slot": r.slot,
            "observed_at": r.observed_at,
            "status": r.status,
            "error": r.error,
            "error_kind": r.error_kind,
            "status_code": r.status_code,
            "source": r.source,
            "result_count": count,
            "created_at": now,
        }
        for r, count in zip(records, counts, strict=True)
    ]
    returned = connection.execute(
        insert(Check).returning(col(Check.id), sort_by_parameter_order=True), check_rows
    )
    check_ids = [int(row[0]) for row in returned]
    result_rows: list[tuple[Any, ...]] = []
    payload_rows: list[dict[str, Any]] = []
    urls_by_keyword: dict[int, set[str]] = {}
    checks_by_keyword: dict[int, list[int]] = {}
    at = _RESULT_COLUMNS.index("norm_url")
    for record, check_id, count in zip(records, check_ids, counts, strict=True):
        checks_by_keyword.setdefault(record.keyword_id, []).append(check_id)
        if count:
            rows = _result_rows(check_id, record.items)
            result_rows.extend(rows)
            urls_by_keyword.setdefault(record.keyword_id, set()).update(row[at] for row in rows)
        payload_rows.extend(
            {
                "check_id": check_id,
                "page": number,
                "url": page.url,
                "content_type": page.content_type,
                "status_code": page.status_code,
                "body": zlib.compress(page.body, 6),
            }
            for number, page in enumerate(record.pages, start=1)
        )
    if result_rows:
        # A driver-level executemany of plain tuples: the ORM would cost ~30x more per row.
        connection.exec_driver_sql(_insert_sql(connection.dialect.paramstyle), result_rows)
    if payload_rows:
        connection.execute(insert(Payload), payload_rows)
    remember_url_stances(connection, urls_by_keyword, checks_by_keyword)
    return [
        check_id if _claim_kept(connection, record, check_id) else 0
        for record, check_id in zip(records, check_ids, strict=True)
    ]


def _claim_kept(connection: Any, record: CheckRecord, check_id: int) -> bool:
    if record.claim_token is None or record.slot is None:
        return True
    if claims.complete_claim(
        connection, record.keyword_id, record.slot, record.claim_token, check_id
    ):
        return True
    claims.discard_check(connection, check_id)
    return False


@functools.cache
def _insert_sql(paramstyle: str) -> str:
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(paramstyle)
    if marker is None:
        raise DatabaseError(f"unsupported database driver (paramstyle {paramstyle!r})")
    return (
        f"INSERT INTO results ({', '.join(_RESULT_COLUMNS[:])}) "
        f"VALUES ({', '.join([marker] * len(_RESULT_COLUMNS))})"
    )


def _result_rows(check_id: int, items: Sequence[Item]) -> list[tuple[Any, ...]]:
    return [
        (
            check_id,
            item.placement,
            item.block,
            rank,
            page_position,
            item.url,
            *_url_keys(item.url),
            item.title,
            item.snippet,
            item.tracking_url,
        )
        for item, (rank, page_position) in zip(items, positions(items), strict=True)
    ]


@functools.lru_cache(maxsize=200_000)
def _domain_of(norm_url: str) -> str:
    return registrable_domain(norm_url)


@functools.lru_cache(maxsize=200_000)
def _url_keys(url: str) -> tuple[str, str]:
    """(normalised URL, registrable domain) of a result URL; cached, as pages repeat URLs."""
    norm = normalise_url(url)
    return norm, registrable_domain(norm)


def load_payloads(session: Session, check_id: int) -> list[tuple[str, bytes]]:
    """The raw pages of a check, decompressed, as (content type, body)."""
    rows = session.exec(
        select(Payload.content_type, Payload.body)
        .where(col(Payload.check_id) == check_id)
        .order_by(col(Payload.page))
    )
    return [(content_type, zlib.decompress(body)) for content_type, body in rows]


def done_slots(
    session: Session,
    keyword_ids: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
    *,
    ok_only: bool = False,
) -> set[tuple[int, dt.datetime]]:
    """(keyword id, slot) pairs that already have a check (a successful one with ``ok_only``)."""
    ids = list(keyword_ids)
    if not ids:
        return set()
    query = select(Check.keyword_id, Check.slot).where(
        col(Check.keyword_id).in_(ids), col(Check.slot) >= start, col(Check.slot) <= end
    )
    if ok_only:
        query = query.where(col(Check.status) == "ok")
    return {(keyword_id, slot) for keyword_id, slot in session.exec(query) if slot is not None}


def checked_slots(
    session: Session, pairs: Sequence[tuple[int, dt.datetime]]
) -> set[tuple[int, dt.datetime]]:
    """The (keyword id, slot) pairs among ``pairs`` that already have a check."""
    found: set[tuple[int, dt.datetime]] = set()
    for first in range(0, len(pairs), 400):
        chunk = pairs[first : first + 400]
        query = select(Check.keyword_id, Check.slot).where(
            tuple_(col(Check.keyword_id), col(Check.slot)).in_(chunk)
        )
        found.update(
            (keyword_id, slot) for keyword_id, slot in session.exec(query) if slot is not None
        )
    return found


# --- history --------------------------------------------------------------------------------

HISTORY_COLUMNS = [
    "campaign",
    "query",
    "engine",
    "country",
    "language",
    "device",
    "provider",
    "check_id",
    "observed_at",
    "status",
    "error",
    "placement",
    "block",
    "rank",
    "page_position",
    "url",
    "domain",
    "title",
    "snippet",
    "stance",
]


def history_rows(
    session: Session,
    campaign: Campaign,
    *,
    query: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Every stored result of the campaign, one row each, oldest check first.

    A failed or blocked check is one row with its error and null result fields. Checks are
    read first, then their results a chunk of checks at a time through the
    (check_id, page_position) index, so rows stream in order without a sort or a full load.
    Stances come from the campaign's stance view, as in every other read.
    """
    assert campaign.id is not None
    connection = session.connection()
    view = read_view(connection, campaign.id)
    stances: dict[str, str] = {}
    checks = session.exec(_history_checks(campaign, query, start, end)).all()
    for first in range(0, len(checks), _HISTORY_CHUNK):
        chunk = checks[first : first + _HISTORY_CHUNK]
        results = _results_by_check(connection, [check.id for check in chunk])
        new_urls = {
            row[_NORM_URL]
            for rows in results.values()
            for row in rows
            if row[_NORM_URL] not in stances
        }
        stances.update(view.stances_of(connection, new_urls))
        for check in chunk:
            yield from _history_rows_of(campaign.name, check, results.get(check.id, ()), stances)


_HISTORY_CHUNK = 500
_NORM_URL = 8  # where norm_url sits in a row of _results_by_check
_EMPTY_RESULT = (None,) * 9


def _history_checks(
    campaign: Campaign, query: str | None, start: dt.datetime | None, end: dt.datetime | None
) -> Any:
    columns: list[Any] = [
        Keyword.query,
        Keyword.engine,
        Keyword.country,
        Keyword.language,
        Keyword.device,
        Check.provider,
        Check.id,
        Check.observed_at,
        Check.status,
        Check.error,
    ]
    statement = (
        sa_select(*columns)
        .join(Check, col(Check.keyword_id) == col(Keyword.id))
        .where(col(Keyword.campaign_id) == campaign.id)
    )
    if query is not None:
        statement = statement.where(col(Keyword.query) == query)
    if start is not None:
        statement = statement.where(col(Check.observed_at) >= start)
    if end is not None:
        statement = statement.where(col(Check.observed_at) < end)
    return statement.order_by(col(Check.observed_at), col(Check.id))


def _results_by_check(
    connection: Any, check_ids: Sequence[int]
) -> dict[int, list[tuple[Any, ...]]]:
    if not check_ids:
        return {}
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (
        "SELECT check_id, placement, block, rank, page_position, url, title, snippet, norm_url "
        f"FROM results WHERE check_id IN ({', '.join([marker] * len(check_ids))}) "
        "ORDER BY check_id, page_position"
    )
    # Straight through the DBAPI cursor: SQLAlchemy's row objects would double the cost of a
    # long history, and these columns need no type conversion.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, tuple(check_ids))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return {
        check_id: list(group)
        for check_id, group in itertools.groupby(rows, key=operator.itemgetter(0))
    }


def _history_rows_of(
    name: str,
    check: Any,
    results: Sequence[tuple[Any, ...]],
    stances: Mapping[str, str],
) -> Iterator[dict[str, Any]]:
    base = {
        "campaign": name,
        "query": check.query,
        "engine": check.engine,
        "country": check.country,
        "language": check.language,
        "device": check.device,
        "provider": check.provider,
        "check_id": check.id,
        "observed_at": check.observed_at,
        "status": check.status,
        "error": check.error,
    }
    for _, placement, block, rank, page_position, url, title, snippet, norm_url in results or [
        _EMPTY_RESULT
    ]:
        row = base.copy()  # copying a prepared dict is about twice as fast as a 20-key literal
        row["placement"] = placement
        row["block"] = block
        row["rank"] = rank
        row["page_position"] = page_position
        row["url"] = url
        # The domain follows from the normalised URL: deriving it (once per URL) is cheaper
        # than reading it for every row.
        row["domain"] = _domain_of(norm_url) if norm_url is not None else None
        row["title"] = title
        row["snippet"] = snippet
        row["stance"] = stances[norm_url] if norm_url is not None else None
        yield row
