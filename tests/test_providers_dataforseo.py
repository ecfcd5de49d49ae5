"""DataForSEO Live Advanced: Basic auth, the task body, mixed items, status codes, replay."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from serptrack.errors import FetchError, MissingKeyError
from serptrack.parsers import parse_content
from serptrack.providers import SearchRequest, build_provider

from .providers_support import Expect, Script, attach, fetch, fetch_error, fixture, placements

LOGIN, PASSWORD = "ops@acme.example", "dfs-secret-password-9"
ENV = {"DATAFORSEO_LOGIN": LOGIN, "DATAFORSEO_PASSWORD": PASSWORD}
AUTH = "Basic " + base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
PATH = "/v3/serp/google/organic/live/advanced"
REQUEST = SearchRequest("acme recall", country="us", language="en", depth=25)


def provider(**settings: object):
    made = build_provider("dataforseo", settings, ENV)
    attach(made)
    return made


def task(body: bytes, status: int = 200, **fields: object) -> Expect:
    expected = {
        "keyword": "acme recall",
        "language_code": "en",
        "device": "desktop",
        "depth": 25,
        "location_code": 2840,
        **fields,
    }
    return Expect(
        "POST",
        PATH,
        headers={"authorization": AUTH},
        json_body=[expected],
        body=body,
        status=status,
    )


def test_one_call_maps_paid_top_and_bottom_ai_overview_stories_and_organic() -> None:
    fetched = fetch(provider(), REQUEST, Script(task(fixture("dataforseo", "live_full.json"))))
    rows = placements(fetched)
    assert rows[:2] == [
        ("paid", "top", 1, 1, "https://acme.example/recall"),
        ("paid", "top", 2, 2, "https://lawfirm.example/acme-class-action"),
    ]
    # The AI overview's references, each once, in their order.
    assert [r[4] for r in rows if r[0] == "ai_overview"] == [
        "https://news.example/2026/03/acme-recall",
        "https://acme.example/recall",
    ]
    # Top stories sit where rank_absolute puts them: after the second organic result.
    kinds = [r[0] for r in rows]
    first_news = kinds.index("news")
    assert kinds[first_news - 2 : first_news] == ["organic", "organic"]
    organic = [r for r in rows if r[0] == "organic"]
    assert [r[2] for r in organic] == list(range(1, 23))
    assert rows[-1][:3] == ("paid", "bottom", 3)
    assert fetched.snapshot.observed_at is not None
    assert len(fetched.pages) == 1


def test_no_ads_page() -> None:
    fetched = fetch(provider(), REQUEST, Script(task(fixture("dataforseo", "live_no_ads.json"))))
    assert {r[0] for r in placements(fetched)} == {"organic"}


def test_no_search_results_is_an_empty_page() -> None:
    fetched = fetch(provider(), REQUEST, Script(task(fixture("dataforseo", "live_empty.json"))))
    assert fetched.snapshot.results == []


def test_mobile_location_name_and_depth_limit() -> None:
    request = SearchRequest(
        "acme recall",
        language="fr",
        device="mobile",
        location="Paris,Ile-de-France,France",
        depth=500,
    )
    expect = Expect(
        "POST",
        PATH,
        json_body=[
            {
                "keyword": "acme recall",
                "language_code": "fr",
                "device": "mobile",
                "depth": 200,
                "location_name": "Paris,Ile-de-France,France",
            }
        ],
        body=fixture("dataforseo", "live_no_ads.json"),
    )
    fetch(provider(), request, Script(expect))


def test_country_without_known_code_needs_a_location() -> None:
    request = SearchRequest("acme recall", country="zz", language="en")
    error = fetch_error(provider(), request, Script())
    assert error.kind == "unsupported"
    assert "location_code in [providers.dataforseo]" in str(error)
    fetch(
        provider(location_code=2040),
        request,
        Script(task(fixture("dataforseo", "live_no_ads.json"), location_code=2040, depth=10)),
    )


def test_task_error_with_http_200_fails_with_its_status() -> None:
    error = fetch_error(provider(), REQUEST, Script(task(fixture("dataforseo", "task_error.json"))))
    assert error.kind == "provider-error"
    assert "40501" in str(error) and "Invalid Field" in str(error)
    assert error.status_code == 200


def test_internal_error_is_retried() -> None:
    script = Script(
        task(fixture("dataforseo", "internal_error.json")),
        task(fixture("dataforseo", "live_no_ads.json")),
    )
    assert len(fetch(provider(), REQUEST, script).snapshot.results) == 10


def test_401_names_both_variables() -> None:
    error = fetch_error(
        provider(), REQUEST, Script(task(fixture("dataforseo", "error_auth.json"), 401))
    )
    assert error.kind == "auth"
    assert "DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD" in str(error)


def test_rate_limited_is_retried() -> None:
    made = provider()
    clock = attach(made)
    script = Script(
        task(fixture("dataforseo", "rate_limited.json"), 429),
        task(fixture("dataforseo", "live_no_ads.json")),
    )
    fetch(made, REQUEST, script)
    assert len(clock.sleeps) == 1


def test_missing_password_is_named() -> None:
    with pytest.raises(MissingKeyError, match="DATAFORSEO_PASSWORD"):
        build_provider("dataforseo", {}, {"DATAFORSEO_LOGIN": LOGIN}).require_keys()


def test_replay_equals_live() -> None:
    live = fetch(provider(), REQUEST, Script(task(fixture("dataforseo", "live_full.json"))))
    replayed = parse_content(fixture("dataforseo", "live_full.json"))
    assert replayed.to_json()["results"] == live.snapshot.to_json()["results"]
    with pytest.raises(FetchError):
        parse_content(fixture("dataforseo", "task_error.json"))


@pytest.mark.parametrize(
    ("spell", "answered"),
    [
        # spell.type values of DataForSEO's SpellInfo (its published API clients)
        ({"keyword": "acme recall", "type": "showing_results_for"}, "acme recall"),
        ({"keyword": "acme recall", "type": "no_results_found_for"}, "acme recall"),
        ({"keyword": "acme recall", "type": "did_you_mean"}, None),
        ({"keyword": "acme recall", "type": "including_results_for"}, None),
        (None, None),
    ],
)
def test_results_for_a_corrected_keyword_are_flagged(
    spell: dict[str, str] | None, answered: str | None
) -> None:
    doc = json.loads(fixture("dataforseo", "live_full.json"))
    doc["tasks"][0]["result"][0]["spell"] = spell
    assert parse_content(json.dumps(doc).encode()).answered_query == answered


def test_load_async_ai_overview_is_sent_when_the_campaign_asks_for_it() -> None:
    expect = task(fixture("dataforseo", "live_no_ads.json"), load_async_ai_overview=True)
    fetch(provider(load_async_ai_overview=True), REQUEST, Script(expect))
    fetch(
        provider(load_async_ai_overview=False),
        REQUEST,
        Script(task(fixture("dataforseo", "live_no_ads.json"))),
    )


@pytest.mark.parametrize("value", ["yes", 1])
def test_load_async_ai_overview_must_be_true_or_false(value: object, tmp_path: Path) -> None:
    from serptrack.providers import SettingError, provider_class

    with pytest.raises(SettingError, match="load_async_ai_overview must be true or false"):
        provider_class("dataforseo").check_settings({"load_async_ai_overview": value}, tmp_path)
    settings = {"load_async_ai_overview": True, "location_code": 2840}
    assert provider_class("dataforseo").check_settings(settings, tmp_path) == settings
