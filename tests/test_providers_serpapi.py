"""SerpApi: request parameters, every response shape, pagination, errors, replay."""

from __future__ import annotations

import json

import pytest

from serptrack.errors import MissingKeyError
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
    fixture_json,
    placements,
)

KEY = "serpapi-secret-key-1234"
ENV = {"SERPAPI_API_KEY": KEY}
REQUEST = SearchRequest("acme recall", country="us", language="en", device="desktop", depth=10)


def provider(**settings: object):
    made = build_provider("serpapi", settings, ENV)
    attach(made)
    return made


def page(start: int | None, body: bytes, status: int = 200, **headers: str) -> Expect:
    return Expect(
        "GET",
        "/search.json",
        params={
            "engine": "google",
            "q": "acme recall",
            "gl": "us",
            "hl": "en",
            "device": "desktop",
            "api_key": KEY,
            "start": ABSENT if start is None else start,
            "location": ABSENT,
        },
        body=body,
        status=status,
        response_headers=headers,
    )


def test_full_page_maps_ads_ai_overview_top_stories_and_organic() -> None:
    fetched = fetch(provider(), REQUEST, Script(page(None, fixture("serpapi", "page1.json"))))
    rows = placements(fetched)
    assert rows[:2] == [
        ("paid", "top", 1, 1, "https://acme.example/recall"),
        ("paid", "top", 2, 2, "https://lawfirm.example/acme-class-action"),
    ]
    assert rows[2:4] == [
        ("ai_overview", None, 1, 3, "https://news.example/2026/03/acme-recall"),
        ("ai_overview", None, 2, 4, "https://acme.example/recall"),
    ]
    assert [r[0] for r in rows[4:6]] == ["news", "news"]
    organic = [r for r in rows if r[0] == "organic"]
    assert [r[2] for r in organic] == list(range(1, 11))
    assert organic[0][3] == 7
    assert rows[-1] == ("paid", "bottom", 3, 17, "https://retailer.example/kettles")
    snapshot = fetched.snapshot
    assert snapshot.source == "serpapi"
    assert snapshot.observed_at is not None and snapshot.observed_at.isoformat().startswith(
        "2026-03-03T07:00:03"
    )
    assert snapshot.results[0].tracking_url and "aclk" in snapshot.results[0].tracking_url


def test_no_ads_and_location_are_mapped() -> None:
    request = SearchRequest(
        "acme recall", country="us", language="en", device="mobile", location="Austin, Texas"
    )
    expect = page(None, fixture("serpapi", "no_ads.json"))
    expect.params = {**expect.params, "device": "mobile", "location": "Austin, Texas"}
    fetched = fetch(provider(), request, Script(expect))
    assert {r[0] for r in placements(fetched)} == {"organic"}
    assert len(fetched.snapshot.results) == 8


def test_empty_result_page_is_ok_with_no_results() -> None:
    fetched = fetch(provider(), REQUEST, Script(page(None, fixture("serpapi", "empty.json"))))
    assert fetched.snapshot.results == []


def test_paginates_with_start_to_depth_25() -> None:
    request = SearchRequest("acme recall", country="us", language="en", depth=25)
    script = Script(
        page(None, fixture("serpapi", "page1.json")),
        page(10, fixture("serpapi", "page2.json")),
        page(20, fixture("serpapi", "page3.json")),
    )
    fetched = fetch(provider(), request, script)
    organic = [r for r in placements(fetched) if r[0] == "organic"]
    assert [r[2] for r in organic] == list(range(1, 31))
    positions = [r[3] for r in placements(fetched)]
    assert positions == list(range(1, len(positions) + 1))
    # Page 1's bottom ad comes after page 1's organic results, before page 2's.
    assert placements(fetched)[16][:3] == ("paid", "bottom", 3)
    assert len(fetched.pages) == 3
    assert all(KEY not in p.url and "api_key=***" in p.url for p in fetched.pages)


def test_stops_when_there_is_no_next_page() -> None:
    request = SearchRequest("acme recall", country="us", language="en", depth=50)
    fetched = fetch(provider(), request, Script(page(None, fixture("serpapi", "no_ads.json"))))
    assert len(fetched.pages) == 1


def test_invalid_key_is_an_auth_failure_without_retry() -> None:
    error = fetch_error(
        provider(), REQUEST, Script(page(None, fixture("serpapi", "error_key.json"), 401))
    )
    assert error.kind == "auth"
    assert error.status_code == 401
    assert str(error) == (
        "SerpApi rejected the key (HTTP 401): Invalid API key. Your API key should be here: "
        "https://serpapi.com/manage-api-key; check SERPAPI_API_KEY"
    )
    assert len(error.pages) == 1 and error.pages[0].status_code == 401


def test_rate_limit_is_retried_after_retry_after() -> None:
    made = provider()
    clock = attach(made)
    script = Script(
        page(None, fixture("serpapi", "rate_limited.json"), 429, **{"Retry-After": "7"}),
        page(None, fixture("serpapi", "no_ads.json")),
    )
    fetched = fetch(made, REQUEST, script)
    assert len(fetched.snapshot.results) == 8
    assert clock.sleeps == [7.0]


def test_rate_limit_that_persists_fails_as_http_429() -> None:
    body = fixture("serpapi", "rate_limited.json")
    script = Script(*(page(None, body, 429) for _ in range(3)))
    error = fetch_error(provider(), REQUEST, script)
    assert error.kind == "http-429"
    assert error.status_code == 429
    assert "gave up after 3 attempts" in str(error)
    assert "lower rate_limit in [providers.serpapi]" in str(error)


def test_out_of_searches_is_a_quota_failure_without_retry() -> None:
    script = Script(page(None, fixture("serpapi", "out_of_searches.json"), 429))
    error = fetch_error(provider(), REQUEST, script)
    assert error.kind == "quota"
    assert "run out of searches" in str(error)


def test_search_error_503_is_retried_then_succeeds() -> None:
    script = Script(
        page(None, fixture("serpapi", "search_error.json"), 503),
        page(None, fixture("serpapi", "page1.json")),
    )
    assert len(fetch(provider(), REQUEST, script).snapshot.results) == 17


def test_search_error_with_http_200_is_retried() -> None:
    script = Script(
        page(None, fixture("serpapi", "search_error.json")),
        page(None, fixture("serpapi", "no_ads.json")),
    )
    assert len(fetch(provider(), REQUEST, script).snapshot.results) == 8


def test_base_url_override() -> None:
    made = provider(base_url="http://127.0.0.1:9/proxy/")
    script = Script(page(None, fixture("serpapi", "no_ads.json")))
    script.steps[0].path = "/proxy/search.json"
    fetch(made, REQUEST, script)
    assert script.seen[0].url.host == "127.0.0.1"


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingKeyError, match="SERPAPI_API_KEY"):
        build_provider("serpapi", {}, {}).require_keys()


def test_recorded_payloads_replay_exactly() -> None:
    request = SearchRequest("acme recall", country="us", language="en", depth=25)
    script = Script(
        page(None, fixture("serpapi", "page1.json")),
        page(10, fixture("serpapi", "page2.json")),
        page(20, fixture("serpapi", "page3.json")),
    )
    fetched = fetch(provider(), request, script)
    recorded = pages_document("serpapi", [json.loads(p.body) for p in fetched.pages])
    replayed = parse_content(json.dumps(recorded).encode())
    assert replayed.to_json()["results"] == fetched.snapshot.to_json()["results"]
    single = parse_content(fixture("serpapi", "page1.json")).to_json()["results"]
    assert (
        single
        == fetch(
            provider(), REQUEST, Script(page(None, fixture("serpapi", "page1.json")))
        ).snapshot.to_json()["results"]
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [("error_key.json", "auth"), ("search_error.json", "provider-unavailable")],
)
def test_replayed_error_bodies_fail(name: str, kind: str) -> None:
    from serptrack.errors import FetchError

    with pytest.raises(FetchError) as caught:
        parse_content(fixture("serpapi", name))
    assert caught.value.kind == kind


def test_parser_does_not_claim_other_apis_payloads() -> None:
    from serptrack.parsers.serpapi import is_serpapi

    assert is_serpapi(fixture_json("serpapi", "page1.json"))
    assert not is_serpapi(fixture_json("valueserp", "page1.json"))
    assert not is_serpapi(fixture_json("google_cse", "error_key.json"))


@pytest.mark.parametrize(
    ("information", "answered"),
    [
        # SerpApi's documented states (serpapi.com spell-check pages)
        (
            {
                "organic_results_state": "Some results for exact spelling but showing fixed spelling",
                "query_displayed": "yoggurt",
                "showing_results_for": "yogurt",
                "spelling_fix": "yogurt",
            },
            "yogurt",
        ),
        (
            {"organic_results_state": "Showing results for fixed spelling", "spelling_fix": "acme"},
            "acme",
        ),
        (
            {"organic_results_state": "Including results for spelling fix", "spelling_fix": "acme"},
            None,
        ),
        ({"organic_results_state": "Results for exact spelling"}, None),
    ],
)
def test_results_for_another_query_are_flagged(
    information: dict[str, str], answered: str | None
) -> None:
    doc = json.loads(fixture("serpapi", "page1.json"))
    doc["search_information"] = information
    assert parse_content(json.dumps(doc).encode()).answered_query == answered
