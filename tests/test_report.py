"""``serptrack report``: structure, the data behind each chart, the numbers, escaping, options.

Built on the hand-made crisis of tests/crisis_scenario.py (two keywords over 14 days of April
2026, a failed and a blocked check, an official ad on four days) and on a "hostile" campaign
whose titles, snippets, URLs and notes are HTML and script.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from plotly.offline import get_plotlyjs
from plotly.offline.offline import get_plotlyjs_version

from serptrack.cli import cli
from serptrack.report.charts import _FAILED_HOVER, _FEATURE_HOVER
from serptrack.report.render import BASIC_VERSION, _renderer, embedded_plotly_js
from tests.conftest import write_snapshot
from tests.crisis_scenario import CN, CW, DAYS, OAD, OS, invoke, json_of, write_scenario
from tests.html_support import attr, string, tag

PLOTLY_JS = embedded_plotly_js()
SECTIONS = ("summary", "page-one", "keywords", "paid", "features", "ai", "share", "methodology")


# --- helpers (test_browser.py uses them too) --------------------------------------------------


def build_crisis(runner: CliRunner, folder: Path, db: str) -> None:
    """Apply and backfill the crisis scenario into ``db``."""
    campaign = write_scenario(folder)
    assert invoke(runner, "apply", str(campaign), "--db", db).exit_code == 0
    result = invoke(
        runner, "backfill", "acme-breach", "--from", DAYS[0], "--to", DAYS[-1], "--db", db
    )
    assert result.exit_code == 1  # one failed and one blocked check, on purpose


EVIL_SCRIPT = "</script><script>alert(1)</script>"
EVIL_IMG = "<img src=x onerror=alert(1)>"
EVIL_LINK = "<a href=javascript:alert(2)>x</a><b>b</b>"  # plotly would draw these tags
EVIL_TITLE = f"{EVIL_LINK} {EVIL_IMG}"
EVIL_QUERY = "evil <b>query</b>"
EVIL_CAMPAIGN = """\
[campaign]
name = "evil"
brand = "Brand <script>alert('brand')</script>"
crisis_start = 2026-05-01
description = "<img src=x onerror=alert('description')>"

[defaults]
provider = "replay"
country = "us"
language = "en"

[providers.replay]
path = "fixtures"

[report]
agency = "<svg onload=alert('agency')>"
notice = "<script>alert('notice')</script> & friends"

[[keywords]]
query = "evil <b>query</b>"

[labels]
official = ["brand.example"]
critical = ["critic.example"]

[[annotations]]
date = 2026-05-02
text = "</script><script>alert('note')</script>"

[[annotations]]
date = 2026-05-03
text = "%{y} <b>not bold</b>"
query = "evil <b>query</b>"
"""


def evil_page(day: int) -> list[dict[str, Any]]:
    """Day 1: the critic leads; day 2: an official ad; day 3: the official page leads."""
    official = {
        "placement": "organic",
        "url": "https://brand.example/statement",
        "title": EVIL_TITLE,
        "snippet": EVIL_SCRIPT,
    }
    critic = {
        "placement": "organic",
        "url": "https://critic.example/story?<script>=1",
        "title": EVIL_SCRIPT,
        "snippet": EVIL_IMG,
    }
    trap = {
        "placement": "organic",
        "url": "javascript:alert('href')",
        "title": "%{meta} <a href=javascript:alert('a')>click</a>",
        "snippet": "",
    }
    ad = {
        "placement": "paid",
        "block": "top",
        "url": "https://brand.example/ad",
        "title": "<iframe src=javascript:alert('ad')>",
        "snippet": "",
    }
    pages = {
        1: [critic, trap, official],
        2: [ad, critic, official, trap],
        3: [official, critic, trap],
    }
    return pages[day]


def build_evil(runner: CliRunner, folder: Path, db: str) -> None:
    """Apply and backfill the hostile campaign (three days of May 2026) into ``db``."""
    for day in (1, 2, 3):
        write_snapshot(
            folder / "fixtures",
            f"2026-05-0{day}",
            EVIL_QUERY,
            evil_page(day),
            observed_at=f"2026-05-0{day}T07:00:00Z",
        )
    (folder / "campaign.toml").write_text(EVIL_CAMPAIGN, encoding="utf-8")
    assert invoke(runner, "apply", str(folder / "campaign.toml"), "--db", db).exit_code == 0
    result = invoke(
        runner, "backfill", "evil", "--from", "2026-05-01", "--to", "2026-05-03", "--db", db
    )
    assert result.exit_code == 0, result.output


def figures(html: str) -> dict[str, dict[str, Any]]:
    """Every chart of a report as plotly draws it: the JSON blocks with the shared x values and
    base layout put back, as the page script does, each validated against plotly's schema
    (the report builds its figures as plain data, unvalidated)."""
    soup = BeautifulSoup(html, "html.parser")
    shared = json.loads(string(soup.find("script", id="chart-shared")))
    found: dict[str, dict[str, Any]] = {}
    for box in soup.select("[data-figure]"):
        spec = json.loads(string(soup.find("script", id=box["data-figure"])))
        figure = spec["figure"]
        for trace in figure["data"]:
            if "x" not in trace and "x" in spec:
                trace["x"] = shared["arrays"][spec["x"]]
        layout = figure.setdefault("layout", {})
        for key, value in shared["bases"].get(spec.get("base"), {}).items():
            if key in ("shapes", "annotations"):
                layout[key] = value + layout.get(key, [])
            else:
                layout.setdefault(key, value)
        go.Figure(figure)  # plotly's schema: raises on a property plotly.js does not know
        found[attr(box, "id")] = figure
    return found


def report(
    runner: CliRunner, db: str, tmp_path: Path, *args: str, campaign: str = "acme-breach"
) -> str:
    """Run ``report`` into a file and return its text."""
    out = tmp_path / "out.html"
    result = invoke(runner, "report", campaign, "--db", db, "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


@pytest.fixture
def crisis(runner: CliRunner, tmp_path: Path, db_url: str) -> str:
    build_crisis(runner, tmp_path, db_url)
    return db_url


# --- structure --------------------------------------------------------------------------------


def test_the_embedded_plotly_is_the_basic_bundle_of_plotlys_own_version() -> None:
    assert get_plotlyjs_version() == BASIC_VERSION  # else the full bundle is embedded
    assert PLOTLY_JS.startswith(f"/**\n* plotly.js (basic - minified) v{BASIC_VERSION}\n")
    assert len(PLOTLY_JS) < len(get_plotlyjs()) / 3  # 1.2 MB instead of 4.8 MB


def test_every_section_and_one_copy_of_plotly(
    runner: CliRunner, crisis: str, tmp_path: Path
) -> None:
    html = report(runner, crisis, tmp_path, "--month", "2026-04")
    soup = BeautifulSoup(html, "html.parser")
    assert [s["id"] for s in soup.find_all("section")] == list(SECTIONS)
    assert string(soup.title) == "Acme: search report, April 2026"
    inline = [
        s.string or "" for s in soup.find_all("script") if not s.get("type") and not s.get("src")
    ]
    assert inline == [PLOTLY_JS, _renderer()]  # plotly.js once, then the renderer
    assert html.count("* plotly.js (basic - minified) v") == 1
    assert not soup.find_all("script", src=True)
    assert not soup.find_all("link")  # no external stylesheet: styles are inline
    assert len(html.encode()) < len(PLOTLY_JS) + 200_000
    ids = [t["id"] for t in soup.find_all(id=True)]
    assert len(ids) == len(set(ids))  # every id once: anchors and charts never collide
    charts = soup.select("[data-figure]")
    assert [c["id"] for c in charts] == [
        "page-all",
        "rank-0",
        "page-0",
        "rank-1",
        "page-1",
        "share-chart",
    ]
    assert [str(h.contents[0]).strip() for h in soup.select("#keywords h3")] == [
        "acme breach",
        "acme fuite",
    ]
    csp = attr(soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"}), "content")
    assert csp.startswith("default-src 'none'; script-src 'sha256-")
    assert "https:" not in csp


def test_rank_chart_of_acme_breach(runner: CliRunner, crisis: str, tmp_path: Path) -> None:
    chart = figures(report(runner, crisis, tmp_path, "--month", "2026-04"))["rank-0"]
    # the default: the best official and best critical rank; each URL's own line is hidden
    # behind the "Show every URL" button (tests/test_report_composition.py)
    best = {t["name"]: t["y"] for t in chart["data"] if t["name"].startswith("best ")}
    assert best == {
        "best official result": [3, 2, 2, None, None, 1, 1, 2, 2, 1, 1, 2, 1, 1],
        "best critical result": [1, 1, 1, None, None, 2, 2, 1, 1, 2, 3, 1, 2, 2],
    }
    lines = {t["name"]: t for t in chart["data"] if t.get("visible") is False}
    gap = None
    # one line per official and critical URL, the organic rank at each of the 14 checks, gaps
    # (not zeros) on day 4 (failed) and day 5 (blocked) and wherever the URL was not on the page
    assert {name.split(":")[0]: t["y"] for name, t in lines.items()} == {
        "acme.example": [3, 2, 2, gap, gap, 1, 1, 2, 2, 1, 1, 2, 1, 1],
        "news.example": [1, 1, 1, gap, gap, 2, 2, 3, gap, gap, gap, gap, gap, gap],
        "watchdog.example": [gap, gap, gap, gap, gap, gap, gap, 1, 1, 2, 3, 1, 2, 2],
    }
    assert [t["meta"] for t in lines.values()] == ["official", "critical", "critical"]
    assert "dash" not in next(iter(lines.values()))["line"]  # official solid, critical dashed
    assert [t["line"].get("dash") for t in list(lines.values())[1:]] == ["dash", "dash"]
    assert all(len(t["x"]) == 14 for t in lines.values())
    strip = [t for t in chart["data"] if t.get("yaxis") == "y2"]
    rows = chart["layout"]["yaxis2"]["ticktext"]
    assert rows == ["check failed", "top ads"]
    ad, failed = strip
    assert ad["name"] == "acme.example: Acme breach FAQ - what to do now"
    assert ad["showlegend"] is True  # the ad's URL has no organic line: it takes the legend
    assert [x[:10] for x, y in zip(ad["x"], ad["y"], strict=True) if y is not None] == [
        DAYS[2],
        DAYS[5],
        DAYS[6],
        DAYS[13],
    ]
    assert ad["meta"] == ["official", "top ads"] and ad["text"] == "#1"
    assert [x[:10] for x in failed["x"]] == [DAYS[3], DAYS[4]]
    assert failed["text"] == [  # in words, not failure codes
        "failed: no saved page for that day",
        "blocked: the engine showed a captcha or 'unusual traffic' page",
    ]
    # rank 1 on top, the axis fitted to the ranks seen (never 1-100)
    assert chart["layout"]["yaxis"]["range"] == [5.5, 0.5]
    assert chart["layout"]["yaxis"]["tickvals"] == [1, 3, 5]  # "1" always shows
    assert chart["layout"]["xaxis"]["range"] == ["2026-04-01 00:00", "2026-05-01 00:00"]


@pytest.mark.parametrize(
    ("worst", "ticks"),
    [
        (2, [1, 3, 5]),
        (8, [1, 3, 5]),
        (10, [1, 3, 5, 10]),
        (17, [1, 5, 10, 15]),
        (64, [1, 10, 20, 30, 40, 50, 60]),
    ],
)
def test_the_rank_axis_always_shows_1(worst: int, ticks: list[int]) -> None:
    from serptrack.report.charts import rank_ticks

    assert rank_ticks(worst) == ticks


def test_rank_chart_marks_every_event_and_annotation(
    runner: CliRunner, crisis: str, tmp_path: Path
) -> None:
    charts = figures(report(runner, crisis, tmp_path, "--month", "2026-04"))
    events = json_of(runner, "overtakes", "acme-breach", "--db", crisis)
    for n, query in enumerate(("acme breach", "acme fuite")):
        chart = charts[f"rank-{n}"]
        layout = chart["layout"]
        # organic events: one marker each on the chart; page-view events: a dashed line each
        markers = sorted(
            x for t in chart["data"] if t["name"] in ("▲ overtake", "▼ lost lead") for x in t["x"]
        )
        dashed = sorted(
            s["x0"]
            for s in layout["shapes"]
            if s.get("line", {}).get("color") in ("#15803d", "#b91c1c")
        )
        for view, found in (("organic", markers), ("page", dashed)):
            expected = sorted(
                e["at"][:16].replace("T", " ")
                for e in events
                if e["query"] == query and e["view"] == view
            )
            assert found == expected
        notes = [(a["text"], a["x"]) for a in layout["annotations"] if a["text"].startswith("A")]
        own = [("A2", "2026-04-03")] if query == "acme breach" else []
        assert sorted(notes) == sorted([("A1", "2026-04-02"), ("A3", "2026-04-09"), *own])


def test_share_of_voice_chart_and_paid_grid(runner: CliRunner, crisis: str, tmp_path: Path) -> None:
    html = report(runner, crisis, tmp_path, "--month", "2026-04")
    share = figures(html)["share-chart"]
    document = json.loads(
        report(runner, crisis, tmp_path, "--month", "2026-04", "--format", "json")
    )
    days = document["share_of_voice_by_day"]
    organic = {t["name"]: t["y"] for t in share["data"] if t["stackgroup"] == "organic"}
    expected = [None if d["organic"] is None else 100 * d["organic"]["official"] for d in days]
    assert organic["official"] == pytest.approx(expected, abs=0.051)
    assert len(days) == 14 and days[3]["keywords"] == 1  # day 4: only "acme fuite" was checked
    assert [t["visible"] for t in share["data"]] == [True] * 3 + [False] * 3
    soup = BeautifulSoup(html, "html.parser")
    rows = soup.select("#paid-grid tbody tr")
    assert len(rows) == 2 and len(rows[0].find_all("td")) == 30  # every day of April
    cells = [td["class"] for td in rows[0].find_all("td")][:14]
    # day 3: ad and organic #2, the ad carries the page lead; days 4-5: no successful check;
    # days 6 and 14: an ad while organic #1 (redundant); day 8: organic only
    assert cells[2:6] == [["both", "c"], ["none"], ["none"], ["both", "r"]]
    assert cells[7] == ["organic"] and cells[13] == ["both", "r"]


# --- the numbers ------------------------------------------------------------------------------


def test_json_agrees_with_status_and_overtakes(
    runner: CliRunner, crisis: str, tmp_path: Path
) -> None:
    document = json.loads(
        report(runner, crisis, tmp_path, "--month", "2026-04", "--format", "json")
    )
    assert document["format"] == "serptrack-report/1"
    assert document["period"] == {
        "from": "2026-04-01",
        "to": "2026-04-30",
        "month": "2026-04",
        "label": "April 2026",
    }
    status = json_of(runner, "status", "acme-breach", "--db", crisis)
    events = json_of(runner, "overtakes", "acme-breach", "--db", crisis)
    assert document["events"] == events
    for row, keyword in zip(status["keywords"], document["keywords"], strict=True):
        assert keyword["query"] == row["query"]
        for view in ("organic", "page"):
            end = keyword["end"][view]
            assert (end["leader"], end["since"]) == (row[view]["leader"], row[view]["since"])
        assert keyword["share_of_voice"]["end"] == {
            k: row["share_of_voice"][k] for k in ("organic", "page")
        }
        assert keyword["critical_on_page_1"]["end"] == row["critical_on_page_1"]
        for view in ("organic", "page"):
            first = row["first_overtake"][view]
            mine = keyword["first_overtake"][view]
            assert (mine and mine["at"], mine and mine["days_from_crisis_start"]) == (
                first and first["at"],
                first and first["days_from_crisis_start"],
            )
    breach = document["keywords"][0]
    assert breach["start"]["organic"]["leader"] == "critical"
    assert breach["start"]["page"] == {
        "at": f"{DAYS[0]}T07:00:00Z",
        "leader": "critical",
        "official": 3,
        "critical": 1,
        "since": f"{DAYS[0]}T07:00:00Z",
    }
    assert breach["critical_on_page_1"] == {"start": 1, "end": 1}
    assert [c["status"] for c in breach["checks"]][3:5] == ["failed", "blocked"]
    assert {u["url"]: u["stance"] for u in breach["urls"]} == {
        OS: "official",
        OAD: "official",
        CN: "critical",
        CW: "critical",
    }
    assert [r["rank"] for r in breach["top10"]] == [1, 2, 3, 4, 5, 6] and breach["top10"][0][
        "url"
    ] == OS
    assert document["methodology"]["failures"] == [
        {"status": "failed", "reason": "missing-fixture", "count": 1 + 6},
        {"status": "blocked", "reason": "blocked", "count": 1},
    ]
    assert document["methodology"]["by_status"] == {"ok": 12 + 8, "failed": 7, "blocked": 1}


def test_from_to_choose_the_period_without_changing_leads(
    runner: CliRunner, crisis: str, tmp_path: Path
) -> None:
    document = json.loads(
        report(
            runner,
            crisis,
            tmp_path,
            "--from",
            "2026-04-08",
            "--to",
            "2026-04-10",
            "--format",
            "json",
        )
    )
    assert document["period"]["label"] == "8 April 2026 to 10 April 2026"
    assert document["events"] == json_of(
        runner,
        "overtakes",
        "acme-breach",
        "--from",
        "2026-04-08",
        "--to",
        "2026-04-10",
        "--db",
        crisis,
    )
    breach = document["keywords"][0]
    assert [c["at"][:10] for c in breach["checks"]] == ["2026-04-08", "2026-04-09", "2026-04-10"]
    # leads are followed from the first check: at 8 April the critic took the lead back
    assert breach["start"]["organic"]["since"] == "2026-04-08T07:00:00Z"
    assert breach["end"]["organic"]["since"] == "2026-04-10T07:00:00Z"
    assert breach["first_overtake"]["organic"]["at"] == "2026-04-06T07:00:00Z"  # before the period
    # "acme fuite" has no files after day 8: its later checks failed
    assert [c["status"] for c in document["keywords"][1]["checks"]] == ["ok", "failed", "failed"]


def test_summary_table(runner: CliRunner, crisis: str, tmp_path: Path) -> None:
    soup = BeautifulSoup(report(runner, crisis, tmp_path, "--month", "2026-04"), "html.parser")
    first = [
        td.get_text(" ", strip=True)
        for td in soup.select("#summary-table tbody tr")[0].find_all("td")
    ]
    assert first == [
        "acme breach us-en desktop",
        "critical → official",
        "critical → official",
        "6 / 4",
        "1 → 1",
        # SISTRIX 2020 over organic ranks 1-6: 28.5, 15.7, 11, 8, 7.2, 5.1 (75.5 in all);
        # day 1: official #3 (11/75.5), critical #1; day 14: official #1, critical #2
        "15% → 38%",
        "38% → 21%",
        "organic: 6 Apr 2026 (5 d) page: 3 Apr 2026 (2 d)",
    ]
    cards = [c.get_text(" ", strip=True) for c in soup.select(".card")]
    assert cards[0] == "keywords the official side leads (organic view) 2 of 2 at the start: 0 of 2"
    events = soup.select("#events-table tbody tr")
    assert len(events) == len(json_of(runner, "overtakes", "acme-breach", "--db", crisis))
    assert [li.get_text(" ", strip=True) for li in soup.select("#notes li")] == [
        "A1 2 Apr 2026: Statement published",
        "A2 3 Apr 2026: Ads start (acme breach)",
        "A3 9 Apr 2026: Press conference",
    ]
    method = tag(soup.select_one("dl.method")).get_text(" ", strip=True)
    assert "Checks 28: 20 successful, 7 failed, 1 blocked." in method
    assert (
        "Failures by reason failed: no saved page for that day (7); blocked: the engine showed "
        "a captcha or 'unusual traffic' page (1)"
    ) in method
    assert "CTR curve SISTRIX 2020" in method


# --- escaping -----------------------------------------------------------------------------------


def test_hostile_strings_stay_text(runner: CliRunner, tmp_path: Path, db_url: str) -> None:
    build_evil(runner, tmp_path, db_url)
    html = report(runner, db_url, tmp_path, "--month", "2026-05", campaign="evil")
    soup = BeautifulSoup(html, "html.parser")
    # the only elements are ours: no script, image, frame or handler came from the data
    scripts = soup.find_all("script")
    assert all(s.get("type") == "application/json" for s in scripts[:-2])
    assert [s.string for s in scripts[-2:]] == [PLOTLY_JS, _renderer()]
    assert not soup.find_all(["img", "iframe", "svg"])
    assert not [a for tag in soup.find_all(True) for a in tag.attrs if a.lower().startswith("on")]
    assert all(attr(a, "href").startswith(("#", "https://")) for a in soup.find_all("a"))
    assert "alert" not in "".join(attr(a, "href") for a in soup.find_all("a"))
    # nothing in a JSON block can end the script element or open a comment
    for block in scripts[:-2]:
        assert "<" not in string(block) and ">" not in string(block)
    # the text reads as it was written
    text = soup.get_text()
    for evil in (
        EVIL_TITLE,
        EVIL_SCRIPT,
        "</script><script>alert('note')</script>",
        "<script>alert('notice')</script> & friends",
    ):
        assert evil in text
    assert string(soup.title) == "Brand <script>alert('brand')</script>: search report, May 2026"
    # and in the charts, where plotly reads a little HTML, it is escaped (shown literally)
    chart = figures(html)["rank-0"]
    names = {t["name"] for t in chart["data"]}
    assert not [name for name in names if "<" in name or ">" in name]
    assert (
        "brand.example: &lt;a href=javascript:alert(2)&gt;x&lt;/a&gt;&lt;b&gt;b&lt;/b&gt; &lt;i…"
        in names
    )
    assert "critic.example: &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in names
    assert "brand.example: &lt;iframe src=javascript:alert('ad')&gt;" in names
    hovers = [a.get("hovertext", "") for a in chart["layout"]["annotations"]]
    assert "A2 (2026-05-03): %{y} &lt;b&gt;not bold&lt;/b&gt;" in hovers
    # stranger's text never reaches a hovertemplate, where plotly would read %{...}
    assert {t.get("hovertemplate") for t in chart["data"]} <= {None, _FEATURE_HOVER, _FAILED_HOVER}


def test_json_blocks_escape_script_endings() -> None:
    from serptrack.report.charts import script_safe

    assert (
        script_safe('{"a": "</script><!-- \u2028"}')
        == '{"a": "\\u003c/script\\u003e\\u003c!-- \\u2028"}'
    )


# --- options and errors -----------------------------------------------------------------------


def test_default_month_and_path(
    runner: CliRunner, crisis: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(runner, "report", "acme-breach", "--db", crisis)
    assert result.exit_code == 0, result.output
    size = (tmp_path / "reports" / "acme-breach-2026-04.html").stat().st_size
    assert (
        result.output
        == f"Wrote reports/acme-breach-2026-04.html: April 2026, {size / 1e6:.1f} MB. Open it in a browser.\n"
    )
    result = invoke(
        runner, "report", "acme-breach", "--db", crisis, "--from", "2026-04-03", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / "reports" / "acme-breach-2026-04-03_2026-04-14.json"
    assert json.loads(path.read_text())["period"]["to"] == "2026-04-14"
    assert result.output == (
        f"Wrote {path.relative_to(tmp_path)}: 3 April 2026 to 14 April 2026, "
        f"{path.stat().st_size / 1e3:.0f} kB.\n"
    )


def test_stdout_and_cdn(runner: CliRunner, crisis: str) -> None:
    result = invoke(
        runner, "report", "acme-breach", "--db", crisis, "--out", "-", "--plotlyjs", "cdn"
    )
    assert result.exit_code == 0, result.output
    soup = BeautifulSoup(result.stdout, "html.parser")
    src = attr(soup.find("script", src=True), "src")
    assert re.fullmatch(r"https://cdn\.plot\.ly/plotly-\d+\.\d+\.\d+\.min\.js", src)
    assert len(result.stdout) < 100_000
    assert "script-src 'sha256-" in attr(
        soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"}), "content"
    )


def test_branding_from_the_campaign_file_and_options(
    runner: CliRunner, tmp_path: Path, db_url: str
) -> None:
    build_crisis(runner, tmp_path, db_url)
    logo = tmp_path / "brand" / "logo.png"
    logo.parent.mkdir()
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        campaign.read_text()
        + '\n[report]\nagency = "Northwind PR"\nclient = "Acme Corp"\nlogo = "brand/logo.png"\naccent = "#AA3300"\n'
    )
    assert invoke(runner, "apply", str(campaign), "--db", db_url).exit_code == 0
    soup = BeautifulSoup(report(runner, db_url, tmp_path, "--month", "2026-04"), "html.parser")
    assert string(soup.select_one(".agency")) == "Northwind PR"
    assert string(soup.h1) == "Acme Corp: search report, April 2026"
    assert attr(soup.select_one("img.logo"), "src").startswith("data:image/png;base64,iVBORw0KGgo")
    assert "--accent: #aa3300;" in string(soup.style)
    soup = BeautifulSoup(
        report(
            runner,
            db_url,
            tmp_path,
            "--month",
            "2026-04",
            "--agency",
            "Other",
            "--accent",
            "#112233",
        ),
        "html.parser",
    )
    assert string(soup.select_one(".agency")) == "Other"
    assert "--accent: #112233;" in string(soup.style)
    logo.unlink()
    result = invoke(
        runner, "report", "acme-breach", "--db", db_url, "--out", str(tmp_path / "x.html")
    )
    assert result.exit_code == 1
    assert result.output == (
        f"Error: logo file {logo} does not exist; check the path (set by the campaign file's "
        "[report] logo: fix it and apply the file again, or pass --logo)\n"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[report]\naccent = "red"\n',
            "campaign.toml: report.accent (line 4): accent colour 'red' is not #rrggbb (e.g. #1f4e79)",
        ),
        (
            '[report]\nlogo = "nope.png"\n',
            "campaign.toml: report.logo (line 4): logo file {dir}/nope.png does not exist; check the path",
        ),
        (
            '[report]\nlogo = "campaign.toml"\n',
            "campaign.toml: report.logo (line 4): logo {dir}/campaign.toml is not an image serptrack can embed; use a .gif, .jpeg, .jpg, .png, .svg, .webp file",
        ),
        (
            '[report]\nlogo = "fake.png"\n',
            "campaign.toml: report.logo (line 4): logo file {dir}/fake.png is not a valid PNG image",
        ),
        ('[report]\ncolour = "#000000"\n', "campaign.toml: report: unknown key 'colour' (line 4)"),
    ],
)
def test_report_table_errors(runner: CliRunner, tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "fake.png").write_text("not a png")
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        '[campaign]\nname = "c"\n'
        + table
        + '[providers.replay]\npath = "."\n[[keywords]]\nquery = "q"\nprovider = "replay"\n'
    )
    result = invoke(runner, "apply", str(campaign), "--db", str(tmp_path / "db.sqlite"))
    assert result.exit_code == 1
    # messages name the file as given on the command line, then the key and its line
    expected = message.format(dir=tmp_path.resolve()).removeprefix("campaign.toml")
    assert result.output == f"Error: {campaign}{expected}\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--month", "2026-05"],
            1,
            "Error: campaign 'acme-breach' has no successful check from 2026-05-01 to 2026-05-31; choose another --month or --from/--to\n",
        ),
        (
            ["--from", "2026-04-04", "--to", "2026-04-04", "--query", "acme breach"],
            1,
            "Error: campaign 'acme-breach' has no successful check from 2026-04-04 to 2026-04-04 (1 failed or blocked); choose another --month or --from/--to\n",
        ),
        (
            ["--month", "2026-13"],
            2,
            "Invalid value for '--month': month '2026-13' is not YYYY-MM (e.g. 2026-03)",
        ),
        (["--month", "2026-04", "--from", "2026-04-01"], 2, "use --month or --from/--to, not both"),
        (
            ["--accent", "#12345"],
            2,
            "Invalid value for '--accent': accent colour '#12345' is not #rrggbb (e.g. #1f4e79)",
        ),
        (
            ["--logo", "missing.png"],
            1,
            "Error: logo file {cwd}/missing.png does not exist; check the path\n",
        ),
        (
            ["--format", "pdf"],
            2,
            "Invalid value for '--format': 'pdf' is not one of 'html', 'json'.",
        ),
    ],
)
def test_errors(
    runner: CliRunner,
    crisis: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(
        runner, "report", "acme-breach", "--db", crisis, "--out", str(tmp_path / "r.html"), *args
    )
    assert result.exit_code == code
    expected = message.format(cwd=tmp_path.resolve())
    if code == 1:
        assert result.output == expected
    else:
        assert expected in result.output
    assert not (tmp_path / "r.html").exists()


def test_a_campaign_without_checks(runner: CliRunner, tmp_path: Path, db_url: str) -> None:
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        '[campaign]\nname = "new"\n[providers.replay]\npath = "."\n[[keywords]]\nquery = "q"\nprovider = "replay"\n'
    )
    assert invoke(runner, "apply", str(campaign), "--db", db_url).exit_code == 0
    result = invoke(runner, "report", "new", "--db", db_url)
    assert result.exit_code == 1
    assert (
        result.output
        == "Error: campaign 'new' has no checks yet; run `serptrack check new` or `serptrack backfill` first\n"
    )


def test_a_day_whose_checks_all_failed_is_a_gap_in_the_share_chart() -> None:
    from types import SimpleNamespace

    from serptrack.report.build import DayShare
    from serptrack.report.charts import share_chart, share_segments
    from serptrack.store.reads import CheckEntry

    def day(n: int) -> DayShare:
        share = {"official": 0.5, "critical": 0.3, "neutral": 0.2}
        return DayShare(dt.date(2026, 4, n), share, share, 1)

    def check(n: int, status: str) -> CheckEntry:
        at = dt.datetime(2026, 4, n, 7, tzinfo=dt.UTC)
        return CheckEntry(n, 1, at, status, "replay", None, None, None)

    days = [day(1), day(2), day(4), day(5), day(12)]  # 6-11: no check at all (weekly)
    checks = [check(n, "ok") for n in (1, 2, 4, 5, 12)] + [check(3, "failed")]
    data: Any = SimpleNamespace(
        share_by_day=days,
        checks=checks,
        period=SimpleNamespace(first=days[0].day, last=days[-1].day),
    )
    assert [[d.day.day for d in run] for run in share_segments(data)] == [[1, 2], [4, 5, 12]]
    figure = share_chart(data)
    organic = [t for t in figure["data"] if t["stackgroup"].startswith("organic")]
    assert [(t["stackgroup"], t["name"], len(t["x"])) for t in organic] == [
        ("organic", "official", 2),
        ("organic", "critical", 2),
        ("organic", "neutral", 2),
        ("organic-1", "official", 3),
        ("organic-1", "critical", 3),
        ("organic-1", "neutral", 3),
    ]
    assert [t["showlegend"] for t in organic] == [True] * 3 + [False] * 3
    (buttons,) = [menu["buttons"] for menu in figure["layout"]["updatemenus"]]
    assert buttons[0]["args"][0]["visible"] == [True] * 6 + [False] * 6
    assert buttons[1]["args"][0]["visible"] == [False] * 6 + [True] * 6


def test_days_still_to_come_are_not_gaps_in_the_presence_grid(crisis: str) -> None:
    from sqlmodel import Session

    from serptrack import store
    from serptrack.report import make_report, month_period

    engine = store.connect(crisis)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme-breach")
        made_on = dt.datetime(2026, 4, 20, 12, tzinfo=dt.UTC)  # a report for the month so far
        html = make_report(session, campaign, month_period("2026-04"), now=made_on)
    engine.dispose()
    soup = BeautifulSoup(html, "html.parser")
    (breach, _) = soup.select("#paid-grid tbody tr")
    cells = [" ".join(td.get("class") or []) for td in breach.find_all("td")]
    assert cells[20:] == ["future"] * 10  # 21-30 April: not yet, not "no successful check"
    # day 4 failed, day 5 blocked, 15-20 April unchecked: real gaps stay gaps
    assert [n + 1 for n, c in enumerate(cells[:20]) if c == "none"] == [4, 5, *range(15, 21)]
    assert "not yet (after the report was made)" in soup.get_text()


def test_plotlyjs_full_embeds_the_full_bundle(
    runner: CliRunner, crisis: str, tmp_path: Path
) -> None:
    html = report(runner, crisis, tmp_path, "--month", "2026-04", "--plotlyjs", "full")
    soup = BeautifulSoup(html, "html.parser")
    inline = [s.string or "" for s in soup.find_all("script") if not s.get("type")]
    assert inline == [get_plotlyjs(), _renderer()]
    assert html.count("* plotly.js v") == 1 and "(basic - minified)" not in html


def test_the_summary_opens_with_one_sentence_made_from_the_numbers(
    runner: CliRunner, crisis: str, tmp_path: Path
) -> None:
    soup = BeautifulSoup(report(runner, crisis, tmp_path, "--month", "2026-04"), "html.parser")
    # the crisis: both keywords led by the critics at first, by the official side at the end
    # (acme breach lost its lead once, on day 12); one critical result on page 1 throughout
    assert string(soup.select_one("#verdict")) == (
        "The official response leads 2 of 2 keywords in organic results (0 at the start of "
        "the period); critical results on page 1 stayed at 1; the last lead lost was "
        "\u201cacme breach\u201d (organic view) on 12 Apr 2026."
    )
    document = json.loads(
        report(runner, crisis, tmp_path, "--month", "2026-04", "--format", "json")
    )
    assert document["summary"]["sentence"] == string(soup.select_one("#verdict"))


def test_report_pdf_refuses_what_it_cannot_print_and_writes_nothing(
    runner: CliRunner, tmp_path: Path, db_url: str
) -> None:
    build_crisis(runner, tmp_path, db_url)
    path = tmp_path / "out" / "report.html"
    base = ["report", "acme-breach", "--db", db_url, "--out", str(path), "--pdf"]
    for extra, message in [
        (["--format", "json"], "--pdf prints the HTML report: leave out --format json"),
        (["--plotlyjs", "cdn"], "--pdf prints offline and --plotlyjs cdn needs the network"),
    ]:
        result = runner.invoke(cli, [*base, *extra])
        assert result.exit_code == 2 and message in result.output
    missing = runner.invoke(cli, base, env={"SERPTRACK_CHROMIUM": str(tmp_path / "no-chrome")})
    assert missing.exit_code == 1
    assert missing.output == (
        f"Error: SERPTRACK_CHROMIUM names {str(tmp_path / 'no-chrome')!r}, which is not an "
        "executable file; point it at Chromium or Chrome, or unset it\n"
    )
    nowhere = runner.invoke(cli, base, env={"SERPTRACK_CHROMIUM": "", "PATH": str(tmp_path)})
    assert nowhere.exit_code == 1 and "--pdf needs headless Chromium and none was found" in (
        nowhere.output
    )
    assert not path.parent.exists()  # nothing written: the browser is looked for first
