"""Who leads, and when the lead changes (SPEC section 6): the pure core, over plain data.

No database here, no I/O: positions, check points, :func:`leader_of`, :func:`lead_changes`,
:func:`current_lead` and :func:`paid_days`. :mod:`serptrack.analysis` feeds it from the store,
and alerts and reports compute from it.

Views: ``organic`` compares organic ``rank`` among organic results only; ``page`` compares
``page_position`` across every placement, ads included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .vocabulary import Stance, View

__all__ = [
    "COMPOSITION",
    "PAGE_ONE",
    "PRESENCES",
    "SIDES",
    "STANCE_ORDER",
    "VIEWS",
    "CheckPoint",
    "Event",
    "KeywordInfo",
    "KeywordSeries",
    "LeadChange",
    "Positions",
    "ResultRef",
    "Share",
    "current_lead",
    "lead_changes",
    "leader_of",
    "leaders",
    "paid_days",
    "settled_index",
    "utc_day",
]

VIEWS = (View.ORGANIC, View.PAGE)
SIDES = (Stance.OFFICIAL, Stance.CRITICAL)  # the two sides of the fight; neutral is neither
STANCE_ORDER = (Stance.OFFICIAL, Stance.CRITICAL, Stance.NEUTRAL)
PRESENCES = ("both", "ad", "organic", "neither")
PAGE_ONE = 10  # organic ranks 1-10: "page 1", the classic reputation yardstick
# how page 1 is split in a report: the three stances, neutral split into what a neutral rule
# labels and what no rule matches (``labels suggest`` material); in this order, bottom up
COMPOSITION = ("official", "critical", "neutral", "unlabelled")


# --- plain data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeywordInfo:
    """The keyword a series or event belongs to."""

    id: int
    query: str
    engine: str
    country: str
    language: str
    device: str
    location: str
    tags: tuple[str, ...] = ()

    def identity(self) -> dict[str, Any]:
        """query, engine, country, language, device and location, for JSON rows."""
        return {
            "query": self.query,
            "engine": self.engine,
            "country": self.country,
            "language": self.language,
            "device": self.device,
            "location": self.location,
        }

    @property
    def locale(self) -> str:
        """``country-language device`` for tables."""
        parts = "-".join(p for p in (self.country, self.language) if p)
        return f"{parts} {self.device}".strip()


class Positions(NamedTuple):
    """O and C in one view of one check: the best official and critical positions."""

    official: int | None = None
    critical: int | None = None

    @property
    def leader(self) -> str | None:
        """``official``, ``critical`` or None (SPEC section 6)."""
        return leader_of(self.official, self.critical)


_NOBODY = Positions()


@dataclass(frozen=True)
class Share:
    """CTR-weighted share of voice by stance in each view; None when nothing weighs."""

    organic: Mapping[str, float] | None
    page: Mapping[str, float] | None

    def view(self, name: str) -> Mapping[str, float] | None:
        """The shares of one view."""
        return self.organic if name == "organic" else self.page


class CheckPoint(NamedTuple):
    """One successful check of a keyword, reduced to what the analysis needs.

    A named tuple, not a dataclass: a year of a campaign is ~100,000 of them.
    """

    check_id: int
    at: dt.datetime
    organic: Positions = _NOBODY
    page: Positions = _NOBODY
    organic_page: Positions = _NOBODY  # page_position of organic's O and C
    official_unpaid: int | None = None  # best official page_position, ads left out
    official_ad_rank: int | None = None  # best rank among the official side's ads
    official_top_ad: bool = False  # an official ad in the top block
    official_on_page_1: int = 0  # official organic results ranked 1-10
    critical_on_page_1: int = 0  # critical organic results ranked 1-10
    share: Share | None = None

    def view(self, name: str) -> Positions:
        """The positions of one view (``organic`` or ``page``)."""
        if name not in VIEWS:
            raise ValueError(f"unknown view {name!r}")
        return self.organic if name == "organic" else self.page

    @property
    def official_ad(self) -> bool:
        """The official side appears as an ad."""
        return self.official_ad_rank is not None

    @property
    def official_organic_page_1(self) -> bool:
        """The official side has an organic result ranked 1-10."""
        return self.organic.official is not None and self.organic.official <= PAGE_ONE

    @property
    def presence(self) -> str:
        """``both``, ``ad``, ``organic`` or ``neither``: how the official side shows up."""
        if self.official_ad:
            return "both" if self.official_organic_page_1 else "ad"
        return "organic" if self.official_organic_page_1 else "neither"

    @property
    def redundant_ad(self) -> bool:
        """An official top ad runs while the official result is already organic #1."""
        return self.official_top_ad and self.organic.official == 1

    @property
    def ad_carries_lead(self) -> bool:
        """The official side leads the page view only thanks to an ad."""
        if self.page.leader != "official" or self.official_unpaid == self.page.official:
            return False
        return leader_of(self.official_unpaid, self.page.critical) != "official"


@dataclass
class KeywordSeries:
    """A keyword's successful checks in time order."""

    keyword: KeywordInfo
    points: list[CheckPoint] = field(default_factory=list)
    #: per check id of ``points``, how many of its organic results ranked 1-10 are of each
    #: :data:`COMPOSITION` kind (filled only by reads that weigh the page, else empty)
    composition: dict[int, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class LeadChange:
    """A side taking the lead at ``points[index]`` (the first check of its streak)."""

    index: int
    leader: str
    previous: str | None  # None: the first leader there ever was

    @property
    def kind(self) -> str | None:
        """``overtake``, ``lost``, or None for the first leader (not an event)."""
        if self.previous is None:
            return None
        return "overtake" if self.leader == "official" else "lost"


@dataclass(frozen=True)
class ResultRef:
    """One stored result, as events and status describe it."""

    url: str
    placement: str
    block: str | None
    rank: int
    page_position: int
    title: str = ""

    def position(self, view: str) -> int:
        """Its position in ``view``: organic ``rank`` or ``page_position``."""
        return self.rank if view == "organic" else self.page_position

    def to_json(self) -> dict[str, Any]:
        """url, placement, block, rank, page_position, title."""
        return {
            "url": self.url,
            "placement": self.placement,
            "block": self.block,
            "rank": self.rank,
            "page_position": self.page_position,
            "title": self.title,
        }


@dataclass(frozen=True)
class Event:
    """An overtake or a lost lead (SPEC section 6)."""

    keyword: KeywordInfo
    view: str
    kind: str
    check_id: int
    at: dt.datetime
    official: ResultRef | None
    critical: ResultRef | None
    #: the ``ai`` view only: the AI placement led, and the check's shares of samples citing
    #: each side (``{"samples", "cites_official", "cites_critical"}``)
    placement: str | None = None
    shares: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``overtakes --json`` object: the SPEC fields, then engine, location, check_id
        (and, in the ``ai`` view, placement and shares)."""
        k = self.keyword
        extra = {"placement": self.placement, "shares": self.shares} if self.placement else {}
        return {
            "query": k.query,
            "country": k.country,
            "language": k.language,
            "device": k.device,
            "view": self.view,
            "kind": self.kind,
            "at": self.at,
            "official_url": self.official.url if self.official else None,
            "official_position": self.official.position(self.view) if self.official else None,
            "critical_url": self.critical.url if self.critical else None,
            "critical_position": self.critical.position(self.view) if self.critical else None,
            "engine": k.engine,
            "location": k.location,
            "check_id": self.check_id,
            **extra,
        }


# --- the lead ---------------------------------------------------------------------------


def leader_of(official: int | None, critical: int | None) -> str | None:
    """Who leads given O and C: the side with the smaller position, or the only one present."""
    if official is not None and (critical is None or official < critical):
        return "official"
    if critical is not None and (official is None or critical < official):
        return "critical"
    return None


def lead_changes(leaders: Sequence[str | None], hold: int = 1) -> list[LeadChange]:
    """Every change of the established leader over per-check leaders in time order.

    A side becomes the leader once it has led ``hold`` consecutive checks (a check where
    nobody leads breaks the streak); the change is dated at the first of them. Checks where
    nobody leads never end a lead. The first change has ``previous`` None and is no event.
    """
    if hold < 1:
        raise ValueError("hold must be at least 1")
    changes: list[LeadChange] = []
    current: str | None = None
    streak: str | None = None
    start = length = 0
    for index, leader in enumerate(leaders):
        if leader is None or leader == current:
            streak, length = None, 0
            continue
        if leader == streak:
            length += 1
        else:
            streak, start, length = leader, index, 1
        if length >= hold:
            changes.append(LeadChange(start, leader, current))
            current, streak, length = leader, None, 0
    return changes


def current_lead(leaders: Sequence[str | None], hold: int = 1) -> tuple[str | None, int | None]:
    """(who leads at the last check, index of the check since which that side leads)."""
    if not leaders or leaders[-1] is None:
        return None, None
    latest = leaders[-1]
    changes = lead_changes(leaders, hold)
    if changes and changes[-1].leader == latest:
        return latest, changes[-1].index
    index = len(leaders) - 1  # a lead not yet held long enough: since its streak began
    while index > 0 and leaders[index - 1] == latest:
        index -= 1
    return latest, index


def settled_index(leaders: Sequence[str | None], hold: int = 1) -> int | None:
    """Where following leads may start so that every later change, and the date since which
    the last leader leads, come out as from the start of history: the first index of the
    latest ``hold`` consecutive checks led by a side other than the one that led the latest
    such run (None: no such run, the history before ``leaders`` is needed).

    After any ``hold`` consecutive checks led by one side that side is the established
    leader and no streak is pending, whatever came before; after the second run the lead
    change to the side of the first is the one history has, with its date.
    """
    if hold < 1:
        raise ValueError("hold must be at least 1")
    latest: str | None = None  # the side of the latest run of ``hold`` checks
    run_leader: str | None = None
    length = 0
    for index in range(len(leaders) - 1, -1, -1):
        leader = leaders[index]
        if leader != run_leader:
            run_leader, length = leader, 0
        if leader is None:
            continue
        length += 1
        if length == hold:
            if latest is None:
                latest = leader
            elif leader != latest:
                return index
    return None


def paid_days(points: Sequence[CheckPoint]) -> list[CheckPoint]:
    """One point per UTC day: the day's last successful check stands for the day."""
    by_day: dict[dt.date, CheckPoint] = {}
    for point in points:
        by_day[utc_day(point.at)] = point
    return [by_day[day] for day in sorted(by_day)]


def leaders(points: Sequence[CheckPoint], view: str) -> list[str | None]:
    """Who leads each check of ``points`` in ``view`` (``organic`` or ``page``)."""
    if view == "organic":
        return [leader_of(*point.organic) for point in points]
    return [leader_of(*point.page) for point in points]


def utc_day(at: dt.datetime) -> dt.date:
    """The UTC calendar day of ``at``."""
    return (at if at.tzinfo is dt.UTC else at.astimezone(dt.UTC)).date()
