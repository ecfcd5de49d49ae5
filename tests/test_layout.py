"""The replay layout (SPEC section 5): slugs, and the one function record and replay share."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

import pytest

from serptrack.providers.replay import (
    SLUG_MAX_BYTES,
    fixture_candidates,
    fixture_path,
    replay_day,
    slugify,
)

HASHED = re.compile(r"q-[0-9a-f]{8}")


def legacy_slugify(query: str) -> str:
    """The slug of earlier releases, right for ASCII queries only."""
    return re.sub(r"[^0-9a-z]+", "-", query.lower()).strip("-")


@pytest.mark.parametrize(
    "query",
    [
        "acme recall",
        "Acme kettle!",
        "acme ok",
        "acme deep",
        "skype",
        "skype china",
        "tom-skype",
        "skype privacy",
        "skype censorship",
        "eurostar",
        "eurostar breakdown",
        "eurostar tunnel",
        "eurostar panne",
        "eurostar remboursement",
        "  --Acme__Recall 2026!!  ",
        "x" * SLUG_MAX_BYTES,
    ],
)
def test_ascii_queries_slug_as_they_always_did(query: str) -> None:
    assert slugify(query) == legacy_slugify(query)


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("電気ケトル", "電気ケトル"),
        ("Skype à Pékin", "skype-à-pékin"),
        ("Skype a\u0300 Pe\u0301kin", "skype-à-pékin"),  # decomposed accents: NFC first
        ("ÉLECTRICITÉ de France", "électricité-de-france"),
        ("Москва новости", "москва-новости"),
        ("हिन्दी समाचार", "हिन्दी-समाचार"),  # a letter keeps its vowel signs
        ("ケトル ２０２６", "ケトル-２０２６"),
        ("acme 🔥 recall", "acme-recall"),
    ],
)
def test_unicode_letters_and_digits_are_kept(query: str, slug: str) -> None:
    assert slugify(query) == slug
    assert unicodedata.is_normalized("NFC", slugify(query))


@pytest.mark.parametrize("query", ["🔥", "🔥🔥🔥", "☕", "!!!", "...", "-", " "])
def test_a_query_without_letters_or_digits_gets_a_hash_name(query: str) -> None:
    slug = slugify(query)
    assert HASHED.fullmatch(slug)
    assert slug == slugify(query)  # stable
    path = fixture_path(Path("/r"), dt.date(2026, 3, 7), query, "us", "en", "desktop", "json")
    assert not path.name.startswith(".")


def test_hash_names_tell_queries_apart() -> None:
    slugs = {slugify(query) for query in ("🔥", "🔥🔥", "☕", "!!!", "...")}
    assert len(slugs) == 5


@pytest.mark.parametrize("unit", ["a", "acme recall ", "é", "電", "ケトル ", "🔥a"])
def test_long_slugs_are_cut_under_the_byte_cap_with_a_hash(unit: str) -> None:
    query = (unit * 300)[:300]
    slug = slugify(query)
    assert len(slug.encode()) <= SLUG_MAX_BYTES
    assert re.search(r"[^-]-[0-9a-f]{8}$", slug)
    whole = re.sub(r"(?:\W|_)+", "-", query.lower()).strip("-")  # the slug before the cut
    assert len(whole.encode()) > SLUG_MAX_BYTES
    assert whole.startswith(slug[: -len("-12345678")])
    other = slugify(query[:-1] + ("b" if query[-1] != "b" else "c"))
    assert other != slug  # same first 200 bytes, another query: another name
    path = fixture_path(Path("/r"), dt.date(2026, 3, 7), query, "us", "en", "desktop", "json")
    partial = f".{path.name}.partial"  # the name a recording is written under first
    assert len(partial.encode()) < 255


def test_a_slug_at_the_cap_is_not_cut() -> None:
    query = "é" * (SLUG_MAX_BYTES // 2)
    assert slugify(query) == query
    assert slugify(query + "é") != query + "é"


def test_record_and_replay_name_the_same_file(tmp_path: Path) -> None:
    when = dt.datetime(2026, 3, 7, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert replay_day(when) == "2026-03-08"  # the UTC day
    assert fixture_candidates(tmp_path, when, "電気ケトル", "us", "en", "desktop") == []
    for query in ("Skype à Pékin", "電気ケトル", "🔥", "acme " * 80):
        path = fixture_path(tmp_path, when, query, "us", "en", "desktop", "json")
        assert path.parent == tmp_path / "2026-03-08"
        path.parent.mkdir(exist_ok=True)
        plain = path.parent / f"{slugify(query)}.html"
        plain.write_text("plain")
        path.write_text("specific")
        other = fixture_path(tmp_path, when, query, "fr", "fr", "desktop", "json")
        assert fixture_candidates(tmp_path, when, query, "us", "en", "desktop") == [path, plain]
        assert fixture_candidates(tmp_path, when, query, "fr", "fr", "desktop") == [plain]
        assert not other.exists()
