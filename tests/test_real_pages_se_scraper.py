"""Real Bing, DuckDuckGo and Google result pages, read as se-scraper's own tests say they should be.

The pages come from se-scraper's repository (see
``tests/fixtures/real/se-scraper/ORIGIN.md``). ``expected.json`` turns what its mocha tests
assert of each page into data: at least so many organic results and ads, each with a link, a
displayed link, a title and a snippet of at least so many characters, each ad with its
tracking link, and for Google the shopping units of the right column (its ``right_products``).
serptrack keeps no displayed link: the landing URL stands for it.

On top of those, two rules of serptrack's own: an ad keeps the engine's click link as its
``tracking_url``, and every organic result container of the page gives one organic result,
whatever its host (a result on the engine's own host is still a result). ``KNOWN`` names the
expectations that do not hold yet, with the reason; they are strict xfails.
"""

from __future__ import annotations

import hashlib
import json
import lzma
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from _pytest.mark import ParameterSet
from bs4 import BeautifulSoup

from serptrack.parsers.bing import parse_bing
from serptrack.parsers.duckduckgo import parse_duckduckgo
from serptrack.parsers.google import parse_google
from serptrack.snapshot import Item, Snapshot
from serptrack.urls import host_of, registrable_domain, unwrap_redirect

HERE = Path(__file__).parent / "fixtures" / "real" / "se-scraper"
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
PARSERS: dict[str, Callable[[bytes], Snapshot]] = {
    "bing": parse_bing,
    "duckduckgo": parse_duckduckgo,
    "google": parse_google,
}
#: se-scraper's result fields → the serptrack item field that carries them.
FIELDS = {
    "link": "url",
    "visible_link": "url",
    "title": "title",
    "snippet": "snippet",
    "tracking_link": "tracking_url",
}
#: Where each engine puts an organic result: the container and its title link.
CONTAINERS = {
    "duckduckgo": ("#links div.result:not(.result--ad):not(.result--more)", "a.result__a"),
    "bing": ("#b_results > li.b_algo", "h2 a"),
    "google": ("#rso div.g:not(.g-blk) div.rc > div.r", "a[href]:has(h3)"),
}
#: The engine's own ad click links (an ad's ``tracking_url`` starts with one of them).
AD_CLICKS = {
    "duckduckgo": ("https://duckduckgo.com/y.js?",),
    "bing": ("https://www.bing.com/aclick?", "/aclick?", "https://www.bing.com/aclk?"),
    "google": ("https://www.googleadservices.com/pagead/aclk?", "https://www.google.com/aclk?"),
}
#: The domains of search engines' and ad networks' click wrappers: never an ad's landing page.
CLICK_DOMAINS = frozenset(
    {
        "bing.com",
        "duckduckgo.com",
        "yahoo.com",
        "googleadservices.com",
        "doubleclick.net",
        "everesttech.net",  # Adobe Advertising's tracker, behind a Bing ad (duckduckgo1)
    }
)

#: (page, expectation) → why serptrack's reading differs from what se-scraper's tests assert.
KNOWN: dict[tuple[str, str], str] = {}


@cache
def page_bytes(page: str) -> bytes:
    return lzma.decompress((HERE / f"{page}.html.xz").read_bytes())


@cache
def snapshot(page: str) -> Snapshot:
    return PARSERS[EXPECTED[page]["engine"]](page_bytes(page))


def placed(page: str, placement: str) -> list[Item]:
    return [item for item in snapshot(page).results if item.placement == placement]


#: the expectation a case needs: a page whose project's test asserts none has no such case
_NEEDS = {"side": "min_side_ads", "shopping": "min_shopping", "shopping-fields": "min_shopping"}


def cases(*names: str) -> list[ParameterSet]:
    out = []
    for page in EXPECTED:
        for name in names:
            if name in _NEEDS and EXPECTED[page].get(_NEEDS[name]) is None:
                continue
            reason = KNOWN.get((page, name))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            out.append(pytest.param(page, name, id=f"{page}-{name}", marks=marks))
    return out


def test_every_page_is_the_saved_one() -> None:
    for page, entry in EXPECTED.items():
        data = page_bytes(page)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], page
        assert len(data.decode("utf-8")) == entry["chars"], page


@pytest.mark.parametrize(("page", "name"), cases("organic", "paid", "side"))
def test_at_least_as_many_results_as_the_tests_assert(page: str, name: str) -> None:
    """Ads are every ad of the page (se-scraper's ``ads``); side ads those of the right
    column (its ``right_side_ads``, asserted by a later version of its test)."""
    if name == "side":
        least = EXPECTED[page]["min_side_ads"]
        assert len([i for i in placed(page, "paid") if i.block == "side"]) >= least
        return
    key = "min_organic" if name == "organic" else "min_ads"
    assert len(placed(page, name)) >= EXPECTED[page][key]


@pytest.mark.parametrize(("page", "name"), cases("shopping", "shopping-fields"))
def test_the_shopping_units_the_tests_assert(page: str, name: str) -> None:
    """se-scraper's Google test counts the right column's product ads (``right_products``):
    each with a ``tracking_link`` and a ``link`` of at least 5 characters and a ``title`` of
    at least 10. serptrack reads them as ``shopping`` items of the ``side`` block."""
    least = EXPECTED[page]["min_shopping"]
    items = [i for i in placed(page, "shopping") if i.block == "side"]
    if name == "shopping":
        assert len(items) >= least
        return
    assert items
    for item in items:
        for field, length in EXPECTED[page]["shopping_fields"].items():
            assert len(getattr(item, FIELDS[field]) or "") >= length, (field, item)
        assert item.url.startswith(("https://", "http://")), item
        assert registrable_domain(item.url) not in CLICK_DOMAINS, item
        engine = EXPECTED[page]["engine"]
        assert (item.tracking_url or "").startswith(AD_CLICKS[engine]), item


@pytest.mark.parametrize(("page", "name"), cases("organic-fields", "paid-fields"))
def test_each_result_has_the_fields_the_tests_assert(page: str, name: str) -> None:
    placement, rules = (
        ("organic", EXPECTED[page]["organic_fields"])
        if name == "organic-fields"
        else ("paid", EXPECTED[page]["ad_fields"])
    )
    for item in placed(page, placement):
        for field, least in rules.items():
            value = getattr(item, FIELDS[field]) or ""
            assert len(value) >= least, (field, item)
        assert item.url.startswith(("https://", "http://")), item
        assert item.rank is not None


@pytest.mark.parametrize(("page", "name"), cases("query"))
def test_the_query_is_read(page: str, name: str) -> None:
    assert snapshot(page).query == EXPECTED[page]["query"]


@pytest.mark.parametrize(("page", "name"), cases("ad-clicks"))
def test_ads_keep_the_engines_click_link(page: str, name: str) -> None:
    engine = EXPECTED[page]["engine"]
    for item in placed(page, "paid"):
        assert (item.tracking_url or "").startswith(AD_CLICKS[engine]), item
        assert item.block in ("top", "bottom", "side")
        # The landing page, decoded through every click wrapper (the engine's, Yahoo's, the
        # advertiser's own tracker: eBay's rover on bing3):
        assert registrable_domain(item.url) not in CLICK_DOMAINS, item
        assert not host_of(item.url).startswith("rover.ebay."), item


@pytest.mark.parametrize(
    ("page", "block", "landing"),
    [
        ("duckduckgo1", "side", "http://www.adobe.com/creativecloud/buy/students.html?sdid=KKUCY"),
        ("bing3", "bottom", "https://www.ebay.de/ulk/sch/?_nkw=car%20tires"),
    ],
)
def test_an_ad_through_its_advertisers_tracker_is_read_by_its_landing_page(
    page: str, block: str, landing: str
) -> None:
    """The last ad of the block leads through Adobe's or eBay's tracker; it is recorded by the
    page it lands on, so a label rule for the advertiser's site matches it."""
    ads = [item for item in placed(page, "paid") if item.block == block]
    assert ads[-1].url.startswith(landing), ads[-1]


@pytest.mark.parametrize(("page", "name"), cases("containers"))
def test_every_result_container_gives_one_organic_result(page: str, name: str) -> None:
    """Read independently of the parser: each container's title link, unwrapped, in page
    order. None is dropped for its host, the engine's own included."""
    container, title = CONTAINERS[EXPECTED[page]["engine"]]
    soup = BeautifulSoup(page_bytes(page), "lxml")
    links = [block.select_one(title) for block in soup.select(container)]
    expected = [unwrap_redirect(str(link["href"])) for link in links if link is not None]
    assert [item.url for item in placed(page, "organic")] == expected


@pytest.mark.parametrize(
    "page", [page for page, entry in EXPECTED.items() if entry["result_count"]]
)
def test_the_result_count_the_tests_read_is_on_the_page(page: str) -> None:
    """se-scraper reads the result count ("1’100’000 results"); serptrack keeps none, so this
    only pins that the page is the one its test reads."""
    assert EXPECTED[page]["result_count"] in page_bytes(page).decode("utf-8")


@pytest.mark.parametrize(
    ("page", "blocks"),
    [
        ("duckduckgo1", {"top": 1, "bottom": 1, "side": 1}),
        ("bing", {"top": 4, "bottom": 3, "side": 5}),
        ("bing2", {"top": 4, "bottom": 3, "side": 5}),
        ("bing3", {"bottom": 3}),
        ("google2", {"bottom": 1}),
    ],
)
def test_each_ad_is_read_once_in_its_block(page: str, blocks: dict[str, int]) -> None:
    """An ad's sitelinks are part of it, not ads of their own; the right column's ads are
    ``side`` (se-scraper's later test: 7 ads and 5 right-side ads on the Bing page)."""
    got: dict[str, int] = {}
    for item in placed(page, "paid"):
        got[item.block or ""] = got.get(item.block or "", 0) + 1
    assert got == blocks
