"""The redirect wrappers saved pages use, unwrapped to the landing page (serptrack.urls)."""

from __future__ import annotations

import pytest

from serptrack.urls import normalise_url, unwrap_redirect


@pytest.mark.parametrize(
    ("wrapped", "landing"),
    [
        # Google ads: /aclk with a q= that is not a URL, and the googleadservices host
        (
            "/aclk?sa=l&ai=DChc&q=acme&adurl=https://www.acme.example/recall",
            "https://www.acme.example/recall",
        ),
        (
            "https://www.googleadservices.com/pagead/aclk?sa=L&ai=x&adurl="
            "https%3A%2F%2Fshop.example%2Fk%3Fa%3D1",
            "https://shop.example/k?a=1",
        ),
        # Bing ad clicks: the landing URL percent-encoded, then base64 (no "a1" prefix)
        (
            "https://www.bing.com/aclick?ld=e8Rw&u=aHR0cHMlM0ElMkYlMkZ3d3cuYWNtZS5leGFtcGxlJTJGcmVjYWxs",
            "https://www.acme.example/recall",
        ),
        # ... served at /aclk on 2019 pages (se-scraper's bing3.html); a relative /aclk is
        # Google's and stays Google's
        (
            "https://www.bing.com/aclk?ld=e3uD&u=aHR0cHMlM0ElMkYlMkZ3d3cuYWNtZS5leGFtcGxlJTJGcmVjYWxs",
            "https://www.acme.example/recall",
        ),
        # DuckDuckGo ads: y.js → u3 (a Bing ad click) → landing
        (
            "https://duckduckgo.com/y.js?ad_domain=acme.example&u3=https%3A%2F%2Fwww.bing.com%2F"
            "aclick%3Fld%3De8%26u%3DaHR0cHMlM0ElMkYlMkZ3d3cuYWNtZS5leGFtcGxlJTJGcmVjYWxs",
            "https://www.acme.example/recall",
        ),
        # DuckDuckGo ads through Yahoo: y.js → u3 (Yahoo's click link, the target in its
        # RU= path segment) → a Bing ad click → landing
        (
            "https://duckduckgo.com/y.js?u3=https%3A%2F%2Fr.search.yahoo.com%2Fcbclk%2FdWU9%2F"
            "RV%3D2%2FRE%3D1568411854%2FRO%3D10%2FRU%3Dhttps%253a%252f%252fwww.bing.com%252f"
            "aclick%253fld%253de3%2526u%253daHR0cHMlM0ElMkYlMkZ3d3cuYWNtZS5leGFtcGxlJTJGcmVjYWxs"
            "%2FRK%3D2%2FRS%3DUGlQ%2D&ad_provider=yhs",
            "https://www.acme.example/recall",
        ),
        # Advertisers' click trackers behind the engine's ad click, as on se-scraper's real
        # pages: Adobe Advertising (duckduckgo1.html) and eBay's rover (bing3.html) ...
        (
            "http://pixel.everesttech.net/3085/cq?ev_sid=10&ev_ltx=&ev_mt=b&ev_ex=&url=http%3A%2F"
            "%2Fwww.adobe.com%2Fcreativecloud%2Fbuy%2Fstudents.html%3Fsdid%3DKKUCY&msclkid=b5",
            "http://www.adobe.com/creativecloud/buy/students.html?sdid=KKUCY",
        ),
        (
            "https://rover.ebay.de/rover/1/707-223907-27959-0/2?mpre=https%3A%2F%2Fwww.ebay.de"
            "%2Fulk%2Fsch%2F%3F_nkw%3Dcar%2520tires&keyword=car%20tires&msclkid=d2",
            "https://www.ebay.de/ulk/sch/?_nkw=car%20tires",
        ),
        # ... and Search Ads 360's clickserver URL (its help centre's example)
        (
            "http://clickserve.dartsearch.net/link/click?lid=123456789&ds_s_kwgid=987654321"
            "&ds_url_v=2&ds_dest_url=https://www.example.com/",
            "https://www.example.com/",
        ),
        # a whole chain: a Bing ad click that leads to Adobe's tracker, then the landing page
        (
            "https://www.bing.com/aclick?ld=e3&u=aHR0cCUzQSUyRiUyRnBpeGVsLmV2ZXJlc3R0ZWNoLm5ldCUy"
            "RjMwODUlMkZjcSUzRnVybCUzRGh0dHAlMjUzQSUyNTJGJTI1MkZ3d3cuYWNtZS5leGFtcGxlJTI1MkZyZWNh"
            "bGw",
            "http://www.acme.example/recall",
        ),
    ],
)
def test_ad_wrappers_unwrap_to_the_landing_page(wrapped: str, landing: str) -> None:
    assert unwrap_redirect(wrapped) == landing


@pytest.mark.parametrize(
    "url",
    [
        "https://duckduckgo.com/y.js?ad_domain=acme.example&ad_provider=bingv7aa",
        "https://www.bing.com/aclick?ld=e8Rw",
        "https://www.bing.com/aclick?ld=e8Rw&u=not*base64",
        "/aclk?u=aHR0cHMlM0ElMkYlMkZ3d3cuYWNtZS5leGFtcGxlJTJGcmVjYWxs",
        "https://www.googleadservices.com/pagead/aclk?sa=L&adurl=",
        "https://ads.example/y.js?u3=https://x.example/",
        "https://r.search.yahoo.com/cbclk/dWU9/RV=2/RU=not-a-url/RK=2",
        "https://[broken/url?q=https://x.example/",
        "http://pixel.everesttech.net/3085/cq?ev_sid=10&url=not-a-url",
        "https://rover.ebay.de/rover/1/707-223907-27959-0/2?keyword=car",
        "https://everesttech.net.evil.example/cq?url=https://x.example/",
    ],
)
def test_what_cannot_be_unwrapped_is_left_alone(url: str) -> None:
    assert unwrap_redirect(url) == url


def test_normalised_ad_links_group_with_the_landing_page() -> None:
    assert (
        normalise_url(
            "https://www.bing.com/aclick?ld=e8&u=aHR0cHMlM0ElMkYlMkZ3d3cuYWNtZS5leGFtcGxlJTJGcmVjYWxsJTNGdXRtX3NvdXJjZSUzRGJpbmc"
        )
        == "https://acme.example/recall"
    )
