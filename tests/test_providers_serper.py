"""Serper.dev: the POST body and key header, response shapes, pagination, errors, replay."""

from __future__ import annotations

import json

import pytest

from serptrack.errors import FetchError, MissingKeyError
from serptrack.parsers import parse_content
from serptrack.parsers.payload import pages_document
from serptrack.providers import SearchRequest, build_provider

from .providers_support import Expect, Script, attach, fetch, fetch_error, fixture, placements

KEY = "serper-secret-key-5678"
ENV = {"SERPER_API_KEY": KEY}
REQUEST = SearchRequest("acme recall", country="us", language="en", depth=10)


def provider(**settings: object):
    made = build_provider("serper", settings, ENV)
    attach(made)
    return made


def page(number: int, body: bytes, status: int = 200, **extra: object) -> Expect:
    return Expect(
        "POST",
        "/search",
        headers={"x-api-key": KEY, "content-type": "application/json"},
        json_body={"q": "acme recall", "gl": "us", "hl": "en", "page": number, "num": 10, **extra},
        body=body,
        status=status,
    )


def test_full_page_maps_top_stories_and_organic() -> None:
    fetched = fetch(provider(), REQUEST, Script(page(1, fixture("serper", "page1.json"))))
    rows = placements(fetched)
    assert rows[:2] == [
        ("news", None, 1, 1, "https://news2.example/acme-ceo"),
        ("news", None, 2, 2, "https://press.example/acme-recall-expands"),
    ]
    assert [r[2] for r in rows if r[0] == "organic"] == list(range(1, 11))
    assert fetched.snapshot.source == "serper"


def test_plain_page_and_location() -> None:
    request = SearchRequest(
        "acme recall", country="us", language="en", location="Austin, Texas", depth=5
    )
    script = Script(page(1, fixture("serper", "plain.json"), location="Austin, Texas"))
    fetched = fetch(provider(), request, script)
    assert {r[0] for r in placements(fetched)} == {"organic"}


def test_empty_page() -> None:
    assert (
        fetch(
            provider(), REQUEST, Script(page(1, fixture("serper", "empty.json")))
        ).snapshot.results
        == []
    )


def test_paginates_with_page_to_depth_25() -> None:
    request = SearchRequest("acme recall", country="us", language="en", depth=25)
    script = Script(*(page(n, fixture("serper", f"page{n}.json")) for n in (1, 2, 3)))
    fetched = fetch(provider(), request, script)
    assert [r[2] for r in placements(fetched) if r[0] == "organic"] == list(range(1, 31))
    recorded = pages_document("serper", [json.loads(p.body) for p in fetched.pages])
    assert (
        parse_content(json.dumps(recorded).encode()).to_json()["results"]
        == (fetched.snapshot.to_json()["results"])
    )


def test_bad_key_403_is_an_auth_failure() -> None:
    error = fetch_error(
        provider(), REQUEST, Script(page(1, fixture("serper", "error_key.json"), 403))
    )
    assert error.kind == "auth"
    assert str(error) == (
        "Serper rejected the key (HTTP 403): Unauthorized. Sign up for a free account.; "
        "check SERPER_API_KEY"
    )


def test_rate_limit_retried_then_ok() -> None:
    made = provider()
    clock = attach(made)
    script = Script(
        page(1, fixture("serper", "rate_limited.json"), 429),
        page(1, fixture("serper", "plain.json")),
        page(2, fixture("serper", "empty.json")),
    )
    assert len(fetch(made, REQUEST, script).snapshot.results) == 7
    assert clock.sleeps == [0.0075]  # backoff: half the first step plus half of it (no jitter)


def test_mobile_is_refused_not_faked() -> None:
    request = SearchRequest("acme recall", country="us", language="en", device="mobile")
    error = fetch_error(provider(), request, Script())
    assert error.kind == "unsupported"
    assert 'set device = "desktop"' in str(error)


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingKeyError, match="SERPER_API_KEY"):
        build_provider("serper", {}, {}).require_keys()


def test_replayed_error_body_fails() -> None:
    with pytest.raises(FetchError) as caught:
        parse_content(fixture("serper", "error_key.json"))
    assert caught.value.kind == "auth"
