"""``status`` and ``paid`` on the hand-built replay crisis (see tests/crisis_scenario.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.crisis_scenario import (
    BL,
    CW,
    OAD,
    OS,
    TITLES,
    TW,
    build,
    check_ids,
    invoke,
    json_of,
    relabel,
)

SISTRIX = {
    "name": "sistrix-2020",
    "title": "SISTRIX 2020: Google organic CTR by position",
    "source": 'SISTRIX, "Why (almost) everything you knew about Google CTR is no longer valid", '
    "an analysis of 80 million keywords and billions of search results",
    "date": "2020-07",
    "url": "https://www.sistrix.com/blog/why-almost-everything-you-knew-about-google-ctr-is-no-longer-valid/",
    "positions": [28.5, 15.7, 11.0, 8.0, 7.2, 5.1, 4.0, 3.2, 2.8, 2.5],
    "builtin": True,
}
NOTES = [
    {"date": "2026-04-02", "text": "Statement published", "query": None},
    {"date": "2026-04-03", "text": "Ads start", "query": "acme breach"},
    {"date": "2026-04-09", "text": "Press conference", "query": None},
]
SNIPPET = "Everything about Acme and its customers."


@pytest.fixture(scope="module")
def scenario(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, str, dict[tuple[str, str], int]]:
    folder = tmp_path_factory.mktemp("crisis")
    runner = CliRunner()
    db = build(runner, folder)
    return folder, db, check_ids(runner, db)


def result(url: str, placement: str, rank: int, page_position: int) -> dict[str, Any]:
    return {
        "url": url,
        "placement": placement,
        "block": "top" if placement == "paid" else None,
        "rank": rank,
        "page_position": page_position,
        "title": TITLES[url],
    }


def shares(official: float, critical: float, neutral: float) -> dict[str, float]:
    total = official + critical + neutral
    return {
        "official": round(official / total, 4),
        "critical": round(critical / total, 4),
        "neutral": round(neutral / total, 4),
    }


def day(n: int) -> str:
    return f"2026-04-{n:02d}"


def at(n: int) -> str:
    return f"{day(n)}T07:00:00Z"


def expected_breach(ids: dict[tuple[str, str], int]) -> dict[str, Any]:
    """Day 14: [ad OAD] OS#1 CW#2 and four neutral results."""
    return {
        "query": "acme breach",
        "engine": "google",
        "country": "us",
        "language": "en",
        "device": "desktop",
        "location": "",
        "tags": [],
        "check_id": ids[("acme breach", day(14))],
        "observed_at": at(14),
        "checks_ok": 12,
        "failed_since_last_ok": 0,
        "organic": {
            "leader": "official",
            "since": at(13),
            "official": result(OS, "organic", 1, 2),
            "critical": result(CW, "organic", 2, 3),
        },
        "page": {
            "leader": "official",
            "since": at(13),
            "official": result(OAD, "paid", 1, 1),
            "critical": result(CW, "organic", 2, 3),
        },
        "official_on_page_1": 1,
        "critical_on_page_1": 1,
        "share_of_voice": {
            "curve": "sistrix-2020",
            # organic ranks 1-6: OS, CW, then neutral results at 3-6
            "organic": shares(28.5, 15.7, 11.0 + 8.0 + 7.2 + 5.1),
            # page positions 1-7: the ad and OS, CW, then neutral results at 4-7
            "page": shares(28.5 + 15.7, 11.0, 8.0 + 7.2 + 5.1 + 4.0),
        },
        "paid": {
            "presence": "both",
            "official_ad_rank": 1,
            "official_top_ad": True,
            "official_organic_rank": 1,
            "redundant_ad": True,
            "ad_carries_lead": False,
            "days": {"checked": 12, "both": 4, "ad": 0, "organic": 8, "neither": 0},
            "redundant_ad_days": [day(6), day(7), day(14)],
            "ad_carried_lead_days": [day(3)],
        },
        "first_overtake": {
            "organic": {
                "at": at(6),
                "check_id": ids[("acme breach", day(6))],
                "days_from_crisis_start": 5,
                "annotations": [
                    {
                        "date": day(2),
                        "text": "Statement published",
                        "days_to_first_overtake": 4,
                        "days_to_next_overtake": 4,
                    },
                    {
                        "date": day(3),
                        "text": "Ads start",
                        "days_to_first_overtake": 3,
                        "days_to_next_overtake": 3,
                    },
                    {
                        "date": day(9),
                        "text": "Press conference",
                        "days_to_first_overtake": -3,
                        "days_to_next_overtake": 1,
                    },
                ],
            },
            "page": {
                "at": at(3),
                "check_id": ids[("acme breach", day(3))],
                "days_from_crisis_start": 2,
                "annotations": [
                    {
                        "date": day(2),
                        "text": "Statement published",
                        "days_to_first_overtake": 1,
                        "days_to_next_overtake": 1,
                    },
                    {
                        "date": day(3),
                        "text": "Ads start",
                        "days_to_first_overtake": 0,
                        "days_to_next_overtake": 0,
                    },
                    {
                        "date": day(9),
                        "text": "Press conference",
                        "days_to_first_overtake": -6,
                        "days_to_next_overtake": 1,
                    },
                ],
            },
        },
        # no AI placement in these pages; the window of samples status pools (7 days)
        "ai_window": {
            "days": 7,
            "after": at(7),
            "until": at(14),
            "checks": 7,
            "samples": 7,
            "failed_samples": 0,
        },
        "ai": {},
    }


def expected_fuite(ids: dict[tuple[str, str], int]) -> dict[str, Any]:
    """Day 8: TW#1, blog.example#2 (neutral in version 1), three forum threads; no file after."""
    return {
        "query": "acme fuite",
        "engine": "google",
        "country": "fr",
        "language": "fr",
        "device": "desktop",
        "location": "",
        "tags": [],
        "check_id": ids[("acme fuite", day(8))],
        "observed_at": at(8),
        "checks_ok": 8,
        "failed_since_last_ok": 6,
        "organic": {
            "leader": "official",
            "since": at(4),
            "official": result(TW, "organic", 1, 1),
            "critical": None,
        },
        "page": {
            "leader": "official",
            "since": at(3),
            "official": result(TW, "organic", 1, 1),
            "critical": None,
        },
        "official_on_page_1": 1,
        "critical_on_page_1": 0,
        "share_of_voice": {
            "curve": "sistrix-2020",
            "organic": shares(28.5, 0, 15.7 + 11.0 + 8.0 + 7.2),
            "page": shares(28.5, 0, 15.7 + 11.0 + 8.0 + 7.2),
        },
        "paid": {
            "presence": "organic",
            "official_ad_rank": None,
            "official_top_ad": False,
            "official_organic_rank": 1,
            "redundant_ad": False,
            "ad_carries_lead": False,
            "days": {"checked": 8, "both": 0, "ad": 1, "organic": 5, "neither": 2},
            "redundant_ad_days": [],
            "ad_carried_lead_days": [day(3)],  # only the ad: nobody would lead without it
        },
        "first_overtake": {
            "organic": {
                "at": at(4),
                "check_id": ids[("acme fuite", day(4))],
                "days_from_crisis_start": 3,
                "annotations": [  # "Ads start" is about "acme breach" only
                    {
                        "date": day(2),
                        "text": "Statement published",
                        "days_to_first_overtake": 2,
                        "days_to_next_overtake": 2,
                    },
                    {
                        "date": day(9),
                        "text": "Press conference",
                        "days_to_first_overtake": -5,
                        "days_to_next_overtake": None,
                    },
                ],
            },
            "page": {
                "at": at(3),
                "check_id": ids[("acme fuite", day(3))],
                "days_from_crisis_start": 2,
                "annotations": [
                    {
                        "date": day(2),
                        "text": "Statement published",
                        "days_to_first_overtake": 1,
                        "days_to_next_overtake": 1,
                    },
                    {
                        "date": day(9),
                        "text": "Press conference",
                        "days_to_first_overtake": -6,
                        "days_to_next_overtake": None,
                    },
                ],
            },
        },
        # no AI placement in these pages; the window of samples status pools (7 days)
        "ai_window": {
            "days": 7,
            "after": at(1),
            "until": at(8),
            "checks": 7,
            "samples": 7,
            "failed_samples": 0,
        },
        "ai": {},
    }


def test_status_json_every_field(runner: CliRunner, scenario: Any) -> None:
    _folder, db, ids = scenario
    assert json_of(runner, "status", "acme-breach", "--db", db) == {
        "campaign": "acme-breach",
        "brand": "Acme",
        "crisis_start": "2026-04-01",
        "hold": 1,
        "samples_window": 7,
        "ctr_curve": SISTRIX,
        "annotations": NOTES,
        "keywords": [expected_breach(ids), expected_fuite(ids)],
    }


def test_status_with_hold_2(runner: CliRunner, scenario: Any) -> None:
    _folder, db, ids = scenario
    document = json_of(
        runner, "status", "acme-breach", "--db", db, "--hold", "2", "-q", "acme breach"
    )
    assert document["hold"] == 2
    [row] = document["keywords"]
    # the day-12 flip never took the lead: the official side leads since day 10
    assert row["organic"]["leader"] == "official"
    assert row["organic"]["since"] == at(10)
    assert row["first_overtake"]["page"]["at"] == at(3)
    assert row == {**expected_breach(ids), "organic": row["organic"], "page": row["page"]}


def test_status_follows_relabelling(runner: CliRunner, tmp_path: Path) -> None:
    db = build(runner, tmp_path)
    relabel(runner, tmp_path, db, version=2)
    [row] = json_of(runner, "status", "acme-breach", "--db", db, "-q", "acme fuite")["keywords"]
    assert row["organic"] == {
        "leader": "official",
        "since": at(8),
        "official": result(TW, "organic", 1, 1),
        "critical": {**result(BL, "organic", 2, 2)},
    }
    assert row["critical_on_page_1"] == 1
    assert row["share_of_voice"]["organic"] == shares(28.5, 15.7, 11.0 + 8.0 + 7.2)


def test_status_table(runner: CliRunner, scenario: Any) -> None:
    _folder, db, _ids = scenario
    result = invoke(runner, "status", "acme-breach", "--db", db)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "query", "locale", "checked", "organic", "(O", "vs", "C)", "page", "(O", "vs", "C)",
        "critical", "p1", "SoV", "off/crit", "ads", "failed",
    ]  # fmt: skip
    assert lines[2].split() == [
        "acme", "breach", "us-en", "desktop", "2026-04-14", "official", "(1", "vs", "2)",
        "official", "(1", "vs", "3)", "1", "38%", "/", "21%", "both",
    ]  # fmt: skip
    assert lines[3].split() == [
        "acme", "fuite", "fr-fr", "desktop", "2026-04-08", "official", "(1", "vs", "-)",
        "official", "(1", "vs", "-)", "0", "40%", "/", "0%", "organic", "6",
    ]  # fmt: skip
    assert lines[-1] == (
        "O vs C: best official and critical positions (organic rank, page position). "
        "Share of voice: organic top 10 weighted by CTR curve sistrix-2020 (2020-07)."
    )


def test_status_of_a_keyword_never_checked(db_url: str, runner: CliRunner, tmp_path: Path) -> None:
    db = db_url
    campaign = tmp_path / "c.toml"
    campaign.write_text(
        '[campaign]\nname = "quiet"\n[defaults]\nprovider = "replay"\n'
        '[providers.replay]\npath = "."\n[[keywords]]\nquery = "acme"\n',
        encoding="utf-8",
    )
    assert invoke(runner, "apply", str(campaign), "--db", db).exit_code == 0
    [row] = json_of(runner, "status", "quiet", "--db", db)["keywords"]
    empty_view = {"leader": None, "since": None, "official": None, "critical": None}
    assert row == {
        "query": "acme",
        "engine": "google",
        "country": "",
        "language": "",
        "device": "desktop",
        "location": "",
        "tags": [],
        "check_id": None,
        "observed_at": None,
        "checks_ok": 0,
        "failed_since_last_ok": 0,
        "organic": empty_view,
        "page": empty_view,
        "official_on_page_1": 0,
        "critical_on_page_1": 0,
        "share_of_voice": None,
        "paid": {
            "presence": None,
            "official_ad_rank": None,
            "official_top_ad": False,
            "official_organic_rank": None,
            "redundant_ad": False,
            "ad_carries_lead": False,
            "days": {"checked": 0, "both": 0, "ad": 0, "organic": 0, "neither": 0},
            "redundant_ad_days": [],
            "ad_carried_lead_days": [],
        },
        "first_overtake": {"organic": None, "page": None},
        "ai_window": None,  # never checked: no window
        "ai": {},
    }
    assert invoke(runner, "status", "quiet", "--db", db).exit_code == 0


def paid_row(ids: dict[tuple[str, str], int], n: int, **fields: Any) -> dict[str, Any]:
    row = {
        "query": "acme fuite",
        "engine": "google",
        "country": "fr",
        "language": "fr",
        "device": "desktop",
        "location": "",
        "date": day(n),
        "check_id": ids[("acme fuite", day(n))],
        "observed_at": at(n),
        "presence": "organic",
        "official_ad": False,
        "official_ad_rank": None,
        "official_top_ad": False,
        "official_organic_rank": None,
        "official_organic_page_1": False,
        "redundant_ad": False,
        "ad_carries_lead": False,
        "organic_leader": "official",
        "page_leader": "official",
    }
    return {**row, **fields}


def test_paid_json_every_field(runner: CliRunner, scenario: Any) -> None:
    _folder, db, ids = scenario
    assert json_of(runner, "paid", "acme-breach", "--db", db, "-q", "acme fuite") == [
        paid_row(ids, 1, presence="neither", organic_leader=None, page_leader=None),
        paid_row(ids, 2, presence="neither", organic_leader="critical", page_leader="critical"),
        paid_row(
            ids,
            3,
            presence="ad",
            official_ad=True,
            official_ad_rank=1,
            official_top_ad=True,
            ad_carries_lead=True,
            organic_leader=None,
        ),
        paid_row(ids, 4, official_organic_rank=2, official_organic_page_1=True),
        paid_row(ids, 5, official_organic_rank=1, official_organic_page_1=True),
        paid_row(ids, 6, official_organic_rank=2, official_organic_page_1=True),
        paid_row(ids, 7, official_organic_rank=2, official_organic_page_1=True),
        paid_row(ids, 8, official_organic_rank=1, official_organic_page_1=True),
    ]


def test_paid_rows_come_by_day_then_keyword(runner: CliRunner, scenario: Any) -> None:
    _folder, db, _ids = scenario
    rows = json_of(
        runner, "paid", "acme-breach", "--db", db, "--from", "2026-04-06", "--to", "2026-04-07"
    )
    assert [(r["date"], r["query"], r["presence"], r["redundant_ad"]) for r in rows] == [
        ("2026-04-06", "acme breach", "both", True),
        ("2026-04-06", "acme fuite", "organic", False),
        ("2026-04-07", "acme breach", "both", True),
        ("2026-04-07", "acme fuite", "organic", False),
    ]


def test_paid_csv_and_table(runner: CliRunner, scenario: Any) -> None:
    _folder, db, _ids = scenario
    csv_out = invoke(
        runner,
        "paid",
        "acme-breach",
        "--db",
        db,
        "--csv",
        "--from",
        "2026-04-03",
        "--to",
        "2026-04-03",
    )
    assert csv_out.exit_code == 0
    lines = csv_out.stdout.splitlines()
    assert lines[0] == (
        "query,engine,country,language,device,location,date,check_id,observed_at,presence,"
        "official_ad,official_ad_rank,official_top_ad,official_organic_rank,"
        "official_organic_page_1,redundant_ad,ad_carries_lead,organic_leader,page_leader"
    )
    assert len(lines) == 3
    table = invoke(
        runner,
        "paid",
        "acme-breach",
        "--db",
        db,
        "-q",
        "acme breach",
        "--from",
        "2026-04-03",
        "--to",
        "2026-04-03",
    )
    assert table.stdout.splitlines()[0].split() == [
        "date", "query", "country", "language", "presence", "official_ad_rank",
        "official_organic_rank", "redundant_ad", "ad_carries_lead", "page_leader",
    ]  # fmt: skip
    assert table.stdout.splitlines()[2].split() == [
        "2026-04-03", "acme", "breach", "us", "en", "both", "1", "2", "False", "True", "official",
    ]  # fmt: skip
    empty = invoke(runner, "paid", "acme-breach", "--db", db, "--from", "2027-01-01")
    assert (empty.exit_code, empty.stdout, empty.stderr) == (
        0,
        "",
        "No successful checks for this selection.\n",
    )
