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
    utc_day,
)
from .models import Campaign
from .sampling import AI_PLACEMENTS, PlacementShares, SampleCitations, citation_shares
from .store import reads
from .store.stances import StanceView

__all__ = ["AI_VIEW", "DEFAULT_SAMPLES_WINDOW", "ai_shares", "overtakes", "paid_rows", "status"]

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

    Leads are followed over the whole history, so ``start`` and ``end`` only choose which
    events are returned, never change them.
    """
    for view in views:
        if view not in VIEWS and view != AI_VIEW:
            raise ValueError(f"unknown view {view!r}")
    found: list[tuple[int, KeywordInfo, str, LeadChange, CheckPoint]] = []
    all_series = reads.keyword_series(session, campaign, queries=queries, labels=labels)
    for order, series in enumerate(all_series):
        for view in (v for v in views if v != AI_VIEW):
            for change in lead_changes(leaders(series.points, view), hold):
                point = series.points[change.index]
                if change.kind is None or not _within(point.at, start, end):
                    continue
                found.append((order, series.keyword, view, change, point))
    details = reads.best_results(session, [item[4] for item in found])
    events: list[tuple[dt.datetime, int, int, Event]] = []
    for order, keyword, view, change, point in found:
        best = details.get(point.check_id, {})
        event = Event(
            keyword,
            view,
            change.kind or "",
            point.check_id,
            point.at,
            best.get((view, "official")),
            best.get((view, "critical")),
        )
        events.append((point.at, order, VIEWS.index(view), event))
    if AI_VIEW in views:
        events += _ai_events(session, campaign, all_series, hold, start, end, labels)
    events.sort(key=lambda item: item[:3])
    return [event for *_, event in events]


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
) -> dict[str, Any]:
    """Where each active keyword stands at its latest successful check, as one JSON document.

    Its AI placements are read as shares over the successful samples of the checks of the
    ``samples_window`` days up to that check (0: that check's samples only): see
    :func:`ai_shares`.
    """
    curve = curve or curve_from_settings(campaign.settings)
    labels = reads.stance_view(session, campaign)
    all_series = reads.keyword_series(session, campaign, queries=queries, labels=labels)
    latest = {s.keyword.id: s.points[-1] for s in all_series if s.points}
    latest_ids = [point.check_id for point in latest.values()]
    connection = session.connection()
    shares = reads.shares(connection, labels, latest_ids, curve)
    details = reads.best_results(session, latest.values())
    failed = reads.failed_since_last_ok(connection, [s.keyword.id for s in all_series])
    notes = reads.campaign_annotations(session, campaign)
    ai = ai_shares(session, campaign, latest, samples_window, labels)
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
        rows[-1].update(ai.get(series.keyword.id, {"ai_window": None, "ai": {}}))
    return {
        "campaign": campaign.name,
        "brand": campaign.brand,
        "crisis_start": campaign.crisis_start,
        "hold": hold,
        "samples_window": samples_window,
        "ctr_curve": curve.describe(),
        "annotations": notes,
        "keywords": rows,
    }


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
