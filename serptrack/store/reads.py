"""The analysis read model: what the lead analysis, the report and ``labels suggest`` read.

Each query aggregates in the database and returns plain data (the types of
:mod:`serptrack.lead`, or named rows): for each successful check only the best official and
critical positions in each view and a few counts come back, computed by a GROUP BY over the
results joined to ``url_stances``, never by loading result rows into Python. Stances come from
the campaign's :class:`~serptrack.store.stances.StanceView`; nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    Connection,
    DateTime,
    Select,
    String,
    and_,
    case,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from .. import collector
from ..ctr import CtrCurve
from ..errors import NotFoundError
from ..lead import (
    COMPOSITION,
    PAGE_ONE,
    SIDES,
    STANCE_ORDER,
    CheckPoint,
    KeywordInfo,
    KeywordSeries,
    Positions,
    ResultRef,
    Share,
)
from ..models import Annotation, Campaign
from ..sampling import AI_PLACEMENTS, SampleCitations
from ..vocabulary import PLACEMENT_VALUES, CheckStatus
from .campaigns import campaign_keywords
from .schema import CHECK_SAMPLES, CHECKS, KEYWORDS, RESULTS, URL_STANCES
from .stances import StanceView, batches, read_view

__all__ = [
    "BLOCK_VALUES",
    "OTHER",
    "AiPool",
    "CheckEntry",
    "ExposedResult",
    "Exposure",
    "Sighting",
    "UrlPosition",
    "ai_samples",
    "best_results",
    "campaign_annotations",
    "check_log",
    "check_span",
    "exposed_results",
    "failed_since_last_ok",
    "first_ok_checks",
    "keyword_infos",
    "keyword_series",
    "last_checks",
    "latest_texts",
    "page_features",
    "page_one_composition",
    "page_one_tallies",
    "page_results",
    "results_by_id",
    "shares",
    "stance_view",
    "unlabelled_exposure",
    "url_positions",
]

#: the blocks an ad can sit in (``results.block``); None when the page does not say
BLOCK_VALUES = frozenset({"top", "bottom"})
#: The results every rank view reads: each check's sample 1, its first answer. A check
#: sampled N times holds N answers (schema 0009); counting them all would count its ranking N
#: times. Samples are numbered successful answers first, so an ok check always has sample 1.
_RANKING = RESULTS.c.sample == 1
#: A result that is not organic: the condition of the partial index ``ix_results_features``
#: (schema 0010), spelt as its definition is, so that the planner may read a check's features
#: from it alone; a read of features states it even where its own condition implies it.
_FEATURE = RESULTS.c.placement != literal_column("'organic'")

#: what a report is told of a placement or block outside the vocabulary (SPEC section 3 leaves
#: placements open, and an import or an older writer may have stored anything): never the raw text
OTHER = "other"


def keyword_series(
    session: Session,
    campaign: Campaign,
    *,
    queries: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    curve: CtrCurve | None = None,
    labels: StanceView | None = None,
    keywords: Sequence[KeywordInfo] | None = None,
    leads_only: bool = False,
) -> list[KeywordSeries]:
    """Per active keyword (or per one of ``keywords``, which wins over ``queries``), its
    successful checks from ``start`` to before ``end``, oldest first.

    With ``curve``, each point also carries its share of voice and each series the page-1
    composition of its checks (one pass that reads every result of the selected checks, so
    keep the range to what is shown). With ``leads_only``, points
    carry only what leads and their best results need (O and C in each view and organic's
    page positions); their paid and page-1 fields stay empty, for a cheaper read.
    """
    if keywords is None:
        keywords = keyword_infos(session, campaign, queries)
    connection = _connection(session)
    ids = [k.id for k in keywords]
    if not ids:
        return []
    labels = labels or stance_view(session, campaign)
    with collector.paused():
        return _series(connection, labels, keywords, start, end, curve, leads_only)


def _series(
    connection: Connection,
    labels: StanceView,
    keywords: Sequence[KeywordInfo],
    start: dt.datetime | None,
    end: dt.datetime | None,
    curve: CtrCurve | None,
    leads_only: bool,
) -> list[KeywordSeries]:
    """The body of :func:`keyword_series`."""
    ids = [k.id for k in keywords]
    statement = (
        select(CHECKS.c.id, CHECKS.c.keyword_id, type_coerce(CHECKS.c.observed_at, DateTime()))
        .where(_ok_checks_clause(ids, start, end))
        .order_by(CHECKS.c.keyword_id, CHECKS.c.observed_at, CHECKS.c.id)
    )
    checks = connection.execute(statement).all()
    official, critical = _aggregates(connection, labels, ids, start, end, checks, leads_only)
    voice: dict[int, Share] = {}
    composition: dict[int, dict[str, int]] = {}
    if curve:
        voice, composition = page_one_tallies(
            connection, labels, _ok_checks(ids, start, end), curve
        )
    series = {k.id: KeywordSeries(k) for k in keywords}
    utc = dt.UTC
    # the three columns selected just above, unpacked in place: a year of checks is 100,000
    # rows; the time as the driver gives it (naive UTC on SQLite), made aware as UTCDateTime
    # would, without its per-row call
    for check_id, keyword_id, at in checks:
        series[keyword_id].points.append(
            _point(
                check_id,
                at.replace(tzinfo=utc) if at.tzinfo is None else at.astimezone(utc),
                official.get(check_id),
                critical.get(check_id),
                voice.get(check_id),
            )
        )
        if curve:
            series[keyword_id].composition[check_id] = composition.get(check_id) or dict.fromkeys(
                COMPOSITION, 0
            )
    return [series[k.id] for k in keywords]


def first_ok_checks(session: Session, keyword_ids: Sequence[int]) -> dict[int, dt.datetime]:
    """When each keyword's first successful check was observed (keywords without one are
    left out): one ordered index walk per keyword that stops at its first ``ok`` check."""
    c = CHECKS
    connection = session.connection()
    found: dict[int, dt.datetime] = {}
    for keyword_id in keyword_ids:
        at = connection.execute(
            select(c.c.observed_at)
            .where(c.c.keyword_id == keyword_id, c.c.status == "ok")
            .order_by(c.c.observed_at)
            .limit(1)
        ).scalar()
        if at is not None:
            found[keyword_id] = at
    return found


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
    r = RESULTS
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
                statement.where(r.c.page_position == position, r.c.check_id.in_(batch), _RANKING)
            ).all()
            for check_id, page_position, placement, block, rank, url, title in rows:
                ref = ResultRef(url, placement, block, rank, page_position, title)
                for key in wanted.get((check_id, page_position), []):
                    found.setdefault(check_id, {})[key] = ref
    return found


class UrlPosition(NamedTuple):
    """One stored result of a successful check with its stance, as shown (URL and title):
    a row of a page as :func:`page_results` reads it."""

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


class Sighting(NamedTuple):
    """One labelled result of a successful check: where a URL stood (its title and URL as
    shown are read apart, for the few sightings a report names: :func:`latest_texts`)."""

    check_id: int
    keyword_id: int
    at: dt.datetime
    stance: str
    placement: str
    block: str | None
    rank: int
    page_position: int
    norm_url: str
    result_id: int


def url_positions(
    session: Session,
    campaign: Campaign,
    *,
    queries: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    stances: Sequence[str] = SIDES,
    labels: StanceView | None = None,
) -> list[Sighting]:
    """Every result with one of ``stances`` in the successful checks from ``start`` to before
    ``end``, by keyword, time and page position: the per-URL series behind rank charts.

    Driven, like the lead analysis, from the campaign's labelled URLs through the covering
    index ``ix_results_norm_url_positions``, bounded by the period's check ids: neutral
    results are never read, nor any result's row (titles are read apart, by
    :func:`latest_texts`), nor ``checks`` per result (the period's successful checks are
    read once and the entries of other checks in the id range left out here).
    """
    ids = [k.id for k in keyword_infos(session, campaign, queries)]
    connection = _connection(session)
    if not ids:
        return []
    labels = labels or stance_view(session, campaign)
    s, r, c = URL_STANCES, RESULTS, CHECKS
    times = _CheckTimes()
    checks = {
        check_id: (keyword_id, times.of(check_id, at))
        for check_id, keyword_id, at in connection.execute(
            select(c.c.id, c.c.keyword_id, type_coerce(c.c.observed_at, DateTime())).where(
                _ok_checks_clause(ids, start, end)
            )
        )
    }
    if not checks:
        return []
    in_period = r.c.check_id.between(min(checks), max(checks))
    columns = (
        r.c.check_id,
        r.c.placement,
        r.c.block,
        r.c.rank,
        r.c.page_position,
        r.c.norm_url,
        r.c.id,
    )
    statement = (
        select(s.c.stance, *columns)
        .select_from(s.join(r, r.c.norm_url == s.c.norm_url))
        .where(
            s.c.campaign_id == labels.campaign_id,
            labels.current(),
            s.c.stance.in_(list(stances)),
            in_period,
            _RANKING,
        )
    )
    found = [
        _sighting(checks, stance, row)
        for stance, *row in connection.execute(statement).all()
        if row[0] in checks
    ]
    extra = select(*columns).where(in_period, _RANKING)
    for batch in batches(labels.overlay_urls(stances)):
        for row in connection.execute(extra.where(r.c.norm_url.in_(batch))):
            if row[0] in checks:
                found.append(_sighting(checks, labels.overlay[row.norm_url][0], row))
    found.sort(key=lambda p: (p.keyword_id, p.at, p.check_id, p.page_position))
    return found


def _sighting(
    checks: Mapping[int, tuple[int, dt.datetime]], stance: str, row: Sequence[Any]
) -> Sighting:
    """A :class:`Sighting` from ``(check_id, placement, block, rank, page_position, norm_url,
    id)``, its placement a :class:`~serptrack.vocabulary.Placement` value and its block
    ``top``, ``bottom`` or None: anything else stored reads as :data:`OTHER`, so no stored
    string reaches a report's labels unchecked."""
    check_id, placement, block, rank, page_position, norm_url, result_id = row
    if placement not in PLACEMENT_VALUES:
        placement = OTHER
    if block is not None and block not in BLOCK_VALUES:
        block = OTHER
    keyword_id, at = checks[check_id]
    return _new(
        Sighting,
        (
            check_id,
            keyword_id,
            at,
            stance,
            placement,
            block,
            rank,
            page_position,
            norm_url,
            result_id,
        ),
    )


def latest_texts(
    session: Session, sightings: Sequence[Sighting]
) -> dict[tuple[int, str], tuple[str, str]]:
    """Per (keyword id, normalised URL) of ``sightings`` (in time order, as
    :func:`url_positions` gives them): the URL as last seen, and the last title seen that is
    not empty ("" when none is). Reads the last sighting's row of each, and the earlier rows
    only of those whose last title is empty."""
    last: dict[tuple[int, str], int] = {}
    for sighting in sightings:
        last[(sighting.keyword_id, sighting.norm_url)] = sighting.result_id
    connection = _connection(session)
    rows = results_by_id(connection, list(last.values()))
    found = {key: (rows[rid].url, rows[rid].title) for key, rid in last.items()}
    untitled = {key for key, (_, title) in found.items() if not title}
    if untitled:
        earlier = [s.result_id for s in sightings if (s.keyword_id, s.norm_url) in untitled]
        older = results_by_id(connection, earlier)
        for sighting in sightings:
            key = (sighting.keyword_id, sighting.norm_url)
            title = older[sighting.result_id].title if key in untitled else ""
            if title:
                found[key] = (found[key][0], title)
    return found


def page_features(
    session: Session,
    campaign: Campaign,
    *,
    queries: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[int, set[tuple[str, str | None]]]:
    """Per successful check from ``start`` to before ``end``, the (placement, block) of each
    result-page feature it showed (ads by block, news box, AI overview ...): every placement
    but organic, whoever holds it. A placement or block outside the vocabulary reads as
    :data:`OTHER`."""
    ids = [k.id for k in keyword_infos(session, campaign, queries)]
    if not ids:
        return {}
    r, c = RESULTS, CHECKS
    statement = (
        select(r.c.check_id, r.c.placement, r.c.block)
        .distinct()
        .select_from(r.join(c, c.c.id == r.c.check_id))
        .where(_ok_checks_clause(ids, start, end), _FEATURE, _RANKING)
    )
    found: dict[int, set[tuple[str, str | None]]] = {}
    for check_id, placement, block in _connection(session).execute(statement):
        placement = placement if placement in PLACEMENT_VALUES else OTHER
        block = block if block is None or block in BLOCK_VALUES else OTHER
        found.setdefault(check_id, set()).add((placement, block))
    return found


def page_results(
    session: Session,
    campaign: Campaign,
    check_ids: Sequence[int],
    labels: StanceView | None = None,
    *,
    top: int | None = None,
) -> dict[int, list[UrlPosition]]:
    """Every result of the given checks with its stance (``neutral`` when unlabelled), in
    page order; with ``top``, only their organic results ranked 1 to ``top``."""
    connection = _connection(session)
    labels = labels or stance_view(session, campaign)
    s, r, c = URL_STANCES, RESULTS, CHECKS
    statement = (
        select(*_position_columns(_current_stance(labels)))
        .select_from(
            r.join(c, c.c.id == r.c.check_id).outerjoin(
                s, and_(s.c.campaign_id == labels.campaign_id, s.c.norm_url == r.c.norm_url)
            )
        )
        .order_by(r.c.check_id, r.c.page_position)
    )
    if top is not None:
        statement = statement.where(r.c.placement == "organic", r.c.rank <= top)
    found: dict[int, list[UrlPosition]] = {}
    times = _CheckTimes()
    for batch in batches(list(check_ids)):
        for row in connection.execute(statement.where(r.c.check_id.in_(batch), _RANKING)):
            position = _vetted_position(row, times)
            if position.norm_url in labels.overlay:
                position = position._replace(stance=labels.overlay[position.norm_url][0])
            found.setdefault(position.check_id, []).append(position)
    return found


def page_one_composition(
    session: Session,
    campaign: Campaign,
    *,
    queries: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    labels: StanceView | None = None,
) -> dict[int, dict[str, int]]:
    """Per successful check from ``start`` to before ``end``, how many of its organic results
    ranked 1-10 are official, critical, neutral (a neutral rule) and unlabelled (no rule),
    counted in the database (:data:`~serptrack.lead.COMPOSITION` order). A successful check
    with nothing ranked on page 1 has one too: all zero. ``keyword_series(curve=...)`` gives
    the same per series, from the pass that weighs shares."""
    ids = [k.id for k in keyword_infos(session, campaign, queries)]
    if not ids:
        return {}
    connection = _connection(session)
    labels = labels or stance_view(session, campaign)
    checks = _ok_checks_clause(ids, start, end)
    _, found = page_one_tallies(connection, labels, select(CHECKS.c.id).where(checks), None)
    for (check_id,) in connection.execute(select(CHECKS.c.id).where(checks)):
        found.setdefault(check_id, dict.fromkeys(COMPOSITION, 0))
    return found


def last_checks(
    session: Session,
    campaign: Campaign,
    spans: Sequence[tuple[dt.datetime, dt.datetime]],
    *,
    queries: Sequence[str] | None = None,
) -> dict[tuple[int, int], CheckEntry]:
    """The latest successful check of each active keyword in each ``(start, end)`` span, by
    ``(keyword id, span index)``: one small query per span, nothing read outside them."""
    ids = [k.id for k in keyword_infos(session, campaign, queries)]
    if not ids:
        return {}
    c = CHECKS
    found: dict[tuple[int, int], CheckEntry] = {}
    columns = (
        c.c.id,
        c.c.keyword_id,
        c.c.observed_at,
        c.c.status,
        c.c.provider,
        c.c.source,
        c.c.error_kind,
        c.c.error,
    )
    for index, (start, end) in enumerate(spans):
        latest = (
            select(c.c.keyword_id, func.max(c.c.observed_at).label("at"))
            .where(_ok_checks_clause(ids, start, end))
            .group_by(c.c.keyword_id)
            .subquery()
        )
        statement = (
            select(*columns)
            .join(
                latest, and_(latest.c.keyword_id == c.c.keyword_id, latest.c.at == c.c.observed_at)
            )
            .where(c.c.status == "ok")
            .order_by(c.c.keyword_id, c.c.id)
        )
        for row in session.connection().execute(statement):
            entry = CheckEntry(*row)
            found[(entry.keyword_id, index)] = entry  # two at the same instant: the later id
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
    ids = [k.id for k in keyword_infos(session, campaign, queries)]
    if not ids:
        return []
    c = CHECKS
    conditions: list[ColumnElement[bool]] = [c.c.keyword_id.in_(ids)]
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
    """The columns of a :class:`UrlPosition`, with ``stance`` as its stance.

    ``observed_at`` comes as the driver gives it (see :class:`_CheckTimes`): a column typed
    :class:`~serptrack.models.UTCDateTime` costs a Python call per row, and every result of a
    check repeats the check's time."""
    return (
        RESULTS.c.check_id,
        CHECKS.c.keyword_id,
        type_coerce(CHECKS.c.observed_at, DateTime()),
        stance.label("stance"),
        RESULTS.c.placement,
        RESULTS.c.block,
        RESULTS.c.rank,
        RESULTS.c.page_position,
        RESULTS.c.url,
        RESULTS.c.norm_url,
        RESULTS.c.title,
    )


class _CheckTimes(dict[int, dt.datetime]):
    """Check id -> its ``observed_at`` as an aware UTC datetime, made once per check from the
    driver's value (naive UTC on SQLite, aware on PostgreSQL), as UTCDateTime would."""

    def of(self, check_id: int, raw: dt.datetime) -> dt.datetime:
        found = self.get(check_id)
        if found is None:
            found = self[check_id] = (
                raw.replace(tzinfo=dt.UTC) if raw.tzinfo is None else raw.astimezone(dt.UTC)
            )
        return found


def _vetted_position(row: Sequence[Any], times: _CheckTimes) -> UrlPosition:
    """A :class:`UrlPosition` whose placement is a :class:`~serptrack.vocabulary.Placement`
    value and whose block is ``top``, ``bottom`` or None: anything else stored reads as
    :data:`OTHER`, so no stored string reaches a report's labels unchecked."""
    position = UrlPosition(row[0], row[1], times.of(row[0], row[2]), *row[3:])
    placement, block = position.placement, position.block
    if placement in PLACEMENT_VALUES and (block is None or block in BLOCK_VALUES):
        return position
    return position._replace(
        placement=placement if placement in PLACEMENT_VALUES else OTHER,
        block=block if block is None or block in BLOCK_VALUES else OTHER,
    )


def _current_stance(labels: StanceView) -> Any:
    """A joined ``url_stances`` row's stance when current, else ``neutral`` (the overlay then
    has the answer, or the URL is unlabelled)."""
    return case((labels.current(), URL_STANCES.c.stance), else_="neutral")


def keyword_infos(
    session: Session, campaign: Campaign, queries: Sequence[str] | None
) -> list[KeywordInfo]:
    """The campaign's active keywords, or those named in ``queries`` (each must be one)."""
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
    # No memory map chosen here: SQLite's default read path costs the same CPU on 7.3 M rows
    # (benchmarks/bench_analysis.py --mmap), and a 2 GiB map made RSS follow the file's size.
    return session.connection()


def _ok_checks_clause(
    keyword_ids: Sequence[int], start: dt.datetime | None, end: dt.datetime | None
) -> ColumnElement[bool]:
    c = CHECKS
    conditions = [c.c.keyword_id.in_(keyword_ids), c.c.status == "ok"]
    if start is not None:
        conditions.append(c.c.observed_at >= start)
    if end is not None:
        conditions.append(c.c.observed_at < end)
    return and_(*conditions)


def _check_id_range(
    connection: Connection,
    keyword_ids: Sequence[int],
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> ColumnElement[bool] | None:
    """``results.check_id`` between the lowest and highest id of the successful checks from
    ``start`` to before ``end`` (None: there are none; no bound without a period).

    The covering index is ordered by URL, then check id: with the ids bounded, each labelled
    URL's scan reads the period's entries, not the whole history's. Checks are stored about
    in time order, so the range is tight; a backfill of old days only widens it (the join
    still filters exactly).
    """
    if start is None and end is None:
        return true()
    lowest, highest = connection.execute(
        select(func.min(CHECKS.c.id), func.max(CHECKS.c.id)).where(
            _ok_checks_clause(keyword_ids, start, end)
        )
    ).one()
    if lowest is None:
        return None
    return RESULTS.c.check_id.between(lowest, highest)


def _ok_checks(
    keyword_ids: Sequence[int], start: dt.datetime | None, end: dt.datetime | None
) -> Select[Any]:
    return select(CHECKS.c.id).where(_ok_checks_clause(keyword_ids, start, end))


def _aggregates(
    connection: Connection,
    labels: StanceView,
    keyword_ids: Sequence[int],
    start: dt.datetime | None,
    end: dt.datetime | None,
    ok_checks: Sequence[Sequence[Any]],
    leads_only: bool = False,
) -> tuple[dict[int, Any], dict[int, Any]]:
    """Per successful check of ``ok_checks`` (rows whose first column is the check id), its
    official and critical aggregates as named rows, by side.

    Driven from the campaign's few official and critical URLs through the covering index
    ``ix_results_norm_url_positions``, and bounded by the lowest and highest id of the checks:
    neutral results, the vast majority, are never read, and neither are checks outside the
    period. The entries are not joined to ``checks`` (a primary-key lookup per entry): those
    of other checks in the id range (another keyword's, a failed one's) are left out here.
    One query per side keeps each row's work to a handful of comparisons; the overlay's URLs
    (usually none) are aggregated apart and merged in.
    """
    if not ok_checks:  # no successful check in the period
        return {}, {}
    s, r, c = URL_STANCES, RESULTS, CHECKS
    wanted = {row[0] for row in ok_checks}
    in_period = r.c.check_id.between(min(wanted), max(wanted))
    checks = _ok_checks_clause(keyword_ids, start, end)
    found: list[dict[int, Any]] = []
    for side in SIDES:
        aggregates = _side_columns(side, leads_only)
        columns = [expression.label(name) for name, (_, expression) in aggregates.items()]
        statement = (
            select(r.c.check_id, *columns)
            .select_from(s.join(r, r.c.norm_url == s.c.norm_url))
            .where(
                s.c.campaign_id == labels.campaign_id,
                labels.current(),
                s.c.stance == side,
                in_period,
                _RANKING,
            )
            .group_by(r.c.check_id)
        )
        # Named tuples, not SQLAlchemy rows: a year of checks reads their fields a million
        # times, and a Row's attribute lookup costs ten times a named tuple's.
        layout = _SIDE_ROWS[side]
        rows: dict[int, Any] = {
            row[0]: _new(layout, row)
            for row in connection.execute(statement).all()
            if row[0] in wanted
        }
        extra = select(r.c.check_id, *columns).select_from(r.join(c, c.c.id == r.c.check_id))
        for batch in batches(labels.overlay_urls([side])):
            for row in connection.execute(
                extra.where(r.c.norm_url.in_(batch), in_period, checks, _RANKING).group_by(
                    r.c.check_id
                )
            ):
                _merge(rows, layout._make(row), aggregates)
        found.append(rows)
    return found[0], found[1]


#: The aggregates leads and their best results read (see ``keyword_series(leads_only=)``).
_LEAD_COLUMNS = frozenset({"organic_rank", "organic_page_position", "page_position"})


def _side_columns(side: str, leads_only: bool = False) -> dict[str, tuple[str, Any]]:
    """Each aggregate of one side: its name, how two partial values combine, its SQL (with
    ``leads_only``, a constant for those leads do not read: the same named row, less work)."""
    columns = _all_side_columns(side)
    if leads_only:
        for name, (how, _) in columns.items():
            if name not in _LEAD_COLUMNS:
                columns[name] = (how, literal(0) if how in ("sum", "max") else null())
    return columns


def _all_side_columns(side: str) -> dict[str, tuple[str, Any]]:
    r = RESULTS
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


def _merge(rows: dict[int, Any], row: Any, columns: Mapping[str, tuple[str, Any]]) -> None:
    """Fold one partial aggregate row into ``rows`` (same check: min, max or sum by column)."""
    have = rows.get(row.check_id)
    if have is None:
        rows[row.check_id] = row
        return
    merged: dict[str, Any] = {}
    for name, (how, _) in columns.items():
        a, b = getattr(have, name), getattr(row, name)
        if a is None or b is None:
            merged[name] = b if a is None else a
        elif how == "sum":
            merged[name] = a + b
        else:
            merged[name] = min(a, b) if how == "min" else max(a, b)
    rows[row.check_id] = have._replace(**merged)


def _point(
    check_id: int,
    at: dt.datetime,
    official: Any,
    critical: Any,
    share: Share | None,
) -> CheckPoint:
    """A check point from the named aggregate rows of each side (None: no such result)."""
    if official is None and critical is None:  # no official or critical result at all
        return CheckPoint(check_id, at, share=share)
    o = official or _NO_SIDE
    c = critical or _NO_SIDE
    # Built as tuple.__new__ builds them, without the named tuples' Python-level __new__: a
    # year of a campaign's checks is 100,000 points of three positions each.
    return _new(
        CheckPoint,
        (
            check_id,
            at,
            _new(Positions, (o.organic_rank, c.organic_rank)),
            _new(Positions, (o.page_position, c.page_position)),
            _new(Positions, (o.organic_page_position, c.organic_page_position)),
            o.unpaid_page_position,
            o.ad_rank,
            bool(o.top_ad),
            int(o.on_page_1 or 0),
            int(c.on_page_1 or 0),
            share,
        ),
    )


_new = tuple.__new__  # see _point; tests pin the field order it relies on


#: The named row of each side's aggregates: the check id, then the columns of _side_columns.
_SIDE_ROWS: dict[str, Any] = {
    side: NamedTuple(
        f"{side.title()}Aggregates", [("check_id", int)] + [(n, Any) for n in _side_columns(side)]
    )
    for side in SIDES
}
_NO_SIDE = SimpleNamespace(
    organic_rank=None,
    organic_page_position=None,
    page_position=None,
    unpaid_page_position=None,
    ad_rank=None,
    top_ad=0,
    on_page_1=0,
)


def shares(
    connection: Connection,
    labels: StanceView,
    checks: Sequence[int] | Select[Any],
    curve: CtrCurve,
) -> dict[int, Share]:
    """CTR-weighted share of voice by stance for each check, summed in the database (see
    :func:`page_one_tallies`)."""
    return page_one_tallies(connection, labels, checks, curve)[0]


def page_one_tallies(
    connection: Connection,
    labels: StanceView,
    checks: Sequence[int] | Select[Any],
    curve: CtrCurve | None,
) -> tuple[dict[int, Share], dict[int, dict[str, int]]]:
    """Per check, in one pass over its results summed in the database: its CTR-weighted
    share of voice by stance (with ``curve``; else no shares), and how many of its organic
    results ranked 1-10 are of each :data:`~serptrack.lead.COMPOSITION` kind (checks with
    no such result are left out of the second).

    Results are grouped by kind: the table's current stance, ``neutral`` split into a
    neutral rule's and no rule's (``unlabelled``); rows it cannot say (stale or missing:
    the overlay's URLs, usually none) are weighed as neutral and counted apart, then each
    overlay URL moves its weight to its own stance and its count to its own kind.
    """
    r, s = RESULTS, URL_STANCES
    positions = curve.positions if curve else ()
    organic_weights = {p: w for p, w in enumerate(positions, start=1) if p <= PAGE_ONE}
    page_weights = dict(enumerate(positions, start=1))
    in_top = and_(r.c.placement == "organic", r.c.rank <= PAGE_ONE)

    def weight(values: Mapping[int, float], column: Any) -> Any:
        return case(values, value=column, else_=0.0) if values else literal(0.0)

    sums = (
        func.sum(case((in_top, weight(organic_weights, r.c.rank)), else_=0.0)).label("organic"),
        func.sum(weight(page_weights, r.c.page_position)).label("page"),
        func.sum(case((in_top, 1), else_=0)).label("on_page"),
    )
    weighed = and_(or_(in_top, r.c.page_position <= len(positions)), _RANKING)
    current = labels.current()
    kind = case(
        (and_(current, s.c.stance != "neutral"), s.c.stance),
        (and_(current, s.c.rule.is_not(None)), "neutral"),
        (current, "unlabelled"),
        else_="overlay",
    ).label("kind")
    statement = (
        select(r.c.check_id, kind, *sums)
        .select_from(
            r.outerjoin(
                s, and_(s.c.campaign_id == labels.campaign_id, s.c.norm_url == r.c.norm_url)
            )
        )
        .where(weighed)
        .group_by(r.c.check_id, kind)
    )
    weights: dict[int, dict[str, list[float]]] = {}
    counts: dict[int, dict[str, int]] = {}
    chosen = [checks] if isinstance(checks, Select) else list(batches(list(checks)))
    for batch in chosen:
        for check_id, name, organic, page, on_page in connection.execute(
            statement.where(r.c.check_id.in_(batch))
        ):
            stance = name if name in SIDES else "neutral"
            values = weights.setdefault(check_id, {}).setdefault(stance, [0.0, 0.0])
            values[0] += float(organic or 0)
            values[1] += float(page or 0)
            if on_page and name != "overlay":
                tally = counts.setdefault(check_id, dict.fromkeys(COMPOSITION, 0))
                tally[name] += on_page
    moved = select(r.c.check_id, r.c.norm_url, *sums).where(weighed)
    for urls in batches(sorted(labels.overlay)):
        for batch in chosen:
            for row in connection.execute(
                moved.where(r.c.check_id.in_(batch), r.c.norm_url.in_(urls)).group_by(
                    r.c.check_id, r.c.norm_url
                )
            ):
                stance, rule = labels.overlay[row.norm_url]
                if stance in SIDES:
                    by_stance = weights[row.check_id]
                    target = by_stance.setdefault(stance, [0.0, 0.0])
                    for index, value in enumerate((row.organic, row.page)):
                        by_stance["neutral"][index] -= float(value or 0)
                        target[index] += float(value or 0)
                if row.on_page:
                    name = stance if stance != "neutral" else ("neutral" if rule else "unlabelled")
                    tally = counts.setdefault(row.check_id, dict.fromkeys(COMPOSITION, 0))
                    tally[name] += row.on_page
    voice = (
        {
            check_id: Share(_normalise(by_stance, 0), _normalise(by_stance, 1))
            for check_id, by_stance in weights.items()
        }
        if curve
        else {}
    )
    return voice, counts


def _normalise(by_stance: Mapping[str, list[float]], index: int) -> dict[str, float] | None:
    total = sum(values[index] for values in by_stance.values())
    if total <= 0:
        return None
    return {
        stance: (by_stance[stance][index] / total if stance in by_stance else 0.0)
        for stance in STANCE_ORDER
    }


def failed_since_last_ok(connection: Connection, keyword_ids: Sequence[int]) -> dict[int, int]:
    """Per keyword, how many failed or blocked checks came after its latest successful one."""
    if not keyword_ids:
        return {}
    c, ok = CHECKS, CHECKS.alias("ok")
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


def campaign_annotations(
    session: Session,
    campaign: Campaign,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The campaign's annotations (date, text, query), by date, from ``first`` to ``last``."""
    statement = sm_select(Annotation).where(col(Annotation.campaign_id) == campaign.id)
    if first is not None:
        statement = statement.where(col(Annotation.date) >= first)
    if last is not None:
        statement = statement.where(col(Annotation.date) <= last)
    notes = session.exec(statement.order_by(col(Annotation.date), col(Annotation.id)))
    return [{"date": n.date, "text": n.text, "query": n.query} for n in notes]


def check_span(
    session: Session, campaign: Campaign, *, ok_only: bool = False
) -> tuple[dt.datetime, dt.datetime] | None:
    """When the campaign's active keywords were first and last checked (successfully, with
    ``ok_only``), or None."""
    k = KEYWORDS
    statement = (
        select(
            func.min(CHECKS.c.observed_at).label("first"),
            func.max(CHECKS.c.observed_at).label("last"),
        )
        .join(k, k.c.id == CHECKS.c.keyword_id)
        .where(k.c.campaign_id == campaign.id, k.c.active)
    )
    if ok_only:
        statement = statement.where(CHECKS.c.status == CheckStatus.OK)
    row = session.connection().execute(statement).one()
    if row.first is None:
        return None
    return _as_datetime(row.first), _as_datetime(row.last)


def _as_datetime(value: Any) -> dt.datetime:
    # aggregates bypass the column type: SQLite hands back text, PostgreSQL an aware datetime
    moment: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


class Exposure(NamedTuple):
    """An unlabelled URL's sightings at rank 1-``top`` in successful checks (see
    :func:`unlabelled_exposure`)."""

    norm_url: str
    checks: int
    keywords: int
    best_rank: int
    exposure: float  # the CTR curve's percentages, summed over the sightings
    first_seen: dt.datetime
    last_seen: dt.datetime
    latest_result: int  # the highest result id among the sightings


def unlabelled_exposure(
    connection: Connection,
    labels: StanceView,
    keyword_ids: Sequence[int],
    curve: CtrCurve,
    *,
    top: int,
) -> list[Exposure]:
    """Per URL no rule labels, seen at rank 1-``top`` in successful checks of these keywords:
    its checks, keywords, best rank, CTR-weighted exposure, first and last sighting and its
    latest result id; most exposed first.

    The index entries (one per sighting: 1.6 M on a year of 200 keywords) are not joined to
    ``checks``, a primary-key lookup per entry that cost two thirds of the joined query. The
    successful checks are read once instead (:class:`_SuccessfulChecks`), the entries are
    aggregated per URL in the database, with the URL's check ids as one string, and each URL's
    checks are looked up in Python. The few URLs also seen in another check of the checks' id
    range (a failed one, another keyword's) are aggregated again by the join, like the
    overlay's URLs.
    """
    checks = _SuccessfulChecks.read(connection, keyword_ids)
    if checks is None:
        return []
    s, r = URL_STANCES, RESULTS
    offsets = (r.c.check_id - checks.low).cast(String)  # text, for PostgreSQL's string_agg
    statement = (
        select(
            s.c.norm_url,
            func.min(r.c.rank).label("best_rank"),
            func.sum(_ctr_weight(curve)).label("exposure"),
            func.max(r.c.id).label("latest_result"),
            func.aggregate_strings(offsets, ",").label("offsets"),
        )
        .select_from(s.join(r, r.c.norm_url == s.c.norm_url))
        .where(
            s.c.campaign_id == labels.campaign_id,
            labels.current(),
            s.c.rule.is_(None),
            r.c.check_id.between(checks.low, checks.high),
            r.c.rank <= top,
            _RANKING,
        )
        .group_by(s.c.norm_url)
    )
    found: list[Exposure] = []
    elsewhere = labels.unlabelled_overlay_urls()
    for row in connection.execute(statement):
        # orjson reads 1.6 M check ids in a third of the time int() takes
        exposure = checks.exposure(row, orjson.loads(f"[{row.offsets}]"))
        if exposure is None:
            elsewhere.append(row.norm_url)
        else:
            found.append(exposure)
    found.extend(_joined_exposure(connection, elsewhere, keyword_ids, curve, top))
    return sorted(
        found,
        key=lambda row: (-float(row.exposure or 0), -row.checks, row.best_rank, row.norm_url),
    )


def _ctr_weight(curve: CtrCurve) -> Any:
    """A result's percentage on the CTR curve, by its rank (0 past the curve's end)."""
    return case(dict(enumerate(curve.positions, start=1)), value=RESULTS.c.rank, else_=0.0)


def _joined_exposure(
    connection: Connection,
    norm_urls: Sequence[str],
    keyword_ids: Sequence[int],
    curve: CtrCurve,
    top: int,
) -> Iterator[Exposure]:
    """:class:`Exposure` of each of ``norm_urls`` seen at rank 1-``top`` in successful checks
    of these keywords, its entries joined to their checks."""
    r, c = RESULTS, CHECKS
    statement = (
        select(
            r.c.norm_url,
            func.count(func.distinct(c.c.id)),
            func.count(func.distinct(c.c.keyword_id)),
            func.min(r.c.rank),
            func.sum(_ctr_weight(curve)),
            func.min(c.c.observed_at),
            func.max(c.c.observed_at),
            func.max(r.c.id),
        )
        .select_from(r.join(c, c.c.id == r.c.check_id))
        .where(c.c.keyword_id.in_(keyword_ids), c.c.status == "ok", r.c.rank <= top, _RANKING)
        .group_by(r.c.norm_url)
    )
    for batch in batches(sorted(norm_urls)):
        for row in connection.execute(statement.where(r.c.norm_url.in_(batch))):
            yield Exposure(*row)


class _SuccessfulChecks(NamedTuple):
    """The successful checks of some keywords, as lists indexed by check id minus ``low``
    (ids from ``low`` to ``high``): each check's keyword, and the position of its
    ``observed_at`` among the checks' times, plus one (0: not one of these checks).

    The times are the driver's values (text on SQLite) ordered as the database orders them,
    so that the first and last sightings are those ``min`` and ``max`` would pick in SQL, and
    made aware datetimes only when one is returned.
    """

    low: int
    high: int
    moments: list[int]
    keywords: list[int]
    raw_times: list[Any]
    times: dict[int, dt.datetime]  # moment -> its aware datetime, as they are asked for
    convert: Any  # the driver's value -> an aware UTC datetime (the column type's processor)

    @classmethod
    def read(cls, connection: Connection, keyword_ids: Sequence[int]) -> _SuccessfulChecks | None:
        """The successful checks of ``keyword_ids`` (None: there are none)."""
        if not keyword_ids:
            return None
        # Plain driver SQL: the times stay the driver's values (as SQL's min and max see
        # them), and no row object is made per check.
        marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        cursor = connection.connection.cursor()
        try:
            cursor.execute(
                "SELECT id, keyword_id, observed_at FROM checks WHERE status = "
                f"{marker} AND keyword_id IN ({', '.join([marker] * len(keyword_ids))})",
                (CheckStatus.OK.value, *keyword_ids),
            )
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not rows:
            return None
        low = min(row[0] for row in rows)
        high = max(row[0] for row in rows)
        raw_times = sorted({row[2] for row in rows})
        moment_of = {raw: moment for moment, raw in enumerate(raw_times, start=1)}
        moments = [0] * (high - low + 1)
        keywords = [0] * (high - low + 1)
        for check_id, keyword_id, raw in rows:
            moments[check_id - low] = moment_of[raw]
            keywords[check_id - low] = keyword_id
        dialect = connection.dialect
        convert = CHECKS.c.observed_at.type.dialect_impl(dialect).result_processor(dialect, None)
        return cls(low, high, moments, keywords, raw_times, {}, convert)

    def exposure(self, row: Any, offsets: list[int]) -> Exposure | None:
        """The :class:`Exposure` of an aggregated row whose entries are in the checks of ids
        ``low`` plus ``offsets``; None if one is not one of these checks."""
        moments = list(map(self.moments.__getitem__, offsets))
        first = min(moments)
        if first == 0:
            return None
        return Exposure(
            row.norm_url,
            len(set(offsets)),
            len(set(map(self.keywords.__getitem__, offsets))),
            row.best_rank,
            row.exposure,
            self.time(first),
            self.time(max(moments)),
            row.latest_result,
        )

    def time(self, moment: int) -> dt.datetime:
        """The aware UTC datetime of ``moment``."""
        found = self.times.get(moment)
        if found is None:
            raw = self.raw_times[moment - 1]
            found = self.times[moment] = self.convert(raw) if self.convert else raw
        return found


class ExposedResult(NamedTuple):
    """The stored result an :class:`Exposure` shows (its ``latest_result``)."""

    id: int
    url: str
    domain: str
    placement: str
    title: str
    snippet: str


def exposed_results(
    connection: Connection, exposures: Sequence[Exposure]
) -> dict[int, ExposedResult]:
    """The latest result of each of ``exposures``, by result id.

    Plain driver SQL, in id order (as the rows lie in the table): SQLAlchemy's expanding IN
    and row objects cost twice the lookups themselves for the 40,600 URLs of a year.
    """
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    found: dict[int, ExposedResult] = {}
    cursor = connection.connection.cursor()
    try:
        for batch in batches(sorted(exposure.latest_result for exposure in exposures)):
            cursor.execute(
                "SELECT id, url, domain, placement, title, snippet FROM results "
                f"WHERE id IN ({', '.join([marker] * len(batch))})",
                tuple(batch),
            )
            for row in cursor.fetchall():
                found[row[0]] = ExposedResult(*row)
    finally:
        cursor.close()
    return found


def results_by_id(connection: Connection, result_ids: Sequence[int]) -> dict[int, Any]:
    """Stored results by id, as named rows (url, domain, placement, title, snippet)."""
    r = RESULTS
    found: dict[int, Any] = {}
    statement = select(r.c.id, r.c.url, r.c.domain, r.c.placement, r.c.title, r.c.snippet)
    for batch in batches(list(result_ids)):
        for row in connection.execute(statement.where(r.c.id.in_(batch))):
            found[row.id] = row
    return found


class AiPool(NamedTuple):
    """A keyword's pool of AI-answer samples: its successful checks in a window, their
    successful samples with what each cites, and how many samples failed meanwhile."""

    start: dt.datetime  # the window, start excluded
    end: dt.datetime  # ... end included (the keyword's latest successful check)
    checks: int
    samples: list[SampleCitations]
    failed_samples: int  # failed or blocked samples of those checks (not in ``samples``)


def ai_samples(
    session: Session,
    campaign: Campaign,
    windows: Mapping[int, tuple[dt.datetime, dt.datetime]],
    labels: StanceView | None = None,
) -> dict[int, AiPool]:
    """Per keyword id of ``windows``, the successful samples of its successful checks observed
    after ``start`` and up to ``end``, each with the stances of the sources its AI placements
    cite (the input of :func:`serptrack.sampling.citation_shares`).

    Every sample counts here, not sample 1 only: this is the one read of answers as a pool.
    A check of one call is its own sample 1; a sampled check's samples are its
    ``check_samples`` rows, and only those that succeeded are in the pool.
    """
    if not windows:
        return {}
    connection = _connection(session)
    labels = labels or stance_view(session, campaign)
    c, cs, r, s = CHECKS, CHECK_SAMPLES, RESULTS, URL_STANCES
    earliest = min(start for start, _ in windows.values())
    statement = select(c.c.id, c.c.keyword_id, c.c.observed_at).where(
        _ok_checks_clause(list(windows), earliest, None)
    )
    by_check: dict[int, int] = {}
    for check_id, keyword_id, at in connection.execute(statement):
        start, end = windows[keyword_id]
        if start < at <= end:
            by_check[check_id] = keyword_id
    ok_samples: dict[int, list[int]] = {check_id: [] for check_id in by_check}
    failed: dict[int, int] = {}
    sampled = select(cs.c.check_id, cs.c.sample, cs.c.status).order_by(cs.c.check_id, cs.c.sample)
    for batch in batches(sorted(by_check)):
        for row in connection.execute(sampled.where(cs.c.check_id.in_(batch))):
            if row.status == CheckStatus.OK:
                ok_samples[row.check_id].append(row.sample)
            else:
                keyword_id = by_check[row.check_id]
                failed[keyword_id] = failed.get(keyword_id, 0) + 1
    cited: dict[tuple[int, int], dict[str, list[tuple[str, str]]]] = {}
    statement = (
        select(
            r.c.check_id,
            r.c.sample,
            r.c.placement,
            r.c.norm_url,
            _current_stance(labels).label("stance"),
        )
        .select_from(
            r.outerjoin(
                s, and_(s.c.campaign_id == labels.campaign_id, s.c.norm_url == r.c.norm_url)
            )
        )
        .where(r.c.placement.in_(AI_PLACEMENTS), _FEATURE)
        .order_by(r.c.check_id, r.c.sample, r.c.page_position)
    )
    for batch in batches(sorted(by_check)):
        for hit in connection.execute(statement.where(r.c.check_id.in_(batch))):
            norm_url: str = hit.norm_url
            stance: str = labels.overlay[norm_url][0] if norm_url in labels.overlay else hit.stance
            by_placement = cited.setdefault((hit.check_id, hit.sample), {})
            by_placement.setdefault(hit.placement, []).append((norm_url, stance))
    pools = {
        keyword_id: AiPool(start, end, 0, [], failed.get(keyword_id, 0))
        for keyword_id, (start, end) in windows.items()
    }
    for check_id, keyword_id in sorted(by_check.items()):
        pool = pools[keyword_id]
        pools[keyword_id] = pool._replace(checks=pool.checks + 1)
        for number in ok_samples[check_id] or [1]:  # no rows: a check of one call
            pool.samples.append(
                SampleCitations(check_id, number, cited.get((check_id, number), {}))
            )
    return pools
