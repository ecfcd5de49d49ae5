"""``history``: every stored result of a campaign, one row each, with its stance."""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ..errors import NotFoundError
from ..models import Campaign, Check, Keyword
from .campaigns import campaign_keywords
from .schema import CHECK_SAMPLES
from .stances import read_view

__all__ = ["HISTORY_COLUMNS", "history_rows"]

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
    "incomplete",
    "placement",
    "block",
    "rank",
    "page_position",
    "url",
    "domain",
    "title",
    "snippet",
    "stance",
    # additions (schema 0009), last so that CSV columns keep their places
    "sample",
    "sample_status",
    "sample_error",
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
    if query is not None:  # checked now, before the caller starts writing rows
        _require_keyword(session, campaign, query)
    return _rows(session, campaign, campaign.id, query, start, end)


def _rows(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    query: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> Iterator[dict[str, Any]]:
    connection = session.connection()
    view = read_view(connection, campaign_id)
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
        samples = _samples_by_check(connection, [check.id for check in chunk])
        for check in chunk:
            yield from _history_rows_of(
                campaign.name, check, results.get(check.id, ()), stances, samples.get(check.id)
            )


_HISTORY_CHUNK = 500
_NORM_URL = 8  # where norm_url sits in a row of _results_by_check
_SAMPLE = 10  # where sample sits in a row of _results_by_check
_EMPTY_RESULT = (None,) * 11


def _require_keyword(session: Session, campaign: Campaign, query: str) -> None:
    """A query the campaign never tracked is an error, as in status and overtakes."""
    known = {k.query for k in campaign_keywords(session, campaign, active_only=False)}
    if query not in known:
        names = ", ".join(sorted(known)) or "none"
        raise NotFoundError(
            f"campaign {campaign.name!r} has no keyword {query!r} (keywords: {names})"
        )


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
        "SELECT check_id, placement, block, rank, page_position, url, title, snippet, norm_url,"
        " domain, sample "
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
    found = {}
    for check_id, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        # in page order, sample by sample (a stable sort of what is mostly sample 1 only)
        found[check_id] = sorted(group, key=operator.itemgetter(_SAMPLE))
    return found


def _samples_by_check(
    connection: Any, check_ids: Sequence[int]
) -> dict[int, list[tuple[int, str, str | None]]]:
    """(sample, status, error) of each sample of the sampled checks among ``check_ids``."""
    cs = CHECK_SAMPLES
    found: dict[int, list[tuple[int, str, str | None]]] = {}
    statement = (
        sa_select(cs.c.check_id, cs.c.sample, cs.c.status, cs.c.error)
        .where(cs.c.check_id.in_(list(check_ids)))
        .order_by(cs.c.check_id, cs.c.sample)
    )
    for row in connection.execute(statement) if check_ids else ():
        found.setdefault(row.check_id, []).append((row.sample, row.status, row.error))
    return found


def _history_rows_of(
    name: str,
    check: Any,
    results: Sequence[tuple[Any, ...]],
    stances: Mapping[str, str],
    samples: Sequence[tuple[int, str, str | None]] | None = None,
) -> Iterator[dict[str, Any]]:
    """A check's rows: each result with its sample; in a sampled ok check, a sample with no
    result (a failed one, or an answer citing nothing) is one row with null result fields."""
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
        # an ok check's stored error is a gap (a block it could not fetch), not a failure
        "error": None if check.status == "ok" else check.error,
        "incomplete": check.error if check.status == "ok" else None,
    }
    if check.status != "ok":  # a failed check is one row, whichever samples it tried
        base.update(sample=None, sample_status=None, sample_error=None)
        yield from _result_rows(base, [_EMPTY_RESULT], stances)
        return
    if not samples:  # one provider call: the check is its sample 1
        base.update(sample=1, sample_status=check.status, sample_error=None)
        yield from _result_rows(base, results or [_EMPTY_RESULT], stances)
        return
    by_sample = {
        sample: list(rows)
        for sample, rows in itertools.groupby(results, key=operator.itemgetter(_SAMPLE))
    }
    for sample, status, error in samples:
        base.update(
            sample=sample, sample_status=status, sample_error=None if status == "ok" else error
        )
        yield from _result_rows(base, by_sample.get(sample) or [_EMPTY_RESULT], stances)


def _result_rows(
    base: dict[str, Any], results: Sequence[tuple[Any, ...]], stances: Mapping[str, str]
) -> Iterator[dict[str, Any]]:
    for (
        _,
        placement,
        block,
        rank,
        page_position,
        url,
        title,
        snippet,
        norm_url,
        domain,
        _,
    ) in results:
        row = base.copy()  # copying a prepared dict is about twice as fast as a 20-key literal
        row["placement"] = placement
        row["block"] = block
        row["rank"] = rank
        row["page_position"] = page_position
        row["url"] = url
        # As stored: deriving it again would load the Public Suffix List into every process
        row["domain"] = domain
        row["title"] = title
        row["snippet"] = snippet
        row["stance"] = stances[norm_url] if norm_url is not None else None
        yield row
