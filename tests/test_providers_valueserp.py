"""ValueSERP: parameters, ads, position_overall across pages, errors, replay."""

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

KEY = "valueserp-secret-key-42"
ENV = {"VALUESERP_API_KEY": KEY}
REQUEST = SearchRequest("acme recall", country="us", language="en", depth=10)


def provider(**settings: object):
    made = build_provider("valueserp", settings, ENV)
    attach(made)
    return made


def page(number: int, body: bytes, status: int = 200) -> Expect:
    return Expect(
        "GET",
        "/search",
        params={
            "api_key": KEY,
            "q": "acme recall",
            "gl": "us",
            "hl": "en",
            "device": "desktop",
            "page": number,
            "location": ABSENT,
        },
        body=body,
        status=status,
    )


def test_full_page_maps_ads_top_stories_and_organic() -> None:
    rows = placements(
        fetch(provider(), REQUEST, Script(page(1, fixture("valueserp", "page1.json"))))
    )
    assert rows[0] == ("paid", "top", 1, 1, "https://acme.example/recall")
    assert rows[1][0] == "news"
    assert [r[2] for r in rows if r[0] == "organic"] == list(range(1, 11))
    assert rows[-1] == ("paid", "bottom", 2, 13, "https://retailer.example/kettles")


def test_no_ads_and_empty() -> None:
    rows = placements(
        fetch(
            provider(),
            REQUEST,
            Script(
                page(1, fixture("valueserp", "no_ads.json")),
                page(2, fixture("valueserp", "empty.json")),
            ),
        )
    )
    assert {r[0] for r in rows} == {"organic"} and len(rows) == 9
    assert (
        fetch(
            provider(), REQUEST, Script(page(1, fixture("valueserp", "empty.json")))
        ).snapshot.results
        == []
    )


def test_pages_continue_ranks_although_position_restarts() -> None:
    request = SearchRequest("acme recall", country="us", language="en", depth=25)
    script = Script(*(page(n, fixture("valueserp", f"page{n}.json")) for n in (1, 2, 3)))
    fetched = fetch(provider(), request, script)
    rows = placements(fetched)
    organic = [r for r in rows if r[0] == "organic"]
    assert [r[2] for r in organic] == list(range(1, 31))
    assert [r[3] for r in rows] == list(range(1, len(rows) + 1))
    # Page 2 has its own ads: they continue the paid ranks, top block first.
    assert [(r[1], r[2]) for r in rows if r[0] == "paid"] == [
        ("top", 1),
        ("bottom", 2),
        ("top", 3),
        ("bottom", 4),
    ]
    recorded = pages_document("valueserp", [json.loads(p.body) for p in fetched.pages])
    assert (
        parse_content(json.dumps(recorded).encode()).to_json()["results"]
        == (fetched.snapshot.to_json()["results"])
    )


def test_max_page_payload_is_ordered_by_position_overall() -> None:
    snapshot = parse_content(fixture("valueserp", "max_page.json"))
    titles = [item.title for item in snapshot.results]
    assert titles[:2] == ["Result 1: Acme kettle recall", "Result 2: Acme kettle recall"]
    assert titles[-1] == "Result 20: Acme kettle recall"


@pytest.mark.parametrize(
    ("name", "status", "kind"),
    [("error_key.json", 401, "auth"), ("out_of_credits.json", 402, "quota")],
)
def test_errors_say_what_to_do(name: str, status: int, kind: str) -> None:
    error = fetch_error(provider(), REQUEST, Script(page(1, fixture("valueserp", name), status)))
    assert error.kind == kind
    hint = "check VALUESERP_API_KEY" if kind == "auth" else "top up the account"
    assert hint in str(error)


def test_rate_limit_retried() -> None:
    script = Script(
        page(1, fixture("valueserp", "rate_limited.json"), 429),
        page(1, fixture("valueserp", "page1.json")),
    )
    assert fetch(provider(), REQUEST, script).snapshot.results


def test_missing_key_and_replayed_error() -> None:
    with pytest.raises(MissingKeyError, match="VALUESERP_API_KEY"):
        build_provider("valueserp", {}, {}).require_keys()
    with pytest.raises(FetchError) as caught:
        parse_content(fixture("valueserp", "error_key.json"))
    assert caught.value.kind == "auth"
