"""The write path: a check, its results and its raw pages, stored whole in one transaction."""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, tuple_
from sqlmodel import Session, col, select

from ..errors import DatabaseError
from ..models import Check, CheckSample, Payload, utcnow
from ..snapshot import Item, Snapshot, positions, relaxed_query_error
from ..vocabulary import CheckStatus, FailureKind
from . import claims
from .stances import remember_url_stances
from .url_keys import url_keys

__all__ = [
    "CheckRecord",
    "SampleRecord",
    "checked_slots",
    "done_slots",
    "imported_check",
    "load_payloads",
    "record_check",
    "record_checks",
    "write_checks",
]


@dataclass
class SampleRecord:
    """One answer of a check sampled more than once (``samples = N > 1``): how it ended,
    its results and its raw pages."""

    sample: int  # 1-based: the successful answers first, in the order asked, then the failed
    status: CheckStatus = CheckStatus.OK
    items: Sequence[Item] = ()
    pages: Sequence[Any] = ()
    error: str | None = None  # a failure, or an ok answer's gap (a block it lacks)
    error_kind: FailureKind | None = None
    status_code: int | None = None


@dataclass
class CheckRecord:
    """Everything stored for one check.

    A check of one provider call holds its results and pages itself. A check sampled N > 1
    times lists every answer in ``samples`` (stored as results and payloads of that sample,
    and one ``check_samples`` row each); ``items`` and ``pages`` are then sample 1's, and the
    check's status, error and counts describe the whole check.
    """

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
    alerts: bool = True  # find alert events (backfill without --alerts, --no-alerts: False)
    samples: Sequence[SampleRecord] = ()  # every answer, when sampled more than once

    def sample_parts(self) -> list[tuple[int, bool, Sequence[Item], Sequence[Any]]]:
        """(sample, ok, items, pages) of each answer: the check itself when not sampled."""
        if not self.samples:
            return [(1, self.status == CheckStatus.OK, self.items, self.pages)]
        return [(s.sample, s.status == CheckStatus.OK, s.items, s.pages) for s in self.samples]

    def take(self, snapshot: Snapshot) -> None:
        """Record ``snapshot``'s results; a page that answers another query is a failed
        check (``query-relaxed``) whose results are not kept (the raw page still is).

        A page with gaps (a deferred AI overview whose request failed) stays ``ok`` with its
        results; ``error`` and ``error_kind`` then say which block is unknown and why.
        """
        self.items, self.source = snapshot.results, snapshot.source
        relaxed = relaxed_query_error(snapshot)
        if relaxed is not None:
            self.status, self.error_kind = CheckStatus.FAILED, FailureKind.QUERY_RELAXED
            self.error, self.items = relaxed, ()
        elif snapshot.gaps:  # an ok check whose page lacks a block it announced
            self.error = "; ".join(gap.reason for gap in snapshot.gaps)
            self.error_kind = snapshot.gaps[0].kind


#: zlib level of the raw pages kept as evidence: on JSON result pages, a third of level 6's
#: CPU (5 % of a stored check's) for 3-4 % more bytes
_PAYLOAD_LEVEL = 3

#: ``connection.info`` key: what to run once the batch's transaction has committed (the alert
#: outbox holds the memories a batch stepped from then on; a batch that rolls back drops them)
AFTER_COMMIT = "serptrack.after_commit"

_RESULT_COLUMNS = (  # the outbox reads rows by index: new columns go at the end
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
    "sample",
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
        connection.info.pop(AFTER_COMMIT, None)  # a rolled-back batch's, never to be run
        ids = write_checks(connection, records)
        committed = connection.info.pop(AFTER_COMMIT, ())
    for callback in committed:
        callback()
    return ids


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
    check_ids = [int(row.id) for row in returned]
    result_rows: list[tuple[Any, ...]] = []
    rows_of: dict[int, list[tuple[Any, ...]]] = {}
    payload_rows: list[dict[str, Any]] = []
    urls_by_keyword: dict[int, set[str]] = {}
    checks_by_keyword: dict[int, list[int]] = {}
    at = _RESULT_COLUMNS.index("norm_url")
    keys = url_keys(
        connection,
        {
            item.url
            for record in records
            if record.status == CheckStatus.OK
            for _, ok, items, _ in record.sample_parts()
            if ok
            for item in items
        },
    )
    sample_rows: list[dict[str, Any]] = []
    for record, check_id in zip(records, check_ids, strict=True):
        checks_by_keyword.setdefault(record.keyword_id, []).append(check_id)
        stored = record.status == CheckStatus.OK  # a failed check keeps no results
        for sample, ok, items, _ in record.sample_parts() if stored else ():
            if not (ok and items):
                continue
            rows = _result_rows(check_id, sample, items, keys)
            if sample == 1:  # the check's ranking: what alert finding reads
                rows_of[check_id] = rows
            result_rows.extend(rows)
            urls_by_keyword.setdefault(record.keyword_id, set()).update(row[at] for row in rows)
        for sample, _, _, pages in record.sample_parts():
            payload_rows.extend(
                {
                    "check_id": check_id,
                    "sample": sample,
                    "page": number,
                    "url": page.url,
                    "content_type": page.content_type,
                    "status_code": page.status_code,
                    "body": zlib.compress(page.body, _PAYLOAD_LEVEL),
                }
                for number, page in enumerate(pages, start=1)
            )
        sample_rows.extend(
            {
                "check_id": check_id,
                "sample": s.sample,
                "status": s.status,
                "error": s.error,
                "error_kind": s.error_kind,
                "status_code": s.status_code,
                "result_count": len(s.items) if s.status == CheckStatus.OK and stored else 0,
            }
            for s in record.samples
        )
    if result_rows:
        # A driver-level executemany of plain tuples: the ORM would cost ~30x more per row.
        connection.exec_driver_sql(_insert_sql(connection.dialect.paramstyle), result_rows)
    if payload_rows:
        connection.execute(insert(Payload), payload_rows)
    if sample_rows:
        connection.execute(insert(CheckSample), sample_rows)
    remember_url_stances(connection, urls_by_keyword, checks_by_keyword)
    kept = [
        check_id if _claim_kept(connection, record, check_id) else 0
        for record, check_id in zip(records, check_ids, strict=True)
    ]
    # Imported here: every command that imports the store (history, campaigns ...) would load
    # the alert machinery with it, and only a write of checks needs it.
    from .outbox import StoredCheck, find_events

    find_events(
        connection,
        [
            StoredCheck(
                check_id=check_id,
                keyword_id=record.keyword_id,
                observed_at=record.observed_at,
                status=record.status,
                error_kind=record.error_kind,
                rows=rows_of.get(check_id, ()),
                alerts=record.alerts,
            )
            for record, check_id in zip(records, kept, strict=True)
            if check_id
        ],
        now,
    )
    return kept


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


def _result_rows(
    check_id: int, sample: int, items: Sequence[Item], keys: Mapping[str, tuple[str, str]]
) -> list[tuple[Any, ...]]:
    return [
        (
            check_id,
            item.placement,
            item.block,
            rank,
            page_position,
            item.url,
            *keys[item.url],
            item.title,
            item.snippet,
            item.tracking_url,
            sample,
        )
        for item, (rank, page_position) in zip(items, positions(items), strict=True)
    ]


def imported_check(
    session: Session, keyword_id: int, provider: str, observed_at: dt.datetime
) -> int | None:
    """The id of the keyword's check from ``provider`` observed at ``observed_at``, if any."""
    return session.exec(
        select(Check.id).where(
            col(Check.keyword_id) == keyword_id,
            col(Check.provider) == provider,
            col(Check.observed_at) == observed_at,
        )
    ).first()


def load_payloads(session: Session, check_id: int) -> list[tuple[str, bytes]]:
    """The raw pages of a check's sample 1, decompressed, as (content type, body)."""
    rows = session.exec(
        select(Payload.content_type, Payload.body)
        .where(col(Payload.check_id) == check_id, col(Payload.sample) == 1)
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
