"""A campaign with months of history before the month a read is about, and the same month alone.

Two campaigns in one database: ``long`` holds every day from 1 January 2026 to 30 April 2026,
``alone`` the April days of the same keywords only. Each day's page is built from the
official and critical ranks a keyword's script gives it (None: absent), between neutral
results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session

from serptrack import store
from serptrack.campaign import load_campaign_file
from serptrack.snapshot import Item
from serptrack.store.checks import CheckRecord, record_checks

FIRST = dt.datetime(2026, 1, 1, 7, 0, tzinfo=dt.UTC)  # day 0
APRIL = 90  # the day index of 1 April 2026
DAYS = 120  # to 30 April
START = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)

Ranks = tuple[int | None, int | None]


def steady(day: int) -> Ranks:
    """Critical leads every day before April; April alternates, official every third day."""
    if day < APRIL:
        return 4, 1
    return (1, 3) if day % 3 == 1 else (5, 2)


def early(day: int) -> Ranks:
    """Overtaken on day 2, lost on day 10, overtaken again 40 days before April (the only
    change for weeks), then in April a three-day critical streak and gaps where nobody leads."""
    if day < 2:
        return 3, 1
    if day < 10:
        return 1, 2
    if day < APRIL - 40:
        return 6, 2
    if day in (100, 101, 102):
        return 4, 1
    if day in (95, 110):
        return None, None
    return 2, 7


def late(day: int) -> Ranks:
    """Nothing labelled before April; then critical first, official from the 10th."""
    if day < APRIL:
        return None, None
    return (3, 1) if day < APRIL + 9 else (1, 2)


SCRIPTS: dict[str, Callable[[int], Ranks]] = {"steady": steady, "early": early, "late": late}


def page(query: str, day: int) -> tuple[Item, ...]:
    """The organic page of ``query`` on ``day``: 10 results."""
    official, critical = SCRIPTS[query](day)
    urls = [f"https://site{(i + day) % 40}.example/{query}/{i}" for i in range(10)]
    if official is not None:
        urls[official - 1] = "https://acme.example/statement"
    if critical is not None:
        urls[critical - 1] = f"https://critic.example/{query}"
    return tuple(Item("organic", url) for url in urls)


def build(db: str, folder: Path) -> None:
    """Both campaigns and their checks."""
    engine = store.connect(db)
    (folder / "fixtures").mkdir(exist_ok=True)
    for name, first in (("long", 0), ("alone", APRIL)):
        lines = [
            f'[campaign]\nname = "{name}"\ncrisis_start = 2026-01-01\n',
            '[labels]\nofficial = ["acme.example"]\ncritical = ["critic.example"]\n',
            '[[annotations]]\ndate = 2026-04-05\ntext = "Statement"\n',
            '[[annotations]]\ndate = 2026-02-01\ntext = "Earlier"\n',
        ]
        lines += [f'[[keywords]]\nquery = "{q}"\nprovider = "replay"\n' for q in SCRIPTS]
        lines.append('[providers.replay]\npath = "fixtures"\n')
        path = folder / f"{name}.toml"
        path.write_text("\n".join(lines))
        store.apply_campaign(engine, load_campaign_file(path))
        with Session(engine) as session:
            campaign = store.get_campaign(session, name)
            ids = {k.query: k.id or 0 for k in store.campaign_keywords(session, campaign)}
        records = [
            CheckRecord(
                keyword_id=ids[query],
                provider="replay",
                observed_at=FIRST + dt.timedelta(days=day),
                items=page(query, day),
            )
            for day in range(first, DAYS)
            for query in SCRIPTS
        ]
        record_checks(engine, records)
    engine.dispose()
