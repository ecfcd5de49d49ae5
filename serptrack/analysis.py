"""Counter-narrative analysis: who leads, when the lead changes, share of voice, paid versus organic.

SPEC section 6 ("Who leads, and when the lead changes"), assembled from two layers:

- the pure core over plain data, in :mod:`serptrack.lead`;
- the queries that feed it, which aggregate in the database: for each successful check only
  the best official and critical positions in each view and a few counts come back, computed
  by a GROUP BY over the results joined to the ``url_stances`` table
  (:mod:`serptrack.stances`), never by loading result rows into Python.

Views: ``organic`` compares organic ``rank`` among organic results only; ``page`` compares
``page_position`` across every placement, ads included. Failed and blocked checks are not
evidence and are skipped. Labels apply retroactively: stances come from the campaign's
:class:`~serptrack.stances.StanceView` (the table's current rows and an in-memory overlay for
what it cannot say yet), so reads never write and run on a read-only database.

Share of voice weighs each result by a CTR curve (:mod:`serptrack.ctr`): in the organic view
the organic top 10 by ``rank``, in the page view every item by ``page_position`` (positions
beyond the curve weigh nothing). Shares by stance sum to 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from .ctr import CtrCurve, curve_from_settings
from .errors import NotFoundError
from .lead import (
    PAGE_ONE,
    PRESENCES,
    SIDES,
    STANCE_ORDER,
    VIEWS,
    CheckPoint,
    Event,
    KeywordInfo,
    KeywordSeries,
    LeadChange,
    Positions,
    ResultRef,
    Share,
    current_lead,
    lead_changes,
    leaders,
    paid_days,
    utc_day,
)
from .models import Annotation, Campaign, Check, Result, UrlStance
from .stances import StanceView, batches, read_view
from .storage import campaign_keywords

__all__ = [
    "CheckEntry",
    "UrlPosition",
    "best_results",
    "check_log",
    "keyword_series",
    "overtakes",
    "page_results",
    "paid_rows",
    "stance_view",
    "status",
    "url_positions",
]


_STANCES = UrlStance.__table__  # type: ignore[attr-defined]
_RESULTS = Result.__table__  # type: ignore[attr-defined]
_CHECKS = Check.__table__  # type: ignore[attr-defined]
_MMAP_BYTES = 1 << 31  # SQLite caps it at its compile-time maximum


# --- queries ---------------------------------------------------------------------------------


def keyword_series(
    session: Session,
    campaign: Campaign,
    *,
    queries: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    curve: CtrCurve | None = None,
    labels: StanceView | None = None,
) -> list[KeywordSeries]:
    """Per active keyword, its successful checks from ``start`` to before ``end``, oldest first.

    With ``curve``, each point also carries its share of voice (this reads every result of
    the selected checks, so keep the range to what is shown).
    """
    keywords = _keywords(session, campaign, queries)
    connection = _connection(session)
    ids = [k.id for k in keywords]
    if not ids:
        return []
    labels = labels or stance_view(session, campaign)
    official, critical = _aggregates(connection, labels, ids, start, end)
    shares = _shares(connection, labels, _ok_checks(ids, start, end), curve) if curve else {}
    series = {k.id: KeywordSeries(k) for k in keywords}
    for check_id, keyword_id, at in connection.execute(
        select(_CHECKS.c.id, _CHECKS.c.keyword_id, _CHECKS.c.observed_at)
        .where(_ok_checks_clause(ids, start, end))
        .order_by(_CHECKS.c.keyword_id, _CHECKS.c.observed_at, _CHECKS.c.id)
    ).all():
        series[keyword_id].points.append(
            _point(
                check_id, at, official.get(check_id), critical.get(check_id), shares.get(check_id)
            )
        )
    return [series[k.id] for k in keywords]


def best_results(
    session: Session, points: Iterable[CheckPoint]
) -> dict[int, dict[tuple[str, str], ResultRef]]:
    """For each point, its best official and critical result in each view, keyed (view, side).

    The aggregates already say where they are, so each is one index lookup by
    (check, page position): no stance join, whatever the number of points.
    """
    wanted: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for point in points:
        for view, positions in (("organic", point.organic_page), ("page", point.page)):
            for side, position in zip(SIDES, (positions.official, positions.critical), strict=True):
                if position is not None:
                    wanted.setdefault((point.check_id, position), []).append((view, side))
    r = _RESULTS
    found: dict[int, dict[tuple[str, str], ResultRef]] = {}
    statement = select(
        r.c.check_id, r.c.page_position, r.c.placement, r.c.block, r.c.rank, r.c.url, r.c.title
    )
    by_position: dict[int, list[int]] = {}
    for check_id, position in sorted(wanted):
        by_position.setdefault(position, []).append(check_id)
    connection = session.connection()
    # One position at a time: (check_id, page_position) IN (pairs) is not indexed by SQLite.
    for position, check_ids in sorted(by_position.items()):
        for batch in batches(check_ids):
            rows = connection.execute(
                statement.where(r.c.page_position == position, r.c.check_id.in_(batch))
            ).all()
            for check_id, page_position, placement, block, rank, url, title in rows:
                ref = ResultRef(url, placement, block, rank, page_position, title)
                for key in wanted.get((check_id, page_position), []):
                    found.setdefault(check_id, {})[key] = ref
    return found


def overtakes(
    session: Session,
    campaign: Campaign,
    *,
    views: Sequence[str] = VIEWS,
    hold: int = 1,
    queries: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    labels: StanceView | None = None,
) -> list[Event]:
    """Every overtake and lost lead, oldest first (then in keyword order, organic before page).

    Leads are followed over the whole history, so ``start`` and ``end`` only choose which
    events are returned, never change them.
    """
    for view in views:
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}")
    found: list[tuple[int, KeywordInfo, str, LeadChange, CheckPoint]] = []
    all_series = keyword_series(session, campaign, queries=queries, labels=labels)
    for order, series in enumerate(all_series):
        for view in views:
            for change in lead_changes(leaders(series.points, view), hold):
                point = series.points[change.index]
                if change.kind is None or not _within(point.at, start, end):
                    continue
                found.append((order, series.keyword, view, change, point))
    details = best_results(session, [item[4] for item in found])
    found.sort(key=lambda item: (item[4].at, item[0], VIEWS.index(item[2])))
    events = []
    for _order, keyword, view, change, point in found:
        best = details.get(point.check_id, {})
        events.append(
            Event(
                keyword,
                view,
                change.kind or "",
                point.check_id,
                point.at,
                best.get((view, "official")),
                best.get((view, "critical")),
            )
        )
    return events


def status(
    session: Session,
    campaign: Campaign,
    *,
    hold: int = 1,
    queries: Sequence[str] | None = None,
    curve: CtrCurve | None = None,
) -> dict[str, Any]:
    """Where each active keyword stands at its latest successful check, as one JSON document."""
    curve = curve or curve_from_settings(campaign.settings)
    labels = stance_view(session, campaign)
    all_series = keyword_series(session, campaign, queries=queries, labels=labels)
    latest = {s.keyword.id: s.points[-1] for s in all_series if s.points}
    latest_ids = [point.check_id for point in latest.values()]
    connection = session.connection()
    shares = _shares(connection, labels, latest_ids, curve)
    details = best_results(session, latest.values())
    failed = _failed_since_last_ok(connection, [s.keyword.id for s in all_series])
    notes = _annotations(session, campaign)
    rows = []
    for series in all_series:
        point = latest.get(series.keyword.id)
        rows.append(
            _keyword_status(
                series,
                point,
                details.get(point.check_id, {}) if point else {},
                shares.get(point.check_id) if point else None,
                failed.get(series.keyword.id, 0),
                hold,
                curve,
                campaign.crisis_start,
                [n for n in notes if n["query"] in (None, series.keyword.query)],
            )
        )
    return {
        "campaign": campaign.name,
        "brand": campaign.brand,
        "crisis_start": campaign.crisis_start,
        "hold": hold,
        "ctr_curve": curve.describe(),
        "annotations": notes,
        "keywords": rows,
    }


def paid_rows(
    session: Session,
    campaign: Campaign,
    *,
    queries: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Per keyword and UTC day, how the official side shows up: ad, organic page 1, both, neither.

    Rows come by day, then in keyword order.
    """
    rows = []
    found = keyword_series(session, campaign, queries=queries, start=start, end=end)
    for order, series in enumerate(found):
        for point in paid_days(series.points):
            rows.append((utc_day(point.at), order, _paid_row(series.keyword, point)))
    rows.sort(key=lambda item: (item[0], item[1]))
    return [row for _day, _order, row in rows]


class UrlPosition(NamedTuple):
    """One stored result of a successful check with its stance: where a URL stood."""

    check_id: int
    keyword_id: int
    at: dt.datetime
    stance: str
    placement: str
    block: str | None
    rank: int
    page_position: int
    url: str
    norm_url: str
    title: str


class CheckEntry(NamedTuple):
    """One check of any status, without its results (for gaps, counts and failure reasons)."""

    check_id: int
    keyword_id: int
    at: dt.datetime
    status: str
    provider: str
    source: str | None
    error_kind: str | None
    error: str | None


def url_positions(
    session: Session,
    campaign: Campaign,
    *,
    queries: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    stances: Sequence[str] = SIDES,
    labels: StanceView | None = None,
) -> list[UrlPosition]:
    """Every result with one of ``stances`` in the successful checks from ``start`` to before
    ``end``, by keyword, time and page position: the per-URL series behind rank charts.

    Driven, like the lead analysis, from the campaign's labelled URLs: neutral results are
    never read.
    """
    ids = [k.id for k in _keywords(session, campaign, queries)]
    connection = _connection(session)
    if not ids:
        return []
    labels = labels or stance_view(session, campaign)
    s, r, c = _STANCES, _RESULTS, _CHECKS
    statement = (
        select(*_position_columns(s.c.stance))
        .select_from(s.join(r, r.c.norm_url == s.c.norm_url).join(c, c.c.id == r.c.check_id))
        .where(
            s.c.campaign_id == labels.campaign_id,
            labels.current(),
            s.c.stance.in_(list(stances)),
            _ok_checks_clause(ids, start, end),
        )
    )
    found = [UrlPosition(*row) for row in connection.execute(statement)]
    overlay = labels.overlay_urls(stances)
    for batch in batches(overlay):
        extra = select(*_position_columns(r.c.norm_url)).select_from(
            r.join(c, c.c.id == r.c.check_id)
        )
        for row in connection.execute(
            extra.where(r.c.norm_url.in_(batch), _ok_checks_clause(ids, start, end))
        ):
            found.append(UrlPosition(*row)._replace(stance=labels.overlay[row.norm_url][0]))
    found.sort(key=lambda p: (p.keyword_id, p.at, p.check_id, p.page_position))
    return found


def page_results(
    session: Session,
    campaign: Campaign,
    check_ids: Sequence[int],
    labels: StanceView | None = None,
) -> dict[int, list[UrlPosition]]:
    """Every result of the given checks with its stance (``neutral`` when unlabelled), in
    page order."""
    connection = _connection(session)
    labels = labels or stance_view(session, campaign)
    s, r, c = _STANCES, _RESULTS, _CHECKS
    statement = (
        select(*_position_columns(_current_stance(labels)))
        .select_from(
            r.join(c, c.c.id == r.c.check_id).outerjoin(
                s, and_(s.c.campaign_id == labels.campaign_id, s.c.norm_url == r.c.norm_url)
            )
        )
        .order_by(r.c.check_id, r.c.page_position)
    )
    found: dict[int, list[UrlPosition]] = {}
    for batch in batches(list(check_ids)):
        for row in connection.execute(statement.where(r.c.check_id.in_(batch))):
            position = UrlPosition(*row)
            if position.norm_url in labels.overlay:
                position = position._replace(stance=labels.overlay[position.norm_url][0])
            found.setdefault(position.check_id, []).append(position)
    return found


def check_log(
    session: Session,
    campaign: Campaign,
    *,
    queries: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[CheckEntry]:
    """Every check (``ok``, ``failed`` or ``blocked``) of the active keywords from ``start`` to
    before ``end``, by keyword and time."""
    ids = [k.id for k in _keywords(session, campaign, queries)]
    if not ids:
        return []
    c = _CHECKS
    conditions = [c.c.keyword_id.in_(ids)]
    if start is not None:
        conditions.append(c.c.observed_at >= start)
    if end is not None:
        conditions.append(c.c.observed_at < end)
    statement = (
        select(
            c.c.id,
            c.c.keyword_id,
            c.c.observed_at,
            c.c.status,
            c.c.provider,
            c.c.source,
            c.c.error_kind,
            c.c.error,
        )
        .where(*conditions)
        .order_by(c.c.keyword_id, c.c.observed_at, c.c.id)
    )
    return [CheckEntry(*row) for row in session.connection().execute(statement)]


def _position_columns(stance: Any) -> tuple[Any, ...]:
    """The columns of a :class:`UrlPosition`, with ``stance`` as its stance."""
    return (
        _RESULTS.c.check_id,
        _CHECKS.c.keyword_id,
        _CHECKS.c.observed_at,
        stance.label("stance"),
        _RESULTS.c.placement,
        _RESULTS.c.block,
        _RESULTS.c.rank,
        _RESULTS.c.page_position,
        _RESULTS.c.url,
        _RESULTS.c.norm_url,
        _RESULTS.c.title,
    )


def _current_stance(labels: StanceView) -> Any:
    """A joined ``url_stances`` row's stance when current, else ``neutral`` (the overlay then
    has the answer, or the URL is unlabelled)."""
    return case((labels.current(), _STANCES.c.stance), else_="neutral")


# --- helpers ---------------------------------------------------------------------------------


def _keywords(
    session: Session, campaign: Campaign, queries: Sequence[str] | None
) -> list[KeywordInfo]:
    keywords = [
        KeywordInfo(
            id=k.id or 0,
            query=k.query,
            engine=k.engine,
            country=k.country,
            language=k.language,
            device=k.device,
            location=k.location,
            tags=tuple(k.tags),
        )
        for k in campaign_keywords(session, campaign)
    ]
    if not queries:
        return keywords
    known = {k.query for k in keywords}
    for query in queries:
        if query not in known:
            names = ", ".join(sorted(known)) or "none"
            raise NotFoundError(
                f"campaign {campaign.name!r} has no active keyword {query!r} (active: {names})"
            )
    return [k for k in keywords if k.query in queries]


def stance_view(session: Session, campaign: Campaign) -> StanceView:
    """The campaign's stances as reads see them (read only: nothing is written)."""
    assert campaign.id is not None
    return read_view(session.connection(), campaign.id)


def _connection(session: Session) -> Connection:
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # Reading a large database through a memory map halves the analysis time: the stance
        # join touches ~1 M index entries and pread() per page dominates otherwise.
        connection.exec_driver_sql(f"PRAGMA mmap_size = {_MMAP_BYTES}")
    return connection


def _ok_checks_clause(
    keyword_ids: Sequence[int], start: dt.datetime | None, end: dt.datetime | None
) -> ColumnElement[bool]:
    c = _CHECKS
    conditions = [c.c.keyword_id.in_(keyword_ids), c.c.status == "ok"]
    if start is not None:
        conditions.append(c.c.observed_at >= start)
    if end is not None:
        conditions.append(c.c.observed_at < end)
    return and_(*conditions)


def _ok_checks(
    keyword_ids: Sequence[int], start: dt.datetime | None, end: dt.datetime | None
) -> Select[Any]:
    return select(_CHECKS.c.id).where(_ok_checks_clause(keyword_ids, start, end))


def _aggregates(
    connection: Connection,
    labels: StanceView,
    keyword_ids: Sequence[int],
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Per successful check, its official and critical aggregates by name, by side.

    Driven from the campaign's few official and critical URLs through the covering index
    ``ix_results_norm_url_positions``: neutral results, the vast majority, are never read.
    One query per side keeps each row's work to a handful of comparisons; the overlay's URLs
    (usually none) are aggregated apart and merged in.
    """
    s, r, c = _STANCES, _RESULTS, _CHECKS
    checks = _ok_checks_clause(keyword_ids, start, end)
    found: list[dict[int, dict[str, Any]]] = []
    for side in SIDES:
        columns = [expression.label(name) for name, (_, expression) in _side_columns(side).items()]
        statement = (
            select(r.c.check_id, *columns)
            .select_from(s.join(r, r.c.norm_url == s.c.norm_url).join(c, c.c.id == r.c.check_id))
            .where(
                s.c.campaign_id == labels.campaign_id, labels.current(), s.c.stance == side, checks
            )
            .group_by(r.c.check_id)
        )
        rows = {row.check_id: dict(row._mapping) for row in connection.execute(statement)}
        extra = select(r.c.check_id, *columns).select_from(r.join(c, c.c.id == r.c.check_id))
        for batch in batches(labels.overlay_urls([side])):
            for row in connection.execute(
                extra.where(r.c.norm_url.in_(batch), checks).group_by(r.c.check_id)
            ):
                _merge(rows, dict(row._mapping), _side_columns(side))
        found.append(rows)
    return found[0], found[1]


def _side_columns(side: str) -> dict[str, tuple[str, Any]]:
    """Each aggregate of one side: its name, how two partial values combine, its SQL."""
    r = _RESULTS
    organic = r.c.placement == "organic"
    paid = r.c.placement == "paid"

    def best(condition: ColumnElement[bool] | None, column: Any) -> Any:
        return func.min(column if condition is None else case((condition, column)))

    in_page_one = organic & (r.c.rank <= PAGE_ONE)
    columns: dict[str, tuple[str, Any]] = {
        "organic_rank": ("min", best(organic, r.c.rank)),
        # organic items come in reading order: the best rank has the best page position
        "organic_page_position": ("min", best(organic, r.c.page_position)),
        "page_position": ("min", best(None, r.c.page_position)),
    }
    if side == "official":
        columns["unpaid_page_position"] = ("min", best(~paid, r.c.page_position))
        columns["ad_rank"] = ("min", best(paid, r.c.rank))
        columns["top_ad"] = ("max", func.max(case((paid & (r.c.block == "top"), 1), else_=0)))
    columns["on_page_1"] = ("sum", func.sum(case((in_page_one, 1), else_=0)))
    return columns


def _merge(
    rows: dict[int, dict[str, Any]], row: dict[str, Any], columns: Mapping[str, tuple[str, Any]]
) -> None:
    """Fold one partial aggregate row into ``rows`` (same check: min, max or sum by column)."""
    check_id = row["check_id"]
    have = rows.get(check_id)
    if have is None:
        rows[check_id] = row
        return
    for name, (how, _) in columns.items():
        a, b = have[name], row[name]
        if a is None or b is None:
            have[name] = b if a is None else a
        elif how == "sum":
            have[name] = a + b
        else:
            have[name] = min(a, b) if how == "min" else max(a, b)


def _point(
    check_id: int,
    at: dt.datetime,
    official: Mapping[str, Any] | None,
    critical: Mapping[str, Any] | None,
    share: Share | None,
) -> CheckPoint:
    if official is None and critical is None:  # no official or critical result at all
        return CheckPoint(check_id, at, share=share)
    o = official or _NO_SIDE
    c = critical or _NO_SIDE
    return CheckPoint(
        check_id,
        at,
        organic=Positions(o["organic_rank"], c["organic_rank"]),
        page=Positions(o["page_position"], c["page_position"]),
        organic_page=Positions(o["organic_page_position"], c["organic_page_position"]),
        official_unpaid=o["unpaid_page_position"],
        official_ad_rank=o["ad_rank"],
        official_top_ad=bool(o["top_ad"]),
        official_on_page_1=int(o["on_page_1"] or 0),
        critical_on_page_1=int(c["on_page_1"] or 0),
        share=share,
    )


_NO_SIDE: Mapping[str, Any] = {
    "organic_rank": None,
    "organic_page_position": None,
    "page_position": None,
    "unpaid_page_position": None,
    "ad_rank": None,
    "top_ad": 0,
    "on_page_1": 0,
}


def _shares(
    connection: Connection,
    labels: StanceView,
    checks: Sequence[int] | Select[Any],
    curve: CtrCurve,
) -> dict[int, Share]:
    """CTR-weighted share of voice by stance for each check, summed in the database.

    Results whose stance the table cannot say are summed as neutral, then the overlay's
    labelled URLs (usually none) move their weight to their own stance.
    """
    r, s = _RESULTS, _STANCES
    organic_weights = {p: w for p, w in enumerate(curve.positions, start=1) if p <= PAGE_ONE}
    page_weights = dict(enumerate(curve.positions, start=1))
    in_top = and_(r.c.placement == "organic", r.c.rank <= PAGE_ONE)
    weights = (
        func.sum(case((in_top, case(organic_weights, value=r.c.rank, else_=0.0)), else_=0.0)).label(
            "organic"
        ),
        func.sum(case(page_weights, value=r.c.page_position, else_=0.0)).label("page"),
    )
    weighed = or_(in_top, r.c.page_position <= len(curve.positions))
    stance = _current_stance(labels)
    statement = (
        select(r.c.check_id, stance.label("stance"), *weights)
        .select_from(
            r.outerjoin(
                s, and_(s.c.campaign_id == labels.campaign_id, s.c.norm_url == r.c.norm_url)
            )
        )
        .where(weighed)
        .group_by(r.c.check_id, stance)
    )
    sums: dict[int, dict[str, list[float]]] = {}
    chosen = [checks] if isinstance(checks, Select) else list(batches(list(checks)))
    for batch in chosen:
        for row in connection.execute(statement.where(r.c.check_id.in_(batch))):
            sums.setdefault(row.check_id, {})[row.stance] = [
                float(row.organic or 0),
                float(row.page or 0),
            ]
    moved = select(r.c.check_id, r.c.norm_url, *weights).where(weighed)
    for urls in batches(labels.overlay_urls(SIDES)):
        for batch in chosen:
            for row in connection.execute(
                moved.where(r.c.check_id.in_(batch), r.c.norm_url.in_(urls)).group_by(
                    r.c.check_id, r.c.norm_url
                )
            ):
                by_stance = sums[row.check_id]
                target = by_stance.setdefault(labels.overlay[row.norm_url][0], [0.0, 0.0])
                for index, value in enumerate((row.organic, row.page)):
                    by_stance["neutral"][index] -= float(value or 0)
                    target[index] += float(value or 0)
    return {
        check_id: Share(_normalise(by_stance, 0), _normalise(by_stance, 1))
        for check_id, by_stance in sums.items()
    }


def _normalise(by_stance: Mapping[str, list[float]], index: int) -> dict[str, float] | None:
    total = sum(values[index] for values in by_stance.values())
    if total <= 0:
        return None
    return {
        stance: (by_stance[stance][index] / total if stance in by_stance else 0.0)
        for stance in STANCE_ORDER
    }


def _failed_since_last_ok(connection: Connection, keyword_ids: Sequence[int]) -> dict[int, int]:
    """Per keyword, how many failed or blocked checks came after its latest successful one."""
    if not keyword_ids:
        return {}
    c, ok = _CHECKS, _CHECKS.alias("ok")
    last_ok = (
        select(func.max(ok.c.observed_at))
        .where(ok.c.keyword_id == c.c.keyword_id, ok.c.status == "ok")
        .scalar_subquery()
    )
    statement = (
        select(c.c.keyword_id, func.count())
        .where(
            c.c.keyword_id.in_(keyword_ids),
            c.c.status != "ok",
            or_(last_ok.is_(None), c.c.observed_at > last_ok),
        )
        .group_by(c.c.keyword_id)
    )
    return {keyword_id: count for keyword_id, count in connection.execute(statement)}


def _annotations(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    notes = session.exec(
        sm_select(Annotation)
        .where(col(Annotation.campaign_id) == campaign.id)
        .order_by(col(Annotation.date), col(Annotation.id))
    )
    return [{"date": n.date, "text": n.text, "query": n.query} for n in notes]


def _keyword_status(
    series: KeywordSeries,
    point: CheckPoint | None,
    best: Mapping[tuple[str, str], ResultRef],
    share: Share | None,
    failed: int,
    hold: int,
    curve: CtrCurve,
    crisis_start: dt.date | None,
    notes: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    row: dict[str, Any] = {
        **series.keyword.identity(),
        "tags": list(series.keyword.tags),
        "check_id": point.check_id if point else None,
        "observed_at": point.at if point else None,
        "checks_ok": len(series.points),
        "failed_since_last_ok": failed,
    }
    for view in VIEWS:
        leader, since = current_lead(leaders(series.points, view), hold)
        official, critical = best.get((view, "official")), best.get((view, "critical"))
        row[view] = {
            "leader": leader,
            "since": series.points[since].at if since is not None else None,
            "official": official.to_json() if official else None,
            "critical": critical.to_json() if critical else None,
        }
    row["official_on_page_1"] = point.official_on_page_1 if point else 0
    row["critical_on_page_1"] = point.critical_on_page_1 if point else 0
    row["share_of_voice"] = (
        {"curve": curve.name, "organic": _rounded(share.organic), "page": _rounded(share.page)}
        if share
        else None
    )
    row["paid"] = _paid_summary(series.points, point)
    row["first_overtake"] = {
        view: _first_overtake(series.points, view, hold, crisis_start, notes) for view in VIEWS
    }
    return row


def _first_overtake(
    points: Sequence[CheckPoint],
    view: str,
    hold: int,
    crisis_start: dt.date | None,
    notes: Sequence[Mapping[str, Any]],
) -> dict[str, Any] | None:
    changes = [
        change for change in lead_changes(leaders(points, view), hold) if change.kind == "overtake"
    ]
    if not changes:
        return None
    days = [utc_day(points[change.index].at) for change in changes]
    first = points[changes[0].index]
    return {
        "at": first.at,
        "check_id": first.check_id,
        "days_from_crisis_start": (days[0] - crisis_start).days if crisis_start else None,
        "annotations": [
            {
                "date": note["date"],
                "text": note["text"],
                "days_to_first_overtake": (days[0] - note["date"]).days,
                "days_to_next_overtake": next(
                    ((day - note["date"]).days for day in days if day >= note["date"]), None
                ),
            }
            for note in notes
        ],
    }


def _paid_summary(points: Sequence[CheckPoint], latest: CheckPoint | None) -> dict[str, Any]:
    days = paid_days(points)
    counts = dict.fromkeys(PRESENCES, 0)
    for day in days:
        counts[day.presence] += 1
    return {
        "presence": latest.presence if latest else None,
        "official_ad_rank": latest.official_ad_rank if latest else None,
        "official_top_ad": latest.official_top_ad if latest else False,
        "official_organic_rank": latest.organic.official if latest else None,
        "redundant_ad": latest.redundant_ad if latest else False,
        "ad_carries_lead": latest.ad_carries_lead if latest else False,
        "days": {"checked": len(days), **counts},
        "redundant_ad_days": [utc_day(d.at) for d in days if d.redundant_ad],
        "ad_carried_lead_days": [utc_day(d.at) for d in days if d.ad_carries_lead],
    }


def _paid_row(keyword: KeywordInfo, point: CheckPoint) -> dict[str, Any]:
    return {
        **keyword.identity(),
        "date": utc_day(point.at),
        "check_id": point.check_id,
        "observed_at": point.at,
        "presence": point.presence,
        "official_ad": point.official_ad,
        "official_ad_rank": point.official_ad_rank,
        "official_top_ad": point.official_top_ad,
        "official_organic_rank": point.organic.official,
        "official_organic_page_1": point.official_organic_page_1,
        "redundant_ad": point.redundant_ad,
        "ad_carries_lead": point.ad_carries_lead,
        "organic_leader": point.organic.leader,
        "page_leader": point.page.leader,
    }


def _rounded(shares: Mapping[str, float] | None) -> dict[str, float] | None:
    return {k: round(v, 4) for k, v in shares.items()} if shares is not None else None


def _within(at: dt.datetime, start: dt.datetime | None, end: dt.datetime | None) -> bool:
    return (start is None or at >= start) and (end is None or at < end)
