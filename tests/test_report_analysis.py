"""The per-check series analysis exposes for reports: url_positions, page_results, check_log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from serptrack import store
from serptrack.errors import NotFoundError
from serptrack.store import reads
from tests.crisis_scenario import CN, CNV, CW, DAYS, OAD, OS, OSR, TW, relabel
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
    engine.dispose()
    # only official and critical results, by time then page position; failed days absent
    assert [
        (r.at.day, r.url, r.placement, r.rank, r.page_position, r.stance) for r in rows[:7]
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
    assert rows[0].title == "Acme breach exposed millions of customers"
    assert rows[0].norm_url == CN
    # both keywords, official only, before day 4: "acme fuite" has the ad on day 3 only
    assert [(r.at.day, r.url) for r in early] == [(1, OS), (2, OS), (3, OAD), (3, OS), (3, OAD)]


def test_url_positions_follow_relabelling(runner: CliRunner, tmp_path: Path, crisis: str) -> None:
    engine = store.connect(crisis)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme-breach")
        before = {r.url for r in reads.url_positions(session, campaign, queries=["acme fuite"])}
    relabel(runner, tmp_path, crisis, 2)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme-breach")
        after = {r.url for r in reads.url_positions(session, campaign, queries=["acme fuite"])}
    engine.dispose()
    assert "https://blog.example/acme-leak" not in before
    assert after - before == {"https://blog.example/acme-leak"}
    assert {CNV, OSR, TW} <= before  # matched after normalisation, kept as recorded


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
