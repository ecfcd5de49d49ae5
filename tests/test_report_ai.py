"""The report's "AI answers" section: who the answers cite, as shares of samples with their
95 % Wilson intervals, over the period and day by day.

One keyword asked of Perplexity (replayed) with ``samples = 3``, on 1 and 2 April 2026:

    1 Apr  sample 1 cites acme/s, critic/a   sample 2 acme/s   sample 3 n1 (unlabelled)
    2 Apr  sample 1 cites critic/a           sample 2 has no recording (a failed sample)
                                             sample 3 acme/s, critic/a

So over the period: 5 successful samples, 1 failed; 3 cite an official source, 3 a critical
one; 7 citations, 3 official, 3 critical, 1 neutral.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from serptrack.sampling import wilson_interval
from tests.conftest import write_snapshot
from tests.crisis_scenario import invoke
from tests.test_report import figures

CAMPAIGN = """\
[campaign]
name = "answers"
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
engine = "perplexity"
samples = 3

[labels]
official = ["acme.example"]
critical = ["critic.example"]
"""
OS, CA, N1 = "https://acme.example/s", "https://critic.example/a", "https://n1.example/acme"
SAMPLES: dict[str, dict[int, list[str]]] = {
    "2026-04-01": {1: [OS, CA], 2: [OS], 3: [N1]},
    "2026-04-02": {1: [CA], 3: [OS, CA]},
}


def _cited(urls: list[str]) -> list[dict[str, Any]]:
    return [
        {"placement": "ai_answer", "url": url, "title": f"Source {url[8:]}", "snippet": ""}
        for url in urls
    ]


@pytest.fixture
def answers(runner: CliRunner, tmp_path: Path, db_url: str) -> str:
    return build_answers(runner, tmp_path, db_url)


def build_answers(runner: CliRunner, tmp_path: Path, db_url: str) -> str:
    """Apply and backfill the scenario (test_browser.py uses it too); return the --db."""
    for day, samples in SAMPLES.items():
        for sample, urls in samples.items():
            slug = "acme-recall" if sample == 1 else f"acme-recall.sample-{sample}"
            write_snapshot(
                tmp_path / "fixtures",
                day,
                "acme recall",
                _cited(urls),
                slug=slug,
                engine="perplexity",
                observed_at=f"{day}T07:00:00Z",
            )
    (tmp_path / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    applied = invoke(runner, "apply", str(tmp_path / "campaign.toml"), "--db", db_url)
    assert applied.exit_code == 0, applied.output
    result = invoke(
        runner, "backfill", "answers", "--from", "2026-04-01", "--to", "2026-04-02", "--db", db_url
    )
    assert result.exit_code == 0, result.output
    return db_url


def _report(runner: CliRunner, db: str, tmp_path: Path, *args: str) -> str:
    out = tmp_path / "answers.out"
    result = invoke(
        runner, "report", "answers", "--month", "2026-04", "--db", db, "--out", str(out), *args
    )
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def share_document(count: int, n: int) -> dict[str, Any]:
    """A share as status --json and the report write it (test_ai_answers_e2e.py uses it too)."""
    low, high = wilson_interval(count, n)
    return {
        "count": count,
        "share": round(count / n, 4),
        "low": round(low, 4),
        "high": round(high, 4),
    }


def test_the_json_report_gives_the_shares_of_samples_with_their_intervals(
    runner: CliRunner, answers: str, tmp_path: Path
) -> None:
    (keyword,) = json.loads(_report(runner, answers, tmp_path, "--format", "json"))["keywords"]
    ai = keyword["ai"]
    assert (ai["samples"], ai["failed_samples"]) == (5, 1)
    assert ai["placements"] == {
        "ai_answer": {
            "samples": 5,
            "shown": share_document(5, 5),
            "cites_official": share_document(3, 5),
            "cites_critical": share_document(3, 5),
            "citations": 7,
            "by_stance": {
                "official": share_document(3, 7),
                "critical": share_document(3, 7),
                "neutral": share_document(1, 7),
            },
        }
    }
    days = [(d["date"], d["samples"], d["placements"]["ai_answer"]) for d in ai["by_day"]]
    assert [(date, n, p["cites_official"], p["cites_critical"]) for date, n, p in days] == [
        ("2026-04-01", 3, share_document(2, 3), share_document(1, 3)),
        ("2026-04-02", 2, share_document(1, 2), share_document(2, 2)),
    ]


def test_the_html_report_draws_who_the_answers_cite_with_the_intervals(
    runner: CliRunner, answers: str, tmp_path: Path
) -> None:
    html = _report(runner, answers, tmp_path)
    soup = BeautifulSoup(html, "html.parser")
    (row,) = soup.select("#ai-kw-0 table.ai-table tbody tr")
    cells = [td.get_text(strip=True) for td in row.select("td")]
    assert cells == [
        "AI answer",
        "5",
        "100% (57–100%)",
        "60% (23–88%)",
        "60% (23–88%)",
        "7",
        "43% (16–75%)",
        "43% (16–75%)",
        "14% (3–51%)",
    ]
    block = soup.select_one("#ai-kw-0")
    assert block is not None and "1 failed sample left out." in block.get_text()
    chart = figures(html)["ai-0"]
    lines = {t["name"]: t for t in chart["data"] if t.get("mode") == "lines+markers"}
    assert set(lines) == {"AI answer: cites official", "AI answer: cites critical"}
    official = lines["AI answer: cites official"]
    assert official["y"] == [66.7, 50.0]  # 2 of 3 samples, then 1 of 2
    low, high = wilson_interval(2, 3)
    assert official["customdata"][0] == [round(100 * low, 1), round(100 * high, 1), 3]
    bands = [t for t in chart["data"] if t.get("fill") == "toself"]
    assert len(bands) == 2  # one 95% band per line
    assert [a["href"] for a in soup.select("#ai a[href]")] == []  # sources are not links here


def test_a_report_without_ai_answers_says_so(
    runner: CliRunner, tmp_path: Path, db_url: str
) -> None:
    campaign = tmp_path / "plain.toml"
    campaign.write_text(CAMPAIGN.replace('engine = "perplexity"\nsamples = 3\n', ""))
    write_snapshot(
        tmp_path / "fixtures",
        "2026-04-01",
        "acme recall",
        [{"placement": "organic", "url": OS, "title": "Statement", "snippet": ""}],
        observed_at="2026-04-01T07:00:00Z",
    )
    assert invoke(runner, "apply", str(campaign), "--db", db_url).exit_code == 0
    invoke(
        runner, "backfill", "answers", "--from", "2026-04-01", "--to", "2026-04-01", "--db", db_url
    )
    soup = BeautifulSoup(_report(runner, db_url, tmp_path), "html.parser")
    section = soup.select_one("#ai")
    assert section is not None and "No AI answer cited a source" in section.get_text()
    assert soup.select("[id^=ai-kw-]") == []


def add_two_days(runner: CliRunner, tmp_path: Path, db: str) -> None:
    """3 April: no recording at all (every sample fails); 4 April: one sample, citing acme/s."""
    write_snapshot(
        tmp_path / "fixtures",
        "2026-04-04",
        "acme recall",
        _cited([OS]),
        engine="perplexity",
        observed_at="2026-04-04T07:00:00Z",
    )
    invoke(runner, "backfill", "answers", "--from", "2026-04-03", "--to", "2026-04-04", "--db", db)


def test_a_day_whose_samples_all_failed_is_a_gap_in_the_chart(
    runner: CliRunner, answers: str, tmp_path: Path
) -> None:
    add_two_days(runner, tmp_path, answers)
    chart = figures(_report(runner, answers, tmp_path))["ai-0"]
    line = next(t for t in chart["data"] if t["name"] == "AI answer: cites official")
    assert line["y"] == [66.7, 50.0, None, 100.0]  # no line drawn across 3 April
    assert line["x"][2] == line["x"][3]
    bands = [t for t in chart["data"] if t["name"] == "AI answer: cites official (95% interval)"]
    assert len(bands) == 2  # one band per unbroken run of days


def test_overtakes_view_ai_follows_the_side_more_samples_cite(
    runner: CliRunner, answers: str, tmp_path: Path
) -> None:
    add_two_days(runner, tmp_path, answers)
    result = invoke(runner, "overtakes", "answers", "--view", "ai", "--db", answers, "--json")
    assert result.exit_code == 0, result.output
    events = [
        (e["view"], e["kind"], e["at"][:10], e["placement"], e["shares"])
        for e in json.loads(result.stdout)
    ]
    # 1 April: 2 of 3 samples cite the official side, 1 the critical (official leads: the
    # first leader is no event); 2 April: 1 of 2 against 2 of 2; 4 April: 1 of 1 against 0
    assert events == [
        (
            "ai",
            "lost",
            "2026-04-02",
            "ai_answer",
            {
                "samples": 2,
                "cites_official": share_document(1, 2),
                "cites_critical": share_document(2, 2),
            },
        ),
        (
            "ai",
            "overtake",
            "2026-04-04",
            "ai_answer",
            {
                "samples": 1,
                "cites_official": share_document(1, 1),
                "cites_critical": share_document(0, 1),
            },
        ),
    ]
    held = invoke(
        runner, "overtakes", "answers", "--view", "ai", "--hold", "2", "--db", answers, "--json"
    )
    assert json.loads(held.stdout) == []  # no side led two checks running after the first
    table = invoke(runner, "overtakes", "answers", "--view", "all", "--db", answers)
    assert table.exit_code == 0, table.output
    assert "1/2 samples cite it (ai_answer)" in table.output
    both = invoke(runner, "overtakes", "answers", "--db", answers, "--json")
    assert all(e["view"] in ("organic", "page") for e in json.loads(both.stdout))


def test_the_methodology_says_how_many_answers_each_check_asks_for(
    runner: CliRunner, answers: str, tmp_path: Path
) -> None:
    soup = BeautifulSoup(_report(runner, answers, tmp_path), "html.parser")
    method = soup.select_one("#methodology")
    assert method is not None
    assert "3 answers per check" in method.get_text()
    heads = [th.get_text() for th in method.select("table thead th")]
    row = [td.get_text() for td in method.select("table tbody tr")[0].select("td")]
    assert row[heads.index("Samples")] == "3"
