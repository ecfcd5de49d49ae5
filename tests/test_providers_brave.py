"""Brave Search API: the token header, offset pages (which may overlap), rate-limit headers."""

from __future__ import annotations

import json

import pytest

from serptrack.errors import FetchError, MissingKeyError
from serptrack.parsers import parse_content
from serptrack.parsers.payload import pages_document
from serptrack.providers import SearchRequest, build_provider

from .providers_support import (
    ABSENT,
    Expect,
    Script,
    attach,
    fetch,
    fetch_error,
    fixture,
    placements,
)

KEY = "brave-secret-token-0001"
ENV = {"BRAVE_API_KEY": KEY}
REQUEST = SearchRequest("acme recall", country="us", language="en", depth=20)


def provider(**settings: object):
    made = build_provider("brave", settings, ENV)
    attach(made)
    return made


def page(
    offset: int, body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Expect:
    return Expect(
        "GET",
        "/res/v1/web/search",
        params={
            "q": "acme recall",
            "country": "US",
            "search_lang": "en",
            "count": 20,
            "offset": offset or ABSENT,
        },
        headers={"x-subscription-token": KEY, "accept": "application/json"},
        body=body,
        status=status,
        response_headers=headers or {},
    )


def test_web_results_rank_by_order_with_tags_stripped() -> None:
    fetched = fetch(provider(), REQUEST, Script(page(0, fixture("brave", "page1.json"))))
    rows = placements(fetched)
    assert [r[2] for r in rows] == list(range(1, 21))
    first = fetched.snapshot.results[0]
    assert first.title == "Result 1: Acme kettle recall"
    assert first.snippet == "What happened with the Acme kettle & why, part 1."
    assert fetched.snapshot.engine == "brave"


def test_second_page_drops_overlapping_results() -> None:
    request = SearchRequest("acme recall", country="us", language="en", depth=35)
    script = Script(
        page(0, fixture("brave", "page1.json")), page(1, fixture("brave", "page2.json"))
    )
    fetched = fetch(provider(), request, script)
    urls = [r[4] for r in placements(fetched)]
    assert len(urls) == len(set(urls)) == 38
    assert [r[2] for r in placements(fetched)] == list(range(1, 39))
    recorded = pages_document("brave", [json.loads(p.body) for p in fetched.pages])
    assert (
        parse_content(json.dumps(recorded).encode()).to_json()["results"]
        == (fetched.snapshot.to_json()["results"])
    )


def test_stops_when_brave_has_no_more_results() -> None:
    request = SearchRequest("acme recall", country="us", language="en", depth=100)
    script = Script(
        page(0, fixture("brave", "page1.json")), page(1, fixture("brave", "page2.json"))
    )
    assert len(fetch(provider(), request, script).pages) == 2


def test_empty() -> None:
    assert (
        fetch(provider(), REQUEST, Script(page(0, fixture("brave", "empty.json")))).snapshot.results
        == []
    )


def test_invalid_token_is_an_auth_failure() -> None:
    error = fetch_error(
        provider(), REQUEST, Script(page(0, fixture("brave", "error_key.json"), 422))
    )
    assert error.kind == "auth"
    assert "SUBSCRIPTION_TOKEN_INVALID" in str(error) and "check BRAVE_API_KEY" in str(error)


def test_rate_limit_headers_slow_the_provider_down() -> None:
    made = provider()
    clock = attach(made)
    limited = {
        "X-RateLimit-Limit": "1, 15000",
        "X-RateLimit-Policy": "1;w=1, 15000;w=2592000",
        "X-RateLimit-Remaining": "0, 14000",
        "X-RateLimit-Reset": "1, 1419704",
    }
    request = SearchRequest("acme recall", country="us", language="en", depth=35)
    script = Script(
        page(0, fixture("brave", "page1.json"), headers=limited),
        page(1, fixture("brave", "rate_limited.json"), 429, limited),
        page(1, fixture("brave", "page2.json")),
    )
    fetch(made, request, script)
    assert made.limiter.rate == 1.0
    # The exhausted one-second window holds the next request back a second; the 429 then
    # waits its backoff, and the plan's 1 request per second spaces the third request.
    assert clock.sleeps == pytest.approx([1.0, 0.0075, 0.9925])


def test_mobile_and_location_are_refused() -> None:
    error = fetch_error(provider(), SearchRequest("acme recall", location="Austin"), Script())
    assert error.kind == "unsupported" and "cannot target a location" in str(error)


def test_missing_key_and_replayed_error() -> None:
    with pytest.raises(MissingKeyError, match="BRAVE_API_KEY"):
        build_provider("brave", {}, {}).require_keys()
    with pytest.raises(FetchError) as caught:
        parse_content(fixture("brave", "rate_limited.json"))
    assert caught.value.kind == "http-429"
