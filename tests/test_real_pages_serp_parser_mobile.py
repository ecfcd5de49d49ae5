"""Real Google smartphone result pages, read as serp-parser's own jest tests say they should be.

The pages come from serp-parser's repository, ``test/google/mobile/`` (see
``tests/fixtures/real/serp-parser-mobile/ORIGIN.md``). ``expected.json`` turns what
``src/google-mobile.spec.ts`` asserts of each page into data: how many organic results it
has (``serp.organic``) and whether it is the engine's "no results" page (``serp.error`` is
``'No results page'``). serptrack records such a page as a snapshot with no results that
answers the query asked (``answered_query`` is None): the engine did not swap in a looser
query, it found nothing, so every tracked site is "not ranked" on it.

On top of those, serptrack's own rules: the query is the one the page was asked for, and a
page serp-parser files and parses as a smartphone page (``GoogleMobileSERP``) is read as
``device == "mobile"``. ``KNOWN`` names the expectations that do not hold yet, with the
reason; they are strict xfails.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from serptrack.parsers.google import parse_google
from tests.saved_pages import SavedPages

#: (page, expectation) → why serptrack's reading differs from what serp-parser's tests assert.
KNOWN: dict[tuple[str, str], str] = {}

PAGES = SavedPages("serp-parser-mobile", parse_google, KNOWN)
EXPECTED = PAGES.expected
page_bytes, snapshot, placed, cases = PAGES.page_bytes, PAGES.snapshot, PAGES.placed, PAGES.cases


def test_every_page_is_the_saved_one() -> None:
    PAGES.check_saved()


@pytest.mark.parametrize("page", cases("query"))
def test_the_query_is_read(page: str) -> None:
    """The query the page was asked for (its title and its search box)."""
    assert snapshot(page).query == EXPECTED[page].get("keyword", EXPECTED[page]["query"])
    assert snapshot(page).engine == EXPECTED[page]["engine"]


@pytest.mark.parametrize("page", cases("device", only="device"))
def test_a_smartphone_page_is_read_as_mobile(page: str) -> None:
    """serp-parser files the page under ``test/google/mobile/`` and reads it with
    ``GoogleMobileSERP``: it is Google's smartphone layout (the page declares a
    ``width=device-width`` viewport, its icon is the Android app's, its client data names
    ``ANDROID_CHROME``). serptrack must record it as a mobile reading, whether or not the
    page has any result to infer the layout from."""
    assert snapshot(page).device == EXPECTED[page]["device"]


@pytest.mark.parametrize("page", cases("organic", only="organic"))
def test_as_many_organic_results_as_the_tests_assert(page: str) -> None:
    """serp-parser's ``expect(serp.organic).toHaveLength(n)``."""
    assert len(placed(page, "organic")) == EXPECTED[page]["organic"]


@pytest.mark.parametrize("page", cases("no-results", only="no_results"))
def test_a_no_results_page_is_an_empty_result_set_for_the_query_asked(page: str) -> None:
    """serp-parser's ``serp.error == 'No results page'``: the page says the search matched
    nothing. serptrack parses it (no ``ParseError``) into a snapshot without any result, of
    any placement, that answers the query asked: it is not a relaxed query's page."""
    assert EXPECTED[page]["notice"] in page_bytes(page).decode("utf-8")
    assert snapshot(page).results == []
    assert snapshot(page).answered_query is None


@pytest.mark.parametrize("page", cases("results-area", only="no_results"))
def test_the_results_area_of_a_no_results_page_is_empty(page: str) -> None:
    """Read independently of the parser: the page's results area (``#rso``) holds nothing,
    so an empty reading is the page's, not a dropped result."""
    soup = BeautifulSoup(page_bytes(page), "lxml")
    results = soup.select_one("#rso")
    assert results is not None
    assert results.find(True) is None
