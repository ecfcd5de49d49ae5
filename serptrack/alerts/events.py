"""The events a stored check fires (SPEC section 7): the pure core, over plain data.

Each kind compares a keyword's newest successful check with its previous successful one;
failed and blocked checks are skipped (they only count towards ``failing``), and a keyword's
first successful check only sets the baseline. What the comparisons need of the past is a
keyword's :class:`Memory`: the last successful check reduced to what the rules read, the
lead state of each view and hold (the incremental form of :func:`serptrack.lead.lead_changes`),
the URLs ever seen in the top, and the failure streak.

:func:`step` takes a memory and the keyword's next check and returns the new memory and the
:class:`Finding` list. A memory is rebuilt by folding :func:`step` over the stored history
and dropping the findings, so a rebuilt memory and a kept one always agree.
"""

from __future__ import annotations

import bisect
import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..lead import leader_of
from ..vocabulary import Placement, Stance
from .settings import TOP_KINDS, AlertRule

__all__ = [
    "FEATURE_PLACEMENTS",
    "Finding",
    "Memory",
    "Observed",
    "Plan",
    "Ref",
    "Seen",
    "advance",
    "plan_for",
    "reach",
    "rebuild",
    "step",
]

#: where a critical URL must not appear (``critical-in-feature``)
FEATURE_PLACEMENTS = frozenset(
    p.value for p in (Placement.NEWS, Placement.AI_OVERVIEW, Placement.AI_MODE, Placement.AI_ANSWER)
)
_FEATURE_NAMES: dict[str, str] = {
    Placement.NEWS: "news box",
    Placement.AI_OVERVIEW: "AI overview",
    Placement.AI_MODE: "AI mode answer",
    Placement.AI_ANSWER: "AI answer",
}
# Plain strings in the loops below: comparing with an enum member costs several times more.
_OFFICIAL, _CRITICAL = Stance.OFFICIAL.value, Stance.CRITICAL.value
_ORGANIC, _PAID = Placement.ORGANIC.value, Placement.PAID.value
_SIDES = frozenset((_OFFICIAL, _CRITICAL))
_SHARE_DEPTH = 10  # critical-share weighs the organic top 10
_MEMORY_VERSION = 1


class Seen(NamedTuple):
    """One result of a check as alert rules read it (a named tuple: there are many)."""

    url: str
    norm_url: str
    placement: str
    block: str | None
    rank: int
    page_position: int
    stance: str
    labelled: bool  # a label rule matches it (an unlabelled URL is neutral)


class Observed(NamedTuple):
    """One stored check of a keyword: successful (with its results) or not (a named tuple:
    one is made for every check stored)."""

    check_id: int
    at: dt.datetime
    ok: bool
    results: tuple[Seen, ...] = ()
    error_kind: str | None = None


class Ref(NamedTuple):
    """A URL at a position (a named tuple: several are made at every check)."""

    url: str
    position: int | None


@dataclass(frozen=True)
class Finding:
    """One event a rule fires at a check, before noise control and delivery."""

    rule: AlertRule
    kind: str
    text: str
    baseline: int  # the successful check compared against (0: none): part of the event's id
    view: str | None = None
    url: str | None = None
    norm_url: str | None = None
    position: int | None = None
    official: Ref | None = None
    critical: Ref | None = None


@dataclass
class Memory:
    """What alert finding keeps of a keyword between checks (stored as JSON)."""

    check_id: int = 0
    at: dt.datetime | None = None
    last_ok: int = 0  # the last successful check's id
    previous: dict[str, Any] | None = None  # that check, summarised (see _summary)
    leads: dict[str, list[Any]] = field(default_factory=dict)  # "view:hold" -> state
    failures: int = 0  # failed or blocked checks since the last successful one
    top_seen: dict[str, int] = field(default_factory=dict)  # norm_url -> best rank (new-url)

    def to_state(self) -> dict[str, Any]:
        """The JSON kept in ``alert_memory.state``."""
        return {
            "version": _MEMORY_VERSION,
            "check_id": self.check_id,
            "at": None if self.at is None else self.at.isoformat(),
            "last_ok": self.last_ok,
            "previous": self.previous,
            "leads": self.leads,
            "failures": self.failures,
            "top_seen": self.top_seen,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Memory | None:
        """The memory stored as ``state``; None when it is of another version (rebuild it)."""
        if state.get("version") != _MEMORY_VERSION:
            return None
        return cls(
            check_id=int(state["check_id"]),
            at=None if state["at"] is None else dt.datetime.fromisoformat(state["at"]),
            last_ok=int(state["last_ok"]),
            previous=state["previous"],
            leads={key: list(value) for key, value in state["leads"].items()},
            failures=int(state["failures"]),
            top_seen={url: int(rank) for url, rank in state["top_seen"].items()},
        )


@dataclass(frozen=True)
class Plan:
    """What stepping one keyword's checks needs of a campaign's rules, worked out once."""

    query: str
    watching: tuple[AlertRule, ...]  # the rules that watch ``query``
    depth: int  # how much of the organic top the memory keeps (see _depth)
    seen_depth: int  # how deep ``top_seen`` remembers URLs (see _seen_depth)
    lead_keys: tuple[tuple[str, str, int], ...]  # (key, view, hold) of each lead state
    #: (rule, finder) of each watching rule that a successful check can fire (not ``failing``)
    finders: tuple[tuple[AlertRule, Callable[[AlertRule, _Compared], list[Finding]]], ...] = ()


def plan_for(rules: Sequence[AlertRule], query: str) -> Plan:
    """The :class:`Plan` of ``rules`` for keyword ``query``."""
    keys = tuple((key, key.split(":")[0], int(key.split(":")[1])) for key in _lead_keys(rules))
    watching = tuple(rule for rule in rules if rule.applies_to(query))
    return Plan(
        query=query,
        watching=watching,
        depth=_depth(rules),
        seen_depth=_seen_depth(rules),
        lead_keys=keys,
        finders=tuple((rule, _KIND_FINDERS[rule.on]) for rule in watching if rule.on != "failing"),
    )


def step(
    memory: Memory,
    check: Observed,
    rules: Sequence[AlertRule],
    query: str,
    curve: Sequence[float],
) -> tuple[Memory, list[Finding]]:
    """The memory after ``check``, and what ``rules`` (those watching ``query``) fire at it.

    A check older than the one the memory last took fires nothing and changes nothing: alerts
    are about the newest state of the page, never retroactive.
    """
    return advance(memory, check, plan_for(rules, query), curve)


def advance(
    memory: Memory, check: Observed, plan: Plan, curve: Sequence[float]
) -> tuple[Memory, list[Finding]]:
    """:func:`step` with the rules' :class:`Plan` worked out already (a caller stepping many
    checks keeps one plan per keyword)."""
    if memory.at is not None and (check.at, check.check_id) <= (memory.at, memory.check_id):
        return memory, []
    query = plan.query
    if not check.ok:
        return _failed(memory, check, plan.watching, query)
    page = _Page(check.results, curve)
    summary = page.summary(plan.depth)
    findings: list[Finding] = []
    leads = dict(memory.leads)
    changes: dict[str, tuple[str, str | None]] = {}
    leaders = page.leaders
    for key, view, hold in plan.lead_keys:
        state, change = _advance(leads.get(key, _NO_LEAD), leaders[view], hold)
        leads[key] = state
        if change is not None:
            changes[key] = change
    if memory.previous is not None:
        compared = _Compared(memory, summary, memory.previous, page, changes, query)
        for rule, finder in plan.finders:
            found = finder(rule, compared)
            if found:
                findings.extend(found)
    top_seen = memory.top_seen
    seen_depth = plan.seen_depth
    grown = False
    for row in summary["organic"]:  # in rank order
        if row[2] > seen_depth:
            break
        if top_seen.get(row[0], seen_depth + 1) > row[2]:
            grown = True
            break
    if grown:
        top_seen = dict(top_seen)
        for url, _, rank, _, _, _ in summary["organic"]:
            if rank > seen_depth:
                break
            top_seen[url] = min(rank, top_seen.get(url, rank))
    after = Memory(
        check_id=check.check_id,
        at=check.at,
        last_ok=check.check_id,
        previous=summary,
        leads=leads,
        failures=0,
        top_seen=top_seen,
    )
    return after, findings


def rebuild(
    history: Iterable[Observed],
    rules: Sequence[AlertRule],
    query: str,
    curve: Sequence[float],
) -> Memory:
    """The memory after ``history`` (oldest first), as if each check had been stepped."""
    memory, plan = Memory(), plan_for(rules, query)
    for check in history:
        memory, _ = advance(memory, check, plan, curve)
    return memory


# --- one check ------------------------------------------------------------------------------


def _failed(
    memory: Memory, check: Observed, rules: Sequence[AlertRule], query: str
) -> tuple[Memory, list[Finding]]:
    failures = memory.failures + 1
    after = Memory(
        check_id=check.check_id,
        at=check.at,
        last_ok=memory.last_ok,
        previous=memory.previous,
        leads=memory.leads,
        failures=failures,
        top_seen=memory.top_seen,
    )
    reason = f" (last: {check.error_kind})" if check.error_kind else ""
    findings = [
        Finding(
            rule=rule,
            kind="failing",
            baseline=memory.last_ok,
            text=f"The last {failures} checks of {_quoted(query)} failed or were blocked"
            f"{reason}; its ranks are not being recorded",
        )
        for rule in rules
        if rule.on == "failing" and failures == rule.after
    ]
    return after, findings


class _Compared:
    """What every rule compares at one check: the memory, this check and the one before.

    A plain class with slots: one is made at every successful check.
    """

    __slots__ = ("before", "changes", "memory", "now", "page", "query")

    def __init__(
        self,
        memory: Memory,
        now: Mapping[str, Any],  # this check's summary (as it will be kept)
        before: Mapping[str, Any],  # the previous successful check's summary
        page: _Page,
        changes: Mapping[str, tuple[str, str | None]],  # lead changes completed at this check
        query: str,
    ) -> None:
        self.memory, self.now, self.before = memory, now, before
        self.page, self.changes, self.query = page, changes, query

    @property
    def base(self) -> int:
        """The check compared against (part of every event's id)."""
        return self.memory.last_ok

    def finding(
        self, rule: AlertRule, url: str, shown: str, rank: int | None, text: str
    ) -> Finding:
        """An event about one URL."""
        return Finding(rule, rule.on, text, self.base, url=shown, norm_url=url, position=rank)

    def page_finding(self, rule: AlertRule, text: str) -> Finding:
        """An event about the page as a whole: the best of each side for context."""
        return Finding(
            rule,
            rule.on,
            text,
            self.base,
            official=self.page.ref(_OFFICIAL, "organic"),
            critical=self.page.ref(_CRITICAL, "organic"),
        )


def _critical_enters(rule: AlertRule, c: _Compared) -> list[Finding]:
    # Summaries' organic rows are in rank order: each loop stops past the rule's top.
    top = rule.top
    entered = []
    for row in c.now["organic"]:
        if row[2] > top:
            break
        if row[4] == _CRITICAL:
            entered.append(row)
    if not entered:
        return []
    was = set()
    for row in c.before["organic"]:
        if row[2] > top:
            break
        if row[4] == _CRITICAL:
            was.add(row[0])
    return [
        c.finding(
            rule,
            url,
            shown,
            rank,
            f"Critical result {shown} entered the top {top} at #{rank} for {_quoted(c.query)}",
        )
        for url, shown, rank, _, _, _ in entered
        if url not in was
    ]


def _official_leaves(rule: AlertRule, c: _Compared) -> list[Finding]:
    top = rule.top
    were = []
    for row in c.before["organic"]:
        if row[2] > top:
            break
        if row[4] == _OFFICIAL:
            were.append(row)
    if not were:
        return []
    here = set()
    for row in c.now["organic"]:
        if row[2] > top:
            break
        if row[4] == _OFFICIAL:
            here.add(row[0])
    found = []
    for url, shown, rank, _, _, _ in were:
        if url not in here:
            ranks = {u: r for u, _, r, _, _, _ in c.page.organic}  # only when one left
            where = f"now #{ranks[url]}" if url in ranks else "no longer in the results read"
            text = (
                f"Official result {shown} left the top {top} for {_quoted(c.query)} "
                f"(was #{rank}, {where})"
            )
            found.append(c.finding(rule, url, shown, ranks.get(url), text))
    return found


def _new_url(rule: AlertRule, c: _Compared) -> list[Finding]:
    seen = c.memory.top_seen
    top = rule.top
    found = []
    for url, shown, rank, _, _, labelled in c.now["organic"]:
        if rank > top:
            break
        if not labelled and seen.get(url, top + 1) > top:
            text = (
                f"A new unlabelled result {shown} is at #{rank} for {_quoted(c.query)}; label "
                "it official, critical or neutral"
            )
            found.append(c.finding(rule, url, shown, rank, text))
    return found


def _critical_in_feature(rule: AlertRule, c: _Compared) -> list[Finding]:
    was = set(c.before["features"])
    return [
        c.finding(
            rule,
            url,
            shown,
            rank,
            f"Critical result {shown} appears in the {_FEATURE_NAMES[placement]} (#{rank}) "
            f"for {_quoted(c.query)}",
        )
        for url, shown, rank, placement in c.page.features
        if url not in was
    ]


def _share_rise(rule: AlertRule, c: _Compared) -> list[Finding]:
    then, share = c.before["share"], c.now["share"]
    if then is None or share is None or share - then < rule.points:
        return []
    text = (
        f"The critical share of voice for {_quoted(c.query)} rose from {then:.0f}% to "
        f"{share:.0f}% (+{share - then:.0f} points, organic top 10)"
    )
    return [c.page_finding(rule, text)]


def _own_ad_missing(rule: AlertRule, c: _Compared) -> list[Finding]:
    if not c.before["top_ad"] or c.now["top_ad"]:
        return []
    text = (
        f"The official ad in the top block for {_quoted(c.query)} is gone (it ran at the "
        "previous check)"
    )
    return [c.page_finding(rule, text)]


def _lead(rule: AlertRule, c: _Compared) -> list[Finding]:
    if not c.changes:  # most checks complete no lead change
        return []
    return _lead_findings(rule, c.page, c.changes, c.query, c.base)


def _never(rule: AlertRule, c: _Compared) -> list[Finding]:
    return []  # ``failing`` fires on failed checks (_failed), never on a successful one


def _lead_findings(
    rule: AlertRule,
    page: _Page,
    changes: Mapping[str, tuple[str, str | None]],
    query: str,
    base: int,
) -> list[Finding]:
    found = []
    for view in rule.views:
        change = changes.get(f"{view}:{rule.hold}")
        if change is None or change[1] is None:
            continue
        kind = "overtake" if change[0] == _OFFICIAL else "lost"
        if kind != rule.on:
            continue
        official = page.ref(_OFFICIAL, view)
        critical = page.ref(_CRITICAL, view)
        subject = official if kind == "overtake" else critical
        where = "organic results" if view == "organic" else "whole page (ads included)"
        if kind == "overtake":
            text = (
                f"The official result {_shown(official)} now leads "
                f"{_shown(critical, 'every critical result')} in the {where} for {_quoted(query)}"
            )
        else:
            text = (
                f"Critical result {_shown(critical)} now leads "
                f"{_shown(official, 'the official side (absent)')} in the {where} "
                f"for {_quoted(query)}"
            )
        found.append(
            Finding(
                rule=rule,
                kind=kind,
                baseline=base,
                view=view,
                url=subject.url if subject else None,
                norm_url=page.norm_of(subject),
                position=subject.position if subject else None,
                official=official,
                critical=critical,
                text=text,
            )
        )
    return found


#: what finds each kind's events at a successful check (SPEC section 7's table)
_KIND_FINDERS: dict[str, Callable[[AlertRule, _Compared], list[Finding]]] = {
    "overtake": _lead,
    "lost": _lead,
    "critical-enters": _critical_enters,
    "official-leaves": _official_leaves,
    "new-url": _new_url,
    "critical-in-feature": _critical_in_feature,
    "critical-share": _share_rise,
    "own-ad-missing": _own_ad_missing,
    "failing": _never,
}


# --- reading a check ------------------------------------------------------------------------


class _Page:
    """One successful check, read in one pass: what every rule compares."""

    __slots__ = ("_best", "features", "leaders", "organic", "share", "top_ad")

    def __init__(self, results: Sequence[Seen], curve: Sequence[float]) -> None:
        """Index ``results``: organic by URL (best rank), critical features, the best of each
        side per view, the official top ad and the critical share."""
        organic: dict[str, tuple[str, str, int, int, str, bool]] = {}
        features: dict[str, tuple[str, str, int, str]] = {}
        top_ad = False
        # The best of each side, by page position and by organic rank: locals, not a dict
        # keyed by (stance, view), in the loop every result of a check goes through.
        official_page = official_organic = critical_page = critical_organic = None
        # Unpacked, not read by attribute: a page of 100 results goes through here per check.
        for r in results:
            url, norm_url, placement, block, rank, page_position, stance, labelled = r
            if placement == _ORGANIC:
                if norm_url not in organic or rank < organic[norm_url][2]:
                    organic[norm_url] = (norm_url, url, rank, page_position, stance, labelled)
            elif stance == _CRITICAL and placement in FEATURE_PLACEMENTS:
                if norm_url not in features:
                    features[norm_url] = (norm_url, url, rank, placement)
            elif placement == _PAID and stance == _OFFICIAL and block == "top":
                top_ad = True
            if stance == _OFFICIAL:
                if official_page is None or page_position < official_page[5]:
                    official_page = r
                if placement == _ORGANIC and (
                    official_organic is None or rank < official_organic[4]
                ):
                    official_organic = r
            elif stance == _CRITICAL:
                if critical_page is None or page_position < critical_page[5]:
                    critical_page = r
                if placement == _ORGANIC and (
                    critical_organic is None or rank < critical_organic[4]
                ):
                    critical_organic = r
        best: dict[tuple[str, str], Seen] = {}
        for key, found in (
            ((_OFFICIAL, "page"), official_page),
            ((_OFFICIAL, "organic"), official_organic),
            ((_CRITICAL, "page"), critical_page),
            ((_CRITICAL, "organic"), critical_organic),
        ):
            if found is not None:
                best[key] = found
        self.top_ad = top_ad
        self.organic = sorted(organic.values(), key=_RANK)
        self.features = list(features.values())
        self._best = best
        self.share = _critical_share(self.organic, curve)
        self.leaders = {
            "organic": leader_of(
                official_organic and official_organic.rank,
                critical_organic and critical_organic.rank,
            ),
            "page": leader_of(
                official_page and official_page.page_position,
                critical_page and critical_page.page_position,
            ),
        }

    def summary(self, depth: int) -> dict[str, Any]:
        """What the next check compares with (kept in the memory, as JSON): the organic rows
        up to ``depth``, by rank (the finders stop at the first row past their ``top``)."""
        organic = self.organic
        return {
            "organic": organic[: bisect.bisect_right(organic, depth, key=_RANK)],
            "features": sorted(features[0] for features in self.features) if self.features else [],
            "top_ad": self.top_ad,
            "share": self.share,
        }

    def ref(self, stance: str, view: str) -> Ref | None:
        """The best result of ``stance`` in ``view`` (organic rank, or page position)."""
        found = self._best.get((stance, view))
        if found is None:
            return None
        return Ref(found.url, found.rank if view == "organic" else found.page_position)

    def leader(self, view: str) -> str | None:
        """Who leads ``view`` at this check."""
        return self.leaders[view]

    def norm_of(self, ref: Ref | None) -> str | None:
        """The normalised URL of a best result."""
        if ref is None:
            return None
        return next((r.norm_url for r in self._best.values() if r.url == ref.url), ref.url)


_RANK = operator.itemgetter(2)  # an organic row's rank (see _Page)


def _critical_share(
    organic: Sequence[tuple[str, str, int, int, str, bool]], curve: Sequence[float]
) -> float | None:
    """The critical share of the organic top 10's CTR weight, in percent (None: no weight)."""
    total = critical = 0.0
    depth = min(_SHARE_DEPTH, len(curve))
    for _, _, rank, _, stance, _ in organic:
        if rank <= depth:
            weight = curve[rank - 1]
            total += weight
            critical += weight if stance == _CRITICAL else 0.0
    return 100.0 * critical / total if total > 0 else None


_NO_LEAD: list[Any] = [None, None, 0]


def _seen_depth(rules: Sequence[AlertRule]) -> int:
    """How deep ``top_seen`` remembers URLs: only ``new-url`` rules read it (0: not at all),
    so a memory without them does not grow with every URL a year of checks brings."""
    return max([rule.top for rule in rules if rule.on == "new-url"], default=0)


def reach(rules: Sequence[AlertRule]) -> int:
    """The organic rank up to which every result matters to ``rules``; beyond it, and outside
    organic results, only official and critical ones do (a caller may leave the rest out)."""
    return max(_depth(rules), _SHARE_DEPTH)


def _depth(rules: Sequence[AlertRule]) -> int:
    """How much of the organic top a memory keeps: the widest ``top`` of any rule."""
    return max([rule.top for rule in rules if rule.on in TOP_KINDS], default=0)


def _lead_keys(rules: Sequence[AlertRule]) -> list[str]:
    """``view:hold`` of every lead state the rules need."""
    keys = {
        f"{view}:{rule.hold}"
        for rule in rules
        if rule.on in ("overtake", "lost")
        for view in rule.views
    }
    return sorted(keys)


def _advance(
    state: Sequence[Any], leader: str | None, hold: int
) -> tuple[list[Any], tuple[str, str | None] | None]:
    """One check of :func:`serptrack.lead.lead_changes`: the new [current, streak, length] and
    the change completed at this check, as (new leader, previous leader), if any."""
    current, streak, length = state
    if leader is None or leader == current:
        return [current, None, 0], None
    length = length + 1 if leader == streak else 1
    if length >= hold:
        return [leader, None, 0], (leader, current)
    return [current, leader, length], None


def _shown(ref: Ref | None, absent: str = "(none)") -> str:
    if ref is None:
        return absent
    return f"{ref.url} (#{ref.position})"


def _quoted(query: str) -> str:
    return f"\u201c{query}\u201d"
