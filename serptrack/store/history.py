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
        for check in chunk:
            yield from _history_rows_of(campaign.name, check, results.get(check.id, ()), stances)


_HISTORY_CHUNK = 500
_NORM_URL = 8  # where norm_url sits in a row of _results_by_check
_EMPTY_RESULT = (None,) * 10


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
        " domain "
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
        # an ok check's stored error is a gap (a block it could not fetch), not a failure
        "error": None if check.status == "ok" else check.error,
        "incomplete": check.error if check.status == "ok" else None,
    }
    for _, placement, block, rank, page_position, url, title, snippet, norm_url, domain in (
        results or [_EMPTY_RESULT]
    ):
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
