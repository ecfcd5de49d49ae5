"""Real Google result pages, read as their savers' own published parses say they should be.

The pages and expectations come from WebSearcher's source archive (see
``tests/fixtures/real/websearcher/ORIGIN.md``). Each expectation is one list: the URLs of
one placement on one page, in page order, as WebSearcher's snapshot lists them (each URL
once: the snapshots repeat a URL a carousel shows twice; a relative one is on Google's
host). Where a snapshot lists only the first results of a placement by a rule of
WebSearcher's parser, not of the page, ``LEADING`` says which rule, and the first URLs
serptrack reads must be those. ``KNOWN`` names any that do not hold yet, with the reason;
they are strict xfails, so one that starts to hold fails until it is taken off the list.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import lzma
from functools import cache
from pathlib import Path
from urllib.parse import urljoin

import pytest
from _pytest.mark import ParameterSet
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sqlmodel import Session, select

from serptrack import store
from serptrack.cli import cli
from serptrack.models import Check, Payload
from serptrack.parsers.google import parse_google
from serptrack.snapshot import Snapshot

REAL = Path(__file__).parent / "fixtures" / "real"
BENCH = Path(__file__).parent.parent / "benchmarks" / "bench_real_pages.py"
HERE = REAL / "websearcher"
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
#: Pages saved in 2024 and 2025 by another crawler (Firefox on Windows), from WebSearcher
#: 0.8.4: four with snapshots ("urls"), the rest with what its other tests assert ("claims").
HERE_2024 = REAL / "websearcher-2024"
EXPECTED_2024 = json.loads((HERE_2024 / "expected.json").read_text(encoding="utf-8"))
FOLDERS = {page: HERE for page in EXPECTED} | {page: HERE_2024 for page in EXPECTED_2024}
ALL = EXPECTED | EXPECTED_2024

#: (page, placement) → why serptrack's reading differs from the published expectation
#: (strict xfails; none left).
KNOWN: dict[tuple[str, str], str] = {}
#: Snapshots that list only the first results of a placement, by a rule of WebSearcher's
#: parser rather than of the page (each checked in WebSearcher's source, as said here): the
#: first URLs serptrack reads there are the snapshot's, in order, repeats kept. The bench
#: counts them the same way (its ``LEADING``).
LEADING = {
    ("30926d7c7ae9", "paid"): (
        # WebSearcher's ad parser (WebSearcher/component_parsers/ads.py, parse_ad_carousel,
        # filter_visible=True in every version of it the search index holds: the
        # BeautifulSoup ones up to 0.8 and the selectolax one of 0.9 on) keeps a carousel
        # card (g-inner-card) only when its data-viewurl is absent or empty: a card whose
        # view-tracking URL is still pending had not been scrolled into view when the page
        # was saved. Here cards 0-4 have an empty data-viewurl and cards 5-19 a pending one
        # (test_the_leading_expectations_follow_websearchers_rules), so the snapshot lists
        # the five cards on screen; serptrack reads all 20 cards as ads, the first five
        # being those five (test_a_carousel_of_activity_ads_is_read_ad_by_ad).
        "the snapshot keeps the 5 carousel ads on screen (no pending data-viewurl) of 20"
    ),
    ("f6fae1c9a96e", "organic"): (
        # WebSearcher's general parser (component_parsers/general.py, find_subcomponents,
        # since 0.6.7: .planners/plans/005-parser-updates-v0-6-7a2/plan.md, PR #93) splits
        # a component into results at div.g (else div.d4rhi, div.PmEWq)
        # and otherwise "treat[s] entire component as single result", whose URL is its
        # first title link (div.yuRUbf). This page's organic results are nine bare
        # div.tF2Cxc blocks in one component with no div.g, so 0.7.0 lists one organic
        # result: the first (its snapshot of this page, as stored at commit c7fbde20c963…,
        # has one "general" row, Yahoo Finance's quote page). WebSearcher 0.9.0 "split bare-tF2Cxc organic bundles in
        # general into one result per organic" (its CHANGELOG), and its snapshot of this
        # page lists the nine serptrack reads, in the same order (WEBSEARCHER_0_9_ORGANIC).
        "0.7.0 reads a component without div.g as one result: its first title link"
    ),
}
#: The organic results of "aapl stock price" (f6fae1c9a96e) in WebSearcher's snapshot after
#: 0.9.0 split bare-tF2Cxc bundles (gitronald/WebSearcher,
#: tests/__snapshots__/test_parse_serp/test_parse_serp[f6fae1c9a96e].json at commit
#: 034ffacccc9631f7627ddd61e29e0c8922f52040, its "general" rows in order).
WEBSEARCHER_0_9_ORGANIC = [
    "https://finance.yahoo.com/quote/AAPL/",
    "https://investor.apple.com/stock-price/default.aspx",
    "https://www.cnbc.com/quotes/AAPL",
    "https://robinhood.com/us/en/stocks/AAPL/",
    "https://www.cnn.com/markets/stocks/AAPL",
    "https://www.tradingview.com/symbols/NASDAQ-AAPL/",
    "https://www.marketwatch.com/investing/stock/aapl?gaa_at=eafs&gaa_n=AWEtsqcI6rmqUhWQWXdB7nftMsbdz0oi6rBjW11Tzh3nhNMiGIKNC8cHe7SK&gaa_ts=698683a6&gaa_sig=EWhd5MzXq23xs1HpjtdlBERI45VQgDEcNeNTdIO8shte_PMlA3yDWfCvU3GkK3wvnu9R5hSmf976Qy0ZtooBIQ%3D%3D",
    "https://www.google.com/finance/quote/AAPL:NASDAQ?hl=en",
    "https://www.macrotrends.net/stocks/charts/AAPL/apple/stock-price-history",
]
#: The page's own host: WebSearcher records a link as the page writes it, so a relative one
#: (a Local Services ad's ``/localservices/prolist?…``, a sponsored place's ``/aclk?…``) is
#: an address on Google's host, which serptrack stores absolute.
GOOGLE = "https://www.google.com/"


@cache
def snapshot(page: str) -> Snapshot:
    return parse_google(lzma.decompress((FOLDERS[page] / f"{page}.html.xz").read_bytes()))


def unique(urls: list[str]) -> list[str]:
    return list(dict.fromkeys(urls))


def published(page: str, placement: str) -> list[str]:
    """The URLs the snapshot lists for one placement, each absolute, in its order."""
    return [urljoin(GOOGLE, url) for url in ALL[page]["urls"][placement]]


def cases() -> list[ParameterSet]:
    out = []
    for page, entry in ALL.items():
        for placement, urls in entry.get("urls", {}).items():
            if not urls and placement != "organic":
                continue
            marks = []
            reason = KNOWN.get((page, placement))
            if reason:
                marks.append(pytest.mark.xfail(reason=reason, strict=True))
            out.append(pytest.param(page, placement, id=f"{page}-{placement}", marks=marks))
    return out


def test_every_page_is_the_saved_one() -> None:
    for page, entry in ALL.items():
        html = lzma.decompress((FOLDERS[page] / f"{page}.html.xz").read_bytes())
        assert hashlib.sha256(html).hexdigest() == entry["sha256"], page


@pytest.mark.parametrize(("page", "placement"), cases())
def test_placement_urls_match_the_published_parse(page: str, placement: str) -> None:
    urls = [item.url for item in snapshot(page).results if item.placement == placement]
    if (page, placement) in LEADING:
        expected = published(page, placement)
        assert urls[: len(expected)] == expected, LEADING[page, placement]
        return
    got = unique(urls)
    if placement == "knowledge_panel":
        # The snapshot names one link of the panel (its description's source); serptrack
        # reads every link the panel gives for its entity.
        assert set(published(page, placement)) <= set(got)
        return
    assert got == unique(published(page, placement))


def test_the_leading_expectations_follow_websearchers_rules() -> None:
    """What ``LEADING`` says of the two pages holds of the saved pages themselves."""
    carousel = _soup("30926d7c7ae9").select("#tvcap g-scrolling-carousel g-inner-card")
    pending = [bool(card.get("data-viewurl")) for card in carousel]
    assert pending == [False] * 5 + [True] * 15
    bundle = [
        block
        for block in _soup("f6fae1c9a96e").select("#rso div.tF2Cxc")
        if not block.find_parent(attrs={"data-q": True})  # not a "People also ask" answer
    ]
    assert len(bundle) == 9 and not _soup("f6fae1c9a96e").select("#rso div.g")
    organic = [i.url for i in snapshot("f6fae1c9a96e").results if i.placement == "organic"]
    assert organic == WEBSEARCHER_0_9_ORGANIC


def test_the_bench_counts_the_leading_expectations_alike() -> None:
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert set(LEADING) == bench.LEADING


def _soup(page: str) -> BeautifulSoup:
    return BeautifulSoup(lzma.decompress((FOLDERS[page] / f"{page}.html.xz").read_bytes()), "lxml")


@pytest.mark.parametrize("page", sorted(ALL))
def test_query_and_device_are_read(page: str) -> None:
    snap = snapshot(page)
    assert snap.query == ALL[page]["query"]
    assert snap.device == "desktop"  # every page was saved by a desktop browser


def claims() -> list[ParameterSet]:
    return [
        pytest.param(page, placement, claim, id=f"{page}-{placement}-{claim}")
        for page, entry in EXPECTED_2024.items()
        for placement, claim in entry.get("claims", {}).items()
    ]


@pytest.mark.parametrize(("page", "placement", "claim"), claims())
def test_what_the_savers_tests_assert_holds(page: str, placement: str, claim: str) -> None:
    """An AI overview's sources are recovered, each with a URL and a title; Google's "Can't
    generate an AI overview right now" panel cites nothing; a knowledge panel gives its
    source. Google's own help links ("Learn more") are never a source."""
    items = [item for item in snapshot(page).results if item.placement == placement]
    if claim == "none":
        assert items == []
        return
    assert items
    for item in items:
        assert item.url.startswith(("https://", "http://")) and item.title
        assert "support.google." not in item.url


def test_a_carousel_of_activity_ads_is_read_ad_by_ad() -> None:
    """ "central park new york" (2024): 20 activity cards in the top ad block, each an ad
    with the advertiser's page as URL, Google's click link as tracking URL and its first
    line as title; the snapshot's five are the first five, in order."""
    paid = [item for item in snapshot("30926d7c7ae9").results if item.placement == "paid"]
    assert len(paid) == 20
    assert [item.url for item in paid[:5]] == EXPECTED_2024["30926d7c7ae9"]["urls"]["paid"]
    assert {item.block for item in paid} == {"top"}
    assert all(
        (item.tracking_url or "").startswith("https://www.google.com/aclk?") for item in paid
    )
    assert paid[0].title == "Central Park Horse Carriage Ride Short Loop (Up to 4 Adults))"  # sic


def test_a_knowledge_panel_gives_its_official_site_first() -> None:
    """Central Park's panel: its website, its description's source, its profiles; never
    Google's own maps, reviews or policy links."""
    urls = [i.url for i in snapshot("30926d7c7ae9").results if i.placement == "knowledge_panel"]
    assert urls[:2] == [
        "https://www.centralparknyc.org/",
        "https://en.wikipedia.org/wiki/Central_Park",
    ]
    assert "https://www.facebook.com/CentralParkNYC/" in urls
    assert not [url for url in urls if ".google." in url]


def test_results_on_googles_own_hosts_are_kept() -> None:
    """news.google.com, google.com/travel and translate.google.* are organic results there."""
    hosts = {
        item.url.split("/")[2]
        for page in ("30c5d6bdb650", "39617f527744", "6e401e618433", "faa9c7c889db")
        for item in snapshot(page).results
        if item.placement == "organic"
    }
    assert {"news.google.com", "www.google.com", "translate.google.com"} <= hosts


def test_a_page_for_another_query_says_which() -> None:
    """ "No results found for @elaboratetweet. Results for elaboratetweet" and Google's
    spelling correction ("These are results for congress usa") answer another query."""
    answered = {page: snapshot(page).answered_query for page in ALL}
    assert {page: q for page, q in answered.items() if q} == {
        "3c03a4a2cb7c": "elaboratetweet",
        "d920789249af": "congress usa",
    }


def test_googles_privacy_and_help_links_are_never_a_source() -> None:
    """Under some "People also ask" blocks sits Google's privacy link; it cites nothing."""
    cited = [
        (page, item.url)
        for page in ALL
        for item in snapshot(page).results
        if item.placement in ("people_also_ask", "ai_overview", "knowledge_panel")
        and item.url.split("/")[2].startswith(("policies.google.", "support.google."))
    ]
    assert cited == []


def test_people_also_ask_keeps_each_question_with_its_answers_source() -> None:
    asked = [
        (item.title, item.url.split("#")[0])
        for item in snapshot("01f85d1329ba").results
        if item.placement == "people_also_ask"
    ]
    assert asked == [
        (
            "Where exactly are the northern lights?",
            "https://www.discover-the-world.com/northern-lights/",
        ),
        (
            "What time are the northern lights best tonight?",
            "https://www.swpc.noaa.gov/content/tips-viewing-aurora",
        ),
        ("What causes the northern lights?", "https://www.youtube.com/watch?v=1apyBNhsTbI&t=230"),
        (
            "Where is it best to see the northern lights?",
            "https://theaurorazone.com/about-the-aurora/the-science-of-the-northern-lights/the-best-place-to-see-the-northern-lights/",
        ),
    ]


CAMPAIGN = """\
[campaign]
name = "congress"

[defaults]
provider = "replay"
engine = "google"

[providers.replay]
path = "pages"

[[keywords]]
query = "cngress usa"

[labels]
official = ["congress.gov"]
"""


def test_a_check_of_a_page_for_another_query_is_failed_not_unranked(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    """Its results answer another query: the check is failed (query-relaxed), stores none
    of them, and keeps the page as evidence; it is not a check where nothing ranked."""
    (tmp_path / "pages").mkdir()
    (tmp_path / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    page = tmp_path / "cngress.html"
    page.write_bytes(lzma.decompress((HERE / "d920789249af.html.xz").read_bytes()))
    assert (
        runner.invoke(cli, ["apply", str(tmp_path / "campaign.toml"), "--db", db_url]).exit_code
        == 0
    )
    args = ["import-serp", str(page), "--campaign", "congress", "--query", "cngress usa"]
    result = runner.invoke(
        cli, [*args, "--observed-at", "2026-02-06T12:00:00Z", "--json", "--db", db_url]
    )
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "failed"
    assert "'congress usa'" in outcome["error"] and outcome["results"] == 0
    result = runner.invoke(cli, ["history", "congress", "--json", "--db", db_url])
    rows = json.loads(result.stdout)
    assert [(r["status"], r["url"]) for r in rows] == [("failed", None)]
    with Session(store.connect(db_url)) as session:
        check = session.exec(select(Check)).one()
        assert check.error_kind == "query-relaxed"
        assert session.exec(select(Payload).where(Payload.check_id == check.id)).one()
