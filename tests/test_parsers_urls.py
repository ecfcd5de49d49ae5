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
