"""Google Custom Search: key and cx, 1-based start, the 100-result limit, errors, notes."""

from __future__ import annotations

import pytest

from serptrack.diagnostics import provider_rows
from serptrack.errors import FetchError, MissingKeyError
from serptrack.parsers import parse_content
from serptrack.providers import SearchRequest, build_provider

from .providers_support import Expect, Script, attach, fetch, fetch_error, fixture, placements

KEY, CX = "AIzaSyD-cse-secret-key", "017576662512468239146:omuauf_lfve"
ENV = {"GOOGLE_CSE_KEY": KEY, "GOOGLE_CSE_CX": CX}
REQUEST = SearchRequest("acme recall", country="us", language="en", depth=10)


def provider():
    made = build_provider("google_cse", {}, ENV)
    attach(made)
    return made


def page(start: int, body: bytes, status: int = 200) -> Expect:
    return Expect(
        "GET",
        "/customsearch/v1",
        params={
            "key": KEY,
            "cx": CX,
            "q": "acme recall",
            "gl": "us",
            "hl": "en",
            "num": 10,
            "start": start,
        },
        body=body,
        status=status,
    )


def test_items_and_one_based_pagination_to_depth_25() -> None:
    request = SearchRequest("acme recall", country="us", language="en", depth=25)
    script = Script(
        *(
            page(start, fixture("google_cse", f"page{n}.json"))
            for n, start in ((1, 1), (2, 11), (3, 21))
        )
    )
    fetched = fetch(provider(), request, script)
    assert [r[2] for r in placements(fetched)] == list(range(1, 31))
    assert all(KEY not in p.url and CX not in p.url for p in fetched.pages)


def test_stops_without_next_page() -> None:
    request = SearchRequest("acme recall", country="us", language="en", depth=100)
    fetched = fetch(provider(), request, Script(page(1, fixture("google_cse", "page3.json"))))
    assert len(fetched.snapshot.results) == 10


def test_empty() -> None:
    assert (
        fetch(
            provider(), REQUEST, Script(page(1, fixture("google_cse", "empty.json")))
        ).snapshot.results
        == []
    )


def test_invalid_key_400_is_an_auth_failure() -> None:
    error = fetch_error(
        provider(), REQUEST, Script(page(1, fixture("google_cse", "error_key.json"), 400))
    )
    assert error.kind == "auth"
    assert "API key not valid" in str(error) and "check GOOGLE_CSE_KEY and GOOGLE_CSE_CX" in str(
        error
    )


def test_daily_quota_429_is_retried_then_reported() -> None:
    script = Script(*(page(1, fixture("google_cse", "quota.json"), 429) for _ in range(3)))
    error = fetch_error(provider(), REQUEST, script)
    assert error.kind == "http-429" and "gave up after 3 attempts" in str(error)


def test_providers_listing_says_when_the_service_closes() -> None:
    row = next(r for r in provider_rows({}) if r["name"] == "google_cse")
    assert "2027-01-01" in row["notes"]
    assert row["missing"] == ["GOOGLE_CSE_KEY", "GOOGLE_CSE_CX"]


def test_missing_cx_is_named_and_replayed_quota_fails() -> None:
    with pytest.raises(MissingKeyError, match="GOOGLE_CSE_CX"):
        build_provider("google_cse", {}, {"GOOGLE_CSE_KEY": KEY}).require_keys()
    with pytest.raises(FetchError) as caught:
        parse_content(fixture("google_cse", "quota.json"))
    assert caught.value.kind == "quota"
