"""Real Google no-JavaScript result pages, read as serp-parser's own jest tests say they should be.

The pages come from serp-parser's repository (see
``tests/fixtures/real/serp-parser/ORIGIN.md``). ``expected.json`` turns what
``src/google-nojs.spec.ts`` asserts of each page into data: its keyword, how many organic
results it has (``serp.organic``), what it asserts of single results and ads
(``results``: a title, a snippet, a URL, a domain; ``ads``: the page's ad cards) and whether it is the engine's "no results" page
(``serp.error`` is ``'No results page'``). serptrack records such a page as a snapshot with no results that
answers the query asked (``answered_query`` is None): the engine did not swap in a looser
query, it found nothing, so every tracked site is "not ranked" on it.

On top of those, serptrack's own rule: every result container of the page gives one organic
result, whatever its host (a result on the engine's own host is still a result). ``KNOWN``
names the expectations that do not hold yet, with the reason; they are strict xfails.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from _pytest.mark import ParameterSet
from bs4 import BeautifulSoup

from serptrack.parsers.google import parse_google
from serptrack.snapshot import Item
from serptrack.urls import unwrap_redirect
from tests.saved_pages import SavedPages

#: Where the basic (no-JavaScript) Google page puts an organic result: a card's first
#: block, whose link holds the title heading (2020's ``ZINbbc`` and 2023's ``Gx5Zad`` cards).
CONTAINER, TITLE = "div.kCrYT", "div.kCrYT > a[href]:has(h3)"

#: (page, expectation) → why serptrack's reading differs from what serp-parser's tests assert.
KNOWN: dict[tuple[str, str], str] = {}

PAGES = SavedPages("serp-parser", parse_google, KNOWN)
EXPECTED = PAGES.expected
page_bytes, snapshot, placed, cases = PAGES.page_bytes, PAGES.snapshot, PAGES.placed, PAGES.cases


def test_every_page_is_the_saved_one() -> None:
    PAGES.check_saved()


@pytest.mark.parametrize("page", cases("query"))
def test_the_query_is_read(page: str) -> None:
    """The page's query (serp-parser's ``serp.keyword``, where its tests assert it)."""
    assert snapshot(page).query == EXPECTED[page].get("keyword", EXPECTED[page]["query"])
    assert snapshot(page).engine == EXPECTED[page]["engine"]


@pytest.mark.parametrize("page", cases("organic", only="organic"))
def test_as_many_organic_results_as_the_tests_assert(page: str) -> None:
    """serp-parser's ``expect(serp.organic).toHaveLength(n)``."""
    assert len(placed(page, "organic")) == EXPECTED[page]["organic"]


def result_claims() -> list[ParameterSet]:
    """serp-parser's ``expect(serp.organic[i].<field>).toBe(value)`` and the same of
    ``serp.adwords.adwordsTop[i]``, one case each."""
    out = []
    for page, entry in EXPECTED.items():
        for claim in entry.get("results", []):
            name = f"{claim['placement']}[{claim['index']}].{claim['field']}"
            reason = KNOWN.get((page, name))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            out.append(pytest.param(page, claim, id=f"{page}-{name}", marks=marks))
    return out


@pytest.mark.parametrize(("page", "claim"), result_claims())
def test_each_result_is_read_as_the_tests_assert(page: str, claim: dict[str, object]) -> None:
    """A result's title, snippet, URL and domain (its host: results on Google's own hosts
    included) as serp-parser's tests assert them, the URL unwrapped from ``/url?q=``. Of an
    ad, serp-parser's ``url`` is Google's click link (serptrack's ``tracking_url``; the ad's
    ``url`` is the advertiser's page), its ``domain`` that link's host, and ``position`` 1
    of ``adwordsTop`` the first ad of the top block."""
    item = placed(page, str(claim["placement"]))[int(str(claim["index"]))]
    assert claim_value(item, str(claim["field"])) == claim["value"]


def _host(url: str) -> str:
    """A URL's host as written (serp-parser's ``domain``: ``www.`` kept)."""
    return urlsplit(url).hostname or ""


def claim_value(item: Item, field: str) -> object:
    if field == "domain":
        return _host(item.url)
    if field == "tracking_host":
        return _host(item.tracking_url or "")
    return getattr(item, field)


@pytest.mark.parametrize("page", cases("ads", only="ads"))
def test_every_ad_card_is_one_ad(page: str) -> None:
    """serp-parser's "There should be all ads": ``adwordsTop`` is defined and
    ``adwordsBottom`` is not. Its 2023 no-JavaScript parser (``GoogleNojsSERP.getAdwords``,
    the index's file id 44489740354) puts every ``.uEierd`` card of the page in
    ``adwordsTop`` and has no bottom block at all, so what the assertion says of the page is
    that its ads are its ``.uEierd`` cards, in page order. serptrack reads each card as one
    ad, by its click link; it names the block of each by where the card sits (the second
    card comes after the results, so it is ``bottom``)."""
    soup = BeautifulSoup(page_bytes(page), "lxml")
    clicks = [
        str(a["href"])
        for card in soup.select("." + EXPECTED[page]["ads"])
        for a in card.select("a[href]")[:1]
    ]
    assert len(clicks) == 2
    assert [item.tracking_url for item in placed(page, "paid")] == clicks


@pytest.mark.parametrize("page", cases("no-results", only="no_results"))
def test_a_no_results_page_is_an_empty_result_set_for_the_query_asked(page: str) -> None:
    """serp-parser's ``serp.error == 'No results page'``: the page says the search matched
    nothing. serptrack parses it (no ``ParseError``) into a snapshot without any result, of
    any placement, that answers the query asked: it is not a relaxed query's page."""
    assert EXPECTED[page]["notice"] in page_bytes(page).decode("utf-8")
    assert snapshot(page).results == []
    assert snapshot(page).answered_query is None


@pytest.mark.parametrize("page", cases("containers"))
def test_every_result_container_gives_one_organic_result(page: str) -> None:
    """Read independently of the parser: each result card's title link, unwrapped, in page
    order. None is dropped for its host, the engine's own included."""
    soup = BeautifulSoup(page_bytes(page), "lxml")
    links = [link for block in soup.select(CONTAINER) for link in block.select(TITLE)[:1]]
    expected = [unwrap_redirect(str(link["href"])) for link in links]
    assert [item.url for item in placed(page, "organic")] == expected
