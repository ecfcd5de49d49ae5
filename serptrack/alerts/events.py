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

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..lead import leader_of
from ..vocabulary import Placement, Stance
from .settings import TOP_KINDS, AlertRule

__all__ = [
    "FEATURE_PLACEMENTS",
    "Finding",
    "Memory",
    "Observed",
    "Ref",
    "Seen",
    "rebuild",
    "step",
]

#: where a critical URL must not appear (``critical-in-feature``)
FEATURE_PLACEMENTS = (
    Placement.NEWS,
    Placement.AI_OVERVIEW,
    Placement.AI_MODE,
    Placement.AI_ANSWER,
)
_FEATURE_NAMES: dict[str, str] = {
    Placement.NEWS: "news box",
    Placement.AI_OVERVIEW: "AI overview",
    Placement.AI_MODE: "AI mode answer",
    Placement.AI_ANSWER: "AI answer",
}
_SHARE_DEPTH = 10  # critical-share weighs the organic top 10
_MEMORY_VERSION = 1


@dataclass(frozen=True)
class Seen:
    """One result of a check as alert rules read it."""

    url: str
    norm_url: str
    placement: str
    block: str | None
    rank: int
    page_position: int
    stance: str
    labelled: bool  # a label rule matches it (an unlabelled URL is neutral)


@dataclass(frozen=True)
class Observed:
    """One stored check of a keyword: successful (with its results) or not."""

    check_id: int
    at: dt.datetime
    ok: bool
    results: tuple[Seen, ...] = ()
    error_kind: str | None = None


@dataclass(frozen=True)
class Ref:
    """A URL at a position."""

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
    top_seen: dict[str, int] = field(default_factory=dict)  # norm_url -> best organic rank

    def to_state(self) -> dict[str, Any]:
        """The JSON kept in ``alert_memory.state``."""
        return {
            "version": _MEMORY_VERSION,
            "last_ok": self.last_ok,
            "previous": self.previous,
            "leads": self.leads,
            "failures": self.failures,
            "top_seen": self.top_seen,
        }

    @classmethod
    def from_state(
        cls, check_id: int, at: dt.datetime | None, state: Mapping[str, Any]
    ) -> Memory | None:
        """The memory stored as ``state``; None when it is of another version (rebuild it)."""
        if state.get("version") != _MEMORY_VERSION:
            return None
        return cls(
            check_id=check_id,
            at=at,
            last_ok=int(state["last_ok"]),
            previous=state["previous"],
            leads={key: list(value) for key, value in state["leads"].items()},
            failures=int(state["failures"]),
            top_seen={url: int(rank) for url, rank in state["top_seen"].items()},
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
    if memory.at is not None and (check.at, check.check_id) <= (memory.at, memory.check_id):
        return memory, []
    watching = [rule for rule in rules if rule.applies_to(query)]
    if not check.ok:
        return _failed(memory, check, watching, query)
    summary = _summary(check.results, _depth(rules), curve)
    findings: list[Finding] = []
    leads = dict(memory.leads)
    changes: dict[str, tuple[str, str | None]] = {}
    for key in _lead_keys(rules):
        view, hold = key.split(":")
        state, change = _advance(leads.get(key, [None, None, 0]), _leader(check, view), int(hold))
        leads[key] = state
        if change is not None:
            changes[key] = change
    if memory.previous is not None:
        for rule in watching:
            findings.extend(_fire(rule, memory, summary, check, changes, query, memory.previous))
    top_seen = dict(memory.top_seen)
    for url, _, rank, _, _, _ in summary["organic"]:
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
    memory = Memory()
    for check in history:
        memory, _ = step(memory, check, rules, query, curve)
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
            text=f"the last {failures} checks of {_quoted(query)} failed or were blocked"
            f"{reason}; its ranks are not being recorded",
        )
        for rule in rules
        if rule.on == "failing" and failures == rule.after
    ]
    return after, findings


def _fire(
    rule: AlertRule,
    memory: Memory,
    now: Mapping[str, Any],
    check: Observed,
    changes: Mapping[str, tuple[str, str | None]],
    query: str,
    before: Mapping[str, Any],
) -> list[Finding]:
    on, base = rule.on, memory.last_ok
    if on in ("overtake", "lost"):
        return _lead_findings(rule, check, changes, query, base)
    if on == "critical-enters":
        was = {u for u, _, rank, _, stance, _ in before["organic"] if _in_top(rank, stance, rule)}
        return [
            _url_finding(
                rule,
                base,
                url,
                shown,
                rank,
                f"critical result {shown} entered the "
                f"top {rule.top} at #{rank} for {_quoted(query)}",
            )
            for url, shown, rank, _, stance, _ in now["organic"]
            if _in_top(rank, stance, rule) and url not in was
        ]
    if on == "official-leaves":
        ranks = {url: rank for url, _, rank, _, _, _ in _organic(check.results)}
        here = {u for u, _, rank, _, stance, _ in now["organic"] if _in_top(rank, stance, rule)}
        found = []
        for url, shown, rank, _, stance, _ in before["organic"]:
            if _in_top(rank, stance, rule) and url not in here:
                where = f"now #{ranks[url]}" if url in ranks else "no longer in the results read"
                found.append(
                    _url_finding(
                        rule,
                        base,
                        url,
                        shown,
                        ranks.get(url),
                        f"official result {shown} left the top {rule.top} for "
                        f"{_quoted(query)} (was #{rank}, {where})",
                    )
                )
        return found
    if on == "new-url":
        return [
            _url_finding(
                rule,
                base,
                url,
                shown,
                rank,
                f"a new unlabelled result {shown} is at "
                f"#{rank} for {_quoted(query)}; label it official, critical or neutral",
            )
            for url, shown, rank, _, _, labelled in now["organic"]
            if rank <= rule.top
            and not labelled
            and memory.top_seen.get(url, rule.top + 1) > rule.top
        ]
    if on == "critical-in-feature":
        was = set(before["features"])
        return [
            _url_finding(
                rule,
                base,
                url,
                shown,
                rank,
                f"critical result {shown} appears in the {_FEATURE_NAMES[placement]} "
                f"(#{rank}) for {_quoted(query)}",
            )
            for url, shown, rank, placement in _critical_features(check.results)
            if url not in was
        ]
    if on == "critical-share":
        then, share = before["share"], now["share"]
        if then is None or share is None or share - then < rule.points:
            return []
        return [
            Finding(
                rule=rule,
                kind=on,
                baseline=base,
                official=_best_ref(check.results, Stance.OFFICIAL, "organic"),
                critical=_best_ref(check.results, Stance.CRITICAL, "organic"),
                text=f"the critical share of voice for {_quoted(query)} rose from "
                f"{then:.0f}% to {share:.0f}% (+{share - then:.0f} points, organic top 10)",
            )
        ]
    if on == "own-ad-missing":
        if not before["top_ad"] or now["top_ad"]:
            return []
        return [
            Finding(
                rule=rule,
                kind=on,
                baseline=base,
                official=_best_ref(check.results, Stance.OFFICIAL, "organic"),
                critical=_best_ref(check.results, Stance.CRITICAL, "organic"),
                text=f"the official ad in the top block for {_quoted(query)} is gone "
                "(it ran at the previous check)",
            )
        ]
    return []


def _lead_findings(
    rule: AlertRule,
    check: Observed,
    changes: Mapping[str, tuple[str, str | None]],
    query: str,
    base: int,
) -> list[Finding]:
    found = []
    for view in rule.views:
        change = changes.get(f"{view}:{rule.hold}")
        if change is None or change[1] is None:
            continue
        kind = "overtake" if change[0] == Stance.OFFICIAL else "lost"
        if kind != rule.on:
            continue
        official = _best_ref(check.results, Stance.OFFICIAL, view)
        critical = _best_ref(check.results, Stance.CRITICAL, view)
        subject = official if kind == "overtake" else critical
        where = "organic results" if view == "organic" else "whole page (ads included)"
        if kind == "overtake":
            text = (
                f"the official result {_shown(official)} now leads "
                f"{_shown(critical, 'every critical result')} in the {where} for {_quoted(query)}"
            )
        else:
            text = (
                f"critical result {_shown(critical)} now leads "
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
                norm_url=_norm_of(check.results, subject),
                position=subject.position if subject else None,
                official=official,
                critical=critical,
                text=text,
            )
        )
    return found


def _url_finding(
    rule: AlertRule, base: int, norm_url: str, url: str, position: int | None, text: str
) -> Finding:
    return Finding(
        rule=rule,
        kind=rule.on,
        baseline=base,
        url=url,
        norm_url=norm_url,
        position=position,
        text=text,
    )


# --- reading a check ------------------------------------------------------------------------


def _summary(results: Sequence[Seen], depth: int, curve: Sequence[float]) -> dict[str, Any]:
    """What the next check compares with: the organic top, critical features, ads, share."""
    return {
        "organic": [
            [url, shown, rank, page_position, stance, labelled]
            for url, shown, rank, page_position, stance, labelled in _organic(results)
            if rank <= depth
        ],
        "features": sorted({url for url, _, _, _ in _critical_features(results)}),
        "top_ad": any(
            r.placement == Placement.PAID and r.block == "top" and r.stance == Stance.OFFICIAL
            for r in results
        ),
        "share": _critical_share(results, curve),
    }


def _organic(results: Sequence[Seen]) -> list[tuple[str, str, int, int, str, bool]]:
    """(norm_url, url, rank, page_position, stance, labelled) of each organic result, best
    rank first; a URL listed twice counts at its best rank."""
    best: dict[str, tuple[str, str, int, int, str, bool]] = {}
    for r in results:
        if r.placement == Placement.ORGANIC and (
            r.norm_url not in best or r.rank < best[r.norm_url][2]
        ):
            best[r.norm_url] = (r.norm_url, r.url, r.rank, r.page_position, r.stance, r.labelled)
    return sorted(best.values(), key=lambda row: row[2])


def _critical_features(results: Sequence[Seen]) -> list[tuple[str, str, int, str]]:
    seen: dict[str, tuple[str, str, int, str]] = {}
    for r in results:
        if r.placement in FEATURE_PLACEMENTS and r.stance == Stance.CRITICAL:
            seen.setdefault(r.norm_url, (r.norm_url, r.url, r.rank, r.placement))
    return list(seen.values())


def _critical_share(results: Sequence[Seen], curve: Sequence[float]) -> float | None:
    """The critical share of the organic top 10's CTR weight, in percent (None: no weight)."""
    total = critical = 0.0
    for r in results:
        if r.placement == Placement.ORGANIC and r.rank <= min(_SHARE_DEPTH, len(curve)):
            weight = curve[r.rank - 1]
            total += weight
            critical += weight if r.stance == Stance.CRITICAL else 0.0
    return 100.0 * critical / total if total > 0 else None


def _leader(check: Observed, view: str) -> str | None:
    official = _best_position(check.results, Stance.OFFICIAL, view)
    critical = _best_position(check.results, Stance.CRITICAL, view)
    return leader_of(official, critical)


def _best_position(results: Sequence[Seen], stance: str, view: str) -> int | None:
    ref = _best_ref(results, stance, view)
    return ref.position if ref else None


def _best_ref(results: Sequence[Seen], stance: str, view: str) -> Ref | None:
    """The best result of ``stance`` in ``view`` (organic rank, or page position)."""
    best: Seen | None = None
    for r in results:
        if r.stance != stance or (view == "organic" and r.placement != Placement.ORGANIC):
            continue
        if best is None or _position(r, view) < _position(best, view):
            best = r
    return Ref(best.url, _position(best, view)) if best else None


def _position(result: Seen, view: str) -> int:
    return result.rank if view == "organic" else result.page_position


def _norm_of(results: Sequence[Seen], ref: Ref | None) -> str | None:
    if ref is None:
        return None
    return next((r.norm_url for r in results if r.url == ref.url), ref.url)


def _in_top(rank: int, stance: str, rule: AlertRule) -> bool:
    wanted = Stance.CRITICAL if rule.on == "critical-enters" else Stance.OFFICIAL
    return rank <= rule.top and stance == wanted


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
