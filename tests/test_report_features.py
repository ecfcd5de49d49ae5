"""The report's reputation score and its "SERP features and who holds them" tables.

Two keywords, checked 1-4 April 2026 (4 April has no saved page: a failed check):

    "acme recall"    1 Apr  top ad acme/ad (official); news: critic/story, paper; organic acme/s
                     2 Apr  bottom ad critic/ad (critical); AI overview cites acme/s, critic/a;
                            organic critic/a, acme/s
                     3 Apr  news: paper; People also ask answered by critic/a; organic critic/a
    "acme statement" 1-3 Apr  organic n1 only (neutral): no feature at all

acme.example is official, critic.example critical; paper.example and n1 are unlabelled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from tests.conftest import write_snapshot
from tests.crisis_scenario import invoke

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

[[keywords]]
query = "acme statement"

[labels]
official = ["acme.example"]
critical = ["critic.example"]
"""
OS, AD = "https://acme.example/s", "https://acme.example/ad"
CA, CAD, STORY = (
    "https://critic.example/a",
    "https://critic.example/ad",
    "https://critic.example/story",
)
PAPER, N1 = "https://paper.example/acme", "https://n1.example/acme"


def _result(placement: str, url: str, block: str | None = None) -> dict[str, Any]:
    found = {"placement": placement, "url": url, "title": f"Page {url[8:]}", "snippet": ""}
    return {**found, "block": block} if block else found


RECALL: dict[str, list[dict[str, Any]]] = {
    "2026-04-01": [
        _result("paid", AD, "top"),
        _result("news", STORY),
        _result("news", PAPER),
        _result("organic", OS),
    ],
    "2026-04-02": [
        _result("paid", CAD, "bottom"),
        _result("ai_overview", OS),
        _result("ai_overview", CA),
        _result("organic", CA),
        _result("organic", OS),
    ],
    "2026-04-03": [
        _result("news", PAPER),
        _result("people_also_ask", CA),
        _result("organic", CA),
    ],
}


@pytest.fixture
def recall(runner: CliRunner, tmp_path: Path, db_url: str) -> str:
    for day, results in RECALL.items():
        at = f"{day}T07:00:00Z"
        write_snapshot(tmp_path / "fixtures", day, "acme recall", results, observed_at=at)
        neutral = [_result("organic", N1)]
        write_snapshot(tmp_path / "fixtures", day, "acme statement", neutral, observed_at=at)
    (tmp_path / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    assert invoke(runner, "apply", str(tmp_path / "campaign.toml"), "--db", db_url).exit_code == 0
    result = invoke(
        runner, "backfill", "recall", "--from", "2026-04-01", "--to", "2026-04-04", "--db", db_url
    )
    assert "failed" in result.output  # 4 April: no saved page
    return db_url


def _report(runner: CliRunner, db: str, tmp_path: Path, *args: str) -> str:
    out = tmp_path / "recall.out"
    result = invoke(
        runner, "report", "recall", "--month", "2026-04", "--db", db, "--out", str(out), *args
    )
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _text(node: Any, selector: str) -> str:
    found = node.select_one(selector)
    assert found is not None, selector
    return str(found.get_text(" ", strip=True))


def _feature(key: str, checks: int, present: int, official: int, critical: int) -> dict[str, Any]:
    placement, _, block = key.partition("-")
    return {
        "feature": key,
        "placement": placement,
        "block": block or None,
        "checks": checks,
        "present": present,
        "official": official,
        "critical": critical,
    }


def test_serp_features_count_the_checks_showing_each_and_who_was_in_it(
    runner: CliRunner, recall: str, tmp_path: Path
) -> None:
    doc = json.loads(_report(runner, recall, tmp_path, "--format", "json"))
    recall_kw, statement = doc["keywords"]
    assert recall_kw["serp_features"] == [
        _feature("paid-top", 3, 1, 1, 0),
        _feature("paid-bottom", 3, 1, 0, 1),
        _feature("news", 3, 2, 0, 1),
        _feature("ai_overview", 3, 1, 1, 1),
        _feature("people_also_ask", 3, 1, 0, 1),
    ]
    assert statement["serp_features"] == []
    # the campaign: both keywords' successful checks (the failed 4 April counts in neither)
    assert doc["serp_features"] == [{**row, "checks": 6} for row in recall_kw["serp_features"]]


def test_the_reputation_score_is_official_minus_critical_share_with_its_components(
    runner: CliRunner, recall: str, tmp_path: Path
) -> None:
    doc = json.loads(_report(runner, recall, tmp_path, "--format", "json"))
    recall_kw, statement = doc["keywords"]
    # 1 April: acme/s alone on page 1; 3 April: critic/a alone
    assert recall_kw["score"] == {
        "start": {"score": 100.0, "official": 1.0, "critical": 0.0, "neutral": 0.0},
        "end": {"score": -100.0, "official": 0.0, "critical": 1.0, "neutral": 0.0},
    }
    neutral = {"score": 0.0, "official": 0.0, "critical": 0.0, "neutral": 1.0}
    assert statement["score"] == {"start": neutral, "end": neutral}
    assert doc["summary"]["score"] == {
        "start": {"score": 50.0, "official": 0.5, "critical": 0.0, "neutral": 0.5},
        "end": {"score": -50.0, "official": 0.0, "critical": 0.5, "neutral": 0.5},
    }
    # the score is the shares' difference, in points, wherever it is given
    for keyword in doc["keywords"]:
        for which in ("start", "end"):
            shares = keyword["share_of_voice"][which]["organic"]
            score = keyword["score"][which]
            assert score["score"] == pytest.approx(
                100 * (shares["official"] - shares["critical"]), abs=0.01
            )


def test_the_html_report_shows_the_score_beside_its_components_and_the_features_table(
    runner: CliRunner, recall: str, tmp_path: Path
) -> None:
    soup = BeautifulSoup(_report(runner, recall, tmp_path), "html.parser")
    card = next(c for c in soup.select(".card") if "reputation score" in _text(c, ".label"))
    assert _text(card, ".value") == "\u221250"
    assert _text(card, ".detail") == "official 0% \u2212 critical 50%; neutral 50%"
    assert _text(card, ".was") == "at the start: +50"
    assert _text(soup, "#kw-0 .score") == (
        "Reputation score: +100 (official 100% \u2212 critical 0%; neutral 0%) \u2192 "
        "\u2212100 (official 0% \u2212 critical 100%; neutral 0%)"
    )
    rows = [
        [td.get_text(strip=True) for td in tr.select("td")]
        for tr in soup.select("#features-table tbody tr")
    ]
    assert rows == [
        ["Top ads", "1 of 6", "1 (100%)", "0 (0%)"],
        ["Bottom ads", "1 of 6", "0 (0%)", "1 (100%)"],
        ["News box (top stories)", "2 of 6", "0 (0%)", "1 (50%)"],
        ["AI overview (sources cited)", "1 of 6", "1 (100%)", "1 (100%)"],
        ["People also ask (answer sources)", "1 of 6", "0 (0%)", "1 (100%)"],
    ]
    keyword_rows = soup.select("#kw-0 table.held tbody tr")
    assert [_text(tr, "td") for tr in keyword_rows] == [r[0] for r in rows]
    assert soup.select("#kw-1 table.held") == []  # a keyword that never showed a feature
    formula = _text(soup, "#methodology")
    assert "score = 100 × (official − critical)" in formula


OWNERSHIP = """
[labels.ownership]
owned = ["acme.example"]
earned = ["paper.example"]
hostile = ["critic.example"]
third_party = ["re:n1\\\\.example"]
"""


@pytest.fixture
def owned(runner: CliRunner, recall: str, tmp_path: Path) -> str:
    """The same campaign with ownership classes (applied again: the history is kept)."""
    path = tmp_path / "campaign.toml"
    path.write_text(CAMPAIGN + OWNERSHIP, encoding="utf-8")
    assert invoke(runner, "apply", str(path), "--db", recall).exit_code == 0
    return recall


def test_ownership_classes_sit_beside_the_stance_where_the_campaign_gives_them(
    runner: CliRunner, owned: str, recall: str, tmp_path: Path
) -> None:
    doc = json.loads(_report(runner, owned, tmp_path, "--format", "json"))
    recall_kw, statement = doc["keywords"]
    assert [(r["url"], r["stance"], r["ownership"]) for r in recall_kw["top10"]] == [
        (CA, "critical", "hostile")
    ]
    assert recall_kw["page_one_ownership"] == {
        "owned": 0,
        "earned": 0,
        "third_party": 0,
        "hostile": 1,
        "unclassified": 0,
    }
    assert statement["page_one_ownership"]["third_party"] == 1
    assert doc["methodology"]["ownership"] == {
        "owned": ["acme.example"],
        "earned": ["paper.example"],
        "third_party": ["re:n1\\.example"],
        "hostile": ["critic.example"],
    }
    tops = [r["ownership"] for end in recall_kw["month_end_top10"] for r in end["top10"]]
    assert tops == ["hostile"]
    # the classes change no number: the score is the stances'
    assert recall_kw["score"]["end"]["score"] == -100.0
    soup = BeautifulSoup(_report(runner, owned, tmp_path), "html.parser")
    assert [b.get_text() for b in soup.select("#kw-0 .top10 .badge")] == [
        "critical",
        "hostile",
    ]
    assert _text(soup, "#kw-1 .ownership") == (
        "Page 1 by ownership: owned 0 · earned 0 · third-party 1 · hostile 0 · unclassified 0"
    )
    assert "third-party re:n1\\.example" in _text(soup, "#methodology")


def test_without_ownership_classes_the_report_shows_none(
    runner: CliRunner, recall: str, tmp_path: Path
) -> None:
    doc = json.loads(_report(runner, recall, tmp_path, "--format", "json"))
    assert doc["keywords"][0]["page_one_ownership"] is None
    assert doc["keywords"][0]["top10"][0]["ownership"] is None
    assert doc["methodology"]["ownership"] is None
    soup = BeautifulSoup(_report(runner, recall, tmp_path), "html.parser")
    assert soup.select(".ownership, .badge.owner") == []


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[labels.ownership]\nowned = ["acme.example/*/x*"]\n',
            "labels.ownership.owned[0] (line 24): 'acme.example/*/x*' is not a host or URL followed by '*'",
        ),
        (
            '[labels.ownership]\nowned = ["acme.example"]\nhostile = ["acme.example"]\n',
            "pattern 'acme.example' is under both owned and hostile; keep one",
        ),
        ('[labels.ownership]\npaid = ["acme.example"]\n', "unknown key 'paid'"),
    ],
)
def test_ownership_rules_are_checked_at_apply(
    runner: CliRunner, tmp_path: Path, db_url: str, table: str, message: str
) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(CAMPAIGN + table, encoding="utf-8")
    (tmp_path / "fixtures").mkdir()
    result = invoke(runner, "apply", str(path), "--db", db_url)
    assert result.exit_code == 1
    assert message in result.output
