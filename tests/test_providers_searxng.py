"""SearXNG: base_url is required, JSON format, pageno, and "every engine failed" is a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from serptrack.errors import FetchError
from serptrack.parsers import parse_content
from serptrack.providers import SearchRequest, SettingError, build_provider, provider_class

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

BASE = "http://127.0.0.1:8888/searx"
REQUEST = SearchRequest("acme recall", engine="searxng", country="us", language="en", depth=20)


def provider(**settings: object):
    made = build_provider("searxng", {"base_url": BASE, **settings}, {})
    attach(made)
    return made


def page(number: int, body: bytes, status: int = 200, **params: object) -> Expect:
    expected = {
        "q": "acme recall",
        "format": "json",
        "pageno": number,
        "language": "en-US",
        "categories": "general",
        "engines": ABSENT,
        **params,
    }
    return Expect("GET", "/searx/search", params=expected, body=body, status=status)


def test_results_in_order_with_pagination() -> None:
    request = SearchRequest("acme recall", engine="searxng", country="us", language="en", depth=30)
    script = Script(
        page(1, fixture("searxng", "page1.json")), page(2, fixture("searxng", "page2.json"))
    )
    fetched = fetch(provider(), request, script)
    assert [r[2] for r in placements(fetched)] == list(range(1, 41))


def test_engine_and_settings_map_to_parameters() -> None:
    request = SearchRequest("acme recall", engine="google", country="us", language="en", depth=5)
    fetch(
        provider(),
        request,
        Script(page(1, fixture("searxng", "page1.json"), engines="google", categories=ABSENT)),
    )
    fetch(
        provider(engines="brave,mojeek"),
        request,
        Script(
            page(1, fixture("searxng", "page1.json"), engines="brave,mojeek", categories=ABSENT)
        ),
    )


def test_empty_page_without_failures_is_ok() -> None:
    assert (
        fetch(
            provider(), REQUEST, Script(page(1, fixture("searxng", "empty.json")))
        ).snapshot.results
        == []
    )


def test_empty_page_with_unresponsive_engines_is_a_failure_not_nothing_ranks() -> None:
    script = Script(*(page(1, fixture("searxng", "all_failed.json")) for _ in range(3)))
    error = fetch_error(provider(), REQUEST, script)
    assert error.kind == "provider-unavailable"
    assert "google (access denied), brave (timeout), duckduckgo (CAPTCHA)" in str(error)
    with pytest.raises(FetchError):
        parse_content(fixture("searxng", "all_failed.json"))


def test_json_disabled_403_says_which_setting_to_change() -> None:
    forbidden = Expect(
        "GET", "/searx/search", status=403, body=b"<html><body>Forbidden</body></html>"
    )
    error = fetch_error(provider(), REQUEST, Script(forbidden))
    assert "add json to search.formats" in str(error)


def test_base_url_is_required_and_checked() -> None:
    cls = provider_class("searxng")
    assert cls.required_settings == ("base_url",)
    with pytest.raises(SettingError, match="must start with http"):
        cls.check_settings({"base_url": "searx.local"}, Path("."))
    assert cls.check_settings({"base_url": BASE, "engines": "brave"}, Path(".")) == {
        "base_url": BASE,
        "engines": "brave",
    }


def test_limiter_429_is_retried_then_explained() -> None:
    limited = Expect(
        "GET",
        "/searx/search",
        status=429,
        body=b"Too Many Requests",
        response_headers={"content-type": "text/html"},
    )
    script = Script(limited, page(1, fixture("searxng", "page1.json")))
    assert fetch(provider(), REQUEST, script).snapshot.results
    error = fetch_error(provider(), REQUEST, Script(*(limited for _ in range(3))))
    assert error.kind == "http-429"
    assert "set server.limiter: false" in str(error)
