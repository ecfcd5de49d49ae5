"""Counter-narrative analysis: who leads, when the lead changes, share of voice, paid versus organic.

SPEC section 6 ("Who leads, and when the lead changes"), assembled from two layers: the pure
core over plain data (:mod:`serptrack.lead`) and the store's read model
(:mod:`serptrack.store.reads`), which aggregates in the database.

Views: ``organic`` compares organic ``rank`` among organic results only; ``page`` compares
``page_position`` across every placement, ads included. Failed and blocked checks are not
evidence and are skipped. Labels apply retroactively: stances come from the campaign's
:class:`~serptrack.store.stances.StanceView` (the table's current rows and an in-memory overlay for
what it cannot say yet), so reads never write and run on a read-only database.

Share of voice weighs each result by a CTR curve (:mod:`serptrack.ctr`): in the organic view
the organic top 10 by ``rank``, in the page view every item by ``page_position`` (positions
beyond the curve weigh nothing). Shares by stance sum to 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from .ctr import CtrCurve, curve_from_settings
from .lead import (
    PRESENCES,
    VIEWS,
    CheckPoint,
    Event,
    KeywordInfo,
    KeywordSeries,
    LeadChange,
    ResultRef,
    Share,
    current_lead,
    lead_changes,
    leaders,
    paid_days,
    settled_index,
    utc_day,
)
from .models import Campaign
from .sampling import AI_PLACEMENTS, PlacementShares, SampleCitations, citation_shares
from .store import reads
from .store.stances import StanceView

__all__ = [
    "AI_VIEW",
    "DEFAULT_SAMPLES_WINDOW",
    "Carried",
    "ai_shares",
    "carried_series",
    "first_overtakes",
    "lead_events",
    "overtakes",
    "paid_rows",
    "status",
]

#: ``overtakes``' view of AI answers: a side leads a check when more of the check's samples
#: cite it, per AI placement (an addition beside SPEC section 6's organic and page views)
AI_VIEW = "ai"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NEVER = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)

#: Days of checks whose AI-answer samples ``status`` pools, ending at each keyword's latest
#: successful check: a week of daily checks of ``samples = 3`` is 21 answers, enough for an
#: interval of about +-20 points; the latest check alone (3 answers) says next to nothing.
DEFAULT_SAMPLES_WINDOW = 7


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

    Leads are followed as over the whole history, so ``start`` and ``end`` only choose which
    events are returned, never change them. With ``start`` (and no AI view), only the checks
    from ``start`` to ``end`` and what :func:`carried_series` needs before them are read.
    """
    for view in views:
        if view not in VIEWS and view != AI_VIEW:
            raise ValueError(f"unknown view {view!r}")
    labels = labels or reads.stance_view(session, campaign)
    if start is not None and AI_VIEW not in views:
        current = reads.keyword_series(
            session, campaign, queries=queries, start=start, end=end, labels=labels, leads_only=True
        )
        carried = carried_series(session, campaign, current, start, end, hold, labels)
        all_series = [item.series for item in carried]
    else:  # the AI view follows its samples' leads from the first check
        all_series = reads.keyword_series(
            session, campaign, queries=queries, end=end, labels=labels, leads_only=True
        )
    rank_views = [view for view in views if view != AI_VIEW]
    events = _lead_events(session, all_series, rank_views, hold, start, end)
    if AI_VIEW in views:
        events += _ai_events(session, campaign, all_series, hold, start, end, labels)
    events.sort(key=lambda item: item[:3])
    return [event for *_, event in events]


def lead_events(
    session: Session,
    all_series: Sequence[KeywordSeries],
    *,
    hold: int = 1,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[Event]:
    """The overtakes and lost leads of both rank views at the checks of ``all_series`` from
    ``start`` to before ``end``, ordered as :func:`overtakes` orders them. Each series must
    start early enough for its leads (see :func:`carried_series`)."""
    events = _lead_events(session, all_series, VIEWS, hold, start, end)
    events.sort(key=lambda item: item[:3])
    return [event for *_, event in events]


def _lead_events(
    session: Session,
    all_series: Sequence[KeywordSeries],
    views: Sequence[str],
    hold: int,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> list[tuple[dt.datetime, int, int, Event]]:
    found: list[tuple[int, KeywordInfo, str, LeadChange, CheckPoint]] = []
    for order, series in enumerate(all_series):
        for view in views:
            for change in lead_changes(leaders(series.points, view), hold):
                point = series.points[change.index]
                if change.kind is None or not _within(point.at, start, end):
                    continue
                found.append((order, series.keyword, view, change, point))
    details = reads.best_results(session, [item[4] for item in found])
    events: list[tuple[dt.datetime, int, int, Event]] = []
    for order, keyword, view, change, point in found:
        event = _event(keyword, view, change.kind or "", point, details)
        events.append((point.at, order, VIEWS.index(view), event))
    return events


def _event(
    keyword: KeywordInfo,
    view: str,
    kind: str,
    point: CheckPoint,
    details: Mapping[int, Mapping[tuple[str, str], ResultRef]],
) -> Event:
    best = details.get(point.check_id, {})
    return Event(
        keyword,
        view,
        kind,
        point.check_id,
        point.at,
        best.get((view, "official")),
        best.get((view, "critical")),
    )


@dataclass(frozen=True)
class Carried:
    """A keyword's successful checks of a period with checks before it prepended, enough to
    follow its leads as from its first check (:func:`carried_series`)."""

    series: KeywordSeries
    #: the earliest instant read (the checks before it were not), None when ``series`` starts
    #: with the keyword's first successful check
    since: dt.datetime | None
    #: when the keyword's first successful check was observed, when it was looked up
    first: dt.datetime | None = None


#: The first look back before a period (or forward from a keyword's first check) reaches
#: this fraction of the period's length; each further look reaches four times as far as the
#: one before. A look costs about a millisecond and a half whatever it holds, each check in it
#: a few microseconds: a quarter of the period usually settles every lead in one look.
_FIRST_LOOK = 1 / 4
_GROWTH = 4
_SHORTEST_LOOK = dt.timedelta(hours=1)


def carried_series(
    session: Session,
    campaign: Campaign,
    current: Sequence[KeywordSeries],
    start: dt.datetime,
    end: dt.datetime | None,
    hold: int,
    labels: StanceView,
) -> list[Carried]:
    """``current`` (each keyword's successful checks from ``start``) with enough of the checks
    before ``start`` prepended that leads followed over them come out as over the whole
    history: every lead change from ``start`` on, and since when the leader leads
    (:func:`~serptrack.lead.settled_index`).

    Reads back in growing windows until each keyword's leads are settled or its first
    successful check is reached: the past costs what the last lead changes before the period
    take, however long the campaign has run.
    """
    look = _first_look(current, start, end)
    past: dict[int, list[CheckPoint]] = {s.keyword.id: [] for s in current}
    since: dict[int, dt.datetime | None] = dict.fromkeys(past, start)
    pending = [s.keyword for s in current]
    first_ok: dict[int, dt.datetime] | None = None
    upper = start
    while pending:
        lower = upper - look
        read = reads.keyword_series(
            session,
            campaign,
            start=lower,
            end=upper,
            labels=labels,
            keywords=pending,
            leads_only=True,
        )
        if first_ok is None:
            first_ok = reads.first_ok_checks(session, [k.id for k in pending])
        still = []
        for series in read:
            keyword = series.keyword
            past[keyword.id][:0] = series.points
            since[keyword.id] = lower
            first = first_ok.get(keyword.id)
            if first is None or first >= lower:
                since[keyword.id] = None  # everything before the period is read
            elif not _settled(past[keyword.id], hold):
                still.append(keyword)
        pending, upper, look = still, lower, look * _GROWTH
    return [
        Carried(
            KeywordSeries(s.keyword, past[s.keyword.id] + s.points),
            since[s.keyword.id],
            (first_ok or {}).get(s.keyword.id),
        )
        for s in current
    ]


def _first_look(
    current: Sequence[KeywordSeries], start: dt.datetime, end: dt.datetime | None
) -> dt.timedelta:
    last = end or max((s.points[-1].at for s in current if s.points), default=start)
    return max((last - start) * _FIRST_LOOK, _SHORTEST_LOOK)


def _settled(points: Sequence[CheckPoint], hold: int) -> bool:
    return all(settled_index(leaders(points, view), hold) is not None for view in VIEWS)


def first_overtakes(
    session: Session,
    campaign: Campaign,
    carried: Sequence[Carried],
    start: dt.datetime,
    end: dt.datetime | None,
    hold: int,
    labels: StanceView,
) -> dict[int, dict[str, Event | None]]:
    """Per keyword id and view, the first overtake there ever was up to the end of its carried
    series, as an event (None: none yet).

    A keyword whose carried series does not start with its first check is read forward from
    that check in growing windows, and only until its first overtake in each view is found:
    its changes over a true beginning of its history are the history's own.
    """
    firsts: dict[int, dict[str, CheckPoint | None]] = {}
    pending: dict[int, Carried] = {}
    for item in carried:
        if item.since is None:
            firsts[item.series.keyword.id] = _firsts(item.series.points, hold)
        else:
            pending[item.series.keyword.id] = item
    first_ok = {k: item.first for k, item in pending.items() if item.first is not None}
    head: dict[int, list[CheckPoint]] = {keyword_id: [] for keyword_id in pending}
    lower = min(first_ok.values(), default=_EPOCH)
    look = _first_look([c.series for c in carried], start, end)
    while pending:
        cap = max(item.since or lower for item in pending.values())
        upper = min(lower + look, cap)
        read = reads.keyword_series(
            session,
            campaign,
            start=lower,
            end=upper,
            labels=labels,
            keywords=[item.series.keyword for item in pending.values()],
            leads_only=True,
        )
        for series in read:
            item = pending[series.keyword.id]
            assert item.since is not None
            head[series.keyword.id] += [p for p in series.points if p.at < item.since]
            if upper >= item.since:  # the whole history is read
                points = head[series.keyword.id] + item.series.points
                firsts[series.keyword.id] = _firsts(points, hold)
                del pending[series.keyword.id]
                continue
            found = _firsts(head[series.keyword.id], hold)
            if all(point is not None for point in found.values()):
                firsts[series.keyword.id] = found
                del pending[series.keyword.id]
        lower, look = upper, look * _GROWTH
    chosen = [point for by_view in firsts.values() for point in by_view.values() if point]
    details = reads.best_results(session, chosen)
    keywords = {item.series.keyword.id: item.series.keyword for item in carried}
    return {
        keyword_id: {
            view: _event(keywords[keyword_id], view, "overtake", point, details) if point else None
            for view, point in by_view.items()
        }
        for keyword_id, by_view in firsts.items()
    }


def _firsts(points: Sequence[CheckPoint], hold: int) -> dict[str, CheckPoint | None]:
    """Per view, the point of the first overtake over ``points`` (None: none)."""
    found: dict[str, CheckPoint | None] = {}
    for view in VIEWS:
        changes = lead_changes(leaders(points, view), hold)
        first = next((c for c in changes if c.kind == "overtake"), None)
        found[view] = points[first.index] if first else None
    return found


def _ai_events(
    session: Session,
    campaign: Campaign,
    all_series: Sequence[KeywordSeries],
    hold: int,
    start: dt.datetime | None,
    end: dt.datetime | None,
    labels: StanceView | None,
) -> list[tuple[dt.datetime, int, int, Event]]:
    """The lead changes of the AI view: at each successful check, per AI placement, the side
    more of the check's samples cite leads (a tie, or no citation, leads nobody: that breaks a
    streak but ends no lead, as in the other views); followed over the whole history."""
    windows = {s.keyword.id: (_EPOCH, _NEVER) for s in all_series if s.points}
    pools = reads.ai_samples(session, campaign, windows, labels)
    found = []
    for order, series in enumerate(all_series):
        pool = pools.get(series.keyword.id)
        if pool is None or not pool.samples:
            continue
        by_check: dict[int, list[SampleCitations]] = {}
        for sample in pool.samples:
            by_check.setdefault(sample.check_id, []).append(sample)
        shares = [citation_shares(by_check.get(p.check_id, [])) for p in series.points]
        for rank, placement in enumerate(AI_PLACEMENTS, start=len(VIEWS)):
            placed = [found_shares.get(placement) for found_shares in shares]
            if not any(placed):
                continue
            for change in lead_changes([_ai_leader(s) for s in placed], hold):
                point, cited = series.points[change.index], placed[change.index]
                if change.kind is None or cited is None or not _within(point.at, start, end):
                    continue
                event = Event(
                    series.keyword,
                    AI_VIEW,
                    change.kind,
                    point.check_id,
                    point.at,
                    None,
                    None,
                    placement=placement,
                    shares={
                        "samples": cited.samples,
                        "cites_official": cited.cites_official.to_json(),
                        "cites_critical": cited.cites_critical.to_json(),
                    },
                )
                found.append((point.at, order, rank, event))
    return found


def _ai_leader(shares: PlacementShares | None) -> str | None:
    """Who leads a check's AI placement: the side cited by more of its samples."""
    if shares is None:
        return None
    official, critical = shares.cites_official.count, shares.cites_critical.count
    if official == critical:
        return None
    return "official" if official > critical else "critical"


def status(
    session: Session,
    campaign: Campaign,
    *,
    hold: int = 1,
    queries: Sequence[str] | None = None,
    curve: CtrCurve | None = None,
    samples_window: int = DEFAULT_SAMPLES_WINDOW,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[str, Any]:
    """Where each active keyword stands at its latest successful check, as one JSON document.

    Its AI placements are read as shares over the successful samples of the checks of the
    ``samples_window`` days up to that check (0: that check's samples only): see
    :func:`ai_shares`. With ``start`` or ``end``, only the checks from ``start`` to before
    ``end`` count (the latest, the successful ones, the failed ones since, the paid days) and
    only the annotations of those days are listed; leads are followed as over the whole
    history (the lead may date from before ``start``) and the first overtake is the first
    there ever was up to ``end``.
    """
    curve = curve or curve_from_settings(campaign.settings)
    labels = reads.stance_view(session, campaign)
    all_series = reads.keyword_series(
        session, campaign, queries=queries, start=start, end=end, labels=labels
    )
    lead_series, firsts = all_series, None
    if start is not None:
        carried = carried_series(session, campaign, all_series, start, end, hold, labels)
        lead_series = [item.series for item in carried]
        firsts = first_overtakes(session, campaign, carried, start, end, hold, labels)
    latest = {s.keyword.id: s.points[-1] for s in all_series if s.points}
    latest_ids = [point.check_id for point in latest.values()]
    connection = session.connection()
    shares = reads.shares(connection, labels, latest_ids, curve)
    details = reads.best_results(session, latest.values())
    keyword_ids = [s.keyword.id for s in all_series]
    if start is None and end is None:
        failed = reads.failed_since_last_ok(connection, keyword_ids)
    else:
        failed = _failed_since(session, campaign, queries, latest, start, end)
    first_day = start.date() if start else None
    last_day = (end - dt.timedelta(microseconds=1)).date() if end else None
    notes = reads.campaign_annotations(session, campaign, first_day, last_day)
    ai = ai_shares(session, campaign, latest, samples_window, labels)
    rows = []
    for series, leads in zip(all_series, lead_series, strict=True):
        point = latest.get(series.keyword.id)
        rows.append(
            _keyword_status(
                series,
                leads,
                point,
                details.get(point.check_id, {}) if point else {},
                shares.get(point.check_id) if point else None,
                failed.get(series.keyword.id, 0),
                hold,
                curve,
                campaign.crisis_start,
                [n for n in notes if n["query"] in (None, series.keyword.query)],
                firsts.get(series.keyword.id) if firsts is not None else None,
                start,
            )
        )
        rows[-1].update(ai.get(series.keyword.id, {"ai_window": None, "ai": {}}))
    period = {"from": first_day, "to": last_day} if start or end else {}
    return {
        "campaign": campaign.name,
        "brand": campaign.brand,
        "crisis_start": campaign.crisis_start,
        **period,
        "hold": hold,
        "samples_window": samples_window,
        "ctr_curve": curve.describe(),
        "annotations": notes,
        "keywords": rows,
    }


def _failed_since(
    session: Session,
    campaign: Campaign,
    queries: Sequence[str] | None,
    latest: Mapping[int, CheckPoint],
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> dict[int, int]:
    """Per keyword, its failed or blocked checks from ``start`` to before ``end`` that came
    after its latest successful check in that range (all of them when it has none)."""
    found: dict[int, int] = {}
    for check in reads.check_log(session, campaign, queries=queries, start=start, end=end):
        point = latest.get(check.keyword_id)
        if check.status != "ok" and (point is None or check.at > point.at):
            found[check.keyword_id] = found.get(check.keyword_id, 0) + 1
    return found


def ai_shares(
    session: Session,
    campaign: Campaign,
    latest: Mapping[int, CheckPoint],
    days: int,
    labels: StanceView | None = None,
) -> dict[int, dict[str, Any]]:
    """Per keyword id of ``latest`` (its latest successful check), ``{"ai_window", "ai"}``:
    the window of ``days`` days up to that check, and per AI placement cited in it the
    citation shares by stance over the window's successful samples
    (:func:`serptrack.sampling.citation_shares`, with 95 % Wilson intervals)."""
    span = dt.timedelta(days=days) if days > 0 else dt.timedelta(microseconds=1)
    windows = {keyword_id: (point.at - span, point.at) for keyword_id, point in latest.items()}
    pools = reads.ai_samples(session, campaign, windows, labels)
    found = {}
    for keyword_id, pool in pools.items():
        shares = citation_shares(pool.samples)
        found[keyword_id] = {
            "ai_window": {
                "days": days,
                "after": pool.start,
                "until": pool.end,
                "checks": pool.checks,
                "samples": len(pool.samples),
                "failed_samples": pool.failed_samples,
            },
            "ai": {placement: share.to_json() for placement, share in shares.items()},
        }
    return found


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
    found = reads.keyword_series(session, campaign, queries=queries, start=start, end=end)
    for order, series in enumerate(found):
        for point in paid_days(series.points):
            rows.append((utc_day(point.at), order, _paid_row(series.keyword, point)))
    rows.sort(key=lambda item: (item[0], item[1]))
    return [row for _day, _order, row in rows]


def _keyword_status(
    series: KeywordSeries,
    leads: KeywordSeries,
    point: CheckPoint | None,
    best: Mapping[tuple[str, str], ResultRef],
    share: Share | None,
    failed: int,
    hold: int,
    curve: CtrCurve,
    crisis_start: dt.date | None,
    notes: Sequence[Mapping[str, Any]],
    firsts: Mapping[str, Event | None] | None,
    start: dt.datetime | None,
) -> dict[str, Any]:
    """One keyword's row; ``leads`` is ``series`` with the checks its leads need before it,
    ``firsts`` its first overtakes when ``series`` may not start with its first check."""
    row: dict[str, Any] = {
        **series.keyword.identity(),
        "tags": list(series.keyword.tags),
        "check_id": point.check_id if point else None,
        "observed_at": point.at if point else None,
        "checks_ok": len(series.points),
        "failed_since_last_ok": failed,
    }
    led = {view: leaders(leads.points, view) for view in VIEWS}
    for view in VIEWS:
        if point is None:
            leader, since = None, None
        else:
            leader, since = current_lead(led[view], hold)
        official, critical = best.get((view, "official")), best.get((view, "critical"))
        row[view] = {
            "leader": leader,
            "since": leads.points[since].at if since is not None else None,
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
    row["first_overtake"] = {}
    for view in VIEWS:
        overtaken: list[CheckPoint | Event] = list(_overtake_points(leads.points, led[view], hold))
        if firsts is not None:  # the carried series may start after the first overtake
            first = firsts.get(view)
            kept: list[CheckPoint | Event] = [first] if first else []
            kept += [
                p
                for p in overtaken
                if (start is None or p.at >= start) and (first is None or p.at > first.at)
            ]
            overtaken = kept
        row["first_overtake"][view] = _first_overtake(overtaken, crisis_start, notes)
    return row


def _overtake_points(
    points: Sequence[CheckPoint], led: Sequence[str | None], hold: int
) -> list[CheckPoint]:
    """The points of ``points`` at which an overtake happens (``led``: who leads each)."""
    changes = lead_changes(led, hold)
    return [points[change.index] for change in changes if change.kind == "overtake"]


def _first_overtake(
    overtaken: Sequence[CheckPoint | Event],
    crisis_start: dt.date | None,
    notes: Sequence[Mapping[str, Any]],
) -> dict[str, Any] | None:
    """The first of ``overtaken`` (the checks of overtakes, oldest first) with the days from
    the crisis start and from each annotation to it and to the next overtake."""
    if not overtaken:
        return None
    days = [utc_day(point.at) for point in overtaken]
    first = overtaken[0]
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
