import datetime as dt
from dataclasses import FrozenInstanceError, fields, replace
from typing import Any

import pytest

from serptrack.errors import ParseError
from serptrack.parsers import parse_content, sniff_kind
from serptrack.parsers.payload import text
from serptrack.snapshot import (
    Item,
    Snapshot,
    format_datetime,
    number_items,
    parse_datetime,
    snapshot_from_json,
)
from serptrack.vocabulary import Placement


def test_number_items_counts_page_positions_and_ranks_per_placement() -> None:
    items = [
        Item("paid", "https://a.example/", block="top"),
        Item("organic", "https://b.example/"),
        Item("news", "https://c.example/"),
        Item("organic", "https://d.example/"),
        Item("paid", "https://e.example/", block="bottom"),
    ]
    numbered = number_items(items)
    assert [(i.placement, i.rank, i.page_position) for i in numbered] == [
        ("paid", 1, 1),
        ("organic", 1, 2),
        ("news", 1, 3),
        ("organic", 2, 4),
        ("paid", 2, 5),
    ]


def test_paid_rank_counts_the_top_block_first_even_when_listed_later() -> None:
    items = [
        Item("paid", "https://bottom.example/", block="bottom"),
        Item("paid", "https://top.example/", block="top"),
    ]
    numbered = number_items(items)
    assert [(i.url, i.rank) for i in numbered] == [
        ("https://bottom.example/", 2),
        ("https://top.example/", 1),
    ]


def test_given_positions_are_kept() -> None:
    items = [Item("organic", "https://a.example/", rank=11, page_position=14)]
    assert number_items(items)[0] == items[0]


def test_snapshot_json_round_trip() -> None:
    doc = {
        "format": "serptrack-snapshot/1",
        "query": "acme recall",
        "engine": "google",
        "country": "us",
        "language": "en",
        "device": "desktop",
        "observed_at": "2026-03-03T07:00:00Z",
        "results": [
            {
                "placement": "paid",
                "block": "top",
                "url": "https://acme.example/statement",
                "title": "A",
                "snippet": "s",
            },
            {"placement": "organic", "url": "https://news.example/a", "title": "B"},
        ],
    }
    snapshot = snapshot_from_json(doc)
    assert snapshot.observed_at == dt.datetime(2026, 3, 3, 7, tzinfo=dt.UTC)
    out = snapshot.to_json()
    assert out["results"] == [
        {
            "placement": "paid",
            "block": "top",
            "rank": 1,
            "page_position": 1,
            "url": "https://acme.example/statement",
            "title": "A",
            "snippet": "s",
        },
        {
            "placement": "organic",
            "rank": 1,
            "page_position": 2,
            "url": "https://news.example/a",
            "title": "B",
            "snippet": "",
        },
    ]
    assert snapshot_from_json(out).results == snapshot.results
    assert out["observed_at"] == "2026-03-03T07:00:00Z"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"format": "other"}, "not a serptrack-snapshot/1 document"),
        ({"format": "serptrack-snapshot/1", "results": []}, "'query' must be a non-empty string"),
        (
            {"format": "serptrack-snapshot/1", "query": "q", "results": {}},
            "'results' must be a list",
        ),
        (
            {"format": "serptrack-snapshot/1", "query": "q", "results": [{"placement": "organic"}]},
            "results[0]: 'url'",
        ),
        (
            {
                "format": "serptrack-snapshot/1",
                "query": "q",
                "results": [{"url": "https://a/", "rank": 0}],
            },
            "'rank' must be a whole number from 1",
        ),
        (
            {
                "format": "serptrack-snapshot/1",
                "query": "q",
                "results": [{"url": "https://a/", "page_position": 10**30}],
            },
            "'page_position' must be a whole number from 1 to 1,000,000",
        ),
        (
            {
                "format": "serptrack-snapshot/1",
                "query": "q",
                "results": [],
                "observed_at": "yesterday",
            },
            "not an ISO 8601",
        ),
        (
            {"format": "serptrack-snapshot/1", "query": "q", "results": [3]},
            "results[0]: must be an object",
        ),
    ],
)
def test_bad_snapshots_raise_parse_errors(doc: dict, message: str) -> None:
    with pytest.raises(ParseError) as info:
        snapshot_from_json(doc)
    assert message in str(info.value)


def test_parse_content_detects_snapshot_and_rejects_garbage() -> None:
    good = b'{"format": "serptrack-snapshot/1", "query": "q", "results": [{"url": "https://a.example/"}]}'
    assert parse_content(good, where="f.json").results[0].placement == "organic"
    with pytest.raises(ParseError, match=r"^f\.json: not valid JSON"):
        parse_content(b'{"format": ', where="f.json")
    with pytest.raises(ParseError, match=r"^f\.json: JSON of an unknown format"):
        parse_content(b'{"hello": 1}', where="f.json")
    with pytest.raises(ParseError, match=r"^f\.txt: not a known format"):
        parse_content(b"just some text", where="f.txt")
    with pytest.raises(ParseError, match=r"^f\.txt: the file is empty"):
        parse_content(b"  \n", where="f.txt")


def test_sniff_kind() -> None:
    assert sniff_kind(b'\xef\xbb\xbf  {"a": 1}') == "json"
    assert sniff_kind(b"<!DOCTYPE html><html></html>") == "html"
    assert sniff_kind(b"hello") == "unknown"
    # a bare JSON value is JSON (of the wrong shape), not a body that is not JSON
    assert [sniff_kind(b) for b in (b"null", b" 42\n", b"true", b'"x"', b"-0.5e3")] == ["json"] * 5
    assert [sniff_kind(b) for b in (b"nul", b"42 results", b"NaN", b'"a" b')] == ["unknown"] * 4


def test_datetimes_are_utc_with_z() -> None:
    assert parse_datetime("2026-03-03T08:00:00+01:00") == dt.datetime(2026, 3, 3, 7, tzinfo=dt.UTC)
    assert parse_datetime("2026-03-03T07:00:00") == dt.datetime(2026, 3, 3, 7, tzinfo=dt.UTC)
    assert (
        format_datetime(dt.datetime(2026, 3, 3, 8, tzinfo=dt.timezone(dt.timedelta(hours=1))))
        == "2026-03-03T07:00:00Z"
    )


def test_with_context_fills_only_missing_fields() -> None:
    snapshot = Snapshot(query="", country="fr").with_context(query="q", country="us", language="en")
    assert (snapshot.query, snapshot.country, snapshot.language) == ("q", "fr", "en")


def test_a_lone_surrogate_in_a_snapshot_becomes_u_fffd() -> None:
    doc = b'{"format": "serptrack-snapshot/1", "query": "q \\ud83d", "results": [{"url": "https://a.example/", "title": "T \\ud83d", "snippet": "\\udc00", "block": "top\\u0000"}]}'
    snapshot = parse_content(doc)
    assert snapshot.query == "q \ufffd"
    (item,) = snapshot.results
    assert (item.title, item.snippet, item.block) == ("T \ufffd", "\ufffd", "top")
    assert Item("organic", "https://a.example/", title="T \ud83d").title == "T \ufffd"


def test_an_item_is_frozen_and_cleans_its_text_fields_as_it_is_built() -> None:
    item = Item(Placement.PAID, "https://a.example/\ud83d", "t\x00itle", "s", block="to\x00p")
    assert (item.placement, item.url, item.title, item.block) == (
        "paid",
        "https://a.example/\ufffd",
        "title",
        "top",
    )
    assert type(item.placement) is str
    assert replace(item, rank=2) == Item("paid", item.url, "title", "s", "top", 2)
    with pytest.raises(FrozenInstanceError):
        item.rank = 3  # type: ignore[misc]
    values: dict[str, Any] = {f.name: f"v{n}" for n, f in enumerate(fields(Item))}
    assert {name: getattr(Item(**values), name) for name in values} == values  # each its own


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        ("A snippet. ", "A snippet."),
        ("  both ends  ", "both ends"),
        ("inner  run ", "inner run"),
        ("tab\tinside ", "tab inside"),
        ("non\xa0ascii ", "non ascii"),
        ("a\x01b ", "a\x01b"),  # a control character that is no whitespace stays
        ("clean", "clean"),
    ],
)
def test_payload_text_is_one_line_without_blanks_at_its_ends(raw: str, line: str) -> None:
    assert text(raw) == line
