"""SerpApi's deferred AI overview: the ``page_token`` follow-up, its faults and its replay."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from serptrack.errors import ParseError
from serptrack.parsers import parse_content
from serptrack.parsers.payload import pages_document
from serptrack.providers import Fetched, Provider

from .providers_support import (
    ABSENT,
    Expect,
    Script,
    attach,
    fetch,
    fixture,
    fixture_json,
    placements,
)
from .test_providers_serpapi import KEY, REQUEST, page, provider

TOKEN = fixture_json("serpapi", "deferred.json")["ai_overview"]["page_token"]
DEFERRED = fixture("serpapi", "deferred.json")
OVERVIEW = fixture("serpapi", "ai_overview.json")


def overview(body: bytes, status: int = 200, **headers: str) -> Expect:
    """The follow-up request, asserted exactly: the token and the key, nothing of the search."""
    return Expect(
        "GET",
        "/search.json",
        params={
            "engine": "google_ai_overview",
            "page_token": TOKEN,
            "api_key": KEY,
            "q": ABSENT,
            "start": ABSENT,
            "gl": ABSENT,
        },
        body=body,
        status=status,
        response_headers=headers,
    )


def fetched_with(*follow_ups: Expect) -> tuple[Fetched, Script]:
    script = Script(page(None, DEFERRED), *follow_ups)
    made = provider()
    return fetch(made, REQUEST, script), script


def overview_rows(fetched: Fetched) -> list[tuple[str, str | None, int | None, int | None, str]]:
    return [row for row in placements(fetched) if row[0] == "ai_overview"]


def organic_urls(fetched: Fetched) -> list[str]:
    return [row[4] for row in placements(fetched) if row[0] == "organic"]


def test_deferred_overview_is_fetched_and_its_sources_ranked_in_citation_order() -> None:
    fetched, script = fetched_with(overview(OVERVIEW))
    rows = placements(fetched)
    assert rows[:2] == [
        ("paid", "top", 1, 1, "https://acme.example/recall"),
        ("paid", "top", 2, 2, "https://lawfirm.example/acme-class-action"),
    ]
    # Where the overview sits on the page: after the top ads, before top stories and organic.
    assert rows[2:5] == [
        ("ai_overview", None, 1, 3, "https://news.example/2026/03/acme-recall"),
        ("ai_overview", None, 2, 4, "https://lawfirm.example/acme-class-action"),
        ("ai_overview", None, 3, 5, "https://acme.example/recall"),
    ]
    organic = [r for r in rows if r[0] == "organic"]
    assert [r[2] for r in organic] == list(range(1, 11)) and organic[0][3] == 8
    assert [r[3] for r in rows] == list(range(1, len(rows) + 1))
    snapshot = fetched.snapshot
    assert snapshot.gaps == () and snapshot.source == "serpapi" and snapshot.query == "acme recall"
    # Both raw pages kept as evidence, the key stripped from their URLs.
    assert [p.name for p in fetched.pages] == ["page-1.json", "page-2.json"]
    assert "google_ai_overview" in fetched.pages[1].url and "page_token=" in fetched.pages[1].url
    for raw in fetched.pages:
        assert KEY not in raw.url and KEY.encode() not in raw.body
    assert script.seen[1].url.params["api_key"] == KEY  # sent, never kept


def test_inline_overview_asks_for_no_follow_up() -> None:
    made = provider()
    fetched = fetch(made, REQUEST, Script(page(None, fixture("serpapi", "page1.json"))))
    assert len(overview_rows(fetched)) == 2 and fetched.snapshot.gaps == ()


def test_follow_up_after_429_with_retry_after_then_success() -> None:
    made = provider()
    clock = attach(made)
    script = Script(
        page(None, DEFERRED),
        overview(fixture("serpapi", "rate_limited.json"), 429, **{"Retry-After": "7"}),
        overview(OVERVIEW),
    )
    fetched = fetch(made, REQUEST, script)
    assert clock.sleeps == [7.0]
    assert len(overview_rows(fetched)) == 3 and fetched.snapshot.gaps == ()
    assert len(fetched.pages) == 2  # the 429 is a retry, not evidence of the check


def test_follow_up_500_until_given_up_keeps_the_organic_results_and_notes_the_gap() -> None:
    error = json.dumps({"error": "Internal error"}).encode()
    fetched, _ = fetched_with(*(overview(error, 500) for _ in range(3)))
    assert overview_rows(fetched) == []
    assert len(organic_urls(fetched)) == 10
    assert [r[0] for r in placements(fetched)[:2]] == ["paid", "paid"]
    (gap,) = fetched.snapshot.gaps
    assert gap.placement == "ai_overview" and gap.kind == "http-500"
    assert gap.reason.startswith(
        "SerpApi deferred the AI overview (page_token) and its request failed: SerpApi failed "
        "on its side (HTTP 500): Internal error; try again later"
    )
    assert gap.reason.endswith("; its sources are unknown, not absent")
    assert len(fetched.pages) == 1  # the failed answer is not replayed as a page


def test_truncated_follow_up_is_a_bad_response_gap() -> None:
    fetched, _ = fetched_with(*(overview(OVERVIEW[:200]) for _ in range(3)))
    (gap,) = fetched.snapshot.gaps
    assert gap.kind == "bad-response" and "cut-off or invalid JSON" in gap.reason
    assert len(organic_urls(fetched)) == 10


def test_follow_up_error_body_is_a_gap() -> None:
    fetched, _ = fetched_with(
        *(overview(fixture("serpapi", "ai_overview_error.json")) for _ in range(3))
    )
    (gap,) = fetched.snapshot.gaps
    assert gap.kind == "provider-unavailable"
    assert "Invalid page_token. It may have expired." in gap.reason


def test_follow_up_refused_with_400_is_not_retried() -> None:
    body = json.dumps({"error": "Missing page_token."}).encode()
    fetched, _ = fetched_with(overview(body, 400))
    (gap,) = fetched.snapshot.gaps
    assert gap.kind == "provider-error" and "Missing page_token." in gap.reason


def test_answer_without_an_overview_is_a_gap_not_an_empty_overview() -> None:
    doc = fixture_json("serpapi", "ai_overview.json")
    del doc["ai_overview"]
    fetched, _ = fetched_with(overview(json.dumps(doc).encode()))
    (gap,) = fetched.snapshot.gaps
    assert gap.kind == "provider-error" and "no ai_overview object" in gap.reason


def test_follow_up_timeout_is_a_gap() -> None:
    made: Provider = provider()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.url.params.get("engine") == "google_ai_overview":
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, content=DEFERRED, headers={"content-type": "application/json"})

    async def run() -> Fetched:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await made.fetch(REQUEST, client)

    fetched = asyncio.run(run())
    (gap,) = fetched.snapshot.gaps
    assert gap.kind == "timeout" and len(calls) == 4
    assert len(organic_urls(fetched)) == 10


def test_deferred_page_alone_parses_with_a_gap() -> None:
    snapshot = parse_content(DEFERRED)
    (gap,) = snapshot.gaps
    assert gap.placement == "ai_overview" and "it was not fetched" in gap.reason
    assert not [item for item in snapshot.results if item.placement == "ai_overview"]


def test_recorded_follow_up_replays_exactly() -> None:
    fetched, _ = fetched_with(overview(OVERVIEW))
    recorded = pages_document("serpapi", [json.loads(p.body) for p in fetched.pages])
    replayed = parse_content(json.dumps(recorded).encode())
    assert replayed.to_json()["results"] == fetched.snapshot.to_json()["results"]
    assert replayed.gaps == ()


def test_follow_up_page_alone_is_refused() -> None:
    recorded = pages_document("serpapi", [json.loads(OVERVIEW)])
    with pytest.raises(ParseError, match="without its result page"):
        parse_content(json.dumps(recorded).encode())


def test_dataforseo_async_overview_without_content_is_a_gap() -> None:
    doc = fixture_json("dataforseo", "live_full.json")
    result = doc["tasks"][0]["result"][0]
    (overview,) = [item for item in result["items"] if item["type"] == "ai_overview"]
    assert parse_content(json.dumps(doc).encode()).gaps == ()
    overview["asynchronous_ai_overview"] = True  # still true once the content is loaded
    assert parse_content(json.dumps(doc).encode()).gaps == ()
    overview["items"], overview["references"] = [], None
    snapshot = parse_content(json.dumps(doc).encode())
    (gap,) = snapshot.gaps
    assert gap.placement == "ai_overview" and "load_async_ai_overview" in gap.reason
    assert not [item for item in snapshot.results if item.placement == "ai_overview"]
