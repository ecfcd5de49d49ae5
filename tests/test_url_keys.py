"""A result URL's keys are computed once and remembered by the database, for every process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from serptrack import store
from serptrack.campaign import load_campaign_file
from serptrack.snapshot import Item
from serptrack.store import url_keys as keys_module
from serptrack.store.checks import CheckRecord, record_checks
from serptrack.store.url_keys import KEYS_VERSION, compute_keys, url_keys

AT = dt.datetime(2026, 3, 1, 7, tzinfo=dt.UTC)
URLS = [
    "https://WWW.Acme.example/statement/?utm_source=x",
    "https://critic.example.co.uk/acme",
    "https://acme.example/statement",  # the same normalised URL as the first
    "https://example.com/" + "a" * 9000,  # longer than a PostgreSQL index entry may be
]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = store.connect(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts like a new process: nothing remembered in memory."""
    monkeypatch.setattr(keys_module, "_KNOWN", {})


def rows(engine: Engine) -> list[tuple[str, str, str, int]]:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT url, norm_url, domain, version FROM url_keys ORDER BY url")
        )
        return [tuple(row) for row in found]


def forbid_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(url: str) -> tuple[str, str]:
        raise AssertionError(f"computed again: {url}")

    monkeypatch.setattr(keys_module, "compute_keys", fail)


def test_keys_are_computed_once_stored_and_then_read(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as connection:
        first = url_keys(connection, URLS)
    assert first == {url: compute_keys(url) for url in URLS}
    assert first[URLS[0]] == ("https://acme.example/statement", "acme.example")
    assert first[URLS[1]] == ("https://critic.example.co.uk/acme", "example.co.uk")
    assert rows(engine) == sorted((url, *first[url], KEYS_VERSION) for url in URLS)

    monkeypatch.setattr(keys_module, "_KNOWN", {})  # another process
    forbid_computing(monkeypatch)
    with engine.begin() as connection:
        assert url_keys(connection, URLS) == first


def test_keys_of_another_version_or_another_url_under_the_digest_are_computed_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as connection:
        url_keys(connection, URLS[:2])
        connection.execute(
            text("UPDATE url_keys SET version = :old, domain = 'stale' WHERE url = :url"),
            {"old": KEYS_VERSION - 1, "url": URLS[0]},
        )
        connection.execute(
            text("UPDATE url_keys SET url = 'https://other.example/', domain = 'x' WHERE url = :u"),
            {"u": URLS[1]},
        )
    monkeypatch.setattr(keys_module, "_KNOWN", {})
    with engine.begin() as connection:
        again = url_keys(connection, URLS[:2])
    assert again == {url: compute_keys(url) for url in URLS[:2]}
    assert rows(engine) == sorted((url, *again[url], KEYS_VERSION) for url in URLS[:2])


def test_a_check_stored_by_a_new_process_reads_the_keys_it_stored_before(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "fixtures").mkdir()
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        '[campaign]\nname = "acme"\n\n[providers.replay]\npath = "fixtures"\n\n'
        '[[keywords]]\nquery = "acme recall"\nprovider = "replay"\n',
        encoding="utf-8",
    )
    store.apply_campaign(engine, load_campaign_file(campaign))
    with Session(engine) as session:
        keyword = store.campaign_keywords(session, store.get_campaign(session, "acme"))[0]
    items = tuple(Item("organic", url, title=f"t{n}") for n, url in enumerate(URLS))

    def record(day: int) -> CheckRecord:
        at = AT + dt.timedelta(days=day)
        return CheckRecord(
            keyword_id=keyword.id or 0, provider="replay", observed_at=at, items=items
        )

    record_checks(engine, [record(0)])
    monkeypatch.setattr(keys_module, "_KNOWN", {})  # another process
    forbid_computing(monkeypatch)
    record_checks(engine, [record(1)])

    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT check_id, url, norm_url, domain FROM results ORDER BY check_id, id")
        ).all()
    expected = [(url, *compute_keys(url)) for url in URLS]
    assert [tuple(row[1:]) for row in stored] == expected * 2
    assert sorted({row[0] for row in stored}) == [1, 2]


#: What the keys of version KEYS_VERSION are. A change to serptrack.urls that alters one of
#: these must raise KEYS_VERSION (stored keys of the old rules are then computed again) and
#: update this table: stored keys would otherwise disagree with fresh ones for ever.
GOLDEN = {
    "HTTP://WWW.Example.com:80/a/?utm_source=x&id=2#top": (
        "https://example.com/a?id=2",
        "example.com",
    ),
    "https://www.google.com/url?q=https://acme.example/statement&sa=U": (
        "https://acme.example/statement",
        "acme.example",
    ),
    "https://duckduckgo.com/l/?uddg=https%3A%2F%2Fcritic.example%2Fstory&rut=1": (
        "https://critic.example/story",
        "critic.example",
    ),
    "https://r.search.yahoo.com/cbclk/x/RV=2/RE=1/RO=10/RU=https%3a%2f%2fwww.acme.example%2fad/RK=2/RS=x": (
        "https://acme.example/ad",
        "acme.example",
    ),
    "https://news.bbc.co.uk/2/hi/business/7665209.stm?gclid=abc": (
        "https://news.bbc.co.uk/2/hi/business/7665209.stm",
        "bbc.co.uk",
    ),
    "acme.example/statement/": ("https://acme.example/statement", "acme.example"),
}


def test_the_keys_of_this_version_are_still_computed_the_same() -> None:
    assert KEYS_VERSION == 1
    assert {url: compute_keys(url) for url in GOLDEN} == GOLDEN, (
        "serptrack.urls now computes other keys: raise KEYS_VERSION and update GOLDEN"
    )
