import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from serptrack.errors import ScheduleError
from serptrack.schedule import (
    Cron,
    Interval,
    latest_slot,
    next_slot,
    parse_schedule,
    parse_timezone,
    slots_between,
)

UTC = ZoneInfo("UTC")  # what parse_timezone hands the functions
PARIS = parse_timezone("Europe/Paris")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", Interval(30, "m")),
        ("6h", Interval(6, "h")),
        ("1d", Interval(1, "d")),
        (" 2w ", Interval(2, "w")),
    ],
)
def test_parse_intervals(text: str, expected: Interval) -> None:
    assert parse_schedule(text) == expected


def test_parse_cron() -> None:
    assert parse_schedule("0 7 * * 1-5") == Cron("0 7 * * 1-5")


@pytest.mark.parametrize("text", ["daily", "0m", "25h", "0 7 * *", "61 * * * *", "", "1y"])
def test_bad_schedules(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(text)


def test_bad_timezone() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        parse_timezone("Mars/Olympus")


def test_daily_slots_in_utc_are_inclusive() -> None:
    slots = slots_between(
        Interval(1, "d"), at("2026-03-01T00:00:00+00:00"), at("2026-03-03T00:00:00+00:00"), UTC
    )
    assert slots == [
        at("2026-03-01T00:00:00+00:00"),
        at("2026-03-02T00:00:00+00:00"),
        at("2026-03-03T00:00:00+00:00"),
    ]


def test_six_hour_slots() -> None:
    slots = slots_between(
        Interval(6, "h"), at("2026-03-01T05:00:00+00:00"), at("2026-03-01T23:59:00+00:00"), UTC
    )
    assert [s.hour for s in slots] == [6, 12, 18]


def test_daily_slots_follow_local_midnight_across_dst() -> None:
    # Paris moves to summer time on 2026-03-29: midnight is 23:00 UTC before, 22:00 UTC after.
    slots = slots_between(
        Interval(1, "d"), at("2026-03-28T00:00:00+01:00"), at("2026-03-30T00:00:00+02:00"), PARIS
    )
    assert slots == [
        at("2026-03-27T23:00:00+00:00"),
        at("2026-03-28T23:00:00+00:00"),
        at("2026-03-29T22:00:00+00:00"),
    ]


def test_hourly_slots_on_a_dst_day_are_never_duplicated() -> None:
    start, end = at("2026-03-29T00:00:00+01:00"), at("2026-03-29T23:59:00+02:00")
    slots = slots_between(Interval(1, "h"), start, end, PARIS)
    assert len(slots) == len(set(slots)) == 23  # the 02:00 hour does not exist that day


def test_weekly_slots_fall_on_monday() -> None:
    slots = slots_between(
        Interval(1, "w"), at("2026-03-01T00:00:00+00:00"), at("2026-03-31T00:00:00+00:00"), UTC
    )
    assert [s.date().isoformat() for s in slots] == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-23",
        "2026-03-30",
    ]


def test_cron_slots_in_a_time_zone() -> None:
    slots = slots_between(
        Cron("0 7 * * *"), at("2026-03-28T00:00:00+00:00"), at("2026-03-30T12:00:00+00:00"), PARIS
    )
    assert slots == [
        at("2026-03-28T06:00:00+00:00"),
        at("2026-03-29T05:00:00+00:00"),
        at("2026-03-30T05:00:00+00:00"),
    ]


def test_latest_and_next_slot() -> None:
    now = at("2026-03-10T09:30:00+00:00")
    assert latest_slot(Interval(1, "d"), now, UTC) == at("2026-03-10T00:00:00+00:00")
    assert next_slot(Interval(1, "d"), now, UTC) == at("2026-03-11T00:00:00+00:00")
    assert latest_slot(Interval(30, "m"), now, UTC) == at("2026-03-10T09:30:00+00:00")
    assert next_slot(Interval(30, "m"), now, UTC) == at("2026-03-10T10:00:00+00:00")
    assert latest_slot(Cron("15 */2 * * *"), now, UTC) == at("2026-03-10T08:15:00+00:00")
    assert next_slot(Cron("15 */2 * * *"), now, UTC) == at("2026-03-10T10:15:00+00:00")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        latest_slot(Interval(1, "d"), dt.datetime(2026, 3, 1), UTC)
