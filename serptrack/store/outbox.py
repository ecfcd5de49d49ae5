"""The alert outbox (SPEC section 7): events found in the transaction that stores their check,
and the bookkeeping of their delivery.

Write path (:func:`find_events`, called by :func:`serptrack.store.checks.write_checks`): each
keyword of an alerting campaign has an ``alert_memory`` row, locked while its checks are
stored, so racing workers take turns per keyword. The events :func:`serptrack.alerts.events.step`
finds are inserted under a stable id (the rule, keyword, kind, view, URL and the check compared
against): the same event can never be stored twice, whichever process finds it.

Checkpoints. A keyword's memory is a pure fold of its stored checks (oldest first), so its row
need not be rewritten at every batch: the row holds a checkpoint, the memory after the check
it names (``check_id``, ``observed_at``), under a ``stamp`` (``<basis>/<nonce>``, a fresh
nonce each time a row is written). A batch takes a keyword's memory, with its row locked
(PostgreSQL ``FOR UPDATE``, SQLite's write lock: the turnstile), from

1. this process, when the row's stamp is the one this process holds the memory for;
2. else the checkpoint, with every check of the keyword stored after it replayed (their
   events are not found again: they were inserted with their checks); a new row, or one
   computed under other rules, replays the whole history;

and writes the row (a new stamp) when it took the memory by 2., when a check older than the
memory came (a replay in time order would step it, the batch did not), or every
:data:`_CHECKPOINT_EVERY` checks; otherwise this process holds the memory from the moment
the batch commits (``AFTER_COMMIT``), and not before. Why no event is lost or doubled:

- Only the process that wrote a stamp holds a memory for it, and any batch that takes the
  memory by 2. writes a new stamp in the transaction that stores its checks. So while a row
  keeps a stamp, every check stored after it was stored by its writer, whose memory has
  stepped them all: 1. is the fold of the stored checks.
- A batch that rolls back (or never commits: a crash) stores no checks and writes no row;
  the memory it stepped was never held (a batch's memories are marked pending while it
  runs, held after its commit), so the next batch takes the committed state by 2.
- A crash after a commit loses only what the process held; the checkpoint and the checks
  after it, all committed, give the same memory by 2. Events are inserted in the batch
  that stores their check, never by a replay, under ids that are unique in the outbox.

Delivery (:func:`lease_deliveries`, :func:`record_attempts`): a sender leases pending
deliveries for a while before it sends, so two senders never send the same one at once and a
sender that dies leaves them to the next.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import threading
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, and_, func, or_, select, text, update

from ..alerts.events import Finding, Memory, Observed, Plan, Seen, advance, plan_for, reach
from ..alerts.message import Alert
from ..alerts.settings import AlertRule, AlertSettings, Channel, from_settings
from ..classify import Labeller, Rule
from ..ctr import curve_from_settings
from ..vocabulary import CheckStatus
from .checks import AFTER_COMMIT
from .schema import (
    ALERT_ATTEMPTS,
    ALERT_DELIVERIES,
    ALERT_EVENTS,
    ALERT_MEMORY,
    CAMPAIGNS,
    CHECKS,
    KEYWORDS,
    RESULTS,
    conflict_insert,
)
from .stances import read_rules

__all__ = [
    "CAP_REACHED",
    "TEST_KIND",
    "Leased",
    "StoredCheck",
    "add_event",
    "delivery_counts",
    "event_id",
    "find_events",
    "lease_deliveries",
    "list_events",
    "record_attempts",
    "replay_events",
    "requeue_failed",
]

CAP_REACHED = "cap-reached"  # the one notice a rule sends when its daily cap is reached
TEST_KIND = "test"  # `alerts test`
_LOCK_SPACE = 0x5E7A  # pg_advisory_xact_lock's first key: serptrack's alert counters


@dataclass(frozen=True)
class StoredCheck:
    """A check just written by ``write_checks``, with its result rows as written."""

    check_id: int
    keyword_id: int
    observed_at: dt.datetime
    status: str
    error_kind: str | None
    rows: Sequence[Sequence[Any]]  # RESULT_COLUMNS tuples
    alerts: bool  # False: update the memory, find no events (backfill, --no-alerts)


@dataclass(frozen=True)
class _Keyword:
    id: int
    campaign_id: int
    campaign: str
    query: str
    country: str
    language: str
    device: str
    changed: Any  # the campaign's updated_at, as the driver gives it (a cache key only)
    #: (stamp, state) of its alert memory row, read with it on SQLite (see _keywords); None
    #: when there is no row or the row is to be read (and locked) apart
    memory: tuple[str, Any] | None = None


@dataclass(frozen=True)
class _Alerting:
    """One campaign's alert settings and what its events are computed with."""

    settings: AlertSettings
    labeller: Labeller
    curve: tuple[float, ...]
    basis: str
    reach: int  # see serptrack.alerts.events.reach
    #: norm_url -> (stance, labelled), as the labeller decides (grows as URLs are seen)
    stances: dict[str, tuple[str, bool]] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)  # query -> the rules' plan for it
    #: (rule, day) whose daily cap is reached and noticed, as stored (committed): it stays so
    #: under these settings (events are never deleted), see _insert_findings
    capped: set[tuple[str, dt.date]] = field(default_factory=set)

    def plan(self, query: str) -> Plan:
        """The alert rules' :class:`~serptrack.alerts.events.Plan` for keyword ``query``."""
        found = self.plans.get(query)
        if found is None:
            found = self.plans[query] = plan_for(self.settings.rules, query)
        return found


# --- the write path ---------------------------------------------------------------------------


def find_events(connection: Connection, stored: Sequence[StoredCheck], now: dt.datetime) -> int:
    """Inside a check batch's transaction: step each keyword's alert memory over its new
    checks and insert the events found; return how many events were inserted."""
    if not stored:
        return 0
    keywords = _keywords(connection, {check.keyword_id for check in stored}, with_memory=True)
    alerting = _alerting(connection, {k.campaign_id: k.changed for k in keywords.values()})
    mine = sorted(
        (c for c in stored if keywords[c.keyword_id].campaign_id in alerting),
        key=lambda c: (c.keyword_id, c.observed_at, c.check_id),
    )
    if not mine:
        return 0
    how_of = {k: alerting[keywords[k].campaign_id] for k in {c.keyword_id for c in mine}}
    held = _held(connection, keywords, how_of, {c.check_id for c in mine})
    found: list[tuple[_Keyword, StoredCheck, Finding]] = []
    for check in mine:
        keyword = keywords[check.keyword_id]
        how = how_of[check.keyword_id]
        kept = held[check.keyword_id]
        memory = kept.memory
        if memory.at is not None and (check.observed_at, check.check_id) <= (
            memory.at,
            memory.check_id,
        ):
            # Older than the memory: it fires nothing and changes nothing. A replay from the
            # checkpoint would step it (time order), so the memory is saved as it is.
            kept.save = True
            continue
        memory, findings = advance(
            memory, _observed(check, how), how.plan(keyword.query), how.curve
        )
        kept.memory = memory
        kept.since += 1
        if check.alerts:
            found.extend((keyword, check, finding) for finding in findings)
    _keep_memories(connection, held, how_of)
    return _insert_findings(connection, found, alerting, now) if found else 0


def replay_events(connection: Connection, check_ids: Iterable[int], now: dt.datetime) -> int:
    """The events of checks stored without finding them (``backfill --alerts``, whose checks
    finish in any order): each keyword's history is stepped in time order, once every check
    is stored, and only what these checks fire is inserted. Return how many events were new."""
    ids = set(check_ids)
    keyword_of: dict[int, int] = {}
    chosen = sorted(ids)
    for first in range(0, len(chosen), 500):
        for row in connection.execute(
            select(CHECKS.c.id, CHECKS.c.keyword_id).where(
                CHECKS.c.id.in_(chosen[first : first + 500])
            )
        ):
            keyword_of[row.id] = row.keyword_id
    if not keyword_of:
        return 0
    keywords = _keywords(connection, set(keyword_of.values()))
    alerting = _alerting(connection, {k.campaign_id: k.changed for k in keywords.values()})
    mine = sorted(k for k, keyword in keywords.items() if keyword.campaign_id in alerting)
    if not mine:
        return 0
    _lock_memories(connection, mine)
    found: list[tuple[_Keyword, StoredCheck, Finding]] = []
    memories: dict[int, Memory] = {}
    for keyword_id in mine:
        keyword = keywords[keyword_id]
        how = alerting[keyword.campaign_id]
        memory = Memory()
        for observed in _history(connection, keyword_id, set(), how):
            memory, findings = advance(memory, observed, how.plan(keyword.query), how.curve)
            if observed.check_id in ids:
                status = CheckStatus.OK if observed.ok else CheckStatus.FAILED
                stored = StoredCheck(
                    observed.check_id,
                    keyword_id,
                    observed.at,
                    status,
                    observed.error_kind,
                    (),
                    True,
                )
                found.extend((keyword, stored, finding) for finding in findings)
        memories[keyword_id] = memory
    _save_memories(connection, memories, {k: alerting[keywords[k].campaign_id] for k in memories})
    return _insert_findings(connection, found, alerting, now) if found else 0


def _keywords(
    connection: Connection, ids: Iterable[int], with_memory: bool = False
) -> dict[int, _Keyword]:
    """The keywords of ``ids`` with their campaign's name and last change (one query).

    With ``with_memory`` on SQLite, each keyword's memory row comes in the same query: the
    batch's transaction has written its checks already, so it holds SQLite's write lock and
    no other writer can change the row before it commits. PostgreSQL locks the rows apart
    (``FOR UPDATE`` cannot reach the nullable side of an outer join).
    """
    chosen = sorted(ids)
    joined = with_memory and connection.dialect.name == "sqlite"
    rows = _fetch(
        connection,
        "SELECT k.id, k.campaign_id, c.name, c.updated_at, k.query, k.country, k.language,"
        " k.device"
        + (", m.stamp, m.state" if joined else "")
        + " FROM keywords k JOIN campaigns c ON c.id = k.campaign_id"
        + (" LEFT JOIN alert_memory m ON m.keyword_id = k.id" if joined else "")
        + f" WHERE k.id IN ({_markers(connection, len(chosen))})",
        tuple(chosen),
    )
    return {
        row[0]: _Keyword(
            row[0],
            row[1],
            row[2],
            row[4],
            row[5],
            row[6],
            row[7],
            row[3],
            (row[8] or "", row[9]) if joined and row[8] is not None else None,
        )
        for row in rows
    }


def _database(connection: Connection) -> str:
    """The database ``connection`` is on, as the process-wide caches key it (rendering an
    engine's URL costs more than the memory lookups it keys, so it is done once an engine)."""
    engine = connection.engine
    found = _DATABASES.get(engine)
    if found is None:
        found = _DATABASES[engine] = str(engine.url)
    return found


_DATABASES: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _fetch(connection: Connection, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
    """The rows of a read on the write path, straight from the DBAPI cursor: SQLAlchemy's
    statement and result handling cost several times these small indexed reads, which run
    in the transaction of every batch of checks (as in :mod:`serptrack.store.history`)."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _markers(connection: Connection, count: int) -> str:
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([marker] * count)


def _alerting(connection: Connection, campaigns: Mapping[int, dt.datetime]) -> dict[int, _Alerting]:
    """The campaigns among ``campaigns`` (id -> last change) that have alert rules.

    What a campaign alerts with changes only when ``apply`` changes the campaign (and so its
    ``updated_at``): a process keeps it per (campaign, updated_at) instead of reading the
    settings and rules at every batch.
    """
    found = {}
    for campaign_id, updated_at in campaigns.items():
        key = (_database(connection), campaign_id, updated_at)
        if key not in _ALERTING:
            _ALERTING[key] = _read_alerting(connection, campaign_id)
            while len(_ALERTING) > 256:
                _ALERTING.pop(next(iter(_ALERTING)))
        how = _ALERTING[key]
        if how is not None:
            found[campaign_id] = how
    return found


_ALERTING: dict[tuple[str, int, Any], _Alerting | None] = {}


def _read_alerting(connection: Connection, campaign_id: int) -> _Alerting | None:
    settings = (
        connection.execute(
            select(CAMPAIGNS.c.settings).where(CAMPAIGNS.c.id == campaign_id)
        ).scalar_one()
        or {}
    )
    alerts = from_settings(settings.get("alerts"))
    if not alerts.rules:
        return None
    rules = tuple(read_rules(connection, campaign_id))
    curve = curve_from_settings(settings.get("analysis")).positions
    return _Alerting(
        alerts,
        _labeller(rules),
        tuple(curve),
        _basis(rules, alerts.rules, curve),
        reach(alerts.rules),
    )


@functools.lru_cache(maxsize=64)
def _labeller(rules: tuple[Rule, ...]) -> Labeller:
    """One labeller per set of rules in a process: its cache of URLs outlives a batch."""
    return Labeller(rules)


def _basis(rules: Sequence[Rule], alert_rules: Sequence[AlertRule], curve: Sequence[float]) -> str:
    """What a memory was computed with: label rules, alert rules and CTR curve."""
    doc = json.dumps(
        [
            [[r.stance, r.kind, r.key] for r in rules],
            [
                [r.key, r.on, r.view, r.hold, r.top, r.points, r.after, r.queries]
                for r in alert_rules
            ],
            list(curve),
        ]
    )
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


class _Row(NamedTuple):
    """A keyword's memory row as a batch finds it (locked; a named tuple: one a keyword a
    batch)."""

    stamp: str  # "" for a row holding no memory
    kept: _Kept | None = None  # this process's memory of the keyword, valid for this stamp
    checkpoint: Memory | None = None  # the row's own memory, when ``kept`` is None


@dataclass(slots=True)
class _Held:
    """A keyword's memory while a batch steps it."""

    stamp: str  # the row's stamp as read
    memory: Memory  # after every stored check stepped so far
    since: int  # checks stepped past the row's checkpoint
    save: bool  # the batch writes the row (a checkpoint)


def _lock_memories(
    connection: Connection,
    keyword_ids: list[int],
    keywords: Mapping[int, _Keyword] | None = None,
) -> dict[int, _Row]:
    """Each keyword's memory row, created when missing and locked (PostgreSQL: ``FOR
    UPDATE``, in keyword order, so batches never wait on each other in opposite orders).
    Rows ``keywords`` carry already (read with them on SQLite) are not read again."""
    database = _database(connection)
    found: dict[int, _Row] = {}
    unread = []
    for keyword_id in keyword_ids:
        row = keywords[keyword_id].memory if keywords else None
        if row is None:
            unread.append(keyword_id)
        else:
            found[keyword_id] = _memory_of(database, keyword_id, *row)
    if unread:
        found.update(_memory_rows(connection, unread))
    missing = [k for k in keyword_ids if k not in found]
    if missing:
        insert = conflict_insert(connection.dialect.name)
        assert insert is not None  # alerts run on SQLite and PostgreSQL only
        connection.execute(
            insert(ALERT_MEMORY).on_conflict_do_nothing(index_elements=["keyword_id"]),
            [{"keyword_id": k, "check_id": 0, "stamp": "", "state": {}} for k in missing],
        )
        found.update(_memory_rows(connection, missing))  # a racing batch's rows, if any
    return found


def _memory_rows(connection: Connection, keyword_ids: list[int]) -> dict[int, _Row]:
    """The rows of ``keyword_ids``, locked; the state of a row whose memory this process
    holds (same ``stamp``) is not read, nor parsed."""
    sql = (
        "SELECT keyword_id, stamp FROM alert_memory"
        f" WHERE keyword_id IN ({_markers(connection, len(keyword_ids))})"
    )
    if connection.dialect.name == "postgresql":
        sql += " ORDER BY keyword_id FOR UPDATE"
    database = _database(connection)
    found: dict[int, _Row] = {}
    unknown: list[int] = []
    for keyword_id, stamp in _fetch(connection, sql, tuple(keyword_ids)):
        kept = _MEMORIES.get((database, keyword_id))
        if isinstance(kept, _Kept) and stamp and kept.stamp == stamp:
            found[keyword_id] = _Row(stamp, kept)
        else:
            unknown.append(keyword_id)
    if unknown:
        for keyword_id, stamp, state in _fetch(
            connection,
            "SELECT keyword_id, stamp, state FROM alert_memory"
            f" WHERE keyword_id IN ({_markers(connection, len(unknown))})",
            tuple(unknown),
        ):
            found[keyword_id] = _memory_of(database, keyword_id, stamp, state)
    return found


def _memory_of(database: str, keyword_id: int, stamp: str, state: Any) -> _Row:
    """A memory row: the memory this process holds when the stamp is the one it holds it for
    (nothing to parse), else the row's JSON ``state``."""
    kept = _MEMORIES.get((database, keyword_id))
    if isinstance(kept, _Kept) and stamp and kept.stamp == stamp:
        return _Row(stamp, kept)
    if not stamp:
        return _Row("")
    if isinstance(state, str | bytes):
        state = orjson.loads(state)
    return _Row(stamp, checkpoint=Memory.from_state(state))


class _Kept(NamedTuple):
    """This process's memory of a keyword: valid while the row's stamp is ``stamp`` (a named
    tuple: one a keyword a batch)."""

    stamp: str
    memory: Memory  # after every check of the keyword stored so far
    since: int  # checks it stepped past the row's checkpoint (the row's own state)


#: (database, keyword id) -> this process's memory of the keyword (see the module docstring,
#: "Checkpoints"), or a batch's pending marker while that batch has not committed. A stamp is
#: written once (a fresh nonce per batch that writes the row), so a row with the same stamp
#: was written by this process, and only this process has stored checks of it since.
_MEMORIES: dict[tuple[str, int], _Kept | object] = {}
_MEMORIES_KEPT = 20_000
_MEMORIES_LOCK = threading.Lock()  # a pending marker is replaced only by its own batch
_CHECKPOINT_EVERY = 16  # checks stepped past a checkpoint before the row is written again


def _basis_of(stamp: str | None) -> str:
    """The basis part of a stamp (``<basis>/<nonce>``); "" for a row holding no memory."""
    return (stamp or "").partition("/")[0]


def _held(
    connection: Connection,
    keywords: Mapping[int, _Keyword],
    how_of: Mapping[int, _Alerting],
    batch_ids: set[int],
) -> dict[int, _Held]:
    """Each keyword's memory before this batch's checks, its row locked: the one this process
    holds; else the row's checkpoint and the checks stored after it (replayed); else, for a
    new row or one computed under other rules, the keyword's whole stored history. The
    batch's own checks are left out of a replay: they are stepped next, finding events."""
    rows = _lock_memories(connection, sorted(how_of), keywords)
    held: dict[int, _Held] = {}
    replay: dict[int, Memory] = {}
    for keyword_id, how in how_of.items():
        row = rows[keyword_id]
        if _basis_of(row.stamp) != how.basis:
            replay[keyword_id] = Memory()  # new, or computed under other rules: everything
        elif row.kept is not None:
            kept = row.kept
            held[keyword_id] = _Held(row.stamp, kept.memory, kept.since, save=False)
        else:
            replay[keyword_id] = row.checkpoint or Memory()
    if replay:
        histories = _histories(connection, replay, batch_ids, how_of)
        for keyword_id, memory in replay.items():
            how = how_of[keyword_id]
            plan = how.plan(keywords[keyword_id].query)
            for observed in histories.get(keyword_id, ()):
                memory, _ = advance(memory, observed, plan, how.curve)
            held[keyword_id] = _Held(rows[keyword_id].stamp, memory, 0, save=True)
    return held


def _keep_memories(
    connection: Connection, held: Mapping[int, _Held], how_of: Mapping[int, _Alerting]
) -> None:
    """Write the rows the batch checkpoints; hold the other memories in this process from
    the moment the batch commits (see :func:`_commit_memories`)."""
    saved = {k: h.memory for k, h in held.items() if h.save or h.since >= _CHECKPOINT_EVERY}
    if saved:
        _save_memories(connection, saved, how_of)
    lazy = [(k, h) for k, h in held.items() if k not in saved]
    if not lazy:
        return
    database = _database(connection)
    marker = object()
    pending = [((database, k), _Kept(h.stamp, h.memory, h.since)) for k, h in lazy]
    with _MEMORIES_LOCK:
        for key, _ in pending:  # until the batch commits, nobody may take the old memory
            _MEMORIES.pop(key, None)
            _MEMORIES[key] = marker
        while len(_MEMORIES) > _MEMORIES_KEPT:
            _MEMORIES.pop(next(iter(_MEMORIES)))
    callbacks = connection.info.setdefault(AFTER_COMMIT, [])
    callbacks.append(functools.partial(_commit_memories, marker, pending))


def _commit_memories(marker: object, pending: Sequence[tuple[tuple[str, int], _Kept]]) -> None:
    """Once a batch has committed: hold the memories it stepped without writing their rows,
    unless a later batch of this process has taken the keyword meanwhile."""
    with _MEMORIES_LOCK:
        for key, kept in pending:
            if _MEMORIES.get(key) is marker:
                _MEMORIES[key] = kept


def _histories(
    connection: Connection,
    since: Mapping[int, Memory],
    leave_out: set[int],
    how_of: Mapping[int, _Alerting],
) -> dict[int, list[Observed]]:
    """The stored checks of each keyword of ``since`` after its memory (all of them for an
    empty memory), oldest first, those of ``leave_out`` left out (one query for them all)."""
    c = CHECKS
    keyword_ids = sorted(since)
    query = (
        select(c.c.id, c.c.keyword_id, c.c.observed_at, c.c.status, c.c.error_kind)
        .where(c.c.keyword_id.in_(keyword_ids))
        .order_by(c.c.keyword_id, c.c.observed_at, c.c.id)
    )
    if all(memory.at is not None for memory in since.values()):
        query = query.where(c.c.observed_at >= min(m.at for m in since.values() if m.at))
    checks: list[Any] = []
    for row in connection.execute(query):
        memory = since[row.keyword_id]
        if row.id in leave_out:
            continue
        if memory.at is not None and (row.observed_at, row.id) <= (memory.at, memory.check_id):
            continue
        checks.append(row)
    return _observations(connection, checks, how_of)


def _history(
    connection: Connection, keyword_id: int, leave_out: set[int], how: _Alerting
) -> list[Observed]:
    """Every stored check of a keyword, oldest first, those of ``leave_out`` left out."""
    return _histories(connection, {keyword_id: Memory()}, leave_out, {keyword_id: how}).get(
        keyword_id, []
    )


def _observations(
    connection: Connection, checks: Sequence[Any], how_of: Mapping[int, _Alerting]
) -> dict[int, list[Observed]]:
    """``checks`` (rows of id, keyword_id, observed_at, status, error_kind) with their
    results, per keyword, in the given order."""
    r = RESULTS
    rows: dict[int, list[Any]] = {}
    ok = [row.id for row in checks if row.status == CheckStatus.OK]
    for first in range(0, len(ok), 500):
        for row in connection.execute(
            select(
                r.c.check_id,
                r.c.placement,
                r.c.block,
                r.c.rank,
                r.c.page_position,
                r.c.url,
                r.c.norm_url,
            ).where(r.c.check_id.in_(ok[first : first + 500]), r.c.sample == 1)
        ):
            rows.setdefault(row.check_id, []).append(row)
    found: dict[int, list[Observed]] = {}
    for row in checks:
        found.setdefault(row.keyword_id, []).append(
            Observed(
                check_id=row.id,
                at=row.observed_at,
                ok=row.status == CheckStatus.OK,
                error_kind=row.error_kind,
                results=_seen(rows.get(row.id, ()), how_of[row.keyword_id]),
            )
        )
    return found


def _observed(check: StoredCheck, how: _Alerting) -> Observed:
    # tuple.__new__: Observed's own __new__ is a Python function, called once a check
    return tuple.__new__(
        Observed,
        (
            check.check_id,
            check.observed_at,
            check.status == CheckStatus.OK,
            _seen(check.rows, how),
            check.error_kind,
        ),
    )


def _seen(rows: Iterable[Sequence[Any]], how: _Alerting) -> tuple[Seen, ...]:
    """The results the rules read, labelled: every organic result up to their reach, and
    official and critical ones wherever they are (see :func:`serptrack.alerts.events.reach`).

    ``rows`` start as RESULT_COLUMNS do: check_id, placement, block, rank, page_position,
    url, norm_url. One pass, by index: a page of 100 results goes through here per check.
    """
    stances, depth = how.stances, how.reach
    kept: list[Seen] = []
    keep = kept.append
    new = tuple.__new__  # Seen's own __new__ is a Python function: a frame per result
    for row in rows:
        norm_url = row[6]
        try:  # a subscript, not .get(): nearly every URL is known already
            stance, labelled = stances[norm_url]
        except KeyError:
            rule = how.labeller.rule_for(norm_url)
            stance, labelled = stances[norm_url] = (
                (rule.stance, True) if rule else ("neutral", False)
            )
        if stance == "neutral" and (row[3] > depth or row[1] != "organic"):
            continue
        keep(new(Seen, (row[5], norm_url, row[1], row[2], row[3], row[4], stance, labelled)))
    return tuple(kept)


def _save_memories(
    connection: Connection, memories: Mapping[int, Memory], how: Mapping[int, _Alerting]
) -> None:
    postgresql = connection.dialect.name == "postgresql"
    marker = "%s" if postgresql else "?"
    state = f"CAST({marker} AS JSON)" if postgresql else marker
    nonce = uuid.uuid4().hex[:12]
    stamps = {keyword_id: f"{how[keyword_id].basis}/{nonce}" for keyword_id in memories}
    rows = [
        (
            keyword_id,
            memory.check_id,
            _driver_time(memory.at, postgresql),
            stamps[keyword_id],
            orjson.dumps(memory.to_state()).decode(),
        )
        for keyword_id, memory in memories.items()
    ]
    # The rows exist (locked by _lock_memories): an upsert of several rows is one statement,
    # where an UPDATE per keyword would be one step (and one GIL hand-off) per row.
    _insert_rows(
        connection,
        "INSERT INTO alert_memory (keyword_id, check_id, observed_at, stamp, state)",
        f"({marker}, {marker}, {marker}, {marker}, {state})",
        rows,
        " ON CONFLICT (keyword_id) DO UPDATE SET check_id = excluded.check_id,"
        " observed_at = excluded.observed_at, stamp = excluded.stamp, state = excluded.state",
    )
    # Held at once: a fresh stamp, which no row has if the batch rolls back.
    database = _database(connection)
    with _MEMORIES_LOCK:
        for keyword_id, memory in memories.items():
            _MEMORIES.pop((database, keyword_id), None)
            _MEMORIES[(database, keyword_id)] = _Kept(stamps[keyword_id], memory, 0)
        while len(_MEMORIES) > _MEMORIES_KEPT:
            _MEMORIES.pop(next(iter(_MEMORIES)))


def _insert_rows(
    connection: Connection,
    head: str,
    row: str,
    rows: Sequence[tuple[Any, ...]],
    tail: str,
    returning: bool = False,
) -> list[Any]:
    """``head VALUES row, row, … tail`` for ``rows``, in statements of at most
    :data:`_ROWS_PER_STATEMENT` rows: one statement for a batch, where ``executemany`` steps
    the statement once per row (SQLite hands the GIL to the fetching thread at every step).
    Straight on the DBAPI cursor, as :func:`_fetch`; with ``returning``, the rows the
    statements return (``tail`` ends with a RETURNING clause)."""
    returned: list[Any] = []
    cursor = connection.connection.cursor()
    try:
        for first in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[first : first + _ROWS_PER_STATEMENT]
            cursor.execute(
                f"{head} VALUES {', '.join([row] * len(chunk))}{tail}",
                tuple(value for values in chunk for value in values),
            )
            if returning:
                returned.extend(cursor.fetchall())
    finally:
        cursor.close()
    return returned


_ROWS_PER_STATEMENT = 500  # 19 values an event: within SQLite's 32,766 bound parameters


def _driver_time(at: dt.datetime | None, postgresql: bool) -> Any:
    """``at`` as :class:`~serptrack.models.UTCDateTime` would bind it."""
    if at is None or postgresql:
        return at
    return at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


# --- events -----------------------------------------------------------------------------------


def event_id(*parts: object) -> str:
    """A stable event id: the same parts always give the same id."""
    joined = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def _insert_findings(
    connection: Connection,
    found: Sequence[tuple[_Keyword, StoredCheck, Finding]],
    alerting: Mapping[int, _Alerting],
    now: dt.datetime,
) -> int:
    """Insert the batch's events (noise control applied) and their deliveries; return how
    many events were new. A handful of statements per batch, whatever the events."""
    events: list[dict[str, Any]] = []
    channels: dict[str, tuple[str, ...]] = {}
    for campaign_id in sorted({keyword.campaign_id for keyword, _, _ in found}):
        mine = [item for item in found if item[0].campaign_id == campaign_id]
        how = alerting[campaign_id]
        settings = how.settings
        keys = {(f.rule.key, c.observed_at.astimezone(dt.UTC).date()) for _, c, f in mine}
        if not settings.cooldown_seconds and keys <= how.capped:
            # Every event is kept back by a cap reached (and noticed) before: nothing to count,
            # nothing to admit, so no lock either (a flood costs no read per batch).
            noise = _Noise(settings, {}, dict.fromkeys(keys, settings.daily_cap), keys)
        else:
            if connection.dialect.name == "postgresql":  # daily caps count across workers
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:space, :campaign)"),
                    {"space": _LOCK_SPACE, "campaign": campaign_id},
                )
            noise = _Noise.read(connection, campaign_id, mine, settings)
            how.capped.update(
                key for key in noise.noticed if noise.sent.get(key, 0) >= settings.daily_cap
            )
        for ordinal, (keyword, check, finding) in enumerate(mine):
            row = _event_row(keyword, check, finding, now, ordinal)
            row["suppressed"] = noise.admit(row, finding.rule)
            events.append(row)
            channels[row["id"]] = () if row["suppressed"] else finding.rule.channels
            notice = noise.notice(row, finding.rule)
            if notice is not None:
                events.append(notice)
                channels[notice["id"]] = finding.rule.channels
    return _insert_events(connection, events, channels)


def _event_row(
    keyword: _Keyword, check: StoredCheck, finding: Finding, now: dt.datetime, ordinal: int
) -> dict[str, Any]:
    rule = finding.rule
    return {
        "id": event_id(
            keyword.id,
            rule.key,
            finding.kind,
            finding.view,
            finding.norm_url or finding.url,
            finding.baseline,
        ),
        "campaign_id": keyword.campaign_id,
        "keyword_id": keyword.id,
        "check_id": check.check_id,
        "rule": rule.key,
        "kind": finding.kind,
        "view": finding.view,
        "at": check.observed_at,
        "day": check.observed_at.astimezone(dt.UTC).date(),
        "url": finding.url,
        "position": finding.position,
        "official_url": finding.official.url if finding.official else None,
        "official_position": finding.official.position if finding.official else None,
        "critical_url": finding.critical.url if finding.critical else None,
        "critical_position": finding.critical.position if finding.critical else None,
        "text": finding.text,
        "suppressed": None,
        "ordinal": ordinal,
        "created_at": now,
    }


@dataclass
class _Noise:
    """Cooldown and daily caps over one campaign's events of a batch: what is stored already,
    plus what this batch admits as it goes."""

    settings: AlertSettings
    last_sent: dict[tuple[int, str, str | None], dt.datetime]  # (keyword, rule, url) -> at
    sent: dict[tuple[str, dt.date], int]  # (rule, day) -> deliveries counted
    noticed: set[tuple[str, dt.date]]

    @classmethod
    def read(
        cls,
        connection: Connection,
        campaign_id: int,
        found: Sequence[tuple[_Keyword, StoredCheck, Finding]],
        settings: AlertSettings,
    ) -> _Noise:
        """What the stored events say about the rules and days of ``found``."""
        e = ALERT_EVENTS
        rules = sorted({finding.rule.key for _, _, finding in found})
        days = sorted({check.observed_at.astimezone(dt.UTC).date() for _, check, _ in found})
        sent: dict[tuple[str, dt.date], int] = {}
        noticed: set[tuple[str, dt.date]] = set()
        postgresql = connection.dialect.name == "postgresql"
        rows = _fetch(
            connection,
            "SELECT rule, day, kind, count(*) FROM alert_events WHERE campaign_id = "
            f"{_markers(connection, 1)} AND rule IN ({_markers(connection, len(rules))})"
            f" AND day IN ({_markers(connection, len(days))}) AND suppressed IS NULL"
            " GROUP BY rule, day, kind",
            (
                campaign_id,
                *rules,
                *(day if postgresql else day.isoformat() for day in days),
            ),
        )
        for rule, day, kind, count in rows:
            key = (rule, day if isinstance(day, dt.date) else dt.date.fromisoformat(day))
            if kind == CAP_REACHED:
                noticed.add(key)
            else:
                sent[key] = sent.get(key, 0) + int(count)
        last_sent: dict[tuple[int, str, str | None], dt.datetime] = {}
        if settings.cooldown_seconds > 0:
            since = min(c.observed_at for _, c, _ in found) - dt.timedelta(
                seconds=settings.cooldown_seconds
            )
            keywords = sorted({keyword.id for keyword, _, _ in found})
            for row in connection.execute(
                select(e.c.keyword_id, e.c.rule, e.c.url, func.max(e.c.at).label("at"))
                .where(
                    e.c.keyword_id.in_(keywords),
                    e.c.rule.in_(rules),
                    e.c.suppressed.is_(None),
                    e.c.at > since,
                )
                .group_by(e.c.keyword_id, e.c.rule, e.c.url)
            ):
                last_sent[(row.keyword_id, row.rule, row.url)] = row.at
        return cls(settings, last_sent, sent, noticed)

    def admit(self, row: Mapping[str, Any], rule: AlertRule) -> str | None:
        """None when the event is to be sent, else why not (``cooldown``, ``daily-cap``)."""
        key = (row["keyword_id"], rule.key, row["url"])
        last = self.last_sent.get(key)
        cooldown = dt.timedelta(seconds=self.settings.cooldown_seconds)
        if cooldown and last is not None and last <= row["at"] < last + cooldown:
            return "cooldown"
        if self.sent.get((rule.key, row["day"]), 0) >= self.settings.daily_cap:
            return "daily-cap"
        self.sent[(rule.key, row["day"])] = self.sent.get((rule.key, row["day"]), 0) + 1
        if cooldown:
            self.last_sent[key] = row["at"]
        return None

    def notice(self, row: Mapping[str, Any], rule: AlertRule) -> dict[str, Any] | None:
        """The one "cap reached" notice of the rule's day, when ``row`` is the first capped."""
        day = row["day"]
        if row["suppressed"] != "daily-cap" or (rule.key, day) in self.noticed:
            return None
        self.noticed.add((rule.key, day))
        return {
            **row,
            "id": event_id(row["campaign_id"], rule.key, CAP_REACHED, day),
            "keyword_id": None,
            "kind": CAP_REACHED,
            "view": None,
            "url": None,
            "position": None,
            "official_url": None,
            "official_position": None,
            "critical_url": None,
            "critical_position": None,
            "suppressed": None,
            "text": f"Rule {rule.key!r} reached its daily cap of {self.settings.daily_cap} "
            f"alerts for {day.isoformat()} (UTC); later events of the day are listed by "
            "`serptrack alerts list`, not sent",
        }


_EVENT_COLUMNS = (
    "id",
    "campaign_id",
    "keyword_id",
    "check_id",
    "rule",
    "kind",
    "view",
    "at",
    "day",
    "url",
    "position",
    "official_url",
    "official_position",
    "critical_url",
    "critical_position",
    "text",
    "suppressed",
    "ordinal",
    "created_at",
)


def _insert_events(
    connection: Connection,
    events: Sequence[Mapping[str, Any]],
    channels: Mapping[str, Sequence[str]],
) -> int:
    """Insert ``events`` (those whose id is stored already are left as they are) and the
    deliveries of the new ones; return how many were new. Driver-level statements, as the
    memory's: this runs in the transaction of every batch of checks that fires events.
    The insert says which rows it added (``RETURNING``: an id stored already adds none), so
    no read of the stored ids comes before it."""
    postgresql = connection.dialect.name == "postgresql"
    added = {
        row[0]
        for row in _insert_rows(
            connection,
            f"INSERT INTO alert_events ({', '.join(_EVENT_COLUMNS)})",
            f"({_markers(connection, len(_EVENT_COLUMNS))})",
            [_event_values(row, postgresql) for row in events],
            " ON CONFLICT (id) DO NOTHING RETURNING id",
            returning=True,
        )
    }
    new = [row for row in events if row["id"] in added]
    if not new:
        return 0
    deliveries = [
        (row["id"], name, "pending", 0)
        for row in new
        for name in dict.fromkeys(channels.get(row["id"], ()))
    ]
    if deliveries:
        _insert_rows(
            connection,
            "INSERT INTO alert_deliveries (event_id, channel, state, attempts)",
            f"({_markers(connection, 4)})",
            deliveries,
            " ON CONFLICT (event_id, channel) DO NOTHING",
        )
    return sum(1 for row in new if row["kind"] != CAP_REACHED)


def _event_values(row: Mapping[str, Any], postgresql: bool) -> tuple[Any, ...]:
    """One event's values in _EVENT_COLUMNS order, bound as the ORM would bind them."""
    get = row.get
    day = get("day")
    return (
        row["id"],
        get("campaign_id"),
        get("keyword_id"),
        get("check_id"),
        get("rule"),
        get("kind"),
        get("view"),
        _driver_time(get("at"), postgresql),
        day if postgresql or day is None else day.isoformat(),
        get("url"),
        get("position"),
        get("official_url"),
        get("official_position"),
        get("critical_url"),
        get("critical_position"),
        get("text"),
        get("suppressed"),
        get("ordinal"),
        _driver_time(get("created_at"), postgresql),
    )


def add_event(
    connection: Connection,
    campaign_id: int,
    kind: str,
    text_line: str,
    channels: Sequence[str],
    now: dt.datetime,
) -> str:
    """Store an event that no check fired (``alerts test``) with a delivery per channel."""
    row = {
        "id": event_id(campaign_id, kind, uuid.uuid4().hex),
        "campaign_id": campaign_id,
        "rule": kind,
        "kind": kind,
        "at": now,
        "day": now.astimezone(dt.UTC).date(),
        "text": text_line,
        "ordinal": 0,
        "created_at": now,
    }
    identifier = str(row["id"])
    _insert_events(connection, [row], {identifier: tuple(channels)})
    return identifier


# --- delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leased:
    """One delivery a sender holds: the alert to send and the channel (None: not defined)."""

    alert: Alert
    channel_name: str
    channel: Channel | None
    token: str
    attempts: int = 0  # made by earlier runs
    campaign_channels: tuple[Channel, ...] = ()  # every channel of its campaign (for secrets)


def lease_deliveries(
    connection: Connection,
    now: dt.datetime,
    lease: dt.timedelta,
    *,
    campaign_id: int | None = None,
    event_ids: Sequence[str] | None = None,
    due_only: bool = True,
    limit: int = 200,
) -> list[Leased]:
    """Take pending deliveries (those due at ``now`` with ``due_only``) for ``lease``.

    Another sender skips them until the lease ends; record the outcome with
    :func:`record_attempts` before it does.
    """
    d, e = ALERT_DELIVERIES, ALERT_EVENTS
    token = uuid.uuid4().hex
    takeable = and_(d.c.state == "pending", or_(d.c.lease_until.is_(None), d.c.lease_until < now))
    if due_only:
        takeable = and_(takeable, or_(d.c.next_attempt_at.is_(None), d.c.next_attempt_at <= now))
    chosen = (
        select(d.c.event_id, d.c.channel, d.c.attempts)
        .join(e, e.c.id == d.c.event_id)
        .where(takeable)
        .order_by(e.c.at, e.c.check_id, e.c.ordinal, d.c.channel)
    )
    if campaign_id is not None:
        chosen = chosen.where(e.c.campaign_id == campaign_id)
    if event_ids is not None:
        chosen = chosen.where(d.c.event_id.in_(list(event_ids)))
    found = list(connection.execute(chosen.limit(limit)))
    earlier = {(row.event_id, row.channel): row.attempts for row in found}
    taken: list[tuple[str, str]] = []
    for event, channel in earlier:
        # the conditions again, on the row itself: a racing sender's lease makes this a no-op
        result = connection.execute(
            update(d)
            .where(d.c.event_id == event, d.c.channel == channel, takeable)
            .values(lease_token=token, lease_until=now + lease)
        )
        if result.rowcount:
            taken.append((event, channel))
    if not taken:
        return []
    return _leased(connection, taken, token, earlier)


def _leased(
    connection: Connection,
    taken: Sequence[tuple[str, str]],
    token: str,
    earlier: Mapping[tuple[str, str], int],
) -> list[Leased]:
    e, c, k = ALERT_EVENTS, CAMPAIGNS, KEYWORDS
    ids = sorted({event for event, _ in taken})
    rows = {
        row.id: row
        for row in connection.execute(
            select(
                e,
                c.c.name.label("campaign"),
                c.c.settings,
                k.c.query,
                k.c.country,
                k.c.language,
                k.c.device,
            )
            .join(c, c.c.id == e.c.campaign_id)
            .outerjoin(k, k.c.id == e.c.keyword_id)
            .where(e.c.id.in_(ids))
        )
    }
    channels: dict[str, Mapping[str, Channel]] = {}
    leased = []
    for event, name in taken:
        row = rows[event]
        if row.campaign not in channels:
            channels[row.campaign] = from_settings((row.settings or {}).get("alerts")).channels
        known = channels[row.campaign]
        leased.append(
            Leased(
                _alert(row),
                name,
                known.get(name),
                token,
                earlier[(event, name)],
                tuple(known.values()),
            )
        )
    return leased


def _alert(row: Any) -> Alert:
    return Alert(
        id=row.id,
        campaign=row.campaign,
        rule=row.rule,
        kind=row.kind,
        text=row.text,
        query=row.query,
        country=row.country,
        language=row.language,
        device=row.device,
        view=row.view,
        at=row.at,
        check_id=row.check_id,
        url=row.url,
        position=row.position,
        official_url=row.official_url,
        official_position=row.official_position,
        critical_url=row.critical_url,
        critical_position=row.critical_position,
    )


@dataclass(frozen=True)
class AttemptRow:
    """One attempt as recorded (what :func:`record_attempts` takes)."""

    at: dt.datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration: float


def record_attempts(
    connection: Connection,
    leased: Leased,
    attempts: Sequence[AttemptRow],
    *,
    state: str,
    next_attempt_at: dt.datetime | None,
    now: dt.datetime,
    error: str | None = None,
) -> bool:
    """Record a leased delivery's attempts and its new ``state`` (``sent``, ``pending`` or
    ``failed``); False when the lease was lost meanwhile (nothing is recorded then)."""
    d = ALERT_DELIVERIES
    last = attempts[-1] if attempts else None
    result = connection.execute(
        update(d)
        .where(
            d.c.event_id == leased.alert.id,
            d.c.channel == leased.channel_name,
            d.c.lease_token == leased.token,
            d.c.state == "pending",
        )
        .values(
            state=state,
            attempts=d.c.attempts + len(attempts),
            last_status=last.status_code if last else d.c.last_status,
            last_error=last.error if last else (error or d.c.last_error),
            next_attempt_at=next_attempt_at,
            lease_token=None,
            lease_until=None,
            sent_at=now if state == "sent" else None,
        )
    )
    if not result.rowcount:
        return False
    if attempts:
        connection.execute(
            ALERT_ATTEMPTS.insert(),
            [
                {
                    "event_id": leased.alert.id,
                    "channel": leased.channel_name,
                    "at": attempt.at,
                    "ok": attempt.ok,
                    "status_code": attempt.status_code,
                    "error": attempt.error,
                    "duration_ms": round(attempt.duration * 1000),
                }
                for attempt in attempts
            ],
        )
    return True


# --- reads ------------------------------------------------------------------------------------


def list_events(
    connection: Connection, campaign_id: int, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """The campaign's events, newest first, each with its deliveries' state."""
    e, k, d = ALERT_EVENTS, KEYWORDS, ALERT_DELIVERIES
    query = (
        select(e, k.c.query, k.c.country, k.c.language, k.c.device)
        .outerjoin(k, k.c.id == e.c.keyword_id)
        .where(e.c.campaign_id == campaign_id)
        .order_by(e.c.at.desc(), e.c.check_id.desc(), e.c.ordinal.desc(), e.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    events = list(connection.execute(query))
    deliveries: dict[str, list[dict[str, Any]]] = {}
    ids = [row.id for row in events]
    tried = _attempt_log(connection, ids)
    for first in range(0, len(ids), 500):
        for row in connection.execute(
            select(d).where(d.c.event_id.in_(ids[first : first + 500])).order_by(d.c.channel)
        ):
            deliveries.setdefault(row.event_id, []).append(
                {
                    "channel": row.channel,
                    "state": row.state,
                    "attempts": row.attempts,
                    "last_status": row.last_status,
                    "last_error": row.last_error,
                    "next_attempt_at": row.next_attempt_at,
                    "sent_at": row.sent_at,
                    "log": tried.get((row.event_id, row.channel), []),
                }
            )
    return [
        {
            "id": row.id,
            "rule": row.rule,
            "kind": row.kind,
            "query": row.query,
            "country": row.country,
            "language": row.language,
            "device": row.device,
            "view": row.view,
            "at": row.at,
            "check_id": row.check_id,
            "url": row.url,
            "position": row.position,
            "official_url": row.official_url,
            "official_position": row.official_position,
            "critical_url": row.critical_url,
            "critical_position": row.critical_position,
            "text": row.text,
            "state": _state(row.suppressed, deliveries.get(row.id, [])),
            "suppressed": row.suppressed,
            "deliveries": deliveries.get(row.id, []),
        }
        for row in events
    ]


def requeue_failed(connection: Connection, campaign_id: int | None = None) -> int:
    """Make the deliveries given up (``failed``) pending again, their attempt count reset
    (their attempts stay recorded); return how many."""
    d, e = ALERT_DELIVERIES, ALERT_EVENTS
    chosen = d.c.state == "failed"
    if campaign_id is not None:
        mine = select(e.c.id).where(e.c.campaign_id == campaign_id)
        chosen = and_(chosen, d.c.event_id.in_(mine))
    result = connection.execute(
        update(d).where(chosen).values(state="pending", attempts=0, next_attempt_at=None)
    )
    return int(result.rowcount or 0)


def delivery_counts(connection: Connection, campaign_id: int) -> dict[str, int]:
    """How many of the campaign's deliveries are in each state (``pending``, ``sent`` ...)."""
    d, e = ALERT_DELIVERIES, ALERT_EVENTS
    rows = connection.execute(
        select(d.c.state, func.count().label("n"))
        .join(e, e.c.id == d.c.event_id)
        .where(e.c.campaign_id == campaign_id)
        .group_by(d.c.state)
    )
    return {row.state: int(row.n) for row in rows}


def _attempt_log(
    connection: Connection, event_ids: Sequence[str]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every recorded attempt of these events, per (event, channel), oldest first."""
    a = ALERT_ATTEMPTS
    log: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for first in range(0, len(event_ids), 500):
        for row in connection.execute(
            select(a)
            .where(a.c.event_id.in_(event_ids[first : first + 500]))
            .order_by(a.c.at, a.c.id)
        ):
            log.setdefault((row.event_id, row.channel), []).append(
                {
                    "at": row.at,
                    "ok": row.ok,
                    "status": row.status_code,
                    "error": row.error,
                    "ms": row.duration_ms,
                }
            )
    return log


def _state(suppressed: str | None, deliveries: Sequence[Mapping[str, Any]]) -> str:
    """``suppressed``, ``pending``, ``sent``, ``failed`` or ``partial`` (some sent, some
    failed); an event without channels is ``sent`` vacuously, so ``no-channel``."""
    if suppressed:
        return "suppressed"
    states = {d["state"] for d in deliveries}
    if not states:
        return "no-channel"
    if "pending" in states:
        return "pending"
    if states == {"sent"}:
        return "sent"
    return "failed" if states == {"failed"} else "partial"
