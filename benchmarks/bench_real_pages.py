"""Real result pages: expectations met per placement, and the time to parse each page.

Reads the pages and published expectations of ``tests/fixtures/real/`` (see the ORIGIN.md
there) with whichever serptrack ``import serptrack`` finds, so the same script measures an
older revision too:

    python benchmarks/bench_real_pages.py                      # this tree
    git worktree add --detach /tmp/serptrack-before REV
    PYTHONPATH=/tmp/serptrack-before python benchmarks/bench_real_pages.py   # REV

An expectation is one (page, placement) list of URLs in page order; it is met when the
parse gives exactly that list (each URL once, a relative one read on Google's host), or,
for a knowledge panel, when the parse has the link the snapshot names, or, where the
snapshot lists only the first results by a rule of its parser (``LEADING``), when the
parse's first URLs are those. A page without a snapshot carries what the saver's other
tests assert instead (``claims``: sources found, or none). The se-scraper pages (Bing and
DuckDuckGo and Google) carry what its mocha tests assert: at least so many results, ads,
right-column ads and (Google) right-column product ads, each with its fields at least so long;
serp-parser's pages, what its jest tests assert (the keyword; the organic count; a result's
title, snippet, URL or domain; "no results": nothing read, no looser query answered instead),
and of its smartphone pages also that the reading is ``mobile``. The parse budget is 50 ms for a
600 KB page: the figure printed is the median over pages of each page's CPU time per 600 KB
(the best of three parses, so a shared machine's load does not count), and its ratio to that
budget.
"""

from __future__ import annotations

import json
import lzma
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

import serptrack
from serptrack.errors import SerptrackError
from serptrack.parsers.bing import parse_bing
from serptrack.parsers.duckduckgo import parse_duckduckgo
from serptrack.parsers.google import parse_google
from serptrack.snapshot import Item, Snapshot

REAL = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "real"
SOURCES = {
    "websearcher": "WebSearcher 0.7.0 (Google desktop, Chrome, 2026)",
    "websearcher-2024": "WebSearcher 0.8.4 (Google desktop, Firefox, 2024-2025)",
}
SE_SCRAPER = ("se-scraper", "se-scraper (Bing, DuckDuckGo and Google desktop, 2019)")
SERP_PARSER = ("serp-parser", "serp-parser (Google without JavaScript, 2023)")
SERP_PARSER_MOBILE = ("serp-parser-mobile", "serp-parser (Google smartphone, 2023)")
ENGINES = {"bing": parse_bing, "duckduckgo": parse_duckduckgo, "google": parse_google}
#: se-scraper's result fields → the serptrack item field that carries them
FIELDS = {
    "link": "url",
    "visible_link": "url",
    "title": "title",
    "snippet": "snippet",
    "tracking_link": "tracking_url",
}
BUDGET_MS_PER_600KB = 50.0
#: WebSearcher records a link as the page writes it: a relative one is on Google's host.
GOOGLE = "https://www.google.com/"
#: Snapshots that list only the first results of a placement, by a rule of WebSearcher's
#: parser (the carousel ads on screen; a component without div.g read as one result): met
#: when the first URLs read are the snapshot's, in order. Why: ``LEADING`` in
#: tests/test_real_pages.py, which checks that the two lists name the same expectations.
LEADING = {("30926d7c7ae9", "paid"), ("f6fae1c9a96e", "organic")}


def main() -> None:
    per_600kb: list[float] = []
    for folder, name in SOURCES.items():
        measure(REAL / folder, name, per_600kb)
    measure_se_scraper(REAL / SE_SCRAPER[0], SE_SCRAPER[1], per_600kb)
    measure_serp_parser(REAL / SERP_PARSER[0], SERP_PARSER[1], per_600kb)
    if (REAL / SERP_PARSER_MOBILE[0]).is_dir():  # absent from revisions before it was added
        measure_serp_parser(REAL / SERP_PARSER_MOBILE[0], SERP_PARSER_MOBILE[1], per_600kb)
    median = statistics.median(per_600kb)
    print(
        f"parse time (CPU, best of {PARSES}): median {median:.1f} ms per 600 KB of page over "
        f"{len(per_600kb)} pages "
        f"(budget {BUDGET_MS_PER_600KB:.0f} ms, ratio {median / BUDGET_MS_PER_600KB:.2f})"
    )


def measure(root: Path, name: str, per_600kb: list[float]) -> None:
    expected = json.loads((root / "expected.json").read_text(encoding="utf-8"))
    met: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for page, entry in expected.items():
        snapshot = _timed_parse(parse_google, root / f"{page}.html.xz", per_600kb)
        results = snapshot.results if snapshot else []
        for placement, urls in entry.get("urls", {}).items():
            if not urls and placement != "organic":
                continue
            read = [i.url for i in results if i.placement == placement]
            got = list(dict.fromkeys(read))
            urls = [urljoin(GOOGLE, url) for url in urls]
            total[placement] += 1
            if (page, placement) in LEADING:
                met[placement] += read[: len(urls)] == urls
            elif placement == "knowledge_panel":
                met[placement] += set(urls) <= set(got)
            else:
                met[placement] += got == list(dict.fromkeys(urls))
        for placement, claim in entry.get("claims", {}).items():
            found = [i for i in results if i.placement == placement]
            total[placement] += 1
            met[placement] += (not found) if claim == "none" else bool(found)
    print(f"serptrack from {Path(serptrack.__file__).parent}")
    _print_tally(name, len(expected), met, total)


def measure_se_scraper(root: Path, name: str, per_600kb: list[float]) -> None:
    expected = json.loads((root / "expected.json").read_text(encoding="utf-8"))
    met: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for page, entry in expected.items():
        snapshot = _timed_parse(ENGINES[entry["engine"]], root / f"{page}.html.xz", per_600kb)
        results = snapshot.results if snapshot else []
        organic = [i for i in results if i.placement == "organic"]
        paid = [i for i in results if i.placement == "paid"]
        checks = {
            "organic": len(organic) >= entry["min_organic"],
            "paid": len(paid) >= entry["min_ads"],
            "organic fields": _fields_hold(organic, entry["organic_fields"]),
            "paid fields": _fields_hold(paid, entry["ad_fields"]),
        }
        if entry.get("min_side_ads") is not None:
            side = [i for i in paid if i.block == "side"]
            checks["side ads"] = len(side) >= entry["min_side_ads"]
        if entry.get("min_shopping") is not None:
            shopping = [i for i in results if i.placement == "shopping" and i.block == "side"]
            checks["side products"] = len(shopping) >= entry["min_shopping"] and _fields_hold(
                shopping, entry["shopping_fields"]
            )
        for check, held in checks.items():
            total[check] += 1
            met[check] += held
    _print_tally(name, len(expected), met, total)


def measure_serp_parser(root: Path, name: str, per_600kb: list[float]) -> None:
    """serp-parser's jest expectations: the keyword, the organic count, single results'
    fields, and for a "no results" page no result of any placement and no looser query
    answered instead."""
    expected = json.loads((root / "expected.json").read_text(encoding="utf-8"))
    met: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for page, entry in expected.items():
        snapshot = _timed_parse(ENGINES[entry["engine"]], root / f"{page}.html.xz", per_600kb)
        results = snapshot.results if snapshot else []
        organic = [i for i in results if i.placement == "organic"]
        checks = {}
        if "organic" in entry:
            checks["organic"] = snapshot is not None and len(organic) == entry["organic"]
        if "keyword" in entry:  # serp.keyword, where the tests assert it
            checks["query"] = snapshot is not None and snapshot.query == entry["keyword"]
        if "ads" in entry:  # every ad card (GoogleNojsSERP puts all in adwordsTop), in order
            cards = BeautifulSoup(lzma.decompress((root / f"{page}.html.xz").read_bytes()), "lxml")
            clicks = [
                str(a["href"])
                for card in cards.select("." + entry["ads"])
                for a in card.select("a[href]")[:1]
            ]
            paid = [i.tracking_url for i in results if i.placement == "paid"]
            checks["all ads"] = bool(clicks) and paid == clicks
        for claim in entry.get("results", []):
            placed = [i for i in results if i.placement == claim["placement"]]
            total[f"{claim['placement']} fields"] += 1
            met[f"{claim['placement']} fields"] += _claim_holds(placed, claim)
        if entry.get("no_results"):
            answered = getattr(snapshot, "answered_query", None)
            checks["no results"] = snapshot is not None and not results and answered is None
        if "device" in entry:  # a page serp-parser files and parses as a smartphone page
            checks["device"] = snapshot is not None and snapshot.device == entry["device"]
        for check, held in checks.items():
            total[check] += 1
            met[check] += held
    _print_tally(name, len(expected), met, total)


#: parses timed per page; the best counts (CPU time: the machine may be shared)
PARSES = 3


def _timed_parse(
    parse: Callable[[bytes], Snapshot], path: Path, per_600kb: list[float]
) -> Snapshot | None:
    """The page at ``path`` parsed (None when refused: an older revision may refuse a page,
    and its expectations fail), its parse time per 600 KB added to ``per_600kb``: the best
    CPU time of :data:`PARSES` parses."""
    html = lzma.decompress(path.read_bytes())
    best = float("inf")
    snapshot: Snapshot | None = None
    for _ in range(PARSES):
        start = time.process_time()
        try:
            snapshot = parse(html)
        except SerptrackError:
            snapshot = None
        best = min(best, time.process_time() - start)
    per_600kb.append(best * 1000 * 600_000 / len(html))
    return snapshot


def _print_tally(name: str, pages: int, met: Counter[str], total: Counter[str]) -> None:
    print(f"source: {name}, {pages} pages")
    for check in sorted(total):
        print(f"  {check:<15} {met[check]:>3} / {total[check]:<3} expectations met")
    print(f"  {'all':<15} {sum(met.values()):>3} / {sum(total.values()):<3}")


def _claim_holds(items: list[Item], claim: dict[str, object]) -> bool:
    """serp-parser's ``expect(serp.organic[i].<field>).toBe(value)`` (or of an ad); a domain
    is a host (of an ad: of its click link, ``tracking_host``)."""
    index, field = int(str(claim["index"])), str(claim["field"])
    if index >= len(items):
        return False
    item = items[index]
    if field == "domain":
        return _host(item.url) == claim["value"]
    if field == "tracking_host":
        return _host(item.tracking_url or "") == claim["value"]
    return bool(getattr(item, field) == claim["value"])


def _host(url: str) -> str:
    """A URL's host as written (serp-parser's ``domain``: ``www.`` kept)."""
    return urlsplit(url).hostname or ""


def _fields_hold(items: list[Item], rules: dict[str, int]) -> bool:
    return all(
        len(getattr(item, FIELDS[field]) or "") >= least
        for item in items
        for field, least in rules.items()
    )


if __name__ == "__main__":
    sys.exit(main())
