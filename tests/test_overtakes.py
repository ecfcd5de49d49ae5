"""``overtakes``: SPEC section 6 on a hand-built replay crisis (see tests/crisis_scenario.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.crisis_scenario import (
    BL,
    CN,
    CW,
    OAD,
    OS,
    OSR,
    TW,
    build,
    check_ids,
    invoke,
    json_of,
    relabel,
)

BREACH = {"query": "acme breach", "country": "us", "language": "en", "device": "desktop"}
FUITE = {"query": "acme fuite", "country": "fr", "language": "fr", "device": "desktop"}


@pytest.fixture(scope="module")
def scenario(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, str, dict[tuple[str, str], int]]:
    folder = tmp_path_factory.mktemp("crisis")
    runner = CliRunner()
    db = build(runner, folder)
    return folder, db, check_ids(runner, db)


def event(
    ids: dict[tuple[str, str], int],
    keyword: dict[str, str],
    view: str,
    kind: str,
    day: int,
    official: tuple[str, int] | None,
    critical: tuple[str, int] | None,
) -> dict[str, Any]:
    date = f"2026-04-{day:02d}"
    return {
        **keyword,
        "view": view,
        "kind": kind,
        "at": f"{date}T07:00:00Z",
        "official_url": official[0] if official else None,
        "official_position": official[1] if official else None,
        "critical_url": critical[0] if critical else None,
        "critical_position": critical[1] if critical else None,
        "engine": "google",
        "location": "",
        "check_id": ids[(keyword["query"], date)],
    }


def overtakes(runner: CliRunner, db: str, *args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json_of(runner, "overtakes", "acme-breach", "--db", db, *args)
    return rows


def test_every_event_of_both_views_oldest_first(runner: CliRunner, scenario: Any) -> None:
    _folder, db, ids = scenario
    assert overtakes(runner, db) == [
        # the ad takes the page lead three days before the statement takes the organic lead
        event(ids, BREACH, "page", "overtake", 3, (OAD, 1), (CN, 2)),
        event(ids, FUITE, "page", "overtake", 3, (OAD, 1), None),
        # organic: C on day 2, nobody on day 3, the statement (behind a Google redirect) on day 4
        event(ids, FUITE, "organic", "overtake", 4, (OSR, 2), None),
        # days 4 (failed) and 5 (blocked) are skipped: not evidence
        event(ids, BREACH, "organic", "overtake", 6, (OS, 1), (CN, 2)),
        event(ids, BREACH, "organic", "lost", 8, (OS, 2), (CW, 1)),
        event(ids, BREACH, "page", "lost", 8, (OS, 2), (CW, 1)),
        event(ids, BREACH, "organic", "overtake", 10, (OS, 1), (CW, 2)),
        event(ids, BREACH, "page", "overtake", 10, (OS, 1), (CW, 2)),
        event(ids, BREACH, "organic", "lost", 12, (OS, 2), (CW, 1)),
        event(ids, BREACH, "page", "lost", 12, (OS, 2), (CW, 1)),
        event(ids, BREACH, "organic", "overtake", 13, (OS, 1), (CW, 2)),
        event(ids, BREACH, "page", "overtake", 13, (OS, 1), (CW, 2)),
    ]


def test_one_view(runner: CliRunner, scenario: Any) -> None:
    _folder, db, ids = scenario
    organic = overtakes(runner, db, "--view", "organic")
    page = overtakes(runner, db, "--view", "page")
    assert [(e["query"], e["at"][:10], e["kind"]) for e in organic] == [
        ("acme fuite", "2026-04-04", "overtake"),
        ("acme breach", "2026-04-06", "overtake"),
        ("acme breach", "2026-04-08", "lost"),
        ("acme breach", "2026-04-10", "overtake"),
        ("acme breach", "2026-04-12", "lost"),
        ("acme breach", "2026-04-13", "overtake"),
    ]
    assert {e["view"] for e in organic} == {"organic"}
    assert page[0] == event(ids, BREACH, "page", "overtake", 3, (OAD, 1), (CN, 2))
    assert {e["view"] for e in page} == {"page"}
    assert len(organic) + len(page) == len(overtakes(runner, db))


def test_hold_2_suppresses_the_one_day_flip(runner: CliRunner, scenario: Any) -> None:
    _folder, db, ids = scenario
    assert overtakes(runner, db, "--hold", "2") == [
        # days 3 and 6 are consecutive successful checks: the failed and blocked days between
        # them do not break the streak, and the change is dated at its first check
        event(ids, BREACH, "page", "overtake", 3, (OAD, 1), (CN, 2)),
        event(ids, BREACH, "organic", "overtake", 6, (OS, 1), (CN, 2)),
        event(ids, BREACH, "organic", "lost", 8, (OS, 2), (CW, 1)),
        event(ids, BREACH, "page", "lost", 8, (OS, 2), (CW, 1)),
        event(ids, BREACH, "organic", "overtake", 10, (OS, 1), (CW, 2)),
        event(ids, BREACH, "page", "overtake", 10, (OS, 1), (CW, 2)),
        # day 12 (one day of CW on top) is not an event; "acme fuite" never had the critical
        # side lead two checks in a row, so its official lead is a first lead, not an overtake
    ]


def test_from_and_to_choose_events_without_changing_them(runner: CliRunner, scenario: Any) -> None:
    _folder, db, _ids = scenario
    everything = overtakes(runner, db)
    window = overtakes(runner, db, "--from", "2026-04-08", "--to", "2026-04-10")
    assert window == [e for e in everything if "2026-04-08" <= e["at"][:10] <= "2026-04-10"]
    assert len(window) == 4


def test_query_filter_and_unknown_query(runner: CliRunner, scenario: Any) -> None:
    _folder, db, _ids = scenario
    only = overtakes(runner, db, "--query", "acme fuite")
    assert [(e["view"], e["at"][:10]) for e in only] == [
        ("page", "2026-04-03"),
        ("organic", "2026-04-04"),
    ]
    result = invoke(runner, "overtakes", "acme-breach", "--db", db, "-q", "acme scandal")
    assert result.exit_code == 1
    assert result.output == (
        "Error: campaign 'acme-breach' has no active keyword 'acme scandal' "
        "(active: acme breach, acme fuite)\n"
    )


def test_human_table(runner: CliRunner, scenario: Any) -> None:
    _folder, db, _ids = scenario
    result = invoke(
        runner, "overtakes", "acme-breach", "--db", db, "--view", "organic", "-q", "acme fuite"
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["at", "query", "locale", "view", "kind", "official", "critical"]
    assert lines[2].split() == [
        "2026-04-04T07:00:00Z",
        "acme",
        "fuite",
        "fr-fr",
        "desktop",
        "organic",
        "overtake",
        "#2",
        "https://www.google.com/url?q=https://acme.example/stat...",
        "-",
    ]


def test_no_events(runner: CliRunner, scenario: Any) -> None:
    _folder, db, _ids = scenario
    result = invoke(runner, "overtakes", "acme-breach", "--db", db, "--from", "2026-04-14")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "No overtakes or lost leads for this selection.\n"
    assert overtakes(runner, db, "--from", "2026-04-14") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hold", "0"], "Invalid value for '--hold': 0 is not in the range x>=1."),
        (
            ["--view", "ads"],
            "Invalid value for '--view': 'ads' is not one of 'organic', 'page', 'both', 'ai', 'all'.",
        ),
        (
            ["--from", "2026-04-10", "--to", "2026-04-01"],
            "Invalid value for --to: --to is before --from",
        ),
    ],
)
def test_usage_errors(runner: CliRunner, scenario: Any, args: list[str], message: str) -> None:
    _folder, db, _ids = scenario
    result = invoke(runner, "overtakes", "acme-breach", "--db", db, *args)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == f"Error: {message}"


def test_unknown_campaign(runner: CliRunner, scenario: Any) -> None:
    _folder, db, _ids = scenario
    result = invoke(runner, "overtakes", "acme", "--db", db)
    assert result.exit_code == 1
    assert result.output == (
        "Error: no campaign named 'acme' (known: acme-breach); create it with: serptrack apply FILE\n"
    )


def test_relabelling_changes_past_events(runner: CliRunner, tmp_path: Path) -> None:
    db = build(runner, tmp_path)
    ids = check_ids(runner, db)
    before = overtakes(runner, db, "-q", "acme fuite")
    relabel(runner, tmp_path, db, version=2)  # blog.example/acme-leak becomes critical
    assert overtakes(runner, db, "-q", "acme fuite") == [
        event(ids, FUITE, "page", "overtake", 3, (OAD, 1), None),
        event(ids, FUITE, "organic", "overtake", 4, (OSR, 2), None),
        event(ids, FUITE, "organic", "lost", 6, (TW, 2), (BL, 1)),
        event(ids, FUITE, "page", "lost", 6, (TW, 2), (BL, 1)),
        event(ids, FUITE, "organic", "overtake", 8, (TW, 1), (BL, 2)),
        event(ids, FUITE, "page", "overtake", 8, (TW, 1), (BL, 2)),
    ]
    relabel(runner, tmp_path, db, version=1)
    assert overtakes(runner, db, "-q", "acme fuite") == before


def test_urls_that_match_only_after_normalisation(runner: CliRunner, scenario: Any) -> None:
    _folder, db, ids = scenario
    rows = json_of(runner, "history", "acme-breach", "--db", db, "-q", "acme fuite")
    stances = {(row["observed_at"][:10], row["url"]): row["stance"] for row in rows if row["url"]}
    # www., http, upper case, a tracking parameter, a fragment, a trailing slash, a redirect
    assert (
        stances[("2026-04-02", "http://WWW.News.example/acme-breach/?utm_source=feed#comments")]
        == "critical"
    )
    assert stances[("2026-04-04", OSR)] == "official"
    assert stances[("2026-04-05", TW)] == "official"
    assert overtakes(runner, db, "-q", "acme fuite", "--view", "organic") == [
        event(ids, FUITE, "organic", "overtake", 4, (OSR, 2), None),
    ]
