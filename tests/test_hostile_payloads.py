"""Hostile payloads: valid JSON of the wrong shape, poisoned text, absurd nesting.

A check that read nothing is never stored as "not ranked": JSON that is not a result page
fails the check (``bad-response``); a lone surrogate is cleaned at the parser boundary; a
value the database refuses fails its own check and no other.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text
from sqlmodel import Session

from serptrack import store, tracker
from serptrack.campaign import load_campaign_file
from serptrack.cli import cli
from serptrack.errors import FetchError, ParseError
from serptrack.fetch import Fetcher
from serptrack.parsers import BadResponseError, parse_content, sniff_kind
from serptrack.providers import SearchRequest, build_provider
from serptrack.snapshot import Item, Snapshot, clean_text
from serptrack.store import CheckRecord
from serptrack.vocabulary import CheckStatus, FailureKind

from .conftest import write_snapshot
from .providers_support import FAST, attach

REQUEST = SearchRequest("acme recall", country="us", language="en", device="desktop", depth=10)
ENVIRON = {
    "SERPAPI_API_KEY": "serpapi-secret-key-1234",
    "SERPER_API_KEY": "serper-secret-key-1234",
    "BRAVE_API_KEY": "brave-secret-key-1234",
    "VALUESERP_API_KEY": "valueserp-secret-key-1234",
    "GOOGLE_CSE_KEY": "cse-secret-key-1234",
    "GOOGLE_CSE_CX": "017576662512468239146:abc",
    "DATAFORSEO_LOGIN": "login@example.com",
    "DATAFORSEO_PASSWORD": "dataforseo-password-1234",
    "PERPLEXITY_API_KEY": "pplx-secret-key-1234",
    "OPENAI_API_KEY": "sk-openai-secret-key-1234",
}
SETTINGS: dict[str, dict[str, Any]] = {"searxng": {"base_url": "https://searx.example"}}
GOOD = {"link": "https://good.example/", "title": "Good"}
GOOD_CITE = {"type": "url_citation", "url": GOOD["link"], "title": "Good"}
DEEP = 3000
#: the JSON APIs the shape tests below feed every bare value and an empty object
SHAPED_APIS = (
    "serpapi",
    "serper",
    "brave",
    "valueserp",
    "google_cse",
    "searxng",
    "perplexity",
    "openai",
)


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


def dfs(*, task: Any = None, result: Any = None) -> dict[str, Any]:
    """A DataForSEO envelope whose first task is ``task`` (or has ``result``)."""
    if task is None:
        task = {"id": "t1", "status_code": 20000, "status_message": "Ok.", "result": result}
    return {"status_code": 20000, "status_message": "Ok.", "tasks_count": 1, "tasks": [task]}


def dfs_items(items: Any) -> dict[str, Any]:
    return dfs(result=[{"keyword": "acme recall", "items_count": 3, "items": items}])


def answer_of(annotations: Any, text: str = "Acme recalled a kettle.") -> dict[str, Any]:
    """An OpenAI response whose one message part carries ``annotations``."""
    part = {"type": "output_text", "text": text, "annotations": annotations}
    message = {"type": "message", "role": "assistant", "content": [part]}
    return {"object": "response", "status": "completed", "output": [message]}


def sonar(**sources: Any) -> dict[str, Any]:
    """A Perplexity completion answering "Acme recalled a kettle." with ``sources``."""
    choice = {"message": {"role": "assistant", "content": "Acme recalled a kettle."}}
    return {"model": "sonar", "choices": [choice], **sources}


#: (provider, JSON body) pairs that are valid JSON but no result page
WRONG_SHAPES: list[tuple[str, Any]] = [
    *[(name, {}) for name in SHAPED_APIS],
    *[(name, value) for name in SHAPED_APIS for value in (None, 42, "text", [1, 2])],
    ("serpapi", {"organic_results": "nope"}),
    ("serpapi", {"organic_results": None}),
    ("serpapi", {"organic_results": {"0": GOOD}}),
    ("serpapi", {"organic_results": ["x", 3, None, {"link": 5}, {"title": "no link"}]}),
    ("serpapi", {"search_metadata": {"status": "Success"}, "search_information": {}}),
    ("serpapi", {"search_information": {"organic_results_state": "Results for exact spelling"}}),
    ("serper", {"searchParameters": {"q": "acme recall"}}),
    ("serper", {"searchParameters": {"q": "acme recall"}, "organic": "nope"}),
    ("serper", {"searchParameters": {"q": "acme recall"}, "organic": [["x"], {"link": []}]}),
    ("brave", {"type": "search", "query": {"original": "acme recall"}}),
    ("brave", {"type": "search", "web": "nope"}),
    ("brave", {"type": "search", "web": {"type": "search"}}),
    ("brave", {"type": "search", "web": {"results": {"url": "https://a.example/"}}}),
    ("brave", {"type": "search", "web": {"results": [None, "x", {"url": 7}]}}),
    ("brave", {"type": "search", "mixed": {"main": [{"type": "web", "index": 0}]}}),
    ("valueserp", {"request_info": {"success": True}}),
    ("valueserp", {"request_info": {"success": True}, "organic_results": 0}),
    ("valueserp", {"request_info": {"success": True}, "organic_results": [1, "two"]}),
    ("google_cse", {"kind": "customsearch#search"}),
    ("google_cse", {"kind": "customsearch#search", "searchInformation": {"totalResults": "77"}}),
    ("google_cse", {"kind": "customsearch#search", "items": "nope"}),
    ("google_cse", {"kind": "customsearch#search", "items": [{"link": {"href": "x"}}]}),
    ("searxng", {"query": "acme recall", "unresponsive_engines": []}),
    ("searxng", {"query": "acme recall", "results": "nope", "unresponsive_engines": []}),
    ("searxng", {"query": "q", "results": [{"url": None}, "x"], "unresponsive_engines": 5}),
    ("dataforseo", None),
    ("dataforseo", [1]),
    ("dataforseo", dfs(result=None)),
    ("dataforseo", dfs(result="nope")),
    ("dataforseo", dfs(result=[])),
    ("dataforseo", dfs(result=["x"])),
    ("dataforseo", dfs(result=[{"keyword": "acme recall"}])),
    ("dataforseo", dfs_items("nope")),
    ("dataforseo", dfs_items(["x", 1, {"no": "type"}])),
    ("dataforseo", dfs_items([{"type": "organic", "url": 5}, {"type": "organic"}])),
    ("perplexity", {"choices": "nope"}),
    ("perplexity", {"choices": ["x"], "citations": []}),
    ("perplexity", {"choices": [{"message": {"content": 7}}], "citations": []}),
    ("perplexity", {"choices": [{"message": {"content": "x"}}], "citations": "nope"}),
    ("perplexity", {"choices": [{"message": {"content": "x"}}], "citations": [5, None, "a"]}),
    ("perplexity", {"choices": [{"message": {"content": "x"}}], "search_results": [{"u": 1}]}),
    ("openai", {"object": "response", "output": "nope"}),
    ("openai", {"object": "response", "output": [{"type": "message", "content": "x"}]}),
    ("openai", answer_of([{"type": "url_citation", "url": 5}, {"type": "url_citation"}])),
]


def http_provider(name: str) -> Any:
    provider = build_provider(name, SETTINGS.get(name), ENVIRON)
    attach(provider, FAST)
    return provider


def answering(body: bytes, calls: list[httpx.Request] | None = None) -> httpx.MockTransport:
    """A transport that answers every request with ``body`` (HTTP 200, JSON)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request)
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(handle)


def live_fetch(name: str, body: bytes, calls: list[httpx.Request] | None = None) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(transport=answering(body, calls)) as client:
            return await http_provider(name).fetch(REQUEST, client)

    return asyncio.run(go())


# --- 1. valid JSON of the wrong shape is a failed check, never 0 results --------------------


@pytest.mark.parametrize(("name", "doc"), WRONG_SHAPES)
def test_json_of_the_wrong_shape_fails_the_check_with_bad_response(name: str, doc: Any) -> None:
    calls: list[httpx.Request] = []
    with pytest.raises(FetchError) as caught:
        live_fetch(name, json.dumps(doc).encode(), calls)
    error = caught.value
    assert error.kind == FailureKind.BAD_RESPONSE, str(error)
    assert error.status == CheckStatus.FAILED
    assert "\n" not in str(error)
    assert error.pages and error.pages[0].body == json.dumps(doc).encode()  # evidence kept
    assert len(calls) == 1  # JSON that is no result page will not become one: not retried


@pytest.mark.parametrize(("name", "doc"), WRONG_SHAPES)
def test_the_parsers_raise_bad_response_for_the_wrong_shape(name: str, doc: Any) -> None:
    with pytest.raises(BadResponseError) as caught:
        http_provider(name).parse_page(doc)
    assert caught.value.kind == FailureKind.BAD_RESPONSE
    assert isinstance(caught.value, ParseError) and isinstance(caught.value, FetchError)


@pytest.mark.parametrize(
    ("name", "doc", "message"),
    [
        ("serpapi", {"organic_results": "nope"}, "SerpApi sent 'organic_results' as a string"),
        ("serpapi", {}, "no 'organic_results' list, nor search_information.organic_results_state"),
        ("serper", {"searchParameters": {}}, "no 'organic' list, not even an empty one"),
        ("serpapi", None, "SerpApi sent null instead of a result page object"),
        ("brave", {"type": "search", "web": {"results": [1]}}, "not one is a result"),
        ("google_cse", {"kind": "customsearch#search"}, 'totalResults "0"'),
        ("dataforseo", dfs(result=[]), "task has no result object"),
        ("dataforseo", dfs(result=None), "task sent 'result' as null instead of a list"),
    ],
)
def test_bad_response_messages_say_what_was_wrong(name: str, doc: Any, message: str) -> None:
    with pytest.raises(BadResponseError, match=message):
        http_provider(name).parse_page(doc)


#: each API's own "no results" signal: an empty page, stored as ok with 0 results
NO_RESULTS: list[tuple[str, Any]] = [
    ("serpapi", {"search_information": {"organic_results_state": "Fully empty"}}),
    (
        "serpapi",
        {
            "search_metadata": {"status": "Success"},
            "error": "Google hasn't returned any results for this query.",
        },
    ),
    ("serper", {"searchParameters": {"q": "acme recall"}, "organic": []}),
    ("brave", {"type": "search", "query": {"original": "q"}, "web": {"results": []}}),
    ("brave", {"type": "search", "query": {"original": "q"}, "mixed": {"main": []}}),
    (
        "valueserp",
        {
            "request_info": {"success": True},
            "search_information": {"original_query_yields_zero_results": True},
        },
    ),
    ("valueserp", {"request_info": {"success": True}, "organic_results": []}),
    ("google_cse", {"kind": "customsearch#search", "searchInformation": {"totalResults": "0"}}),
    ("google_cse", {"kind": "customsearch#search", "items": []}),
    ("searxng", {"query": "q", "results": [], "unresponsive_engines": []}),
    ("dataforseo", dfs(task={"status_code": 40102, "status_message": "No Search Results."})),
    ("dataforseo", dfs(result=[{"keyword": "q", "items_count": 0, "items": None}])),
    ("dataforseo", dfs_items([])),
    ("perplexity", sonar(citations=[], search_results=[])),
    ("perplexity", sonar()),
    ("openai", answer_of([])),
    ("openai", answer_of([{"type": "file_citation", "file_id": "f1"}])),
]


@pytest.mark.parametrize(("name", "doc"), NO_RESULTS)
def test_each_apis_no_results_signal_is_an_empty_page(name: str, doc: Any) -> None:
    fetched = live_fetch(name, json.dumps(doc).encode())
    assert fetched.snapshot.results == []


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        ("serpapi", {"organic_results": ["x", {"link": 5}, GOOD, None]}),
        ("serper", {"searchParameters": {}, "organic": [GOOD, "x", {"link": None}]}),
        ("valueserp", {"request_info": {"success": True}, "organic_results": [7, GOOD]}),
        ("google_cse", {"kind": "customsearch#search", "items": [GOOD, {"link": [1]}]}),
        (
            "brave",
            {"type": "search", "web": {"results": [{"url": 3}, {"url": GOOD["link"]}, []]}},
        ),
        (
            "searxng",
            {"query": "q", "unresponsive_engines": [], "results": [{"url": GOOD["link"]}, "x"]},
        ),
        (
            "dataforseo",
            dfs_items(
                [
                    "x",
                    {"no": "type"},
                    {"type": "organic", "url": 5},
                    {"type": "organic", "rank_absolute": 1, "url": GOOD["link"]},
                ]
            ),
        ),
        ("perplexity", sonar(citations=[5, None, "ftp://x.example/", GOOD["link"]])),
        ("perplexity", sonar(search_results=["x", {"url": []}, {"url": GOOD["link"]}])),
        ("openai", answer_of([{"type": "url_citation", "url": None}, "x", {"url": 1}, GOOD_CITE])),
    ],
)
def test_malformed_entries_are_skipped_when_others_are_fine(name: str, doc: Any) -> None:
    fetched = live_fetch(name, json.dumps(doc).encode())
    assert [item.url for item in fetched.snapshot.results] == [GOOD["link"]]


# --- 1b. Google AI mode: a malformed answer fails, a missing one fails, odd citations do not --

AI_MODE = SearchRequest("acme recall", engine="google_ai_mode", country="us", language="en")
SERPAPI_AI_MODE = {"search_parameters": {"engine": "google_ai_mode", "q": "acme recall"}}


def dfs_ai_mode(items: Any, count: int = 1) -> dict[str, Any]:
    """A DataForSEO AI Mode envelope whose result holds ``items`` (``count`` of them)."""
    result = {"keyword": "acme recall", "type": "ai_mode", "items_count": count, "items": items}
    task = {"id": "t1", "status_code": 20000, "status_message": "Ok.", "result": [result]}
    return dfs(task={**task, "data": {"se_type": "ai_mode"}})


def dfs_answer(refs: Any = None, **fields: Any) -> dict[str, Any]:
    return {"type": "ai_overview", "references": refs, **fields}


def ai_mode_fetch(name: str, body: bytes, calls: list[httpx.Request] | None = None) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(transport=answering(body, calls)) as client:
            return await http_provider(name).fetch(AI_MODE, client)

    return asyncio.run(go())


WRONG_AI_MODE: list[tuple[str, Any]] = [
    ("serpapi", SERPAPI_AI_MODE),
    ("serpapi", {**SERPAPI_AI_MODE, "text_blocks": "nope"}),
    ("serpapi", {**SERPAPI_AI_MODE, "text_blocks": None, "references": []}),
    ("serpapi", {**SERPAPI_AI_MODE, "references": {"0": GOOD}}),
    ("serpapi", {**SERPAPI_AI_MODE, "text_blocks": [], "references": ["x", {"link": 5}, None]}),
    ("dataforseo", dfs_ai_mode("nope")),
    ("dataforseo", dfs_ai_mode([dfs_answer("nope")])),
    ("dataforseo", dfs_ai_mode([dfs_answer([{"url": 5}, "x", {"title": "no url"}])])),
    ("dataforseo", dfs_ai_mode([dfs_answer(items=[{"references": {"url": GOOD["link"]}}])])),
]


@pytest.mark.parametrize(("name", "doc"), WRONG_AI_MODE)
def test_an_ai_mode_answer_of_the_wrong_shape_fails_with_bad_response(name: str, doc: Any) -> None:
    calls: list[httpx.Request] = []
    with pytest.raises(FetchError) as caught:
        ai_mode_fetch(name, json.dumps(doc).encode(), calls)
    assert caught.value.kind == FailureKind.BAD_RESPONSE, str(caught.value)
    assert "\n" not in str(caught.value) and len(calls) == 1


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        (
            "serpapi",
            {**SERPAPI_AI_MODE, "error": "Google hasn't returned any results for this query."},
        ),
        ("serpapi", {**SERPAPI_AI_MODE, "text_blocks": [], "references": [], "error": "No answer"}),
        ("dataforseo", dfs_ai_mode(None, count=0)),
        ("dataforseo", dfs_ai_mode([{"type": "organic", "url": GOOD["link"]}])),
    ],
)
def test_an_ai_mode_result_without_an_answer_fails_never_zero_citations(
    name: str, doc: Any
) -> None:
    with pytest.raises(FetchError) as caught:
        ai_mode_fetch(name, json.dumps(doc).encode())
    assert caught.value.kind == FailureKind.PROVIDER_ERROR, str(caught.value)


ODD_URL = "https://odd.example/"
ODD: dict[str, Any] = {"link": ODD_URL, "title": "Odd", "index": 1}


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        (
            "serpapi",
            {
                **SERPAPI_AI_MODE,
                "text_blocks": [
                    {"reference_indexes": 5},
                    {"reference_indexes": ["x", True, None, -1, 99, 1.0]},
                    {"list": "nope"},
                    {"list": [{"list": [{"list": [{"reference_indexes": [1]}]}]}]},
                    "x",
                    7,
                ],
                "references": [
                    "x",
                    {"link": 5, "index": 0},
                    {**GOOD, "index": "2"},
                    ODD,
                    {**ODD, "link": ODD_URL + "#:~:text=odd"},
                ],
            },
        ),
        (
            "dataforseo",
            dfs_ai_mode(
                [
                    "x",
                    dfs_answer(
                        None,
                        items=[
                            "x",
                            {"references": None},
                            {"references": [{"url": ODD_URL}, 3]},
                        ],
                    ),
                    dfs_answer([{"url": GOOD["link"]}, {"url": ODD_URL}]),
                ]
            ),
        ),
    ],
)
def test_odd_citations_are_read_as_far_as_they_make_sense(name: str, doc: Any) -> None:
    fetched = ai_mode_fetch(name, json.dumps(doc).encode())
    assert [item.url for item in fetched.snapshot.results] == [ODD_URL, GOOD["link"]]
    assert {item.placement for item in fetched.snapshot.results} == {"ai_mode"}


def test_a_bare_json_value_is_json_of_the_wrong_shape_not_a_body_that_is_not_json() -> None:
    for body in (b"null", b"42", b" -1.5e3\n", b"true", b'"Internal error"', b"\xef\xbb\xbfnull"):
        assert sniff_kind(body) == "json"
        with pytest.raises(BadResponseError, match=r"^f\.json: valid JSON, but .* instead of"):
            parse_content(body, where="f.json")
    for body in (b"nullx", b"42 results", b'"a" "b"', b"NaN", b"hello"):
        assert sniff_kind(body) == "unknown"


@pytest.mark.parametrize(("name", "body"), [("serpapi", b"null"), ("brave", b"42")])
def test_a_bare_json_value_from_an_api_is_bad_response_naming_it(name: str, body: bytes) -> None:
    with pytest.raises(FetchError) as caught:
        live_fetch(name, body)
    assert caught.value.kind == FailureKind.BAD_RESPONSE
    assert ("null" if body == b"null" else "a number") in str(caught.value)
    assert "not JSON" not in str(caught.value)


def test_a_raw_api_payload_of_the_wrong_shape_in_a_file_is_bad_response() -> None:
    doc = {"search_metadata": {"json_endpoint": "https://serpapi.com/x.json"}, "organic_results": 1}
    with pytest.raises(BadResponseError, match=r"^x\.json: SerpApi sent 'organic_results' as a"):
        parse_content(json.dumps(doc).encode(), where="x.json")


# --- 2. poisoned text and absurd nesting ------------------------------------------------------


def test_clean_text_replaces_lone_surrogates_and_drops_nul() -> None:
    assert clean_text("plain") == "plain"
    same = "déjà vu"
    assert clean_text(same) is same
    assert clean_text("a\ud83d b") == "a\ufffd b"
    assert clean_text("\ude00x\ud83d") == "\ufffdx\ufffd"
    assert clean_text("pair \ud83d\ude00") == "pair \U0001f600"  # a whole pair is its character
    assert clean_text("nul\x00byte") == "nulbyte"
    assert clean_text("x\ud83d").encode() == "x\ufffd".encode()


def test_every_text_field_of_an_item_and_a_snapshot_is_cleaned() -> None:
    item = Item(
        "organic\ud800",
        "https://a.example/\ud83d",
        title="t\ud83d",
        snippet="s\udfff\x00",
        block="top\ud83d",
        tracking_url="https://t.example/\ud83d",
    )
    assert (item.placement, item.url, item.title, item.snippet, item.block, item.tracking_url) == (
        "organic\ufffd",
        "https://a.example/\ufffd",
        "t\ufffd",
        "s\ufffd",
        "top\ufffd",
        "https://t.example/\ufffd",
    )
    snapshot = Snapshot("q\ud83d", [item], country="u\ud83d", location="l\x00", source="x\ud83d")
    assert (snapshot.query, snapshot.country, snapshot.location, snapshot.source) == (
        "q\ufffd",
        "u\ufffd",
        "l",
        "x\ufffd",
    )
    json.dumps(snapshot.to_json(), ensure_ascii=False).encode()  # encodable throughout


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        ("serpapi", {"organic_results": [{"link": "https://a.example/\ud83d", "title": "\ud83d"}]}),
        ("serper", {"searchParameters": {"q": "\ud83d"}, "organic": [{"link": GOOD["link"]}]}),
        (
            "brave",
            {"type": "search", "web": {"results": [{"url": GOOD["link"], "title": "\udfff"}]}},
        ),
        (
            "searxng",
            {
                "query": "q",
                "unresponsive_engines": [],
                "results": [{"url": GOOD["link"], "content": "x\ud83d"}],
            },
        ),
        ("perplexity", sonar(search_results=[{"url": GOOD["link"], "title": "\ud83d"}])),
        ("openai", answer_of([{**GOOD_CITE, "title": "x\udfff"}])),
    ],
)
def test_a_lone_surrogate_from_an_api_is_replaced(name: str, doc: Any) -> None:
    body = json.dumps(doc).encode()  # json.dumps escapes it: the body says "\ud83d"
    assert b"\\ud83d" in body or b"\\udfff" in body
    fetched = live_fetch(name, body)
    out = json.dumps(fetched.snapshot.to_json(), ensure_ascii=False)
    out.encode()  # no lone surrogate left anywhere
    assert "\ufffd" in out
    assert fetched.snapshot.results


def test_an_api_error_message_with_a_lone_surrogate_is_cleaned() -> None:
    with pytest.raises(FetchError) as caught:
        live_fetch("serpapi", b'{"error": "Invalid API key \\ud83d"}')
    assert str(caught.value).encode()  # storable and printable
    assert "\ufffd" in str(caught.value)


def test_json_nested_too_deeply_is_bad_response_not_a_recursion_error() -> None:
    with pytest.raises(BadResponseError, match=r"^deep\.json: JSON nested too deeply"):
        parse_content(nested(DEEP), where="deep.json")
    with pytest.raises(BadResponseError, match="nested too deeply"):
        parse_content(b"[" * 100_000 + b"]" * 100_000)


def test_a_deeply_nested_api_body_fails_the_check() -> None:
    with pytest.raises(FetchError) as caught:
        live_fetch("serpapi", nested(DEEP))
    assert caught.value.kind == FailureKind.BAD_RESPONSE


# --- the whole run: CLI and replay, on SQLite and PostgreSQL ----------------------------------

CAMPAIGN = """\
[campaign]
name = "hostile"

[defaults]
provider = "replay"
country = "us"
language = "en"

[providers.replay]
path = "fixtures"

[[keywords]]
query = "acme poisoned"

[[keywords]]
query = "acme deep"

[[keywords]]
query = "acme clean"

[[keywords]]
query = "acme other"
"""
DAY = "2026-03-02"
AS_OF = "2026-03-02T08:00:00Z"


def write_hostile_day(fixtures: Path, day: str) -> None:
    """The four keywords' replay files for ``day``: poisoned, nested too deeply, two clean."""
    poisoned = write_snapshot(
        fixtures,
        day,
        "acme poisoned",
        [
            {"url": "https://poison.example/", "title": "Acme \ud83d recall"},
            {"url": "https://fine.example/", "title": "Fine", "snippet": "nul\x00"},
        ],
    )
    assert b'"Acme \\ud83d recall"' in poisoned.read_bytes()  # as a JSON body spells it
    (fixtures / day / "acme-deep.json").write_bytes(nested(DEEP))
    write_snapshot(fixtures, day, "acme clean", [{"url": "https://clean.example/"}])
    write_snapshot(fixtures, day, "acme other", [{"url": "https://other.example/"}])


@pytest.fixture
def hostile_campaign(tmp_path: Path) -> Path:
    fixtures = tmp_path / "fixtures"
    today = dt.datetime.now(dt.UTC).date()
    for day in (DAY, today.isoformat(), (today + dt.timedelta(days=1)).isoformat()):
        write_hostile_day(fixtures, day)  # the worker checks as of now
    path = tmp_path / "hostile.toml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    return path


COMMANDS = {
    "check": ["check", "hostile", "--as-of", AS_OF, "--json"],
    "backfill": ["backfill", "hostile", "--from", DAY, "--to", DAY, "--json"],
    "worker": ["worker", "--once"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_poisoned_title_and_a_deep_body_fail_alone_through_the_cli(
    db_url: str, runner: CliRunner, hostile_campaign: Path, command: str
) -> None:
    assert runner.invoke(cli, ["apply", str(hostile_campaign), "--db", db_url]).exit_code == 0
    result = runner.invoke(cli, [*COMMANDS[command], "--db", db_url])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    if command != "worker":
        assert result.exit_code == 1  # the deep body's check failed
        by_query = {check["query"]: check for check in json.loads(result.stdout)}
        assert len(by_query) == 4
        deep = by_query.pop("acme deep")
        assert (deep["status"], deep["error_kind"], deep["results"]) == (
            "failed",
            "bad-response",
            0,
        )
        assert "nested too deeply" in deep["error"]
        assert {q: (c["status"], c["results"]) for q, c in by_query.items()} == {
            "acme poisoned": ("ok", 2),
            "acme clean": ("ok", 1),
            "acme other": ("ok", 1),
        }
    history = runner.invoke(cli, ["history", "hostile", "--json", "--db", db_url])
    assert history.exit_code == 0
    rows = json.loads(history.stdout)
    checks = {row["query"]: (row["status"], row["error"]) for row in rows}
    assert checks["acme deep"][0] == "failed"
    assert "nested too deeply" in (checks["acme deep"][1] or "")
    assert {q: status for q, (status, _) in checks.items() if q != "acme deep"} == {
        "acme poisoned": "ok",
        "acme clean": "ok",
        "acme other": "ok",
    }
    titles = {row["url"]: row["title"] for row in rows if row["status"] == "ok"}
    assert titles["https://poison.example/"] == "Acme \ufffd recall"
    assert {row["query"] for row in rows} == {
        "acme poisoned",
        "acme deep",
        "acme clean",
        "acme other",
    }
    snippets = {row["url"]: row["snippet"] for row in rows if row["status"] == "ok"}
    assert snippets["https://fine.example/"] == "nul"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_lone_surrogate_in_a_title_is_stored_as_u_fffd_with_every_other_check(
    db_url: str, runner: CliRunner, hostile_campaign: Path, command: str
) -> None:
    for deep in (hostile_campaign.parent / "fixtures").glob("*/acme-deep.json"):
        write_snapshot(
            deep.parent.parent, deep.parent.name, "acme deep", [{"url": "https://deep-ok.example/"}]
        )
    assert runner.invoke(cli, ["apply", str(hostile_campaign), "--db", db_url]).exit_code == 0
    result = runner.invoke(cli, [*COMMANDS[command], "--db", db_url])
    assert result.exception is None, result.exception
    assert result.exit_code == 0, result.output
    history = runner.invoke(cli, ["history", "hostile", "--json", "--db", db_url])
    rows = json.loads(history.stdout)
    assert {row["query"]: row["status"] for row in rows} == dict.fromkeys(
        ("acme poisoned", "acme deep", "acme clean", "acme other"), "ok"
    )
    titles = {row["url"]: row["title"] for row in rows}
    assert titles["https://poison.example/"] == "Acme \ufffd recall"
    assert len({row["check_id"] for row in rows}) == 4


def test_parse_gives_a_clean_result_or_one_error_line(
    runner: CliRunner, hostile_campaign: Path
) -> None:
    fixtures = hostile_campaign.parent / "fixtures" / DAY
    poisoned = runner.invoke(cli, ["parse", str(fixtures / "acme-poisoned.json"), "--json"])
    assert poisoned.exit_code == 0, poisoned.output
    doc = json.loads(poisoned.stdout)
    assert doc["results"][0]["title"] == "Acme \ufffd recall"
    table = runner.invoke(cli, ["parse", str(fixtures / "acme-poisoned.json")])
    assert table.exit_code == 0 and "Acme \ufffd recall" in table.stdout
    deep = runner.invoke(cli, ["parse", str(fixtures / "acme-deep.json")])
    assert deep.exit_code == 1
    assert not isinstance(deep.exception, RecursionError)
    assert deep.stderr.splitlines() == [
        f"Error: {fixtures / 'acme-deep.json'}: JSON nested too deeply to be a result page "
        "(hundreds of levels)"
    ]
    assert "Traceback" not in deep.output


def test_import_serp_stores_the_cleaned_page_and_refuses_the_deep_one(
    db_url: str, runner: CliRunner, hostile_campaign: Path
) -> None:
    assert runner.invoke(cli, ["apply", str(hostile_campaign), "--db", db_url]).exit_code == 0
    fixtures = hostile_campaign.parent / "fixtures" / DAY
    base = ["--campaign", "hostile", "--observed-at", AS_OF, "--db", db_url]
    stored = runner.invoke(
        cli,
        ["import-serp", str(fixtures / "acme-poisoned.json"), "-q", "acme poisoned", *base],
    )
    assert stored.exit_code == 0, stored.output
    assert "ok, 2 results" in stored.stdout
    refused = runner.invoke(
        cli, ["import-serp", str(fixtures / "acme-deep.json"), "-q", "acme deep", *base]
    )
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        f"Error: {fixtures / 'acme-deep.json'}: JSON nested too deeply to be a result page "
        "(hundreds of levels)"
    ]
    wrong = fixtures / "wrong.json"
    wrong.write_text(json.dumps({"request_info": {"success": True}, "organic_results": "x"}))
    refused = runner.invoke(cli, ["import-serp", str(wrong), "-q", "acme other", *base])
    assert refused.exit_code == 1
    assert "ValueSERP sent 'organic_results' as a string" in refused.stderr
    history = runner.invoke(cli, ["history", "hostile", "--json", "--db", db_url])
    assert {row["query"] for row in json.loads(history.stdout)} == {"acme poisoned"}


def test_a_wrong_shape_from_a_live_api_is_stored_as_a_failed_check(
    engine: Engine, tmp_path: Path
) -> None:
    campaign = tmp_path / "live.toml"
    campaign.write_text(
        '[campaign]\nname = "live"\n[defaults]\nprovider = "serpapi"\ncountry = "us"\n'
        'language = "en"\n'
        + "".join(f'[[keywords]]\nquery = "{q}"\n' for q in ("acme ok", "acme shape", "acme nope"))
    )
    spec = load_campaign_file(campaign)
    store.apply_campaign(engine, spec)
    bodies = {
        "acme ok": {"organic_results": [GOOD]},
        "acme shape": {},
        "acme nope": {"organic_results": "nope"},
    }

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.dumps(bodies[request.url.params["q"]]).encode()
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    with Session(engine) as session:
        chosen = store.get_campaign(session, "live")
        tasks = tracker.plan_checks(session, chosen, dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC))
        providers = tracker.build_providers([chosen], tasks, ENVIRON)

    async def run() -> list[tracker.CheckOutcome]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            return await tracker.run_checks_async(
                engine, tasks, providers, client=client, fetcher=Fetcher(FAST)
            )

    outcomes = {o.task.request.query: o for o in asyncio.run(run())}
    assert (outcomes["acme ok"].status, outcomes["acme ok"].results) == ("ok", 1)
    for query in ("acme shape", "acme nope"):
        assert (outcomes[query].status, outcomes[query].error_kind) == ("failed", "bad-response")
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT status, error_kind, result_count FROM checks ORDER BY id")
        ).all()
    assert sorted(tuple(row) for row in stored) == [
        ("failed", "bad-response", 0),
        ("failed", "bad-response", 0),
        ("ok", None, 1),
    ]


# --- the writer: one check's bad value fails that check alone -------------------------------


def keyword_ids(engine: Engine, tmp_path: Path, count: int) -> list[int]:
    (tmp_path / "pages").mkdir(exist_ok=True)
    campaign = tmp_path / "writer.toml"
    campaign.write_text(
        '[campaign]\nname = "writer"\n[defaults]\nprovider = "replay"\n'
        '[providers.replay]\npath = "pages"\n'
        + "".join(f'[[keywords]]\nquery = "q{n}"\n' for n in range(count))
    )
    store.apply_campaign(engine, load_campaign_file(campaign))
    with Session(engine) as session:
        chosen = store.get_campaign(session, "writer")
        return [k.id for k in store.campaign_keywords(session, chosen) if k.id is not None]


def record(keyword_id: int, **fields: Any) -> CheckRecord:
    observed = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    fields.setdefault("items", [Item("organic", f"https://k{keyword_id}.example/", title="ok")])
    return CheckRecord(keyword_id=keyword_id, provider="replay", observed_at=observed, **fields)


#: fields of a record that no parser makes but that the database refuses to store
BAD_VALUES: list[dict[str, Any]] = [
    {"source": "replay\ud83d"},  # UnicodeEncodeError, on SQLite and PostgreSQL
    {"items": [Item("organic", "https://huge.example/", rank=10**30)]},  # too large an INTEGER
]


@pytest.mark.parametrize("which", [0, 1])
def test_one_bad_value_fails_its_own_check_and_the_batch_is_stored(
    engine: Engine, tmp_path: Path, which: int
) -> None:
    ids = keyword_ids(engine, tmp_path, 3)
    poisoned = record(ids[1], **BAD_VALUES[which])
    records = [record(ids[0]), poisoned, record(ids[2])]

    async def run() -> list[int]:
        writer = tracker._Writer(engine)
        return list(await asyncio.gather(*(writer.store(r) for r in records)))

    check_ids = asyncio.run(run())
    assert all(check_ids) and len(set(check_ids)) == 3
    assert (poisoned.status, poisoned.error_kind, list(poisoned.items)) == (
        "failed",
        "bad-response",
        [],
    )
    assert poisoned.error and poisoned.error.startswith("the database refused a value")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT keyword_id, status, error_kind, result_count FROM checks ORDER BY id")
        ).all()
    assert sorted(tuple(row) for row in rows) == sorted(
        [
            (ids[0], "ok", None, 1),
            (ids[1], "failed", "bad-response", 0),
            (ids[2], "ok", None, 1),
        ]
    )


def test_the_writer_keeps_a_batch_whole_when_one_write_fails(
    engine: Engine, tmp_path: Path
) -> None:
    ids = keyword_ids(engine, tmp_path, 4)
    records = [record(ids[0]), record(ids[1], source="x\ud83d"), record(ids[2]), record(ids[3])]
    results = tracker._Writer(engine)._write(records)
    assert [isinstance(r, int) and r > 0 for r in results] == [True] * 4
    assert [r.status for r in records] == ["ok", "failed", "ok", "ok"]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM results")).scalar() == 3
