"""The report's answer chart, page-1 composition and month-end top 10s, on a small campaign.

One keyword, "acme recall", checked on 15 October 2025 (outside the six months of an April
2026 report), 27 February, 31 March, then 10 April (an official ad), 11 April (no saved page:
failed), no check on 12 April, 13 and 14 April 2026. Organic pages (rank order):

    2025-10-15  old                                  (never read by the April report)
    2026-02-27  critic/a acme/s wiki/x n1 n2
    2026-03-31  acme/s critic/a n1 wiki/x n3
    2026-04-10  acme/s n1 critic/a wiki/x            official leads
    2026-04-13  critic/b acme/s n1                   critical leads (lost)
    2026-04-14  acme/s acme/faq n1 critic/b n4 n5-n9 critic/c (#11)   official (overtake)

acme.example is official, critic.example critical, wiki.example neutral (a neutral rule), the
n pages unlabelled.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from tests.conftest import write_snapshot
from tests.crisis_scenario import invoke
from tests.test_report import figures

QUERY = "acme recall"
CAMPAIGN = """\
[campaign]
name = "recall"
brand = "Acme"

[defaults]
provider = "replay"
country = "us"
language = "en"
schedule = "1d"

[providers.replay]
path = "fixtures"

[[keywords]]
query = "acme recall"

[labels]
official = ["acme.example"]
critical = ["critic.example"]
neutral = ["wiki.example"]
"""
OS, FAQ, AD = "https://acme.example/s", "https://acme.example/faq", "https://acme.example/ad"
CA, CB, CC = "https://critic.example/a", "https://critic.example/b", "https://critic.example/c"
WIKI = "https://wiki.example/x"


def n(number: int) -> str:
    return f"https://n{number}.example/acme"


PAGES: dict[str, list[str]] = {
    "2025-10-15": [n(20), CA],
    "2026-02-27": [CA, OS, WIKI, n(1), n(2)],
    "2026-03-31": [OS, CA, n(1), WIKI, n(3)],
    "2026-04-10": [OS, n(1), CA, WIKI],
    "2026-04-13": [CB, OS, n(1)],
    "2026-04-14": [OS, FAQ, n(1), CB, *(n(i) for i in range(4, 10)), CC],
}


def _page(day: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [
        {"placement": "organic", "url": url, "title": f"Page {url[8:]}", "snippet": ""}
        for url in PAGES[day]
    ]
    if day == "2026-04-10":
        results.insert(0, {"placement": "paid", "block": "top", "url": AD, "title": "Ad"})
    return results


@pytest.fixture
def recall(runner: CliRunner, tmp_path: Path, db_url: str) -> str:
    for day in PAGES:
        write_snapshot(
            tmp_path / "fixtures", day, QUERY, _page(day), observed_at=f"{day}T07:00:00Z"
        )
    (tmp_path / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    assert invoke(runner, "apply", str(tmp_path / "campaign.toml"), "--db", db_url).exit_code == 0
    # 11 April has no saved page (a failed check); 12 April is never checked
    for first, last in [(day, day) for day in list(PAGES)[:4]] + [
        ("2026-04-11", "2026-04-11"),
        ("2026-04-13", "2026-04-14"),
    ]:
        invoke(runner, "backfill", "recall", "--from", first, "--to", last, "--db", db_url)
    return db_url


def _report(runner: CliRunner, db: str, tmp_path: Path, *args: str) -> str:
    out = tmp_path / "recall.out"
    result = invoke(
        runner, "report", "recall", "--month", "2026-04", "--db", db, "--out", str(out), *args
    )
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _x(day: str, time: str = "07:00") -> str:
    return f"{day} {time}"


def test_the_default_chart_is_best_official_against_best_critical(
    runner: CliRunner, recall: str, tmp_path: Path
) -> None:
    chart = figures(_report(runner, recall, tmp_path))["rank-0"]
    traces = {t["name"]: t for t in chart["data"] if t.get("yaxis") != "y2"}
    best_o, best_c = traces["best official result"], traces["best critical result"]
    # 11 April failed (backfill dates a check it could not make at midnight), 12 April has
    # no check at all: both gaps (None, the second half-way between), never a line across
    assert best_o["x"] == [
        _x("2026-04-10"),
        _x("2026-04-11", "00:00"),
        _x("2026-04-12", "03:30"),
        _x("2026-04-13"),
        _x("2026-04-14"),
    ]
    assert best_o["y"] == [1, None, None, 2, 1]
    assert best_c["y"] == [3, None, None, 1, 4]
    assert best_o["line"]["width"] == best_c["line"]["width"] == 3.5
    assert (best_o["line"]["color"], best_c["line"]["color"]) == ("#15803d", "#b91c1c")
    assert chart["layout"]["template"]["data"]["scatter"][0]["connectgaps"] is False
    # each official and critical URL has its own line, drawn only behind the button
    own = [t for t in chart["data"] if t.get("visible") is False]
    assert [(t["name"], t["y"]) for t in own] == [
        ("acme.example: Page acme.example/s", [1, None, None, 2, 1]),
        ("acme.example: Page acme.example/faq", [None, None, None, None, 2]),
        ("critic.example: Page critic.example/b", [None, None, None, 1, 4]),  # best first
        ("critic.example: Page critic.example/a", [3, None, None, None, None]),
        ("critic.example: Page critic.example/c", [None, None, None, None, 11]),
    ]
    (menu,) = chart["layout"]["updatemenus"]
    best, every = menu["buttons"]
    assert best["label"] == "Best positions" and every["label"] == "Show every URL"
    shown = [t.get("visible", True) is not False for t in chart["data"]]
    assert best["args"][0]["visible"] == shown
    assert every["args"][0]["visible"] == [True] * len(chart["data"])
    # one marker per organic event, on the line of the side that took the lead; no text
    assert traces["▼ lost lead"]["x"] == [_x("2026-04-13")]
    assert traces["▼ lost lead"]["y"] == [1]
    assert traces["▲ overtake"]["x"] == [_x("2026-04-14")]
    assert traces["▲ overtake"]["y"] == [1]
    assert traces["▲ overtake"]["text"] == ["overtake: official #1, critical #4"]
    assert not [a for a in chart["layout"].get("annotations", []) if "▲" in a["text"]]
    # rank 1 labelled; page 1 shaded; the official lead shaded check by check
    assert chart["layout"]["yaxis"]["tickvals"][0] == 1
    rects = [s for s in chart["layout"]["shapes"] if s.get("type") == "rect"]
    assert [(s["yref"], s["y0"], s["y1"]) for s in rects if s["xref"] == "paper"] == [
        ("y", 0.5, 10.5)
    ]
    assert [(s["x0"], s["x1"]) for s in rects if s["xref"] == "x"] == [
        (_x("2026-04-10"), _x("2026-04-11", "00:00")),  # until the failed check: no evidence
        (_x("2026-04-14"), _x("2026-04-15")),  # the last check stands for one day
    ]


def test_lead_shading_stops_at_now_in_a_report_of_the_month_so_far(recall: str) -> None:
    from sqlmodel import Session

    from serptrack import store
    from serptrack.report import build_report, month_period
    from serptrack.report.charts import lead_ranges, rank_chart

    engine = store.connect(recall)
    made_on = dt.datetime(2026, 4, 14, 12, tzinfo=dt.UTC)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "recall")
        data = build_report(session, campaign, month_period("2026-04"), now=made_on)
    engine.dispose()
    (keyword,) = data.keywords
    at = dt.datetime(2026, 4, 14, 7, tzinfo=dt.UTC)
    assert lead_ranges(keyword, data.period, made_on)[-1] == (at, made_on)
    figure = rank_chart(keyword, data.period, made_on)
    xs = {x for trace in figure["data"] for x in trace.get("x") or []}
    assert max(xs) == _x("2026-04-14")  # nothing drawn after the last check, no failure mark


def test_page_one_composition_per_check_and_per_day(
    runner: CliRunner, recall: str, tmp_path: Path
) -> None:
    document = json.loads(_report(runner, recall, tmp_path, "--format", "json"))
    (keyword,) = document["keywords"]
    by_check = {c["at"][:10]: c.get("page_one") for c in keyword["checks"]}
    # organic ranks 1-10 only: the ad of 10 April and critic/c at #11 do not count
    assert by_check == {
        "2026-04-10": {"official": 1, "critical": 1, "neutral": 1, "unlabelled": 1},
        "2026-04-11": None,  # failed: no composition, not zeros
        "2026-04-13": {"official": 1, "critical": 1, "neutral": 0, "unlabelled": 1},
        "2026-04-14": {"official": 2, "critical": 1, "neutral": 0, "unlabelled": 7},
    }
    assert [(d["date"], d["keywords"], d["unlabelled"]) for d in document["page_one_by_day"]] == [
        ("2026-04-10", 1, 1),
        ("2026-04-13", 1, 1),
        ("2026-04-14", 1, 7),
    ]
    charts = figures(_report(runner, recall, tmp_path))
    bars = {t["name"]: t for t in charts["page-0"]["data"]}
    assert list(bars) == ["official", "critical", "neutral", "unlabelled"]
    assert bars["official"]["type"] == "bar" and charts["page-0"]["layout"]["barmode"] == "stack"
    assert bars["official"]["x"] == [_x("2026-04-10"), _x("2026-04-13"), _x("2026-04-14")]
    assert [bars[k]["y"] for k in bars] == [[1, 1, 2], [1, 1, 1], [1, 0, 0], [1, 1, 7]]
    campaign = {t["name"]: t for t in charts["page-all"]["data"]}
    assert campaign["unlabelled"]["x"] == ["2026-04-10", "2026-04-13", "2026-04-14"]
    assert campaign["official"]["y"] == [1, 1, 2]


def test_month_end_top_10s_read_only_their_checks(
    runner: CliRunner, recall: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serptrack.store import reads

    asked: list[list[int]] = []
    original = reads.page_results

    def spy(
        session: Any, campaign: Any, check_ids: Any, labels: Any = None, top: Any = None
    ) -> Any:
        asked.append(list(check_ids))
        return original(session, campaign, check_ids, labels, top=top)

    monkeypatch.setattr(reads, "page_results", spy)
    document = json.loads(_report(runner, recall, tmp_path, "--format", "json"))
    (keyword,) = document["keywords"]
    # November to January have no check: the table starts when tracking began (February)
    assert document["months"] == ["2026-02", "2026-03", "2026-04"]
    ends = keyword["month_end_top10"]
    assert [(e["month"], e["at"][:10]) for e in ends] == [
        ("2026-02", "2026-02-27"),
        ("2026-03", "2026-03-31"),
        ("2026-04", "2026-04-14"),
    ]
    # one page read per month end (the last one is the period's last check), nothing else:
    # not October's check, not every check of the history
    # (the period's last page whole, the others' top 10)
    assert sorted(c for pages in asked for c in pages) == sorted(e["check_id"] for e in ends)

    def rows(end: dict[str, Any]) -> list[tuple[int, str, str, int | None, bool]]:
        return [
            (r["rank"], r["url"].split("//")[1], r["stance"], r["move"], r["new"])
            for r in end["top10"][:5]
        ]

    assert rows(ends[0]) == [
        (1, "critic.example/a", "critical", None, False),
        (2, "acme.example/s", "official", None, False),
        (3, "wiki.example/x", "neutral", None, False),
        (4, "n1.example/acme", "neutral", None, False),
        (5, "n2.example/acme", "neutral", None, False),
    ]
    # wiki.example is neutral by a rule; the nN.example URLs by default (no rule matches)
    assert [r["labelled"] for r in ends[0]["top10"][:5]] == [True, True, True, False, False]
    assert rows(ends[1]) == [
        (1, "acme.example/s", "official", 1, False),
        (2, "critic.example/a", "critical", -1, False),
        (3, "n1.example/acme", "neutral", 1, False),
        (4, "wiki.example/x", "neutral", -1, False),
        (5, "n3.example/acme", "neutral", None, True),
    ]
    assert rows(ends[2]) == [
        (1, "acme.example/s", "official", 0, False),
        (2, "acme.example/faq", "official", None, True),
        (3, "n1.example/acme", "neutral", 0, False),
        (4, "critic.example/b", "critical", None, True),
        (5, "n4.example/acme", "neutral", None, True),
    ]
    assert len(ends[2]["top10"]) == 10  # critic/c at #11 is not on page 1
    changes = keyword["page_one_changes"]
    assert changes["since"].startswith("2026-03-31T07:00")
    assert [(m["url"], m["rank"]) for m in changes["entered"]] == [
        (FAQ, 2),
        (CB, 4),
        (n(4), 5),
        (n(5), 6),
        (n(6), 7),
        (n(7), 8),
        (n(8), 9),
        (n(9), 10),
    ]
    assert [(m["url"], m["stance"], m["labelled"], m["rank"]) for m in changes["left"]] == [
        (CA, "critical", True, 2),
        (WIKI, "neutral", True, 4),
        (n(3), "neutral", False, 5),
    ]


def test_month_end_table_in_html(runner: CliRunner, recall: str, tmp_path: Path) -> None:
    soup = BeautifulSoup(_report(runner, recall, tmp_path), "html.parser")
    table = soup.select_one("#months-0")
    assert table is not None
    heads = [th.get_text(" ", strip=True) for th in table.select("thead th")]
    assert heads == ["#", "Feb 2026 27 Feb 2026", "Mar 2026 31 Mar 2026", "Apr 2026 14 Apr 2026"]
    first, second = table.select("tbody tr")[:2]
    assert [(td.get("class"), td.get_text(" ", strip=True)) for td in first.find_all("td")] == [
        (["num"], "1"),
        (["critical"], "critic.example/a"),
        (["official"], "acme.example/s ▲1"),
        (["official"], "acme.example/s"),
    ]
    assert [td.get_text(" ", strip=True) for td in second.find_all("td")] == [
        "2",
        "acme.example/s",
        "critic.example/a ▼1",
        "acme.example/faq new",
    ]
    # a neutral rule's URL and an unlabelled one are coloured apart (February's #3 and #4)
    third, fourth = table.select("tbody tr")[2:4]
    assert [td.get("class") for td in third.find_all("td")[1:2] + fourth.find_all("td")[1:2]] == [
        ["neutral"],
        ["unlabelled"],
    ]
    changes = soup.select_one("#kw-0 .changes")
    assert changes is not None
    text = changes.get_text(" ", strip=True)
    assert text.startswith("Since 31 Mar 2026: entered page 1: official acme.example (#2)")
    assert (
        "left page 1: critical critic.example (was #2), neutral wiki.example (was #4), "
        "unlabelled n3.example (was #5)"
    ) in text
