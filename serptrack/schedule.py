"""Check schedules: an interval (``30m``, ``6h``, ``1d``, ``2w``) or a 5-field cron expression.

Slots are computed on the wall clock of the keyword's time zone and returned in UTC:

- minutes and hours count from local midnight each day (``6h`` → 00:00, 06:00, 12:00, 18:00);
- ``Nd`` falls at local midnight every N days, counted from 1970-01-01;
- ``Nw`` falls at local midnight on Mondays, every N weeks, counted from 1970-01-05;
- a cron expression is evaluated by croniter in the local time zone.

On a daylight-saving change a wall-clock time that does not exist is moved forward by the
zone's rules and a repeated one is used once, so no slot is ever counted twice.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from .errors import ScheduleError

__all__ = [
    "Cron",
    "Interval",
    "Schedule",
    "latest_slot",
    "next_slot",
    "parse_schedule",
    "parse_timezone",
    "slots_between",
]

_INTERVAL = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_DAY = dt.timedelta(days=1)
_EPOCH = dt.date(1970, 1, 1)
_EPOCH_MONDAY = dt.date(1970, 1, 5)


@dataclass(frozen=True)
class Interval:
    """Every ``count`` ``unit`` (m, h, d or w)."""

    count: int
    unit: str

    @property
    def length(self) -> dt.timedelta:
        """The nominal length of one interval."""
        return dt.timedelta(seconds=self.count * _UNIT_SECONDS[self.unit])

    def __str__(self) -> str:
        """The interval as a campaign file writes it, e.g. ``6h``."""
        return f"{self.count}{self.unit}"


@dataclass(frozen=True)
class Cron:
    """A standard 5-field cron expression."""

    expression: str

    def __str__(self) -> str:
        """The expression as given."""
        return self.expression


Schedule = Interval | Cron


def parse_schedule(text: str) -> Schedule:
    """Parse ``30m``, ``6h``, ``1d``, ``1w`` or a 5-field cron expression."""
    match = _INTERVAL.match(text)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        if count < 1:
            raise ScheduleError(f"schedule {text!r}: the interval must be at least 1{unit}")
        if unit in "mh" and count * _UNIT_SECONDS[unit] > 86400:
            raise ScheduleError(f"schedule {text!r}: use days for intervals over 24h (e.g. '2d')")
        return Interval(count, unit)
    fields = text.split()
    if len(fields) == 5 and croniter.is_valid(text):
        return Cron(" ".join(fields))
    raise ScheduleError(
        f"schedule {text!r} is neither an interval (30m, 6h, 1d, 1w) "
        "nor a 5-field cron expression (e.g. '0 7 * * *')"
    )


def parse_timezone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name`` (``UTC``, ``Europe/Paris`` ...)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/Paris'"
        ) from None


def slots_between(
    schedule: Schedule, start: dt.datetime, end: dt.datetime, tz: ZoneInfo
) -> list[dt.datetime]:
    """Every slot with ``start <= slot <= end``, in UTC, oldest first."""
    _require_aware(start, end)
    if end < start:
        return []
    if isinstance(schedule, Cron):
        return _cron_slots(schedule, start, end, tz)
    first = start.astimezone(tz).date() - _DAY
    last = end.astimezone(tz).date()
    slots: set[dt.datetime] = set()
    day = first
    while day <= last:
        for local in _interval_times_on(schedule, day, tz):
            utc = local.astimezone(dt.UTC)
            if start <= utc <= end:
                slots.add(utc)
        day += _DAY
    return sorted(slots)


def latest_slot(schedule: Schedule, now: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """The most recent slot at or before ``now`` (None only for a cron that never fired)."""
    _require_aware(now)
    if isinstance(schedule, Cron):
        local = now.astimezone(tz)
        itr = croniter(schedule.expression, local + dt.timedelta(seconds=1))
        return _to_utc(itr.get_prev(dt.datetime))
    window = max(schedule.length, _DAY) * 2 + _DAY
    slots = slots_between(schedule, now - window, now, tz)
    return slots[-1] if slots else None


def next_slot(schedule: Schedule, now: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first slot strictly after ``now``."""
    _require_aware(now)
    if isinstance(schedule, Cron):
        itr = croniter(schedule.expression, now.astimezone(tz))
        return _to_utc(itr.get_next(dt.datetime))
    window = max(schedule.length, _DAY) * 2 + _DAY
    slots = slots_between(schedule, now + dt.timedelta(microseconds=1), now + window, tz)
    return slots[0]


def _interval_times_on(schedule: Interval, day: dt.date, tz: ZoneInfo) -> list[dt.datetime]:
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    if schedule.unit == "d":
        return [midnight] if (day - _EPOCH).days % schedule.count == 0 else []
    if schedule.unit == "w":
        days = (day - _EPOCH_MONDAY).days
        return [midnight] if days % 7 == 0 and (days // 7) % schedule.count == 0 else []
    step = schedule.length
    times = []
    wall = dt.datetime.combine(day, dt.time())
    while wall.date() == day:
        times.append(wall.replace(tzinfo=tz))
        wall += step
    return times


def _cron_slots(
    schedule: Cron, start: dt.datetime, end: dt.datetime, tz: ZoneInfo
) -> list[dt.datetime]:
    itr = croniter(schedule.expression, start.astimezone(tz) - dt.timedelta(seconds=1))
    slots: list[dt.datetime] = []
    while True:
        slot = _to_utc(itr.get_next(dt.datetime))
        if slot > end:
            return slots
        if slot >= start and (not slots or slot != slots[-1]):
            slots.append(slot)


def _to_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _require_aware(*values: dt.datetime) -> None:
    for value in values:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
