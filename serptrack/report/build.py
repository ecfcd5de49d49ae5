"""Gather the numbers of a report from the database: plain data, no HTML, no charts.

Everything here comes from :mod:`serptrack.analysis` and the store's read model (leads, overtakes, share of voice, paid
versus organic, per-URL positions); this module only chooses the period, calls it and
arranges the answers per keyword. Leads are followed as over the whole history up to the end
of the period (reading before it only what they need: :func:`serptrack.analysis.carried_series`),
so a report agrees with ``status`` and ``overtakes`` run on the same data.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from .. import __version__, analysis, collector, lead, store
from ..classify import Labeller, parse_rule
from ..ctr import CtrCurve, curve_from_settings
from ..errors import ReportError
from ..lead import CheckPoint, Event, KeywordInfo
from ..models import Campaign
from ..sampling import PlacementShares, SampleCitations, citation_shares
from ..store import reads
from ..store.reads import CheckEntry, Sighting, UrlPosition
from ..vocabulary import Ownership

__all__ = [
    "FEATURES",
    "MONTHS",
    "AiDay",
    "DayComposition",
    "DayShare",
    "FeatureHold",
    "KeywordReport",
    "LeadState",
    "MonthEnd",
    "Movement",
    "Note",
    "OwnershipRules",
    "PaidDay",
    "Period",
    "ReportData",
    "Score",
    "UrlSeries",
    "build_report",
    "choose_period",
    "feature_key",
    "month_period",
]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_TOP = lead.PAGE_ONE  # "top 10": the organic results of page 1
MONTHS = 6  # the month-over-month table: the report's month and the five before it


# --- the period ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The UTC days a report covers, ``first`` to ``last`` inclusive."""

    first: dt.date
    last: dt.date
    month: str | None = None  # YYYY-MM when the period is a calendar month

    @property
    def start(self) -> dt.datetime:
        """The first instant of the period (UTC midnight)."""
        return dt.datetime.combine(self.first, dt.time(), tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The instant after the period (UTC midnight after ``last``)."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    @property
    def label(self) -> str:
        """``December 2009`` or ``14 December 2009 to 14 February 2010``."""
        if self.month:
            return f"{calendar.month_name[self.first.month]} {self.first.year}"
        return f"{_long_date(self.first)} to {_long_date(self.last)}"

    @property
    def slug(self) -> str:
        """``2009-12`` or ``2009-12-14_2010-02-14``, for file names."""
        return self.month or f"{self.first.isoformat()}_{self.last.isoformat()}"

    def days(self) -> list[dt.date]:
        """Every day of the period."""
        count = (self.last - self.first).days + 1
        return [self.first + dt.timedelta(days=i) for i in range(count)]

    def to_json(self) -> dict[str, Any]:
        """from, to (inclusive UTC days), month, label."""
        return {"from": self.first, "to": self.last, "month": self.month, "label": self.label}


def month_period(text: str) -> Period:
    """The calendar month ``YYYY-MM``."""
    match = _MONTH.match(text)
    if not match or not 1 <= int(match[2]) <= 12:
        raise ReportError(f"month {text!r} is not YYYY-MM (e.g. 2026-03)")
    year, month = int(match[1]), int(match[2])
    last = calendar.monthrange(year, month)[1]
    return Period(dt.date(year, month, 1), dt.date(year, month, last), text)


def choose_period(
    session: Session,
    campaign: Campaign,
    *,
    month: str | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> Period:
    """The period asked for: a month, a range of days, or by default the month of the
    campaign's latest check. A range left open ends at the first or latest check."""
    if month and (first or last):
        raise ReportError("choose a --month or a --from/--to range, not both")
    if month:
        return month_period(month)
    # the latest successful check, not the latest check: a failed one has nothing to report
    found = reads.check_span(session, campaign, ok_only=True)
    span = (found[0].date(), found[1].date()) if found else None
    if span is None:
        some = reads.check_span(session, campaign) is not None
        raise ReportError(
            f"campaign {campaign.name!r} has "
            + (
                "no successful check yet (every check failed or was blocked)"
                if some
                else "no checks yet"
            )
            + f"; run `serptrack check {campaign.name}` or `serptrack backfill` first"
        )
    if first is None and last is None:
        latest = span[1]
        return month_period(f"{latest.year:04d}-{latest.month:02d}")
    first = first or span[0]
    last = last or span[1]
    if last < first:
        raise ReportError(f"the period ends ({last}) before it starts ({first}); check --from/--to")
    return Period(first, last)


# --- plain data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadState:
    """Who leads one view at one check, with O and C, and since when that side leads."""

    at: dt.datetime
    leader: str | None
    official: int | None
    critical: int | None
    since: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        """at, leader, official, critical (positions), since."""
        return {
            "at": self.at,
            "leader": self.leader,
            "official": self.official,
            "critical": self.critical,
            "since": self.since,
        }


@dataclass
class UrlSeries:
    """One official or critical URL (normalised) of a keyword through the period."""

    stance: str
    norm_url: str
    url: str  # as last seen
    title: str  # as last seen
    organic: dict[int, int] = field(default_factory=dict)  # check id → best organic rank
    features: list[Sighting] = field(default_factory=list)  # ads, news boxes, ...

    @property
    def best(self) -> int | None:
        """Its best organic rank in the period."""
        return min(self.organic.values()) if self.organic else None


@dataclass(frozen=True)
class PaidDay:
    """How the official side showed up on one UTC day (the day's last successful check)."""

    day: dt.date
    presence: str  # both | ad | organic | neither
    redundant_ad: bool
    ad_carries_lead: bool
    official_ad_rank: int | None
    official_organic_rank: int | None


@dataclass(frozen=True)
class Note:
    """An annotation in the period, numbered in date order across the report."""

    number: int
    date: dt.date
    text: str
    query: str | None


@dataclass(frozen=True)
class DayShare:
    """Share of voice by stance on one day, averaged over the keywords checked that day."""

    day: dt.date
    organic: Mapping[str, float] | None
    page: Mapping[str, float] | None
    keywords: int


@dataclass(frozen=True)
class DayComposition:
    """Page 1 by stance on one UTC day: each keyword's last successful check of the day,
    counts averaged over the keywords checked that day (:data:`~serptrack.lead.COMPOSITION`)."""

    day: dt.date
    counts: Mapping[str, float]
    keywords: int


@dataclass(frozen=True)
class MonthEnd:
    """A keyword's organic top 10 at the end of one calendar month: its last successful check
    of the month (capped at the end of the period); no check, no ``at`` and an empty top."""

    month: str  # YYYY-MM
    at: dt.datetime | None
    check_id: int | None
    top: list[UrlPosition]
    # norm_url -> places gained since the previous month's end (negative: lost); None: new
    moves: Mapping[str, int | None]
    #: the URLs of ``top`` no label rule matches: neutral by default, not by a neutral rule
    unlabelled: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Movement:
    """A URL that entered or left page 1 between two checks."""

    url: str
    norm_url: str
    title: str
    stance: str
    rank: int  # its rank on the page it is on (the later one when it entered)
    labelled: bool = True  # False: no label rule matches it (neutral by default)


class OwnershipRules:
    """A campaign's optional ``[labels.ownership]``: which class (owned, earned, third-party,
    hostile) a URL is in, by the label-rule patterns and precedence. Empty without it."""

    CLASSES: tuple[str, ...] = tuple(member.value for member in Ownership)

    def __init__(self, rules: Sequence[Sequence[str]]) -> None:
        """``rules`` as stored in the campaign's settings: ``[class, pattern]`` pairs."""
        self.patterns: dict[str, list[str]] = {name: [] for name in self.CLASSES}
        parsed = []
        for name, pattern in rules:
            if name in self.patterns:  # a class of another release is left out
                parsed.append(parse_rule(name, pattern, self.CLASSES))
                self.patterns[name].append(pattern)
        self._labeller = Labeller(parsed) if parsed else None

    def __bool__(self) -> bool:
        """Whether the campaign has ownership rules."""
        return self._labeller is not None

    def of(self, norm_url: str) -> str | None:
        """The class of ``norm_url``, or None (no rule matches, or no ownership rules)."""
        if self._labeller is None:
            return None
        rule = self._labeller.rule_for(norm_url)
        return rule.stance if rule else None

    def count(self, rows: Sequence[UrlPosition]) -> dict[str, int] | None:
        """How many of ``rows`` are in each class (and ``unclassified``); None without rules."""
        if self._labeller is None:
            return None
        counts = dict.fromkeys((*self.CLASSES, "unclassified"), 0)
        for row in rows:
            counts[self.of(row.norm_url) or "unclassified"] += 1
        return counts


@dataclass(frozen=True)
class AiDay:
    """One UTC day of a keyword's AI answers: who they cite, over that day's samples."""

    day: dt.date
    samples: int  # successful samples that day
    shares: dict[str, PlacementShares]  # by AI placement (those cited at least once that day)


@dataclass(frozen=True)
class Score:
    """The reputation score of a page: the official side's share of voice minus the critical
    side's, in points (-100: every click goes to critical results, +100: all to official ones),
    over the organic top 10 weighted by the CTR curve. Never shown without its components."""

    value: float
    official: float  # the components: shares of voice (0-1), summing to 1 with neutral
    critical: float
    neutral: float

    @classmethod
    def of(cls, share: lead.Share | None) -> Score | None:
        """The score of a check's share of voice (None when nothing on page 1 weighs)."""
        if share is None or share.organic is None:
            return None
        official, critical = share.organic["official"], share.organic["critical"]
        return cls(
            100.0 * (official - critical), official, critical, share.organic.get("neutral", 0.0)
        )

    @classmethod
    def mean(cls, scores: Sequence[Score | None]) -> Score | None:
        """The mean of the scores there are (each component averaged alike)."""
        found = [score for score in scores if score is not None]
        if not found:
            return None
        n = len(found)
        return cls(
            sum(s.value for s in found) / n,
            sum(s.official for s in found) / n,
            sum(s.critical for s in found) / n,
            sum(s.neutral for s in found) / n,
        )

    def to_json(self) -> dict[str, float]:
        """``{"score", "official", "critical", "neutral"}``, rounded."""
        return {
            "score": round(self.value, 2),
            "official": round(self.official, 4),
            "critical": round(self.critical, 4),
            "neutral": round(self.neutral, 4),
        }


#: The result-page features a report follows, in the order it lists them: key, placement,
#: block (ads only) and the words a client reads.
FEATURES: tuple[tuple[str, str, str | None, str], ...] = (
    ("paid-top", "paid", "top", "Top ads"),
    ("paid-bottom", "paid", "bottom", "Bottom ads"),
    ("paid", "paid", None, "Ads (no top or bottom block given)"),
    ("news", "news", None, "News box (top stories)"),
    ("ai_overview", "ai_overview", None, "AI overview (sources cited)"),
    ("ai_mode", "ai_mode", None, "AI mode (sources cited)"),
    ("ai_answer", "ai_answer", None, "AI answers (sources cited)"),
    ("featured_snippet", "featured_snippet", None, "Featured snippet"),
    ("people_also_ask", "people_also_ask", None, "People also ask (answer sources)"),
    ("video", "video", None, "Videos"),
    ("local", "local", None, "Local pack"),
    ("knowledge_panel", "knowledge_panel", None, "Knowledge panel"),
    ("shopping", "shopping", None, "Shopping"),
    ("perspectives", "perspectives", None, "What people are saying"),
    (reads.OTHER, reads.OTHER, None, "Other features"),
)
_FEATURE_KEYS = frozenset(key for key, _, _, _ in FEATURES)


def feature_key(placement: str, block: str | None) -> str:
    """The :data:`FEATURES` key of a result outside the organic list."""
    if placement == "paid":
        return f"paid-{block}" if block in reads.BLOCK_VALUES else "paid"
    return placement if placement in _FEATURE_KEYS else reads.OTHER


@dataclass(frozen=True)
class FeatureHold:
    """One result-page feature over a period's successful checks: how often the page showed
    it, and how often an official or a critical result held a place in it."""

    key: str
    placement: str
    block: str | None
    label: str
    checks: int  # successful checks in the period
    present: int  # of them, those that showed the feature
    official: int  # of those, the checks where an official result was in it
    critical: int

    def to_json(self) -> dict[str, Any]:
        """The JSON document of ``serp_features`` rows."""
        return {
            "feature": self.key,
            "placement": self.placement,
            "block": self.block,
            "checks": self.checks,
            "present": self.present,
            "official": self.official,
            "critical": self.critical,
        }


def _feature_holds(
    checks: int, present: Counter[str], official: Counter[str], critical: Counter[str]
) -> list[FeatureHold]:
    """The :class:`FeatureHold` rows of the features seen, in :data:`FEATURES` order."""
    return [
        FeatureHold(
            key, placement, block, label, checks, present[key], official[key], critical[key]
        )
        for key, placement, block, label in FEATURES
        if present[key]
    ]


def _sum_holds(rows: Sequence[Sequence[FeatureHold]], checks: int) -> list[FeatureHold]:
    """The features of several keywords together (``checks``: their successful checks)."""
    present: Counter[str] = Counter()
    official: Counter[str] = Counter()
    critical: Counter[str] = Counter()
    for holds in rows:
        for hold in holds:
            present[hold.key] += hold.present
            official[hold.key] += hold.official
            critical[hold.key] += hold.critical
    return _feature_holds(checks, present, official, critical)


@dataclass
class KeywordReport:
    """Everything the report shows about one keyword."""

    keyword: KeywordInfo
    provider: str
    depth: int
    schedule: str
    timezone: str
    checks: list[CheckEntry]  # every check of the period, any status
    points: list[CheckPoint]  # the successful ones, with share of voice
    start: dict[str, LeadState]
    end: dict[str, LeadState]
    events: list[Event]  # overtakes and lost leads in the period
    first_overtake: dict[str, Event | None]  # the first ever, up to the end of the period
    urls: list[UrlSeries]
    top: list[UrlPosition]  # organic top 10 at the last successful check
    features: list[UrlPosition]  # ads, news boxes ... on that same page
    paid: list[PaidDay]
    notes: list[Note]
    composition: dict[int, dict[str, int]] = field(default_factory=dict)  # check id -> counts
    month_ends: list[MonthEnd] = field(default_factory=list)  # oldest first
    entered: list[Movement] = field(default_factory=list)  # page 1 in the last month
    left: list[Movement] = field(default_factory=list)
    since: dt.datetime | None = None  # what entered and left is compared with
    serp_features: list[FeatureHold] = field(default_factory=list)  # over the period
    samples: int = 1  # calls (answers) per check
    #: who the AI answers cite over the period's successful samples, by AI placement
    ai: dict[str, PlacementShares] = field(default_factory=dict)
    ai_days: list[AiDay] = field(default_factory=list)  # the same, day by day (days with any)
    ai_samples: int = 0  # successful samples in the period
    ai_failed_samples: int = 0  # failed or blocked samples of the period's successful checks

    @property
    def failures(self) -> list[CheckEntry]:
        """The checks of the period that failed or were blocked."""
        return [check for check in self.checks if check.status != "ok"]

    def point(self, which: str) -> CheckPoint | None:
        """The first (``start``) or last (``end``) successful check of the period."""
        if not self.points:
            return None
        return self.points[0] if which == "start" else self.points[-1]

    def share(self, which: str) -> lead.Share | None:
        """The share of voice at the ``start`` or ``end`` check."""
        point = self.point(which)
        return point.share if point else None

    def score(self, which: str) -> Score | None:
        """The reputation score at the ``start`` or ``end`` check."""
        return Score.of(self.share(which))

    def critical_on_page_1(self, which: str) -> int | None:
        """Critical results ranked 1-10 at the ``start`` or ``end`` check."""
        point = self.point(which)
        return point.critical_on_page_1 if point else None

    def days_to_first_overtake(self, view: str, crisis_start: dt.date | None) -> int | None:
        """Days from the crisis start to the first overtake in ``view`` (UTC days)."""
        event = self.first_overtake.get(view)
        if event is None or crisis_start is None:
            return None
        return (event.at.astimezone(dt.UTC).date() - crisis_start).days


@dataclass
class ReportData:
    """The numbers behind one report."""

    campaign: Campaign
    period: Period
    hold: int
    curve: CtrCurve
    generated_at: dt.datetime
    keywords: list[KeywordReport]
    notes: list[Note]
    events: list[Event]
    share_by_day: list[DayShare]
    rules: dict[str, list[str]]
    composition_by_day: list[DayComposition] = field(default_factory=list)
    months: list[str] = field(default_factory=list)  # the month-end table's columns
    ownership: OwnershipRules = field(default_factory=lambda: OwnershipRules([]))
    version: str = __version__

    @property
    def checks(self) -> list[CheckEntry]:
        """Every check of the period, keyword by keyword."""
        return [check for keyword in self.keywords for check in keyword.checks]

    def failure_reasons(self) -> list[tuple[str, str, int]]:
        """(status, reason, count) of the period's failed and blocked checks, commonest first."""
        counts = Counter(
            (check.status, check.error_kind or "unknown")
            for check in self.checks
            if check.status != "ok"
        )
        return [(status, kind, n) for (status, kind), n in counts.most_common()]

    def sources(self) -> list[tuple[str, int]]:
        """(source, count) of the successful checks: which parser or recording each came from."""
        counts = Counter(check.source or "unknown" for check in self.checks if check.status == "ok")
        return counts.most_common()

    def score(self, which: str) -> Score | None:
        """The keywords' mean reputation score at the ``start`` or ``end`` of the period."""
        return Score.mean([keyword.score(which) for keyword in self.keywords])

    def serp_features(self) -> list[FeatureHold]:
        """Every keyword's result-page features together."""
        checks = sum(len(keyword.points) for keyword in self.keywords)
        return _sum_holds([keyword.serp_features for keyword in self.keywords], checks)

    def leaders(self, which: str, view: str) -> Counter[str | None]:
        """How many keywords each side leads at the ``start`` or ``end`` of the period."""
        states = [getattr(k, which).get(view) for k in self.keywords]
        return Counter(state.leader for state in states if state is not None)


# --- building --------------------------------------------------------------------------------


def build_report(
    session: Session,
    campaign: Campaign,
    period: Period,
    *,
    now: dt.datetime,
    hold: int = 1,
    queries: Sequence[str] | None = None,
) -> ReportData:
    """Every number of the report of ``campaign`` over ``period`` (built with the garbage
    collector paused: see :func:`serptrack.collector.paused`)."""
    with collector.paused():
        return _build_report(session, campaign, period, now=now, hold=hold, queries=queries)


def _build_report(
    session: Session,
    campaign: Campaign,
    period: Period,
    *,
    now: dt.datetime,
    hold: int,
    queries: Sequence[str] | None,
) -> ReportData:
    """The body of :func:`build_report`."""
    curve = curve_from_settings(campaign.settings)
    start, end = period.start, period.end
    labels = reads.stance_view(session, campaign)
    current = reads.keyword_series(
        session, campaign, queries=queries, start=start, end=end, curve=curve, labels=labels
    )
    log = reads.check_log(session, campaign, queries=queries, start=start, end=end)
    if not any(series.points for series in current):
        failed = sum(1 for check in log if check.status != "ok")
        detail = f" ({failed} failed or blocked)" if failed else ""
        raise ReportError(
            f"campaign {campaign.name!r} has no successful check from {period.first} to "
            f"{period.last}{detail}; choose another --month or --from/--to"
        )
    # leads carried in from before the period: read back only as far as they need
    carried = analysis.carried_series(session, campaign, current, start, end, hold, labels)
    history = [item.series for item in carried]
    events = analysis.lead_events(session, history, hold=hold, start=start, end=end)
    firsts = analysis.first_overtakes(session, campaign, carried, start, end, hold, labels)
    positions = reads.url_positions(
        session, campaign, queries=queries, start=start, end=end, labels=labels
    )
    tick = dt.timedelta(microseconds=1)  # ai_samples' windows exclude their start
    ai_pools = reads.ai_samples(
        session, campaign, {s.keyword.id: (start - tick, end - tick) for s in current}, labels
    )
    shown_features = reads.page_features(session, campaign, queries=queries, start=start, end=end)
    months = month_spans(period)
    month_ends = reads.last_checks(
        session, campaign, [(first, last) for _, first, last in months], queries=queries
    )
    baselines = {
        s.keyword.id: s.points[0].check_id
        for s in current
        if s.points and (s.keyword.id, len(months) - 2) not in month_ends
    }
    latest = {s.points[-1].check_id for s in current if s.points}
    # the latest pages whole (features too), the other month ends and baselines: their top 10
    pages = reads.page_results(
        session,
        campaign,
        sorted(({c.check_id for c in month_ends.values()} | set(baselines.values())) - latest),
        labels=labels,
        top=_TOP,
    )
    pages.update(reads.page_results(session, campaign, sorted(latest), labels=labels))
    settings = {k.id: k for k in store.campaign_keywords(session, campaign)}
    notes = _notes(session, campaign, period)
    checks_of: dict[int, list[CheckEntry]] = {}
    for check in log:
        checks_of.setdefault(check.keyword_id, []).append(check)
    texts = reads.latest_texts(session, positions)
    positions_of: dict[int, list[Sighting]] = {}
    for position in positions:
        positions_of.setdefault(position.keyword_id, []).append(position)
    keywords = []
    for past, series in zip(history, current, strict=True):
        info = series.keyword
        stored = settings[info.id]
        own_events = [e for e in events if e.keyword.id == info.id]
        page = pages.get(series.points[-1].check_id, []) if series.points else []
        keywords.append(
            KeywordReport(
                keyword=info,
                provider=stored.provider,
                depth=stored.depth,
                samples=stored.samples,
                schedule=stored.schedule,
                timezone=stored.timezone,
                checks=checks_of.get(info.id, []),
                points=series.points,
                start=_lead_states(past.points, series.points[:1], hold),
                end=_lead_states(past.points, series.points[-1:], hold),
                events=own_events,
                first_overtake=firsts[info.id],
                urls=_url_series(positions_of.get(info.id, []), texts),
                top=[r for r in page if r.placement == "organic" and r.rank <= _TOP],
                features=[r for r in page if r.placement != "organic"],
                paid=[_paid_day(point) for point in lead.paid_days(series.points)],
                notes=[n for n in notes if n.query in (None, info.query)],
                composition=series.composition,
                serp_features=_serp_features(
                    series.points, shown_features, positions_of.get(info.id, [])
                ),
            )
        )
        _add_ai(keywords[-1], ai_pools.get(info.id))
        _add_month_ends(
            keywords[-1], months, month_ends, pages, baselines.get(info.id), labels.labeller
        )
    shown = [month for month, _, _ in months]
    used = {end.month for keyword in keywords for end in keyword.month_ends if end.at is not None}
    first_used = next((n for n, month in enumerate(shown) if month in used), len(shown) - 1)
    for keyword in keywords:  # "since tracking began": no column before the first check
        keyword.month_ends = keyword.month_ends[first_used:]
    return ReportData(
        campaign=campaign,
        period=period,
        hold=hold,
        curve=curve,
        generated_at=now,
        keywords=keywords,
        notes=notes,
        events=events,
        share_by_day=_share_by_day(keywords),
        rules=_rules(session, campaign),
        ownership=OwnershipRules((campaign.settings or {}).get("ownership") or []),
        composition_by_day=_composition_by_day(keywords),
        months=shown[first_used:],
    )


def month_spans(period: Period, count: int = MONTHS) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """(YYYY-MM, start, end) of the ``count`` calendar months that end with the period's last
    month, oldest first; the last one ends with the period."""
    year, month = period.last.year, period.last.month
    spans = []
    for _ in range(count):
        first = dt.datetime(year, month, 1, tzinfo=dt.UTC)
        following = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
        spans.append((f"{year:04d}-{month:02d}", first, min(following, period.end)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return spans[::-1]


def _add_month_ends(
    keyword: KeywordReport,
    months: Sequence[tuple[str, dt.datetime, dt.datetime]],
    found: Mapping[tuple[int, int], CheckEntry],
    pages: Mapping[int, list[UrlPosition]],
    baseline: int | None,
    labeller: Labeller,
) -> None:
    """The keyword's month-end top 10s with each URL's move since the month before, and the
    URLs that entered or left page 1 since the previous month's end (or, when tracking began
    in the last month, since the period's first check). A neutral URL no rule labels is told
    apart from one a neutral rule labels."""

    def unlabelled(row: UrlPosition) -> bool:
        return row.stance == "neutral" and labeller.rule_for(row.norm_url) is None

    ends: list[MonthEnd] = []
    previous: dict[str, int] | None = None
    for index, (month, _, _) in enumerate(months):
        check = found.get((keyword.keyword.id, index))
        top = _top_of(pages.get(check.check_id, [])) if check else []
        ranks = {row.norm_url: row.rank for row in top}
        moves: dict[str, int | None] = {}
        if previous is not None:
            moves = {
                url: previous[url] - rank if url in previous else None
                for url, rank in ranks.items()
            }
        ends.append(
            MonthEnd(
                month,
                check.at if check else None,
                check.check_id if check else None,
                top,
                moves,
                frozenset(row.norm_url for row in top if unlabelled(row)),
            )
        )
        previous = ranks if check else None
    keyword.month_ends = ends
    last = ends[-1] if ends else None
    if last is None or last.at is None:
        return
    before = ends[-2] if len(ends) > 1 and ends[-2].at is not None else None
    if before is not None:
        old, keyword.since = before.top, before.at
    elif baseline is not None and baseline != last.check_id:
        old = _top_of(pages.get(baseline, []))
        keyword.since = keyword.points[0].at
    else:
        return
    now_urls = {row.norm_url for row in last.top}
    old_urls = {row.norm_url for row in old}
    keyword.entered = [
        _movement(row, unlabelled(row)) for row in last.top if row.norm_url not in old_urls
    ]
    keyword.left = [_movement(row, unlabelled(row)) for row in old if row.norm_url not in now_urls]


def _top_of(page: Sequence[UrlPosition]) -> list[UrlPosition]:
    """The organic top 10 of a page, one row per URL (its best rank)."""
    seen: set[str] = set()
    top = []
    for row in sorted(page, key=lambda r: r.rank):
        if row.placement == "organic" and row.rank <= _TOP and row.norm_url not in seen:
            seen.add(row.norm_url)
            top.append(row)
    return top


def _movement(row: UrlPosition, unlabelled: bool) -> Movement:
    return Movement(row.url, row.norm_url, row.title, row.stance, row.rank, not unlabelled)


def _composition_by_day(keywords: Sequence[KeywordReport]) -> list[DayComposition]:
    """Per UTC day, page 1 by stance averaged over the keywords checked that day."""
    by_day: dict[dt.date, list[Mapping[str, int]]] = {}
    for keyword in keywords:
        for point in lead.paid_days(keyword.points):
            counts = keyword.composition.get(point.check_id)
            if counts is not None:
                by_day.setdefault(lead.utc_day(point.at), []).append(counts)
    return [
        DayComposition(
            day,
            {k: sum(c[k] for c in found) / len(found) for k in lead.COMPOSITION},
            len(found),
        )
        for day, found in sorted(by_day.items())
    ]


def _add_ai(keyword: KeywordReport, pool: reads.AiPool | None) -> None:
    """A keyword's AI answers over the period and day by day (nothing when none cites)."""
    if pool is None or not pool.samples:
        return
    keyword.ai = citation_shares(pool.samples)
    if not keyword.ai:
        return
    keyword.ai_samples, keyword.ai_failed_samples = len(pool.samples), pool.failed_samples
    day_of = {check.check_id: lead.utc_day(check.at) for check in keyword.checks}
    by_day: dict[dt.date, list[SampleCitations]] = {}
    for sample in pool.samples:
        by_day.setdefault(day_of[sample.check_id], []).append(sample)
    keyword.ai_days = [
        AiDay(day, len(samples), citation_shares(samples))
        for day, samples in sorted(by_day.items())
    ]


def _serp_features(
    points: Sequence[CheckPoint],
    shown: Mapping[int, set[tuple[str, str | None]]],
    positions: Sequence[Sighting],
) -> list[FeatureHold]:
    """A keyword's features over its successful checks: ``shown`` says which each check
    showed, ``positions`` (official and critical results) who held a place in them."""
    present: Counter[str] = Counter()
    for point in points:
        present.update({feature_key(p, b) for p, b in shown.get(point.check_id, ())})
    held: dict[str, set[tuple[str, int]]] = {"official": set(), "critical": set()}
    for row in positions:
        if row.placement != "organic" and row.stance in held:
            held[row.stance].add((feature_key(row.placement, row.block), row.check_id))
    official = Counter(key for key, _ in held["official"])
    critical = Counter(key for key, _ in held["critical"])
    return _feature_holds(len(points), present, official, critical)


def _lead_states(
    history: Sequence[CheckPoint], chosen: Sequence[CheckPoint], hold: int
) -> dict[str, LeadState]:
    """Who leads each view at the chosen check, following leads from the start of history."""
    if not chosen:
        return {}
    index = next(i for i, point in enumerate(history) if point.check_id == chosen[0].check_id)
    states: dict[str, LeadState] = {}
    for view in lead.VIEWS:
        leaders = [point.view(view).leader for point in history[: index + 1]]
        leader, since = lead.current_lead(leaders, hold)
        positions = history[index].view(view)
        states[view] = LeadState(
            at=history[index].at,
            leader=leader,
            official=positions.official,
            critical=positions.critical,
            since=history[since].at if since is not None else None,
        )
    return states


def _url_series(
    rows: Sequence[Sighting], texts: Mapping[tuple[int, str], tuple[str, str]]
) -> list[UrlSeries]:
    """Group a keyword's labelled results by normalised URL: official first, best first;
    ``texts`` gives each its URL and title as last seen (:func:`reads.latest_texts`)."""
    found: dict[str, UrlSeries] = {}
    for row in rows:
        series = found.get(row.norm_url)
        if series is None:
            url, title = texts[(row.keyword_id, row.norm_url)]
            series = found[row.norm_url] = UrlSeries(row.stance, row.norm_url, url, title)
        if row.placement == "organic":
            known = series.organic.get(row.check_id)
            series.organic[row.check_id] = row.rank if known is None else min(known, row.rank)
        else:
            series.features.append(row)
    order: dict[str, int] = {side: i for i, side in enumerate(lead.SIDES)}
    return sorted(
        found.values(),
        key=lambda s: (order.get(s.stance, 9), s.best is None, s.best or 0, s.norm_url),
    )


def _paid_day(point: CheckPoint) -> PaidDay:
    return PaidDay(
        day=point.at.astimezone(dt.UTC).date(),
        presence=point.presence,
        redundant_ad=point.redundant_ad,
        ad_carries_lead=point.ad_carries_lead,
        official_ad_rank=point.official_ad_rank,
        official_organic_rank=point.organic.official,
    )


def _share_by_day(keywords: Sequence[KeywordReport]) -> list[DayShare]:
    """Per UTC day, each stance's share averaged over the keywords checked that day."""
    by_day: dict[dt.date, list[lead.Share]] = {}
    for keyword in keywords:
        for point in lead.paid_days(keyword.points):
            if point.share is not None:
                by_day.setdefault(point.at.astimezone(dt.UTC).date(), []).append(point.share)
    days = []
    for day in sorted(by_day):
        shares = by_day[day]
        days.append(
            DayShare(
                day,
                _mean([s.organic for s in shares]),
                _mean([s.page for s in shares]),
                len(shares),
            )
        )
    return days


def _mean(shares: Sequence[Mapping[str, float] | None]) -> dict[str, float] | None:
    present = [share for share in shares if share is not None]
    if not present:
        return None
    stances = ("official", "critical", "neutral")
    return {s: sum(share.get(s, 0.0) for share in present) / len(present) for s in stances}


def _notes(session: Session, campaign: Campaign, period: Period) -> list[Note]:
    found = reads.campaign_annotations(session, campaign, period.first, period.last)
    return [Note(i, n["date"], n["text"], n["query"]) for i, n in enumerate(found, start=1)]


def _rules(session: Session, campaign: Campaign) -> dict[str, list[str]]:
    rules: dict[str, list[str]] = {"official": [], "critical": [], "neutral": []}
    for rule in store.campaign_rules(session, campaign):
        rules.setdefault(rule.stance, []).append(rule.pattern)
    return rules


def _long_date(day: dt.date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"
