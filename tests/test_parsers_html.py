"""Saved Google, Bing and DuckDuckGo result pages: every field of every result, block pages,
no-results pages, engine detection and the ``parse`` command.

The fixtures in ``tests/fixtures/html/`` are hand-built from the structures real pages use
(see PROVIDERS.md sections 10-12 and the parsers' docstrings).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from serptrack.cli import cli
from serptrack.errors import BlockedError, BlockedPageError, ParseError
from serptrack.parsers import HTML_FORMATS, parse_content
from serptrack.parsers.html import (
    declares_device_width,
    detect_engine,
    displayed_url,
    prepare,
    resolve_link,
)
from serptrack.snapshot import Snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "html"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str) -> Snapshot:
    return parse_content(load(name), where=name)


def document(name: str) -> dict[str, Any]:
    return parse(name).to_json()


def paid(
    rank: int, position: int, block: str, url: str, title: str, snippet: str, tracking: str
) -> dict[str, Any]:
    return {
        "placement": "paid",
        "block": block,
        "rank": rank,
        "page_position": position,
        "url": url,
        "title": title,
        "snippet": snippet,
        "tracking_url": tracking,
    }


def result(
    placement: str,
    rank: int,
    position: int,
    url: str,
    title: str,
    snippet: str = "",
    tracking: str | None = None,
) -> dict[str, Any]:
    item = {
        "placement": placement,
        "rank": rank,
        "page_position": position,
        "url": url,
        "title": title,
        "snippet": snippet,
    }
    if tracking:
        item["tracking_url"] = tracking
    return item


def header(query: str, engine: str, source: str, **fields: Any) -> dict[str, Any]:
    return {
        "format": "serptrack-snapshot/1",
        "query": query,
        "engine": engine,
        "country": fields.get("country"),
        "language": fields.get("language"),
        "device": fields.get("device"),
        "observed_at": None,
        "source": source,
    }


# --- Google -----------------------------------------------------------------------------------


def test_google_current_layout_two_top_ads_news_organic_one_bottom_ad() -> None:
    doc = document("google-desktop-current.html")
    results = doc.pop("results")
    assert doc == header(
        "acme recall", "google", "google-html", country="us", language="en", device="desktop"
    )
    assert results == [
        paid(
            1,
            1,
            "top",
            "https://www.acme.example/recall",
            "Acme Kettle Recall – Official Information",
            "Check whether your kettle is affected. Free replacement for every recalled K2 model.",
            "https://www.googleadservices.com/pagead/aclk?sa=L&ai=DChcSEwjA1&ae=2&sig=AOD64_3x1&q&adurl",
        ),
        paid(
            2,
            2,
            "top",
            "https://claims.lawfirm.example/acme-kettle?src=gads",
            "Burned by an Acme Kettle? – Free Case Review",
            "Injured by a recalled kettle? Talk to a product liability lawyer today.",
            "/aclk?sa=l&ai=DChcSEwjB1&ae=1&q=&adurl=https://claims.lawfirm.example/acme-kettle%3Fsrc%3Dgads",
        ),
        result(
            "organic",
            1,
            3,
            "https://news.example/2026/03/acme-recall",
            "Acme recalls 2 million kettles after fires",
            "Mar 2, 2026 — The Acme K2 kettle can overheat; the company's recall covers 2 million units.",
        ),
        result(
            "news",
            1,
            4,
            "https://daily.example/business/acme-ceo-apology",
            "Acme CEO apologises for kettle fires",
            "Daily Example 3 hours ago",
        ),
        result(
            "news",
            2,
            5,
            "https://www.tvnews.example/acme-kettle-recall",
            "What to do if you own an Acme K2 kettle",
            "TV News 1 day ago",
            "/url?q=https://www.tvnews.example/acme-kettle-recall&sa=U&ved=2ahUKEwiD3",
        ),
        result(
            "organic",
            2,
            6,
            "https://www.acme.example/recall",
            "Kettle recall – Acme",
            "Stop using your K2 kettle. Enter the serial number printed under the base to find "
            "out whether it is part of the recall.",
        ),
        result(
            "people_also_ask",
            1,
            7,
            "https://forum.example/t/acme-k2",
            "Is the Acme K2 kettle safe to use?",
            "Acme K2 owners thread",
        ),
        result(
            "organic",
            3,
            8,
            "https://consumerwatch.example/acme/kettle-fires",
            "Acme kettle fires: the company knew in 2025",
            "Internal documents show Acme's engineers flagged the overheating base a year before "
            "the recall.",
            "/url?q=https://consumerwatch.example/acme/kettle-fires&sa=U&ved=2ahUKEwiE1&usg=AOvVaw1",
        ),
        paid(
            3,
            9,
            "bottom",
            "https://www.kettleshop.example/safe-kettles?utm_source=google",
            "Safe Kettles – Next-Day Delivery",
            "Replace your recalled kettle. 200 certified models in stock.",
            "https://www.googleadservices.com/pagead/aclk?sa=L&ai=DChcSEwjC1&sig=AOD64_9"
            "&adurl=https%3A%2F%2Fwww.kettleshop.example%2Fsafe-kettles%3Futm_source%3Dgoogle",
        ),
    ]


def test_google_current_layout_skips_scripts_and_the_side_panel() -> None:
    results = parse("google-desktop-current.html").results
    urls = [item.url for item in results]
    assert "https://script.example/" not in urls  # an h3 link inside a <script> string
    # a people-also-ask answer's source is that question's result, never an organic one
    assert [i.placement for i in results if i.url == "https://forum.example/t/acme-k2"] == [
        "people_also_ask"
    ]
    assert "https://www.acme.example/" not in urls  # the knowledge panel (#rhs)
    assert not any("/search?" in url for url in urls)  # related searches, "More news"


def test_an_ad_behind_an_opaque_link_takes_its_displayed_url_not_a_sitelink() -> None:
    page = load("google-desktop-current.html").replace(
        b'data-pcu="https://www.acme.example/recall,https://www.acme.example/" ', b""
    )
    page = page.replace(
        b'href="https://www.acme.example/recall" jsname', b'href="/goto?url=CAESQ1" jsname'
    )
    ad = parse_content(page).results[0]
    assert (ad.placement, ad.block, ad.url) == ("paid", "top", "https://www.acme.example")
    assert ad.tracking_url == (
        "https://www.googleadservices.com/pagead/aclk?sa=L&ai=DChcSEwjA1&ae=2&sig=AOD64_3x1&q&adurl"
    )


def test_google_old_layout_div_g_and_ads_ad() -> None:
    doc = document("google-desktop-old.html")
    results = doc.pop("results")
    assert doc == header(
        "acme recall", "google", "google-html", country="gb", language="en", device="desktop"
    )
    assert results == [
        paid(
            1,
            1,
            "top",
            "https://www.acme.example/uk/recall",
            "Acme UK – Kettle Recall Centre",
            "Register your K2 kettle for a free replacement. Fast, free collection.",
            "/aclk?sa=l&ai=DChcSEwiv1o&sig=AOD64_0E&q=&ved=0ahUKEwj&adurl=",
        ),
        result(
            "organic",
            1,
            2,
            "https://news.example/2026/03/acme-recall",
            "Acme recalls 2 million kettles after fires",
            "2 Mar 2026 - The Acme K2 kettle can overheat; the company's recall covers 2 million "
            "units.",
        ),
        result(
            "organic",
            2,
            3,
            "https://www.acme.example/uk/recall",
            "Kettle recall | Acme UK",
            "Stop using your K2 kettle and check its serial number.",
        ),
        result(
            "organic",
            3,
            4,
            "https://consumerwatch.example/acme/kettle-fires",
            "Acme kettle fires: the company knew in 2025",
            "Internal documents show Acme's engineers flagged the overheating base.",
        ),
        paid(
            2,
            5,
            "bottom",
            "https://www.kettleshop.example/uk/safe-kettles",
            "Safe Kettles – Free UK Delivery",
            "Replace your recalled kettle today.",
            "/aclk?sa=l&ai=DChcSEwjX9&sig=AOD64_2&adurl=https://www.kettleshop.example/uk/safe-kettles",
        ),
    ]


def test_google_ai_overview_featured_snippet_goto_links_and_news_cluster() -> None:
    doc = document("google-desktop-features.html")
    results = doc.pop("results")
    assert doc == header(
        "acme kettle fire", "google", "google-html", language="en", device="desktop"
    )
    assert results == [
        result(
            "ai_overview", 1, 1, "https://www.acme.example/recall", "Kettle recall – Acme"
        ),  # listed twice in the overview: once
        result(
            "ai_overview",
            2,
            2,
            "https://www.safety.example/alerts/acme-k2",
            "Safety alert: Acme K2",
            tracking="/url?q=https://www.safety.example/alerts/acme-k2&sa=U&ved=2ahUKEwiZ",
        ),
        result(
            "featured_snippet",
            1,
            3,
            "https://www.safety.example/alerts/acme-k2",
            "Safety alert: Acme K2 kettle",
            "Acme has recalled 2 million K2 kettles because the base can overheat and catch fire.",
        ),
        result(
            "organic",
            1,
            4,
            "https://www.firesafety.example/kettles/acme-k2",  # from the displayed URL
            "Acme kettle fires: what we know",
            "Fire investigators traced three house fires to the K2 kettle's base.",
            "/goto?url=CAESpAEBqY5nQ9kDx7",
        ),
        result(
            "news",
            1,
            5,
            "https://daily.example/business/acme-ceo-apology",
            "Acme CEO apologises for kettle fires",
            "Daily Example 2 hours ago",
        ),
        result(
            "organic",
            2,
            6,
            "https://www.google.com/goto?url=CAESpAEBzz9",  # nothing better on the page
            "Opaque link without a displayed URL",
            "This result keeps the Google wrapper as its URL.",
            "/goto?url=CAESpAEBzz9",
        ),
    ]


def test_google_mobile_layout() -> None:
    doc = document("google-mobile.html")
    results = doc.pop("results")
    assert doc == header(
        "acme rappel", "google", "google-html", country="fr", language="fr", device="mobile"
    )
    assert results == [
        paid(
            1,
            1,
            "top",
            "https://www.acme.example/fr/rappel",  # the /goto link is opaque: displayed URL
            "Rappel bouilloire Acme – Site officiel",
            "Vérifiez le numéro de série de votre bouilloire K2.",
            "/goto?url=CAESXwHrOzAVoGml",
        ),
        result("ai_overview", 1, 2, "https://www.acme.example/fr/rappel", "Acme France"),
        result("ai_overview", 2, 3, "https://www.rappel.example/bouilloires/acme", "Rappel Conso"),
        result(
            "organic",
            1,
            4,
            "https://news.example/fr/2026/03/acme-rappel",
            "Acme rappelle 2 millions de bouilloires",
            "2 mars 2026 — La bouilloire Acme K2 peut surchauffer.",
        ),
        result(
            "people_also_ask",
            1,
            5,
            "https://forum.example/acme",
            "La bouilloire Acme est-elle dangereuse ?",
            "Forum Acme",
        ),
        result(
            "organic",
            2,
            6,
            "https://www.acme.example/fr/rappel",
            "Rappel des bouilloires – Acme France",
            "Cessez d'utiliser votre bouilloire K2.",
        ),
        result(
            "organic",
            3,
            7,
            "https://consumerwatch.example/fr/acme",
            "Bouilloires Acme : l'entreprise savait",
            "Des documents internes montrent que les ingénieurs savaient.",
            "/url?q=https://consumerwatch.example/fr/acme&sa=U&ved=2ahUKE",
        ),
    ]


def test_the_news_tab_is_not_a_news_box() -> None:
    tabs = (
        b'<div id="hdtb"><div role="navigation"><a href="/search?q=acme+rappel&amp;tbm=nws">'
        b'<div class="YmvwI">News</div></a><span class="x">News</span></div></div>'
    )
    first_block = b'<div class="mnr-c xpd O9g5cc uUPGi" data-hveid="CAIQAA">'
    page = load("google-mobile.html").replace(first_block, first_block + tabs)
    assert parse_content(page).to_json() == document("google-mobile.html")


def test_google_basic_no_javascript_layout_in_latin_1() -> None:
    doc = document("google-basic.html")
    results = doc.pop("results")
    assert doc == header("acme recall", "google", "google-html", language="en")
    assert results == [
        result(
            "organic",
            1,
            1,
            "https://news.example/2026/03/acme-recall",
            "Acme recalls 2 million kettles after fires",
            "2 Mar 2026 · The Acme K2 kettle can overheat. Café owners were first to report it.",
            "/url?q=https://news.example/2026/03/acme-recall&sa=U&ved=2ahUKEwj1&usg=AOvVaw0a",
        ),
        result(
            "organic",
            2,
            2,
            "https://www.acme.example/recall",
            "Kettle recall – Acme",
            "Stop using your K2 kettle.",
            "/url?q=https://www.acme.example/recall&sa=U&ved=2ahUKEwj2",
        ),
    ]


# --- Bing and DuckDuckGo ----------------------------------------------------------------------


def test_bing_top_bottom_and_side_ads_and_decoded_links() -> None:
    doc = document("bing.html")
    results = doc.pop("results")
    assert doc == header("acme recall", "bing", "bing-html", language="en")
    assert results == [
        paid(
            1,
            1,
            "top",
            "https://www.acme.example/recall?utm_source=bing",
            "Acme Kettle Recall - Official Site",
            "Check whether your K2 kettle is affected and get a free replacement.",
            "https://www.bing.com/aclick?ld=e8Rw1xE3EjYpm&u=aHR0cHMlM0ElMkYlMkZ3d3cuYWNtZS5leGFtcGxl"
            "JTJGcmVjYWxsJTNGdXRtX3NvdXJjZSUzRGJpbmc",
        ),
        paid(
            2,
            2,
            "top",
            "https://claims.lawfirm.example/acme-kettle",
            "Acme Kettle Injury Claims",
            "No win, no fee. Talk to a product liability lawyer today.",
            "https://www.bing.com/aclick?ld=e8Qx9dK2L0aBc&u=aHR0cHMlM0ElMkYlMkZjbGFpbXMubGF3ZmlybS5leGFt"
            "cGxlJTJGYWNtZS1rZXR0bGU",
        ),
        result(
            "organic",
            1,
            3,
            "https://news.example/2026/03/acme-recall",
            "Acme recalls 2 million kettles after fires",
            "Mar 2, 2026 · The Acme K2 kettle can overheat; the company's recall covers 2 million "
            "units.",
            "https://www.bing.com/ck/a?!&&p=3f1a2b&ptn=3&ver=2&hsh=4&fclid=1b2c"
            "&u=a1aHR0cHM6Ly9uZXdzLmV4YW1wbGUvMjAyNi8wMy9hY21lLXJlY2FsbA&ntb=1",
        ),
        result(
            "organic",
            2,
            4,
            "https://www.acme.example/recall",
            "Kettle recall – Acme",
            "Stop using your K2 kettle. Enter the serial number printed under the base.",
        ),
        result(
            "organic",
            3,
            5,
            "https://consumerwatch.example/acme/kettle-fires",
            "Acme kettle fires: the company knew in 2025",
            "Internal documents show Acme's engineers flagged the overheating base.",
            "https://www.bing.com/ck/a?!&&p=77aa"
            "&u=a1aHR0cHM6Ly9jb25zdW1lcndhdGNoLmV4YW1wbGUvYWNtZS9rZXR0bGUtZmlyZXM&ntb=1",
        ),
        paid(
            3,
            6,
            "bottom",
            "https://www.kettleshop.example/safe-kettles",
            "Safe Kettles - Next-Day Delivery",
            "200 certified models in stock.",
            "https://www.bing.com/aclick?ld=e8Zz7&u=aHR0cHMlM0ElMkYlMkZ3d3cua2V0dGxlc2hvcC5leGFtcGxl"
            "JTJGc2FmZS1rZXR0bGVz",
        ),
        paid(
            4,
            7,
            "side",
            "https://www.repairs.example/kettle",
            "Kettle Repairs Near You",
            "Same-day kettle repairs.",
            "https://www.bing.com/aclick?ld=e8Side1&u=aHR0cHMlM0ElMkYlMkZ3d3cucmVwYWlycy5leGFtcGxl"
            "JTJGa2V0dGxl",
        ),
    ]


def test_duckduckgo_ad_and_uddg_links() -> None:
    doc = document("duckduckgo.html")
    results = doc.pop("results")
    assert doc == header(
        "acme recall", "duckduckgo", "duckduckgo-html", country="us", language="en"
    )
    assert results == [
        paid(
            1,
            1,
            "top",
            "https://www.acme.example/recall?utm_source=bing",  # y.js → Bing aclick → landing
            "Acme Kettle Recall - Official Site",
            "Check whether your K2 kettle is affected and get a free replacement.",
            "https://duckduckgo.com/y.js?ad_domain=acme.example&ad_provider=bingv7aa&ad_type=txad"
            "&click_metadata=Zm9v&rut=5d0e&u3=https%3A%2F%2Fwww.bing.com%2Faclick%3Fld%3De8Rw1xE3E"
            "jYpm%26u%3DaHR0cHMlM0ElMkYlMkZ3d3cuYWNtZS5leGFtcGxlJTJGcmVjYWxsJTNGdXRtX3NvdXJjZSUzR"
            "GJpbmc%26rlid%3D1a2b%26vqd%3D4-1234&vqd=4-1234&iurl=%7B1%7DIG%3D1A2B",
        ),
        result(
            "organic",
            1,
            2,
            "https://news.example/2026/03/acme-recall",
            "Acme recalls 2 million kettles after fires",
            "The Acme K2 kettle can overheat; the company's recall covers 2 million units.",
            "//duckduckgo.com/l/?uddg=https%3A%2F%2Fnews.example%2F2026%2F03%2Facme%2Drecall"
            "&rut=8a7c",
        ),
        result(
            "organic",
            2,
            3,
            "https://www.acme.example/recall",
            "Kettle recall – Acme",
            "Stop using your K2 kettle. Enter the serial number printed under the base.",
        ),
        result(
            "organic",
            3,
            4,
            "https://consumerwatch.example/acme/kettle-fires",
            "Acme kettle fires: the company knew in 2025",
            "Internal documents show Acme's engineers flagged the overheating base.",
        ),
    ]


def test_duckduckgo_ad_without_u3_falls_back_to_the_displayed_url_then_the_ad_domain() -> None:
    page = load("duckduckgo.html").decode()
    start = page.index("&amp;u3=")
    page = page[:start] + page[page.index('">Acme Kettle Recall', start) :]
    page = page.replace(">acme.example</a>", ">www.acme.example/recall</a>")
    ad = parse_content(page.encode()).results[0]
    assert (ad.placement, ad.block, ad.url) == ("paid", "top", "https://www.acme.example/recall")
    assert ad.tracking_url is not None and "u3=" not in ad.tracking_url
    page = page.replace(">www.acme.example/recall</a>", "></a>")
    ad = parse_content(page.encode()).results[0]
    assert (ad.placement, ad.url) == ("paid", "https://acme.example")


def test_duckduckgo_lite_page() -> None:
    page = """<html><head><title>acme recall at DuckDuckGo</title></head><body>
    <form action="/lite/" method="post"><input class="query" type="text" name="q" value="acme recall"></form>
    <table border="0">
    <tr class="result-sponsored"><td>1.&nbsp;</td><td><a rel="nofollow" href="https://duckduckgo.com/y.js?ad_domain=acme.example&amp;u3=https%3A%2F%2Fwww.bing.com%2Faclick%3Fld%3De8%26u%3DaHR0cHMlM0ElMkYlMkZ3d3cuYWNtZS5leGFtcGxlJTJGcmVjYWxs" class="result-link">Acme Recall</a></td></tr>
    <tr class="result-sponsored"><td></td><td class="result-snippet">Official recall page.</td></tr>
    <tr class="result-sponsored"><td></td><td><span class="link-text">acme.example</span></td></tr>
    <tr><td valign="top">1.&nbsp;</td><td><a rel="nofollow" href="https://news.example/2026/03/acme-recall" class="result-link">Acme recalls kettles</a></td></tr>
    <tr><td>&nbsp;</td><td class="result-snippet">The K2 kettle can overheat.</td></tr>
    <tr><td>&nbsp;</td><td><span class="link-text">news.example/2026/03/acme-recall</span></td></tr>
    </table></body></html>"""
    doc = parse_content(page.encode()).to_json()
    assert doc["query"] == "acme recall"
    assert doc["results"] == [
        paid(
            1,
            1,
            "top",
            "https://www.acme.example/recall",
            "Acme Recall",
            "Official recall page.",
            "https://duckduckgo.com/y.js?ad_domain=acme.example&u3=https%3A%2F%2Fwww.bing.com%2F"
            "aclick%3Fld%3De8%26u%3DaHR0cHMlM0ElMkYlMkZ3d3cuYWNtZS5leGFtcGxlJTJGcmVjYWxs",
        ),
        result(
            "organic",
            1,
            2,
            "https://news.example/2026/03/acme-recall",
            "Acme recalls kettles",
            "The K2 kettle can overheat.",
        ),
    ]


# --- no results, block pages, unknown layouts -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "engine"),
    [
        ("google-no-results.html", "google"),
        ("bing-no-results.html", "bing"),
        ("duckduckgo-no-results.html", "duckduckgo"),
    ],
)
def test_a_genuine_no_results_page_is_an_empty_snapshot(name: str, engine: str) -> None:
    snapshot = parse(name)
    assert (snapshot.engine, snapshot.query, snapshot.results) == (
        engine,
        "xqzv acme kettle 99812",
        [],
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("google-sorry.html", "a Google block page (captcha: unusual traffic), not a result page"),
        ("google-enablejs.html", "a Google block page (enable JavaScript), not a result page"),
        (
            "google-automated-queries.html",
            "a Google block page (automated queries), not a result page",
        ),
        ("bing-captcha.html", "a Bing block page (captcha challenge), not a result page"),
        (
            "duckduckgo-anomaly.html",
            "a DuckDuckGo block page (anomaly page: bot challenge), not a result page",
        ),
    ],
)
def test_block_pages_are_errors_never_empty_results(name: str, message: str) -> None:
    with pytest.raises(BlockedPageError) as caught:
        parse(name)
    assert str(caught.value) == f"{name}: {message}"
    assert isinstance(caught.value, ParseError) and isinstance(caught.value, BlockedError)
    assert caught.value.status == "blocked"


def test_a_result_page_that_mentions_unusual_traffic_is_not_a_block_page() -> None:
    page = load("google-desktop-current.html").replace(
        b"Internal documents show",
        b"Our systems have detected unusual traffic from your computer network. Internal documents show",
    )
    snapshot = parse_content(page)
    assert len(snapshot.results) == 9
    assert snapshot.results[7].snippet.startswith("Our systems have detected unusual traffic")


def test_a_no_results_page_with_the_javascript_fallback_is_not_blocked() -> None:
    assert b"/httpservice/retry/enablejs" in load("google-no-results.html")
    assert parse("google-no-results.html").results == []


def test_a_block_page_inside_a_results_skeleton_is_still_blocked() -> None:
    page = load("google-no-results.html").replace(b"did not match any documents", b"")
    page = page.replace(
        b'<div id="topstuff">',
        b'<div id="topstuff"><p>Our systems have detected unusual traffic from your computer '
        b"network.</p>",
    )
    with pytest.raises(BlockedPageError, match="unusual traffic"):
        parse_content(page)


def test_a_google_page_whose_layout_is_unknown_fails_loudly() -> None:
    page = (
        b'<html><head><title>acme recall - Google Search</title></head><body><div id="rso">'
        b'<div class="MjjYud"><span class="new-layout">A result we cannot read</span></div>'
        b"</div></body></html>"
    )
    with pytest.raises(ParseError) as caught:
        parse_content(page, where="new.html")
    assert str(caught.value) == (
        "new.html: a Google page with no result serptrack can find and no 'no results' message "
        "(a layout serptrack does not know?)"
    )
    assert not isinstance(caught.value, BlockedError)


def test_an_html_page_of_no_engine_is_refused() -> None:
    page = b"<html><head><title>My blog</title></head><body><h1>Hello</h1></body></html>"
    with pytest.raises(ParseError) as caught:
        parse_content(page, where="blog.html")
    assert str(caught.value) == (
        "blog.html: an HTML page of no known result-page format (known: "
        + ", ".join(fmt.name for fmt in HTML_FORMATS)
        + ")"
    )


# --- detection and helpers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "engine"),
    [
        ("google-desktop-current.html", "google"),
        ("google-desktop-old.html", "google"),
        ("google-desktop-features.html", "google"),
        ("google-mobile.html", "google"),
        ("google-basic.html", "google"),
        ("google-sorry.html", "google"),
        ("bing.html", "bing"),
        ("bing-captcha.html", "bing"),
        ("duckduckgo.html", "duckduckgo"),
        ("duckduckgo-anomaly.html", "duckduckgo"),
    ],
)
def test_engine_detection_from_the_page_itself(name: str, engine: str) -> None:
    assert detect_engine(prepare(load(name)).markup) == engine


def test_block_page_format_is_tried_before_every_engine() -> None:
    assert HTML_FORMATS[0].name == "block-page"
    assert {fmt.name for fmt in HTML_FORMATS} >= {
        "block-page",
        "google-html",
        "bing-html",
        "duckduckgo-html",
    }


@pytest.mark.parametrize(
    ("shown", "url"),
    [
        ("https://news.example › 2026 › 03", "https://news.example/2026/03"),
        ("www.acme.example › fr › rappel", "https://www.acme.example/fr/rappel"),
        ("https://www.acme.example", "https://www.acme.example"),
        ("acme.example/recall", "https://acme.example/recall"),
        ("https://site.example › very › long … › end", "https://site.example/very"),
        ("Acme Official Site", None),
        ("", None),
    ],
)
def test_displayed_url(shown: str, url: str | None) -> None:
    assert displayed_url(shown) == url


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("https://a.example/x", ("https://a.example/x", None)),
        (
            "/url?q=https://a.example/x&sa=U",
            ("https://a.example/x", "/url?q=https://a.example/x&sa=U"),
        ),
        ("/goto?url=CAES", ("https://www.google.com/goto?url=CAES", "/goto?url=CAES")),
        ("/search?q=acme+refund", None),
        ("https://www.google.com/search?q=x", None),
        ("#", None),
        ("javascript:void(0)", None),
        ("https://support.google.com/websearch", ("https://support.google.com/websearch", None)),
    ],
)
def test_resolve_link(href: str, expected: tuple[str, str | None] | None) -> None:
    assert resolve_link(href, "https://www.google.com") == expected


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("https://www.google.com/", ("https://www.google.com/", None)),
        ("https://www.google.com/intl/en/about/", ("https://www.google.com/intl/en/about/", None)),
        ("https://www.google.com/travel/flights", ("https://www.google.com/travel/flights", None)),
        ("https://www.bing.com/maps?q=x", ("https://www.bing.com/maps?q=x", None)),
        ("/search?q=acme&start=10", None),
        ("https://www.google.com/search?q=acme", None),
        ("https://www.bing.com/images/search?q=x", None),
    ],
)
def test_a_result_link_on_the_engines_own_host_is_a_result(
    href: str, expected: tuple[str, str | None] | None
) -> None:
    """Navigation is told by where a link sits: a result's title link to google.com is a
    result; a link back into the engine's search is navigation wherever it sits."""
    assert resolve_link(href, "https://www.google.com", result=True) == expected
    assert resolve_link(href, "https://www.google.com") is None


# --- the parse command ------------------------------------------------------------------------


def test_parse_json_prints_the_snapshot(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["parse", str(FIXTURES / "bing.html"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == document("bing.html")


def test_parse_prints_a_table(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["parse", str(FIXTURES / "duckduckgo.html")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "duckduckgo (duckduckgo-html), query 'acme recall': 4 results"
    assert lines[1].split() == ["placement", "block", "rank", "page_position", "url", "title"]
    assert lines[3].split()[:5] == [
        "paid",
        "top",
        "1",
        "1",
        "https://www.acme.example/recall?utm_source=bing",
    ]
    assert lines[4].split()[:4] == ["organic", "1", "2", "https://news.example/2026/03/acme-recall"]
    assert len(lines) == 7


def test_parse_a_block_page_exits_1_saying_so(runner: CliRunner) -> None:
    path = FIXTURES / "duckduckgo-anomaly.html"
    result = runner.invoke(cli, ["parse", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {path}: a DuckDuckGo block page (anomaly page: bot challenge), not a result page\n"
    )


def test_parse_reads_json_payloads_too(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    snapshot = {
        "format": "serptrack-snapshot/1",
        "query": "acme recall",
        "results": [{"placement": "organic", "url": "https://a.example/", "title": "A"}],
    }
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    outcome = runner.invoke(cli, ["parse", str(path), "--json"])
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.stdout)["results"] == [
        result("organic", 1, 1, "https://a.example/", "A")
    ]


def test_parse_a_file_that_is_not_a_page(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n", encoding="utf-8")
    result = runner.invoke(cli, ["parse", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: not a known format (expected a ")


def test_parse_a_missing_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["parse", str(tmp_path / "nope.html")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_a_snippet_that_reads_like_a_relaxed_query_notice_is_only_a_snippet() -> None:
    page = load("google-desktop-current.html").replace(
        b"Internal documents show", b"Showing results for the 2025 audit. Internal documents show"
    )
    snapshot = parse_content(page)
    assert snapshot.answered_query is None
    assert any(i.snippet.startswith("Showing results for the 2025") for i in snapshot.results)


def test_a_notice_above_the_results_names_the_query_answered() -> None:
    notice = b'<div id="taw"><div id="fprs">Showing results for <a href="/search?q=acme+recal">acme recal</a></div></div>'
    page = load("google-desktop-current.html").replace(
        b'<div id="center_col"', notice + b'<div id="center_col"', 1
    )
    assert parse_content(page).answered_query == "acme recal"


def _with_block(block: str) -> bytes:
    marker = b'<div id="rso" class="dURPMd">'
    return load("google-desktop-current.html").replace(marker, marker + block.encode(), 1)


def test_story_cards_under_a_social_heading_are_perspectives_one_result_a_card() -> None:
    card = (
        '<div data-news-cluster-id="{n}"><a href="https://x.example/acme/status/{id}">'
        '<div role="heading">Acme kettle burned my kitchen</div></a>'
        '<a href="https://x.example/acme?author=1"><span>@someone</span></a></div>'
    )
    block = (
        '<div class="block"><div role="heading" aria-level="2">What people are saying</div>'
        + card.format(n=1, id=1)
        + card.format(n=2, id=1)  # the same post shown twice: one result, not its author link
        + card.format(n=3, id=2)
        + "</div>"
    )
    results = parse_content(_with_block(block)).results
    assert [(i.placement, i.url) for i in results if i.url.startswith("https://x.example")] == [
        ("perspectives", "https://x.example/acme/status/1"),
        ("perspectives", "https://x.example/acme/status/2"),
    ]
    assert "https://daily.example/business/acme-ceo-apology" in [
        i.url for i in results if i.placement == "news"
    ]  # the page's own top stories stay news


def test_forum_answers_are_folded_into_their_thread() -> None:
    block = (
        '<div class="block"><div role="heading" aria-level="2">Discussions and forums</div>'
        '<a href="https://www.reddit.com/r/acme/comments/abc/kettle_fire/"><h3>Kettle fire</h3></a>'
        '<a href="https://www.reddit.com/r/acme/comments/abc/kettle_fire/c1/"><span>answer</span></a>'
        '<a href="https://www.quora.com/Is-Acme-safe?top_ans=1"><h3>Is Acme safe?</h3></a>'
        '<a href="https://www.quora.com/Is-Acme-safe?top_ans=2"><span>answer</span></a>'
        "</div>"
    )
    results = parse_content(_with_block(block)).results
    assert [i.url for i in results if i.placement == "perspectives"] == [
        "https://www.reddit.com/r/acme/comments/abc/kettle_fire/",
        "https://www.quora.com/Is-Acme-safe?top_ans=1",
    ]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<meta content="width=device-width,initial-scale=1.0" name="viewport">', True),
        ("<META NAME=viewport CONTENT='initial-scale=1, width = device-width'>", True),
        ('<meta name="viewport" content="width=1024">', False),
        ('<meta name="description" content="width=device-width">', False),
        ('<meta name="viewport-fit" content="width=device-width">', False),
        ("", False),
    ],
)
def test_a_device_width_viewport_is_a_phone_layout(head: str, expected: bool) -> None:
    assert declares_device_width(f"<html><head>{head}</head><body></body></html>") is expected


def test_a_google_page_sized_to_the_device_is_mobile_even_without_results() -> None:
    """Google's smartphone page declares a device-width viewport; its desktop page declares
    none. A smartphone "no results" page has no result card to infer the layout from."""
    head = '<meta content="width=device-width,initial-scale=1.0" name="viewport">'
    page = (
        f"<html><head><title>zzqx - Google Search</title>{head}</head><body>"
        '<div id="center_col"><div id="topstuff"><div class="mnr-c"><div class="card-section">'
        "<p>Your search - <em>zzqx</em> - did not match any documents.</p></div></div></div>"
        '<div id="rso"></div></div></body></html>'
    )
    mobile = parse_content(page.encode(), where="mobile.html")
    assert (mobile.engine, mobile.device, mobile.results) == ("google", "mobile", [])
    desktop = parse_content(page.replace(head, "").encode(), where="desktop.html")
    assert (desktop.engine, desktop.device, desktop.results) == ("google", "desktop", [])
