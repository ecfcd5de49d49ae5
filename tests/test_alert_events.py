"""The pure alert core (serptrack.alerts.events): its lead changes are exactly those of the
lead core, a memory survives its JSON round trip, and the edge rules hold (baseline, failed
checks, streaks, late checks)."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from serptrack.alerts.events import Finding, Memory, Observed, Seen, rebuild, step
from serptrack.alerts.settings import AlertRule
from serptrack.ctr import curve_from_settings
from serptrack.lead import lead_changes, leader_of

CURVE = curve_from_settings(None).positions
START = dt.datetime(2026, 5, 1, 7, tzinfo=dt.UTC)
OFFICIAL = "https://acme.example/statement"
CRITICAL = "https://news.example/acme"


def rule(on: str, **fields: object) -> AlertRule:
    return AlertRule(key=f"{on}#1", on=on, channels=("ops",), **fields)  # type: ignore[arg-type]


def seen(url: str, rank: int, stance: str, placement: str = "organic", **more: object) -> Seen:
    return Seen(
        url=url,
        norm_url=url,
        placement=placement,
        block=more.get("block"),  # type: ignore[arg-type]
        rank=rank,
        page_position=int(more.get("page_position", rank)),  # type: ignore[call-overload]
        stance=stance,
        labelled=stance != "neutral" or bool(more.get("labelled")),
    )


def page(official: int | None, critical: int | None) -> tuple[Seen, ...]:
    """Ten organic results with the official and critical URLs at these ranks."""
    results = []
    for rank in range(1, 11):
        if rank == official:
            results.append(seen(OFFICIAL, rank, "official"))
        elif rank == critical:
            results.append(seen(CRITICAL, rank, "critical"))
        else:
            results.append(seen(f"https://filler{rank}.example/", rank, "neutral", labelled=True))
    return tuple(results)


def check(n: int, results: tuple[Seen, ...] | None, error: str = "timeout") -> Observed:
    at = START + dt.timedelta(days=n)
    if results is None:
        return Observed(check_id=n + 1, at=at, ok=False, error_kind=error)
    return Observed(check_id=n + 1, at=at, ok=True, results=results)


def run(
    checks: list[Observed], rules: list[AlertRule], roundtrip: bool = False
) -> list[tuple[int, Finding]]:
    """Every finding as (check index, finding); ``roundtrip`` stores the memory as JSON
    between checks, as the store does."""
    memory = Memory()
    found: list[tuple[int, Finding]] = []
    for index, observed in enumerate(checks):
        memory, findings = step(memory, observed, rules, "acme recall", CURVE)
        if roundtrip:
            restored = Memory.from_state(json.loads(json.dumps(memory.to_state())))
            assert restored is not None
            memory = restored
        found.extend((index, finding) for finding in findings)
    return found


positions = st.one_of(st.none(), st.integers(1, 10))
days = st.lists(
    st.one_of(
        st.none(),  # a failed check
        st.tuples(positions, positions).filter(lambda p: p[0] is None or p[0] != p[1]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(days=days, hold=st.integers(1, 3))
def test_overtakes_and_losses_are_the_lead_cores_changes(days: list, hold: int) -> None:
    checks = [check(n, None if day is None else page(*day)) for n, day in enumerate(days)]
    rules = [rule("overtake", view="organic", hold=hold), rule("lost", view="organic", hold=hold)]
    found = [(index, f.kind) for index, f in run(checks, rules)]
    ok = [n for n, day in enumerate(days) if day is not None]
    leaders = [leader_of(*days[n]) for n in ok]
    expected = [
        (ok[change.index + hold - 1], change.kind)  # found when the streak reaches `hold`
        for change in lead_changes(leaders, hold)
        if change.kind is not None  # the first leader there ever was is no event
    ]
    assert found == expected


@settings(max_examples=100, deadline=None)
@given(days=days)
def test_a_memory_stored_as_json_finds_what_a_kept_one_finds(days: list) -> None:
    checks = [check(n, None if day is None else page(*day)) for n, day in enumerate(days)]
    rules = [
        rule("overtake"),
        rule("lost", hold=2),
        rule("critical-enters", top=3),
        rule("official-leaves", top=2),
        rule("critical-share", points=5),
        rule("failing", after=2),
    ]
    assert run(checks, rules, roundtrip=True) == run(checks, rules)
    assert rebuild(checks, rules, "acme recall", CURVE) == _stepped(checks, rules)


def _stepped(checks: list[Observed], rules: list[AlertRule]) -> Memory:
    memory = Memory()
    for observed in checks:
        memory, _ = step(memory, observed, rules, "acme recall", CURVE)
    return memory


def test_the_first_successful_check_only_sets_the_baseline() -> None:
    rules = [rule("critical-enters", top=3), rule("new-url", top=5), rule("lost")]
    unlabelled = (seen("https://new.example/", 1, "neutral"),)
    assert run([check(0, page(5, 1) + unlabelled)], rules) == []
    assert run([check(0, None), check(1, page(5, 1))], rules) == []


def test_a_failed_check_between_two_alike_fires_nothing() -> None:
    rules = [rule("critical-enters", top=3), rule("official-leaves", top=3), rule("lost")]
    checks = [check(0, page(1, 5)), check(1, None), check(2, None, "blocked"), check(3, page(1, 5))]
    assert run(checks, rules) == []


def test_failing_fires_once_per_streak() -> None:
    rules = [rule("failing", after=2)]
    checks = [check(0, page(1, 2))] + [check(n, None) for n in range(1, 5)]
    checks += [check(5, page(1, 2)), check(6, None), check(7, None, "blocked")]
    found = run(checks, rules)
    assert [(index, f.kind, f.baseline) for index, f in found] == [
        (2, "failing", 1),  # baseline: the last successful check (id 1)
        (7, "failing", 6),
    ]
    assert found[1][1].text.endswith("(last: blocked); its ranks are not being recorded")


def test_hold_two_fires_at_the_second_check_of_the_new_lead() -> None:
    rules = [rule("overtake", view="organic", hold=2)]
    # the critical lead is established on day 1 (its second check), the official one on day 4
    checks = [check(0, page(3, 1)), check(1, page(3, 1)), check(2, page(1, 3))]
    checks += [check(3, None), check(4, page(1, 3))]
    assert [(index, f.kind, f.position) for index, f in run(checks, rules)] == [(4, "overtake", 1)]


def test_a_check_older_than_the_memory_changes_nothing() -> None:
    rules = [rule("critical-enters", top=3)]
    memory, _ = step(Memory(), check(5, page(1, 8)), rules, "q", CURVE)
    late, findings = step(memory, check(2, page(1, 2)), rules, "q", CURVE)
    assert findings == [] and late is memory


def test_critical_in_feature_fires_when_a_critical_url_enters_a_feature() -> None:
    rules = [rule("critical-in-feature")]
    story = seen("https://news.example/story", 1, "critical", placement="news", page_position=11)
    cited = seen(CRITICAL, 2, "critical", placement="ai_overview", page_position=12)
    checks = [
        check(0, page(1, 5)),
        check(1, (*page(1, 5), story)),
        check(2, (*page(1, 5), story, cited)),
    ]
    found = run(checks, rules)
    assert [(index, f.url, f.position) for index, f in found] == [
        (1, "https://news.example/story", 1),
        (2, CRITICAL, 2),
    ]
    assert "AI overview" in found[1][1].text


def test_own_ad_missing_and_critical_share() -> None:
    ad = seen("https://acme.example/ad", 1, "official", placement="paid", block="top")
    rules = [rule("own-ad-missing"), rule("critical-share", points=10)]
    checks = [check(0, (ad, *page(2, 9))), check(1, page(2, 1))]
    found = run(checks, rules)
    assert [f.kind for _, f in found] == ["own-ad-missing", "critical-share"]  # rules' order
    share = found[1][1]
    assert share.url is None and share.critical is not None and share.critical.position == 1
    assert "rose from 3% to 32%" in share.text


def test_queries_limit_a_rule_to_its_keywords() -> None:
    rules = [rule("failing", after=1, queries=("other",))]
    _memory, findings = step(Memory(), check(0, None), rules, "acme recall", CURVE)
    assert findings == []


def test_the_memory_remembers_top_urls_only_for_new_url_rules() -> None:
    checks = [check(n, page(1 + n % 4, 9 - n % 3)) for n in range(6)]
    without = _stepped(checks, [rule("critical-enters", top=3), rule("lost")])
    assert without.top_seen == {}
    with_rule = _stepped(checks, [rule("critical-enters", top=3), rule("new-url", top=2)])
    assert with_rule.top_seen and max(with_rule.top_seen.values()) <= 2
