"""The per-check series analysis exposes for reports: url_positions, page_results, check_log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event
from sqlmodel import Session

from serptrack import store
from serptrack.campaign import load_campaign_file
from serptrack.errors import NotFoundError
from serptrack.snapshot import Item
from serptrack.store import reads
from serptrack.store.checks import CheckRecord, record_checks
from tests.crisis_scenario import CN, CW, DAYS, OAD, OS, OSR, TW, relabel
from tests.test_report import build_crisis


@pytest.fixture
def crisis(runner: CliRunner, tmp_path: Path, db_url: str) -> str:
    build_crisis(runner, tmp_path, db_url)
    return db_url


def at(day: int) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{DAYS[day - 1]}T07:00:00+00:00")


def test_url_positions_of_labelled_results(crisis: str) -> None:
    engine = store.connect(crisis)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme-breach")
        rows = reads.url_positions(session, campaign, queries=["acme breach"])
        early = reads.url_positions(session, campaign, end=at(4), stances=["official"])
        texts = reads.latest_texts(session, rows)
        first_day = reads.latest_texts(session, rows[:1])
    engine.dispose()
    # only official and critical results, by time then page position; failed days absent
    assert [
        (r.at.day, r.norm_url, r.placement, r.rank, r.page_position, r.stance) for r in rows[:7]
    ] == [
        (1, CN, "organic", 1, 1, "critical"),
        (1, OS, "organic", 3, 3, "official"),
        (2, CN, "organic", 1, 1, "critical"),
        (2, OS, "organic", 2, 2, "official"),
        (3, OAD, "paid", 1, 1, "official"),
        (3, CN, "organic", 1, 2, "critical"),
        (3, OS, "organic", 2, 3, "official"),
    ]
    assert {r.at.day for r in rows} == set(range(1, 15)) - {4, 5}
    keyword_id = rows[0].keyword_id
    assert first_day == {(keyword_id, CN): (CN, "Acme breach exposed millions of customers")}
    # one text per keyword and URL: the URL as last seen, its last title
    assert set(texts) == {(keyword_id, r.norm_url) for r in rows}
    assert texts[(keyword_id, CN)][0] == CN
    # both keywords, official only, before day 4: "acme fuite" has the ad on day 3 only
    assert [(r.at.day, r.norm_url) for r in early] == [
        (1, OS),
        (2, OS),
        (3, OAD),
        (3, OS),
        (3, OAD),
    ]


def recorded_urls(session: Session, query: str) -> set[str]:
    """The URLs of a keyword's labelled results as last recorded (not normalised)."""
    campaign = store.get_campaign(session, "acme-breach")
    rows = reads.url_positions(session, campaign, queries=[query])
    return {url for url, _ in reads.latest_texts(session, rows).values()}


def test_url_positions_follow_relabelling(runner: CliRunner, tmp_path: Path, crisis: str) -> None:
    engine = store.connect(crisis)
    with Session(engine) as session:
        before = recorded_urls(session, "acme fuite")
    relabel(runner, tmp_path, crisis, 2)
    with Session(engine) as session:
        after = recorded_urls(session, "acme fuite")
    engine.dispose()
    assert "https://blog.example/acme-leak" not in before
    assert after - before == {"https://blog.example/acme-leak"}
    assert {OSR, TW} <= before  # matched after normalisation, named as last recorded


def test_page_results_with_stances(crisis: str) -> None:
    engine = store.connect(crisis)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme-breach")
        series = reads.keyword_series(session, campaign, queries=["acme breach"])[0]
        last = series.points[-1].check_id
        pages = reads.page_results(session, campaign, [last, 999_999])
    engine.dispose()
    assert list(pages) == [last]
    assert [(r.placement, r.rank, r.page_position, r.stance) for r in pages[last]] == [
        ("paid", 1, 1, "official"),
        ("organic", 1, 2, "official"),
        ("organic", 2, 3, "critical"),
        *[("organic", n, n + 1, "neutral") for n in range(3, 7)],
    ]
    assert pages[last][2].url == CW


def test_check_log_has_every_status(crisis: str) -> None:
    engine = store.connect(crisis)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme-breach")
        log = reads.check_log(session, campaign, queries=["acme breach"], start=at(3), end=at(6))
        everything = reads.check_log(session, campaign)
        with pytest.raises(NotFoundError):
            reads.check_log(session, campaign, queries=["nope"])
    engine.dispose()
    assert [(c.at.day, c.status, c.error_kind, c.provider) for c in log] == [
        (3, "ok", None, "replay"),
        (4, "failed", "missing-fixture", "replay"),
        (5, "blocked", "blocked", "replay"),
    ]
    assert "no replay file for 'acme breach' on 2026-04-04" in (log[1].error or "")
    assert len(everything) == 28  # 14 days x 2 keywords, whatever their status
    assert [c.keyword_id for c in everything] == sorted(c.keyword_id for c in everything)


def test_latest_texts_keep_the_last_title_that_is_not_empty(tmp_path: Path, db_url: str) -> None:
    """A URL's series is named by the URL as last recorded and by the last title it had:
    a page that showed it untitled does not erase the title."""
    engine = store.connect(db_url)
    campaign_file = tmp_path / "texts.toml"
    campaign_file.write_text(
        '[campaign]\nname = "texts"\n[labels]\nofficial = ["acme.example"]\n'
        '[[keywords]]\nquery = "acme"\nprovider = "replay"\n'
        '[providers.replay]\npath = "."\n'
    )
    store.apply_campaign(engine, load_campaign_file(campaign_file))
    with Session(engine) as session:
        campaign = store.get_campaign(session, "texts")
        keyword_id = store.campaign_keywords(session, campaign)[0].id or 0
    pages = [
        [Item("organic", "https://acme.example/statement", "Our statement")],
        [Item("organic", "https://ACME.example/statement/", "The statement, updated")],
        [Item("organic", "https://acme.example/statement?utm_source=x", "")],
        [Item("organic", "https://acme.example/faq", "FAQ")],
    ]
    record_checks(
        engine,
        [
            CheckRecord(keyword_id=keyword_id, provider="replay", observed_at=at(day), items=items)
            for day, items in enumerate(pages, start=1)
        ],
    )
    with Session(engine) as session:
        campaign = store.get_campaign(session, "texts")
        rows = reads.url_positions(session, campaign)
        texts = reads.latest_texts(session, rows)
        no_rows = reads.latest_texts(session, [])
    engine.dispose()
    assert [r.norm_url for r in rows] == [OS, OS, OS, "https://acme.example/faq"]
    assert texts == {
        (keyword_id, OS): ("https://acme.example/statement?utm_source=x", "The statement, updated"),
        (keyword_id, "https://acme.example/faq"): ("https://acme.example/faq", "FAQ"),
    }
    assert no_rows == {}


def test_feature_reads_use_the_partial_feature_index(crisis: str) -> None:
    """The report's feature and AI-citation reads state the condition of the partial index
    ``ix_results_features`` (schema 0010), so SQLite plans them on it: a check's few
    non-organic entries, never its organic rows. Each statement they run is planned here as
    they ran it, with their parameters."""
    if "://" in crisis:
        pytest.skip("a SQLite query plan")
    engine = store.connect(crisis)
    ran: list[tuple[str, Any]] = []

    def keep(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if "results" in statement and "placement" in statement:
            ran.append((statement, parameters))

    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme-breach")
        keywords = reads.keyword_infos(session, campaign, None)
        event.listen(engine, "before_cursor_execute", keep)
        features = reads.page_features(session, campaign)
        pools = reads.ai_samples(session, campaign, {k.id: (at(1), at(14)) for k in keywords})
        event.remove(engine, "before_cursor_execute", keep)
        plans = [
            " ".join(
                row[3]
                for row in session.connection().exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {statement}", parameters
                )
            )
            for statement, parameters in ran
        ]
    engine.dispose()
    assert features and pools  # the scenario has ads and news boxes
    assert len(plans) >= 2
    assert all("USING COVERING INDEX ix_results_features" in plan for plan in plans), plans
