"""The pure lead core (serptrack.lead): who leads, lead changes, paid flags."""

from __future__ import annotations

import datetime as dt

import pytest

from serptrack.lead import (
    CheckPoint,
    LeadChange,
    Positions,
    current_lead,
    lead_changes,
    leader_of,
    paid_days,
)

OFF, CRIT = "official", "critical"


@pytest.mark.parametrize(
    ("official", "critical", "leader"),
    [
        (1, 2, OFF),
        (3, 2, CRIT),
        (4, None, OFF),
        (None, 7, CRIT),
        (None, None, None),
        (5, 5, None),  # cannot happen (one position, one result) but must not crash
    ],
)
def test_leader_of(official: int | None, critical: int | None, leader: str | None) -> None:
    assert leader_of(official, critical) == leader
    assert Positions(official, critical).leader == leader


def test_the_first_leader_is_no_event() -> None:
    assert lead_changes([None, CRIT, CRIT]) == [LeadChange(1, CRIT, None)]
    assert LeadChange(1, CRIT, None).kind is None


def test_overtake_and_lost_with_hold_1() -> None:
    changes = lead_changes([CRIT, CRIT, OFF, OFF, CRIT, OFF])
    assert [(c.index, c.kind) for c in changes] == [
        (0, None),
        (2, "overtake"),
        (4, "lost"),
        (5, "overtake"),
    ]


def test_checks_where_nobody_leads_never_end_a_lead() -> None:
    # C leads, then nobody twice, then O: the overtake compares with the last check that had a leader.
    changes = lead_changes([CRIT, None, None, OFF, None, OFF])
    assert [(c.index, c.leader, c.previous) for c in changes] == [(0, CRIT, None), (3, OFF, CRIT)]


def test_hold_2_suppresses_a_one_check_flip() -> None:
    leaders = [CRIT, CRIT, OFF, OFF, CRIT, OFF, OFF]
    assert [(c.index, c.kind) for c in lead_changes(leaders, hold=2)] == [
        (0, None),
        (2, "overtake"),
    ]
    assert [(c.index, c.kind) for c in lead_changes(leaders, hold=1)] == [
        (0, None),
        (2, "overtake"),
        (4, "lost"),
        (5, "overtake"),
    ]


def test_hold_dates_the_change_at_the_first_check_of_the_streak() -> None:
    assert [(c.index, c.kind) for c in lead_changes([CRIT, CRIT, CRIT, OFF, OFF, OFF], hold=3)] == [
        (0, None),
        (3, "overtake"),
    ]


def test_hold_needs_consecutive_checks_and_nobody_leading_breaks_the_streak() -> None:
    # SPEC: "led N consecutive successful checks"; a check where nobody leads is a successful
    # check the new leader did not lead.
    assert [(c.index, c.kind) for c in lead_changes([CRIT, CRIT, OFF, None, OFF, OFF], hold=2)] == [
        (0, None),
        (4, "overtake"),
    ]


def test_hold_applies_to_the_first_leader_too() -> None:
    assert lead_changes([CRIT, OFF, OFF], hold=2) == [LeadChange(1, OFF, None)]


def test_hold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="hold must be at least 1"):
        lead_changes([OFF], hold=0)


def test_current_lead() -> None:
    assert current_lead([]) == (None, None)
    assert current_lead([CRIT, OFF, None]) == (None, None)
    assert current_lead([CRIT, OFF, None, OFF]) == (OFF, 1)
    assert current_lead([CRIT, CRIT, OFF, OFF, CRIT], hold=2) == (
        CRIT,
        4,
    )  # not held yet: since its streak
    assert current_lead([CRIT, CRIT, OFF, OFF, CRIT, OFF], hold=2) == (OFF, 2)


def point(
    organic: tuple[int | None, int | None],
    page: tuple[int | None, int | None],
    **flags: object,
) -> CheckPoint:
    at = flags.pop("at", dt.datetime(2026, 4, 1, 7, tzinfo=dt.UTC))
    return CheckPoint(1, at, Positions(*organic), Positions(*page), **flags)  # type: ignore[arg-type]


def test_presence() -> None:
    assert point((3, 1), (5, 3)).presence == "organic"
    assert point((11, 1), (13, 3)).presence == "neither"  # rank 11 is page 2
    assert point((None, 1), (1, 2), official_ad_rank=1).presence == "ad"
    assert point((2, 1), (1, 2), official_ad_rank=1, official_top_ad=True).presence == "both"


def test_redundant_ad_needs_a_top_ad_and_organic_number_one() -> None:
    assert point((1, 2), (1, 3), official_ad_rank=1, official_top_ad=True).redundant_ad
    assert not point((1, 2), (1, 3), official_ad_rank=1, official_top_ad=False).redundant_ad
    assert not point((2, 1), (1, 2), official_ad_rank=1, official_top_ad=True).redundant_ad


def test_ad_carries_the_lead_only_when_the_unpaid_results_would_lose() -> None:
    carried = point((2, 1), (1, 2), official_unpaid=3, official_ad_rank=1, official_top_ad=True)
    assert carried.ad_carries_lead
    held = point((1, 2), (1, 3), official_unpaid=2, official_ad_rank=1, official_top_ad=True)
    assert not held.ad_carries_lead
    alone = point((None, None), (1, None), official_unpaid=None, official_ad_rank=1)
    assert alone.ad_carries_lead  # without the ad nobody would lead
    organic_lead = point((1, 2), (1, 2), official_unpaid=1)
    assert not organic_lead.ad_carries_lead


def test_paid_days_keep_the_last_check_of_each_utc_day() -> None:
    early = point((3, 1), (3, 1), at=dt.datetime(2026, 4, 1, 1, tzinfo=dt.UTC))
    late = point((1, 3), (1, 3), at=dt.datetime(2026, 4, 1, 20, tzinfo=dt.UTC))
    # 00:30 in Paris on 2 April is still 1 April in UTC
    paris = point(
        (2, 3), (2, 3), at=dt.datetime(2026, 4, 2, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    )
    next_day = point((4, 3), (4, 3), at=dt.datetime(2026, 4, 2, 7, tzinfo=dt.UTC))
    assert paid_days([early, late, paris, next_day]) == [paris, next_day]
