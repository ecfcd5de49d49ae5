"""A day-by-day replay crisis for the alert tests: one keyword, nine days, every event kind.

"acme recall" (us-en); organic top (official O*, critical C*, filler F* labelled neutral,
U1 unlabelled), a top ad, a news box:

    day  organic                    ad    news  events expected
    1    CN F1 OS F2 ...            OAD   -     (baseline)
    2    CN OS F1 ...               OAD   CW    critical-in-feature CW
    3    (no replay file: failed)
    4    (captcha page: blocked)                failing (2 in a row)
    5    OS CN F1 ...               -     CW    overtake organic, own-ad-missing
    6    CW OS CN U1 F1 ...         -     CW    lost organic + page, critical-enters CW,
                                                new-url U1, critical-share
    7    (as day 6)                             -
    8    OS OF F1 CW CN ...         -     -     overtake organic + page
    9    CW CN F1 OS OF ...         -     -     lost organic + page, critical-enters CW and
                                                CN, official-leaves OS and OF, critical-share

The page view counts the ad: on days 1-2 the official ad leads the page, so day 5's
organic overtake is no page event (the official side already led the page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import write_snapshot

OS = "https://acme.example/statement"
OF = "https://acme.example/faq"
OAD = "https://acme.example/recall-ad"
CN = "https://news.example/acme-recall"
CW = "https://watchdog.example/acme"
U1 = "https://unknown-blog.example/acme-recall-explained"
FILLER = [f"https://filler{i}.example/acme" for i in range(1, 9)]
DAYS = [f"2026-05-{day:02d}" for day in range(1, 10)]
QUERY = "acme recall"

CAMPAIGN = """\
[campaign]
name = "acme-alerts"
brand = "Acme"

[defaults]
provider = "replay"
schedule = "1d"

[providers.replay]
path = "fixtures"

[[keywords]]
query = "acme recall"
country = "us"
language = "en"

[labels]
official = ["acme.example"]
critical = ["news.example", "watchdog.example"]
neutral = [{fillers}]

[alerts]
cooldown = {cooldown}
daily_cap = {daily_cap}

[alerts.channels.ops]
type = "webhook"
url_env = "ACME_HOOK_URL"
secret_env = "ACME_HOOK_SECRET"
allow_private = true

[[alerts.rules]]
on = "overtake"
channels = ["ops"]

[[alerts.rules]]
on = "lost"
channels = ["ops"]

[[alerts.rules]]
on = "critical-enters"
top = 3
channels = ["ops"]

[[alerts.rules]]
on = "official-leaves"
top = 3
channels = ["ops"]

[[alerts.rules]]
on = "new-url"
top = 5
channels = ["ops"]

[[alerts.rules]]
on = "critical-in-feature"
channels = ["ops"]

[[alerts.rules]]
on = "critical-share"
points = 10
channels = ["ops"]

[[alerts.rules]]
on = "own-ad-missing"
channels = ["ops"]

[[alerts.rules]]
on = "failing"
after = 2
channels = ["ops"]
"""

#: (day, kind, view, url) of every event the scenario fires, oldest first
EXPECTED = [
    ("2026-05-02", "critical-in-feature", None, CW),
    ("2026-05-04", "failing", None, None),
    ("2026-05-05", "overtake", "organic", OS),
    ("2026-05-05", "own-ad-missing", None, None),
    ("2026-05-06", "lost", "organic", CW),
    ("2026-05-06", "lost", "page", CW),
    ("2026-05-06", "critical-enters", None, CW),
    ("2026-05-06", "new-url", None, U1),
    ("2026-05-06", "critical-share", None, None),
    ("2026-05-08", "overtake", "organic", OS),
    ("2026-05-08", "overtake", "page", OS),
    ("2026-05-09", "lost", "organic", CW),
    ("2026-05-09", "lost", "page", CW),
    ("2026-05-09", "critical-enters", None, CW),
    ("2026-05-09", "critical-enters", None, CN),
    ("2026-05-09", "official-leaves", None, OS),
    ("2026-05-09", "official-leaves", None, OF),
    ("2026-05-09", "critical-share", None, None),
]
BLOCK_PAGE = (
    "<html><body><form id='captcha-form' action='/sorry/index'>"
    "Our systems have detected unusual traffic from your computer network.</form></body></html>"
)


def campaign_text(cooldown: str = "0", daily_cap: int = 50) -> str:
    """The campaign file, with its noise control."""
    fillers = ", ".join(f'"{url.split("/")[2]}"' for url in FILLER)
    return CAMPAIGN.format(fillers=fillers, cooldown=f'"{cooldown}"', daily_cap=daily_cap)


def _page(
    organic: list[str], ads: tuple[str, ...] = (), news: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"placement": "paid", "block": "top", "url": url, "title": "Acme recall: the facts"}
        for url in ads
    ]
    items += [
        {"placement": "organic", "url": url, "title": f"About {url}", "snippet": "Acme recall"}
        for url in organic
    ]
    items += [{"placement": "news", "url": url, "title": f"News: {url}"} for url in news]
    return items


def pages() -> dict[int, list[dict[str, Any]]]:
    """The ordinary result page of each day that has one (days 3 and 4 have none)."""
    f = FILLER
    day6 = _page([CW, OS, CN, U1, *f[:6]], news=(CW,))
    return {
        1: _page([CN, f[0], OS, *f[1:8]], ads=(OAD,)),
        2: _page([CN, OS, *f[:8]], ads=(OAD,), news=(CW,)),
        5: _page([OS, CN, *f[:8]], news=(CW,)),
        6: day6,
        7: day6,
        8: _page([OS, OF, f[0], CW, CN, *f[1:6]]),
        9: _page([CW, CN, f[0], OS, OF, *f[1:6]]),
    }


def write_scenario(folder: Path, **noise: Any) -> Path:
    """Write the campaign file and its replay fixtures under ``folder``; return the file."""
    fixtures = folder / "fixtures"
    for day, items in pages().items():
        write_snapshot(
            fixtures,
            DAYS[day - 1],
            QUERY,
            items,
            observed_at=f"{DAYS[day - 1]}T07:00:00Z",
            country="us",
            language="en",
        )
    (fixtures / DAYS[2]).mkdir(parents=True, exist_ok=True)  # day 3: no file
    blocked = fixtures / DAYS[3]
    blocked.mkdir(parents=True, exist_ok=True)
    (blocked / "acme-recall.html").write_text(BLOCK_PAGE, encoding="utf-8")
    path = folder / "campaign.toml"
    path.write_text(campaign_text(**noise), encoding="utf-8")
    return path
