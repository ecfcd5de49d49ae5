"""Reads follow the period: a month read on months of history is the month alone's answer
where only the month counts, and history's where the past counts (leads carried in, the
first overtake ever). See tests/period_scenario.py."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from serptrack import analysis, store
from serptrack.cli import cli
from serptrack.lead import current_lead, lead_changes, settled_index
from tests.period_scenario import END, SCRIPTS, START, build

OFF, CRIT = "official", "critical"


@pytest.mark.parametrize("hold", [1, 2, 3])
def test_settled_index_gives_history_s_changes_and_lead(hold: int) -> None:
    draw = random.Random(hold)
    for _ in range(400):
        past = [draw.choice([OFF, CRIT, None]) for _ in range(draw.randrange(30))]
        period = [draw.choice([OFF, CRIT, None]) for _ in range(draw.randrange(1, 8))]
        index = settled_index(past, hold)
        if index is None:
            continue
        whole, tail = past + period, past[index:] + period
        later = [(c.index, c.leader, c.kind) for c in lead_changes(whole, hold)]
        later = [c for c in later if c[0] >= len(past)]
        shifted = [
            (c.index + index, c.leader, c.kind)
            for c in lead_changes(tail, hold)
            if c.index + index >= len(past)
        ]
        assert shifted == later
        leader, since = current_lead(whole, hold)
        tail_leader, tail_since = current_lead(tail, hold)
        assert tail_leader == leader
        assert (None if tail_since is None else tail_since + index) == since


def test_settled_index_needs_two_sides() -> None:
    assert settled_index([CRIT, CRIT, None, CRIT], 1) is None  # the lead may date from earlier
    assert settled_index([OFF, CRIT, CRIT, None, CRIT], 1) == 0
    assert settled_index([OFF, OFF, CRIT, OFF, CRIT, CRIT], 2) == 0
    assert settled_index([None, CRIT, OFF, OFF, CRIT, CRIT], 2) == 2


@pytest.fixture
def scenario(db_url: str, tmp_path: Path) -> Iterator[str]:
    build(db_url, tmp_path)
    yield db_url


def _json(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("hold", [1, 2, 3])
def test_overtakes_in_a_period_are_history_s_events_in_it(scenario: str, hold: int) -> None:
    engine = store.connect(scenario)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "long")
        bounded = analysis.overtakes(session, campaign, hold=hold, start=START, end=END)
        whole = analysis.overtakes(session, campaign, hold=hold)
    engine.dispose()
    assert bounded == [e for e in whole if START <= e.at < END]
    assert bounded  # the scenario has events in April


@pytest.mark.parametrize("hold", [1, 2, 3])
def test_status_of_a_period_carries_leads_and_the_first_overtake_in(
    scenario: str, hold: int
) -> None:
    engine = store.connect(scenario)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "long")
        bounded = analysis.status(session, campaign, hold=hold, start=START, end=END)
        whole = analysis.status(session, campaign, hold=hold, end=END)
    engine.dispose()
    for row, expected in zip(bounded["keywords"], whole["keywords"], strict=True):
        for view in ("organic", "page"):
            assert row[view] == expected[view]
            first, wanted = row["first_overtake"][view], expected["first_overtake"][view]
            assert (first or {}).get("at") == (wanted or {}).get("at")
            assert (first or {}).get("check_id") == (wanted or {}).get("check_id")
        assert row["checks_ok"] == 30  # the period's checks only
    early = next(row for row in bounded["keywords"] if row["query"] == "early")
    # the first overtake ever, long before the period (with hold 3, January's two critical
    # days never made a lead: the first leader is no event, and February's overtake is first)
    first = (
        dt.datetime(2026, 1, 3, 7, tzinfo=dt.UTC)
        if hold < 3
        else dt.datetime(2026, 2, 20, 7, tzinfo=dt.UTC)
    )
    assert early["first_overtake"]["organic"]["at"] == first
    # only the period's annotation, with the days to the next overtake from it
    (note,) = early["first_overtake"]["organic"]["annotations"]
    assert note["date"] == dt.date(2026, 4, 5)
    assert [n["text"] for n in bounded["annotations"]] == ["Statement"]
    assert (bounded["from"], bounded["to"]) == (dt.date(2026, 4, 1), dt.date(2026, 4, 30))


def _report(runner: CliRunner, db: str, campaign: str) -> Any:
    return _json(
        runner,
        "report",
        campaign,
        "--month",
        "2026-04",
        "--format",
        "json",
        "--out",
        "-",
        "--db",
        db,
    )


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in ("check_id", "id")}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def test_a_month_report_on_history_is_the_month_alone_where_only_the_month_counts(
    runner: CliRunner, scenario: str
) -> None:
    long, alone = _report(runner, scenario, "long"), _report(runner, scenario, "alone")
    by_query = {k["query"]: k for k in long["keywords"]}
    alone_by_query = {k["query"]: k for k in alone["keywords"]}
    assert set(by_query) == set(SCRIPTS)
    for query, keyword in by_query.items():
        other = alone_by_query[query]
        for key in ("checks", "urls", "top10", "paid_days", "share_of_voice", "serp_features"):
            assert _without_ids(keyword[key]) == _without_ids(other[key]), (query, key)
    # "late" has nothing labelled before April: every lead figure is the month's own
    for key in ("start", "end", "events", "first_overtake"):
        assert _without_ids(by_query["late"][key]) == _without_ids(alone_by_query["late"][key])
    # "steady": critical led since January, carried into April; April's events are the same
    assert by_query["steady"]["start"]["organic"]["since"] == "2026-01-01T07:00:00Z"
    assert alone_by_query["steady"]["start"]["organic"]["since"] == "2026-04-01T07:00:00Z"
    assert _without_ids(by_query["steady"]["events"]) == _without_ids(
        alone_by_query["steady"]["events"]
    )
    # "early": the first overtake ever is January's, long before the month
    assert by_query["early"]["first_overtake"]["organic"]["at"] == "2026-01-03T07:00:00Z"
    assert long["page_one_by_day"] == alone["page_one_by_day"]
    assert long["share_of_voice_by_day"] == alone["share_of_voice_by_day"]


def test_a_month_report_agrees_with_overtakes_and_status(runner: CliRunner, scenario: str) -> None:
    report = _report(runner, scenario, "long")
    events = _json(
        runner,
        "overtakes",
        "long",
        "--from",
        "2026-04-01",
        "--to",
        "2026-04-30",
        "--json",
        "--db",
        scenario,
    )
    assert [(e["query"], e["view"], e["kind"], e["at"]) for e in events] == [
        (e["query"], e["view"], e["kind"], e["at"]) for e in report["events"]
    ]
    status = _json(
        runner,
        "status",
        "long",
        "--from",
        "2026-04-01",
        "--to",
        "2026-04-30",
        "--json",
        "--db",
        scenario,
    )
    for keyword, row in zip(report["keywords"], status["keywords"], strict=True):
        for view in ("organic", "page"):
            assert keyword["end"][view]["since"] == row[view]["since"]
            assert keyword["first_overtake"][view]["at"] == row["first_overtake"][view]["at"]


def test_status_without_a_period_is_unchanged_by_the_options(
    runner: CliRunner, scenario: str
) -> None:
    plain = _json(runner, "status", "long", "--json", "--db", scenario)
    assert "from" not in plain
    assert plain["keywords"][0]["checks_ok"] == 120


def test_points_are_built_field_by_field_as_named() -> None:
    # reads builds check points with tuple.__new__ (no per-field names): the order it fills
    # them in must be the named tuple's
    from serptrack.lead import CheckPoint

    assert CheckPoint._fields == (
        "check_id",
        "at",
        "organic",
        "page",
        "organic_page",
        "official_unpaid",
        "official_ad_rank",
        "official_top_ad",
        "official_on_page_1",
        "critical_on_page_1",
        "share",
    )


def test_a_series_read_leaves_the_collector_as_it_found_it(scenario: str) -> None:
    import gc

    from serptrack.store import reads

    engine = store.connect(scenario)
    try:
        with Session(engine) as session:
            campaign = store.get_campaign(session, "long")
            assert gc.isenabled()
            assert reads.keyword_series(session, campaign)[0].points
            assert gc.isenabled()
            gc.disable()
            try:
                reads.keyword_series(session, campaign)
                assert not gc.isenabled()
            finally:
                gc.enable()
    finally:
        engine.dispose()
