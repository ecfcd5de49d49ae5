"""Google AI mode as a keyword's engine: SerpApi's ``engine=google_ai_mode`` and DataForSEO's
AI Mode endpoint, their requests, answers, faults, replay and recording names."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from serptrack.errors import FetchError
from serptrack.parsers import parse_content
from serptrack.providers import SearchRequest, build_provider
from serptrack.providers.replay import fixture_candidates, fixture_path

from . import test_providers_dataforseo as dfs
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
from .test_providers_serpapi import KEY

ENGINE = "google_ai_mode"
# depth is set high on purpose: an answer has no pages, so one request is all there is
REQUEST = SearchRequest("acme recall", engine=ENGINE, country="us", language="en", depth=50)
CITED = [
    ("ai_mode", None, 1, 1, "https://news.example/2026/03/acme-recall"),
    ("ai_mode", None, 2, 2, "https://acme.example/recall"),
    ("ai_mode", None, 3, 3, "https://consumerwatch.example/acme/kettle-fires"),
    ("ai_mode", None, 4, 4, "https://www.reddit.com/r/appliances/comments/acme_kettle/"),
]


def serpapi(**settings: object) -> Any:
    made = build_provider("serpapi", settings, {"SERPAPI_API_KEY": KEY})
    attach(made)
    return made


def dataforseo(**settings: object) -> Any:
    made = build_provider("dataforseo", settings, dfs.ENV)
    attach(made)
    return made


def answer(body: bytes, status: int = 200, **headers: str) -> Expect:
    """SerpApi's AI-mode request, asserted exactly: no paging, no overview token."""
    return Expect(
        "GET",
        "/search.json",
        params={
            "engine": ENGINE,
            "q": "acme recall",
            "gl": "us",
            "hl": "en",
            "device": "desktop",
            "api_key": KEY,
            "start": ABSENT,
            "num": ABSENT,
            "location": ABSENT,
            "page_token": ABSENT,
        },
        body=body,
        status=status,
        response_headers=headers,
    )


def task(body: bytes, status: int = 200, **headers: str) -> Expect:
    """DataForSEO's AI-mode task, asserted exactly: the organic task less ``depth``."""
    return Expect(
        "POST",
        "/v3/serp/google/ai_mode/live/advanced",
        headers={"authorization": dfs.AUTH},
        json_body=[
            {
                "keyword": "acme recall",
                "language_code": "en",
                "device": "desktop",
                "location_code": 2840,
            }
        ],
        body=body,
        status=status,
        response_headers=headers,
    )


def expect_for(provider: str) -> Any:
    return answer if provider == "serpapi" else task


def made(provider: str) -> Any:
    return serpapi() if provider == "serpapi" else dataforseo()


BOTH = pytest.mark.parametrize("provider", ["serpapi", "dataforseo"])


# --- answers ---------------------------------------------------------------------------------


@BOTH
def test_sources_are_ranked_in_the_order_the_answer_first_cites_them(provider: str) -> None:
    fetched = fetch(
        made(provider), REQUEST, Script(expect_for(provider)(fixture(provider, "ai_mode.json")))
    )
    # cited news, Acme, Consumer Watch; the uncited Reddit thread last; the news story's
    # second link (a #:~:text= fragment, SerpApi) or second citation (DataForSEO) once
    assert placements(fetched) == CITED
    snapshot = fetched.snapshot
    assert snapshot.engine == ENGINE and snapshot.source == f"{provider}/{ENGINE}"
    assert snapshot.results[1].title == "Kettle 2000 recall: what to do"
    assert len(fetched.pages) == 1
    for page in fetched.pages:
        assert KEY not in page.url and dfs.PASSWORD not in page.url


def test_serpapi_raw_url_keeps_the_request_with_the_key_masked() -> None:
    fetched = fetch(serpapi(), REQUEST, Script(answer(fixture("serpapi", "ai_mode.json"))))
    (page,) = fetched.pages
    assert "engine=google_ai_mode" in page.url and "api_key=***" in page.url


def test_serpapi_passes_device_and_location() -> None:
    request = SearchRequest(
        "acme recall",
        engine=ENGINE,
        country="us",
        language="en",
        device="mobile",
        location="Austin, Texas",
    )
    expect = answer(fixture("serpapi", "ai_mode.json"))
    expect.params = {**expect.params, "device": "mobile", "location": "Austin, Texas"}
    assert placements(fetch(serpapi(), request, Script(expect))) == CITED


def test_dataforseo_passes_mobile_and_a_location_name() -> None:
    request = SearchRequest(
        "acme recall",
        engine=ENGINE,
        language="en",
        device="mobile",
        location="Austin,Texas,United States",
    )
    expect = task(fixture("dataforseo", "ai_mode.json"))
    expect.json_body = [
        {
            "keyword": "acme recall",
            "language_code": "en",
            "device": "mobile",
            "location_name": "Austin,Texas,United States",
        }
    ]
    assert placements(fetch(dataforseo(), request, Script(expect))) == CITED


@BOTH
def test_an_answer_citing_nobody_is_ok_with_no_results(provider: str) -> None:
    script = Script(expect_for(provider)(fixture(provider, "ai_mode_uncited.json")))
    fetched = fetch(made(provider), REQUEST, script)
    assert fetched.snapshot.results == [] and fetched.snapshot.engine == ENGINE


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        (
            "serpapi",
            "SerpApi's AI mode gave no answer: Google hasn't returned any results for this query.",
        ),
        ("dataforseo", "DataForSEO's AI mode result holds no answer (no ai_overview item)"),
    ],
)
def test_no_answer_is_a_failed_check_not_an_empty_one(provider: str, message: str) -> None:
    script = Script(expect_for(provider)(fixture(provider, "ai_mode_no_answer.json")))
    error = fetch_error(made(provider), REQUEST, script)
    assert (error.kind, str(error)) == ("provider-error", message)
    assert len(error.pages) == 1  # the answer is kept as evidence


def test_dataforseo_no_search_results_is_no_answer() -> None:
    doc = fixture_json("dataforseo", "ai_mode_no_answer.json")
    doc["tasks"][0].update(status_code=40102, status_message="No Search Results.", result=None)
    error = fetch_error(dataforseo(), REQUEST, Script(task(json.dumps(doc).encode())))
    assert error.kind == "provider-error"


def test_serpapi_status_error_is_retried_then_fails_as_unavailable() -> None:
    body = fixture("serpapi", "ai_mode_error.json")
    error = fetch_error(serpapi(), REQUEST, Script(*(answer(body) for _ in range(3))))
    assert error.kind == "provider-unavailable"
    assert str(error).startswith(
        "SerpApi could not complete the search: Google AI Mode did not answer in time; try again later"
    )


def test_serpapi_status_error_then_an_answer() -> None:
    script = Script(
        answer(fixture("serpapi", "ai_mode_error.json")), answer(fixture("serpapi", "ai_mode.json"))
    )
    assert placements(fetch(serpapi(), REQUEST, script)) == CITED


def test_dataforseo_task_error_fails_with_its_status() -> None:
    error = fetch_error(
        dataforseo(), REQUEST, Script(task(fixture("dataforseo", "task_error.json")))
    )
    assert error.kind == "provider-error" and "could not run the task (status" in str(error)


# --- faults ----------------------------------------------------------------------------------


@BOTH
def test_rate_limit_is_retried_after_retry_after(provider: str) -> None:
    agent = made(provider)
    clock = attach(agent)
    expect = expect_for(provider)
    limited = fixture(provider, "rate_limited.json")
    script = Script(
        expect(limited, 429, **{"Retry-After": "7"}), expect(fixture(provider, "ai_mode.json"))
    )
    assert placements(fetch(agent, REQUEST, script)) == CITED
    assert clock.sleeps == [7.0]


@BOTH
def test_a_server_error_is_retried_then_fails_as_http_500(provider: str) -> None:
    expect = expect_for(provider)
    error = fetch_error(
        made(provider), REQUEST, Script(*(expect(b'{"error": "boom"}', 500) for _ in range(3)))
    )
    assert error.kind == "http-500" and error.status_code == 500


@BOTH
def test_a_server_error_then_an_answer(provider: str) -> None:
    expect = expect_for(provider)
    script = Script(expect(b"{}", 500), expect(fixture(provider, "ai_mode.json")))
    assert placements(fetch(made(provider), REQUEST, script)) == CITED


@BOTH
def test_a_truncated_answer_is_retried_then_fails_as_bad_response(provider: str) -> None:
    cut = fixture(provider, "ai_mode.json")[:400]
    expect = expect_for(provider)
    error = fetch_error(made(provider), REQUEST, Script(*(expect(cut) for _ in range(3))))
    assert error.kind == "bad-response"
    assert "a cut-off or invalid JSON body (HTTP 200)" in str(error)


def test_serpapi_rejected_key_is_an_auth_failure_without_retry() -> None:
    error = fetch_error(
        serpapi(), REQUEST, Script(answer(fixture("serpapi", "error_key.json"), 401))
    )
    assert error.kind == "auth" and "check SERPAPI_API_KEY" in str(error)


# --- replay, import and recording names ------------------------------------------------------


@BOTH
def test_a_recorded_answer_replays_to_the_same_rows(provider: str) -> None:
    fetched = fetch(
        made(provider), REQUEST, Script(expect_for(provider)(fixture(provider, "ai_mode.json")))
    )
    (page,) = fetched.pages
    replayed = parse_content(page.body)
    assert replayed.engine == ENGINE
    assert replayed.to_json()["results"] == fetched.snapshot.to_json()["results"]


def test_recordings_carry_the_ai_mode_engine_and_replays_find_them(tmp_path: Path) -> None:
    day = dt.date(2026, 3, 3)
    google = fixture_path(tmp_path, day, "Acme recall", "us", "en", "desktop", "json")
    ai_mode = fixture_path(tmp_path, day, "Acme recall", "us", "en", "desktop", "json", ENGINE)
    assert google.name == "acme-recall.us-en-desktop.json"
    assert ai_mode.name == "acme-recall.google_ai_mode.us-en-desktop.json"
    ai_mode.parent.mkdir()
    plain = google.parent / "acme-recall.json"
    for path in (google, ai_mode, plain):
        path.write_text("{}")
    found = fixture_candidates(tmp_path, day, "acme recall", "us", "en", "desktop", ENGINE)
    assert found == [ai_mode, google, plain]
    assert fixture_candidates(tmp_path, day, "acme recall", "us", "en", "desktop") == [
        google,
        plain,
    ]


def replay_fetch(folder: Path, engine: str) -> Any:
    import asyncio

    import httpx

    request = SearchRequest(
        "acme recall",
        engine=engine,
        country="us",
        language="en",
        as_of=dt.datetime(2026, 3, 3, 7, tzinfo=dt.UTC),
    )
    provider = build_provider("replay", {"path": str(folder)}, {})

    async def go() -> Any:
        async with httpx.AsyncClient() as client:
            return await provider.fetch(request, client)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("engine", "saved", "found"),
    [
        (ENGINE, ("serpapi", "page1.json"), "google"),
        ("google", ("serpapi", "ai_mode.json"), ENGINE),
    ],
)
def test_a_replayed_answer_of_the_other_engine_is_refused(
    tmp_path: Path, engine: str, saved: tuple[str, str], found: str
) -> None:
    day = tmp_path / "2026-03-03"
    day.mkdir()
    (day / "acme-recall.json").write_bytes(fixture(*saved))
    with pytest.raises(FetchError) as caught:
        replay_fetch(tmp_path, engine)
    assert caught.value.kind == "engine-mismatch"
    assert f"is a saved {found} page but 'acme recall' is tracked on {engine}" in str(caught.value)


def test_a_plain_named_answer_replays_for_an_ai_mode_keyword(tmp_path: Path) -> None:
    day = tmp_path / "2026-03-03"
    day.mkdir()
    (day / "acme-recall.json").write_bytes(fixture("dataforseo", "ai_mode.json"))
    assert [(i.placement, i.url) for i in replay_fetch(tmp_path, ENGINE).snapshot.results] == [
        (row[0], row[4]) for row in CITED
    ]
