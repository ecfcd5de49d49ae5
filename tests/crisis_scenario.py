"""A hand-built replay crisis, shared by the analysis tests: two keywords over 14 days.

"acme breach" (us-en), organic / page leaders by day:

    day  page                          organic  page   notes
    1    CN#1 N OS#3                   C        C
    2    CN#1 OS#2                     C        C
    3    [ad OAD] CN#1 OS#2            C        O      ad-driven page overtake
    4    (no replay file: failed)
    5    (captcha page: blocked)
    6    [ad OAD] OS#1 CN#2            O        O      organic overtake; ad while #1
    7    [ad OAD] OS#1 CN#2            O        O      ad while #1
    8    CW#1 OS#2 CN#3                C        C      lost
    9    CW#1 OS#2                     C        C
    10   OS#1 CW#2                     O        O      regained
    11   OS#1 N CW#3                   O        O
    12   CW#1 OS#2                     C        C      one-day flip
    13   OS#1 CW#2                     O        O
    14   [ad OAD] OS#1 CW#2            O        O      ad while #1

"acme fuite" (fr-fr): nobody leads on day 1; the critical article on day 2 (only under
another spelling of its URL); only an official ad on day 3 (page leads, organic nobody);
the official statement behind a Google redirect on day 4; the brand's Twitter account
(``www.`` and a trailing ``/``) from day 5; ``blog.example/acme-leak``, neutral in version 1
of the campaign and critical in version 2, on top on days 6 and 7; three unlabelled pages of
the brand (its help domain, its LinkedIn account, a tweet) low on day 7. No files after day 8.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from serptrack.cli import cli
from tests.conftest import new_database, write_snapshot

CAMPAIGN = """\
[campaign]
name = "acme-breach"
brand = "Acme"
crisis_start = 2026-04-01
domains = ["acme-help.example"]
accounts = ["linkedin.com/company/acme"]

[defaults]
provider = "replay"
engine = "google"
depth = 10
schedule = "1d"

[providers.replay]
path = "fixtures"

[[keywords]]
query = "acme breach"
country = "us"
language = "en"

[[keywords]]
query = "acme fuite"
country = "fr"
language = "fr"

[labels]
official = ["acme.example", "https://twitter.com/acme_help"]
critical = ["https://news.example/acme-breach", "watchdog.example/acme/*"{extra_critical}]

[[annotations]]
date = 2026-04-02
text = "Statement published"

[[annotations]]
date = 2026-04-03
text = "Ads start"
query = "acme breach"

[[annotations]]
date = 2026-04-09
text = "Press conference"
"""

OS = "https://acme.example/statement"
OAD = "https://acme.example/breach-faq"
CN = "https://news.example/acme-breach"
CW = "https://watchdog.example/acme/report"
CNV = "http://WWW.News.example/acme-breach/?utm_source=feed#comments"
OSR = "https://www.google.com/url?q=https://acme.example/statement&sa=U"
TW = "https://www.twitter.com/acme_help/"
BL = "https://blog.example/acme-leak"
HELP = "https://support.acme-help.example/faq"  # on [campaign] domains, no label
LI = "https://www.linkedin.com/company/acme/posts/42"  # under [campaign] accounts
TWS = "https://twitter.com/acme_help/status/1"  # under an official URL

TITLES = {
    OS: "Our statement on the data breach | Acme",
    OAD: "Acme breach FAQ - what to do now",
    CN: "Acme breach exposed millions of customers",
    CW: "Watchdog report: how Acme failed its users",
    CNV: "Acme breach exposed millions of customers",
    OSR: "Our statement on the data breach | Acme",
    TW: "Acme Help (@acme_help)",
    BL: "Acme data leak: what we know",
    HELP: "Acme Help Center",
    LI: "Acme on LinkedIn: our response",
    TWS: "Acme Help on X: an update on the breach",
}

DAYS = [f"2026-04-{day:02d}" for day in range(1, 15)]
QUERIES = ("acme breach", "acme fuite")
BLOCK_PAGE = (
    "<html><body><form id='captcha-form' action='/sorry/index'>"
    "Our systems have detected unusual traffic from your computer network.</form></body></html>"
)


def _neutral(prefix: str, count: int) -> list[str]:
    return [f"https://{prefix}{i}.example/acme" for i in range(1, count + 1)]


def _items(urls: list[str], ads: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [
        {"placement": "paid", "block": "top", "url": url, "title": TITLES[url], "snippet": ""}
        for url in ads
    ]
    for url in urls:
        results.append(
            {
                "placement": "organic",
                "url": url,
                "title": TITLES.get(url, f"Forum thread about Acme {url[8:14]}"),
                "snippet": "Everything about Acme and its customers.",
            }
        )
    return results


def breach_page(day: int) -> list[dict[str, Any]] | None:
    """The "acme breach" page of a day (1-14), None when there is no ordinary page."""
    n = _neutral("site", 4)
    pages: dict[int, list[dict[str, Any]]] = {
        1: _items([CN, n[0], OS, n[1], n[2], n[3]]),
        2: _items([CN, OS, *n]),
        3: _items([CN, OS, *n], ads=(OAD,)),
        6: _items([OS, CN, *n], ads=(OAD,)),
        7: _items([OS, CN, *n], ads=(OAD,)),
        8: _items([CW, OS, CN, *n[:3]]),
        9: _items([CW, OS, *n]),
        10: _items([OS, CW, *n]),
        11: _items([OS, n[0], CW, *n[1:]]),
        12: _items([CW, OS, *n]),
        13: _items([OS, CW, *n]),
        14: _items([OS, CW, *n], ads=(OAD,)),
    }
    return pages.get(day)


def fuite_page(day: int) -> list[dict[str, Any]] | None:
    """The "acme fuite" page of a day (1-8), None after."""
    m = _neutral("forum", 5)
    pages: dict[int, list[dict[str, Any]]] = {
        1: _items(m),
        2: _items([m[0], m[1], CNV, m[2], m[3]]),
        3: _items(m, ads=(OAD,)),
        4: _items([m[0], OSR, m[1], m[2], m[3]]),
        5: _items([TW, CNV, *m[:3]]),
        6: _items([BL, TW, CN, *m[:2]]),
        7: _items([BL, TW, *m[:3], HELP, LI, TWS]),
        8: _items([TW, BL, *m[:3]]),
    }
    return pages.get(day)


def campaign_text(version: int = 1) -> str:
    """The campaign file; version 2 also labels blog.example/acme-leak critical."""
    extra = ', "https://blog.example/acme-leak"' if version == 2 else ""
    return CAMPAIGN.replace("{extra_critical}", extra)


def write_scenario(folder: Path) -> Path:
    """Write the campaign file and its replay fixtures under ``folder``; return the file."""
    fixtures = folder / "fixtures"
    for index, day in enumerate(DAYS, start=1):
        for query, country, page in (
            ("acme breach", "us", breach_page(index)),
            ("acme fuite", "fr", fuite_page(index)),
        ):
            if page is not None:
                write_snapshot(
                    fixtures,
                    day,
                    query,
                    page,
                    observed_at=f"{day}T07:00:00Z",
                    country=country,
                    language=country if country == "fr" else "en",
                )
    (fixtures / DAYS[4]).mkdir(parents=True, exist_ok=True)
    (fixtures / DAYS[4] / "acme-breach.html").write_text(BLOCK_PAGE, encoding="utf-8")
    path = folder / "campaign.toml"
    path.write_text(campaign_text(1), encoding="utf-8")
    return path


def invoke(runner: CliRunner, *args: str) -> Result:
    """Run the CLI with stdout and stderr apart."""
    return runner.invoke(cli, list(args))


def build(runner: CliRunner, folder: Path) -> str:
    """Apply and backfill the scenario into a fresh database; return the --db target."""
    db = new_database(folder)
    campaign = write_scenario(folder)
    assert invoke(runner, "apply", str(campaign), "--db", db).exit_code == 0
    result = invoke(
        runner, "backfill", "acme-breach", "--from", DAYS[0], "--to", DAYS[-1], "--db", db
    )
    assert result.exit_code == 1  # the missing and blocked days fail, and so on
    return db


def relabel(runner: CliRunner, folder: Path, db: str, version: int) -> None:
    """Re-apply the campaign file at ``version`` (labels only change)."""
    path = folder / "campaign.toml"
    path.write_text(campaign_text(version), encoding="utf-8")
    assert invoke(runner, "apply", str(path), "--db", db).exit_code == 0


def json_of(runner: CliRunner, *args: str) -> Any:
    """Run a command with --json, assert it succeeded, and parse its stdout."""
    result = invoke(runner, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def check_ids(runner: CliRunner, db: str) -> dict[tuple[str, str], int]:
    """(query, day) → check id, as stored (backfill runs checks concurrently)."""
    rows = json_of(runner, "history", "acme-breach", "--db", db)
    return {(row["query"], row["observed_at"][:10]): row["check_id"] for row in rows}
