"""A report over stored placements and blocks that are HTML: a hostile fixture or import.

Snapshots keep any placement string (SPEC section 3 leaves the list open) and any block, so a
replay file can store ``<a href=...>`` as a placement. plotly.js draws ``<a href>`` in tick
labels, hover text and legend names as a working link: the report must read such values as a
neutral ``other`` and escape every string that reaches plotly. tests/test_browser.py opens the
same report in Chromium.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from click.testing import CliRunner
from plotly.io._utils import plotly_cdn_url
from plotly.offline import get_plotlyjs
from sqlalchemy import text

from serptrack import store
from tests.conftest import write_snapshot
from tests.crisis_scenario import invoke
from tests.html_support import attr, string
from tests.test_report import build_crisis, figures

PHISH_PLACEMENT = '<a href="https://phish.example/login">Official statement: click here</a>'
PHISH_BLOCK = '<a href="https://phish.example/block">top</a>'
PHISH_TITLE = '<a href="https://phish.example/title">Read the real statement</a>'
QUERY = "brand statement"
CAMPAIGN = f"""\
[campaign]
name = "phish"
brand = "Brand"
crisis_start = 2026-06-01

[defaults]
provider = "replay"
country = "us"
language = "en"

[providers.replay]
path = "fixtures"

[[keywords]]
query = "{QUERY}"

[labels]
official = ["brand.example"]
critical = ["critic.example"]
"""


def phish_page(day: int) -> list[dict[str, Any]]:
    """An official ad in a hostile block, an official result in a hostile placement (and a
    neutral one), a hostile title; the critic leads on day 1, the official page after."""
    official = {"placement": "organic", "url": "https://brand.example/statement", "title": "Ours"}
    critic = {"placement": "organic", "url": "https://critic.example/story", "title": PHISH_TITLE}
    ad = {
        "placement": "paid",
        "block": PHISH_BLOCK,
        "url": "https://brand.example/ad",
        "title": PHISH_TITLE,
    }
    boxed = {"placement": PHISH_PLACEMENT, "url": "https://brand.example/press", "title": "Press"}
    stray = {"placement": PHISH_PLACEMENT, "url": "https://neutral.example/x", "title": "x"}
    organic = [critic, official] if day == 1 else [official, critic]
    return [ad, boxed, *organic, stray]


def build_phish(runner: CliRunner, folder: Path, db: str) -> None:
    """Apply and backfill the campaign (1-3 June 2026) through the CLI, from replay files."""
    for day in (1, 2, 3):
        write_snapshot(
            folder / "fixtures",
            f"2026-06-0{day}",
            QUERY,
            phish_page(day),
            observed_at=f"2026-06-0{day}T07:00:00Z",
        )
    (folder / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    assert invoke(runner, "apply", str(folder / "campaign.toml"), "--db", db).exit_code == 0
    result = invoke(
        runner, "backfill", "phish", "--from", "2026-06-01", "--to", "2026-06-03", "--db", db
    )
    assert result.exit_code == 0, result.output


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, string) of every string in a JSON value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from strings(item, f"{path}[{n}]")


def phish_report(runner: CliRunner, db: str, folder: Path, *args: str) -> str:
    out = folder / "phish.html"
    result = invoke(runner, "report", "phish", "--db", db, "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_hostile_placements_and_blocks_never_reach_plotly_as_markup(
    runner: CliRunner, tmp_path: Path, db_url: str
) -> None:
    build_phish(runner, tmp_path, db_url)
    # the store kept the raw values: only the report's reads protect the page
    engine = store.connect(db_url)
    with engine.connect() as connection:
        stored = {
            (row.placement, row.block)
            for row in connection.execute(text("SELECT placement, block FROM results"))
        }
    engine.dispose()
    assert {(PHISH_PLACEMENT, None), ("paid", PHISH_BLOCK)} <= stored

    html = phish_report(runner, db_url, tmp_path)
    charts = figures(html)
    found = [(f"{chart}{path}", s) for chart, f in charts.items() for path, s in strings(f)]
    assert found
    # no tag plotly would draw as a link, in any text field of any chart
    links = [(path, s) for path, s in found if re.search(r"<\s*a", s, re.IGNORECASE)]
    assert links == []
    # the only markup left is serptrack's own (hover templates, the notes' line breaks)
    own = re.compile(r"</?b>|<br>|</?extra>")
    assert [(p, s) for p, s in found if "<" in own.sub("", s) or ">" in own.sub("", s)] == []
    # the stored placement and block are named neutrally, never raw
    assert not [
        (p, s) for p, s in found if "phish.example/login" in s or "phish.example/block" in s
    ]
    chart = charts["rank-0"]
    rows = chart["layout"]["yaxis2"]["ticktext"]
    assert "other ads" in rows and "other" in rows
    metas = [t["meta"] for t in chart["data"] if isinstance(t.get("meta"), list)]
    assert ["official", "other ads"] in metas and ["official", "other"] in metas
    # the title still reads as written, escaped: plotly shows it as text
    names = {t.get("name") for t in chart["data"]}
    assert any(
        name.startswith('critic.example: &lt;a href="https://phish.example/title"&gt;Read')
        for name in names
    )

    # the page's tables: no link to phish.example, and the raw placement is nowhere
    soup = BeautifulSoup(html, "html.parser")
    assert not [a for a in soup.find_all("a") if "phish.example" in attr(a, "href")]
    assert "phish.example/login" not in html and "phish.example/block" not in html
    features = soup.select("table.features td:first-child")
    assert sorted(string(td) for td in features) == ["other #1", "paid (other) #1"]

    # the JSON report reads the same neutral values
    document = json.loads(phish_report(runner, db_url, tmp_path, "--format", "json"))
    (keyword,) = document["keywords"]
    placements = {(item["placement"], item["block"]) for item in keyword["page_features"]}
    assert placements == {("other", None), ("paid", "other")}
    assert "phish.example/login" not in json.dumps(document)


def test_a_placement_planted_by_another_writer_reads_as_other(
    runner: CliRunner, tmp_path: Path, db_url: str
) -> None:
    """An older or foreign writer stored the value directly: the same protection applies."""
    build_phish(runner, tmp_path, db_url)
    engine = store.connect(db_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE results SET placement = :p, block = :b WHERE url = :u"),
            {
                "p": "<b>news</b><br><a href='https://phish.example/x'>x</a>",
                "b": "<i>",
                "u": "https://brand.example/press",
            },
        )
    engine.dispose()
    html = phish_report(runner, db_url, tmp_path)
    found = [s for f in figures(html).values() for _, s in strings(f)]
    assert not [s for s in found if "phish.example" in s and "<" in s]
    assert "phish.example/x" not in html


def test_inert_keeps_only_serptracks_own_tags() -> None:
    from serptrack.report.charts import inert

    assert inert("<b>x</b><br>%{y}<extra></extra>") == "<b>x</b><br>%{y}<extra></extra>"
    assert inert(PHISH_PLACEMENT) == (
        '&lt;a href="https://phish.example/login"&gt;Official statement: click here&lt;/a&gt;'
    )
    assert inert("<span style='x'>s</span> <B>") == "&lt;span style='x'&gt;s&lt;/span&gt; &lt;B&gt;"
    assert inert("&lt;a&gt; stays") == "&lt;a&gt; stays"


# --- --plotlyjs cdn: Subresource Integrity -----------------------------------------------------


def test_the_cdn_script_carries_the_integrity_of_the_bundled_plotly(
    runner: CliRunner, tmp_path: Path, db_url: str
) -> None:
    build_crisis(runner, tmp_path, db_url)
    result = invoke(
        runner, "report", "acme-breach", "--db", db_url, "--out", "-", "--plotlyjs", "cdn"
    )
    assert result.exit_code == 0, result.output
    soup = BeautifulSoup(result.stdout, "html.parser")
    (script,) = soup.find_all("script", src=True)
    # the URL plotly itself builds for its bundled version
    assert attr(script, "src") == plotly_cdn_url()
    assert attr(script, "crossorigin") == "anonymous"
    # the SHA-384 of the exact file plotly bundles (and cdn.plot.ly serves for that version)
    bundled = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    digest = base64.b64encode(hashlib.sha384(bundled).digest()).decode()
    assert attr(script, "integrity") == f"sha384-{digest}"
    assert bundled == get_plotlyjs().encode("utf-8")
    # an embedded report loads nothing, so has no integrity to give
    embedded = invoke(runner, "report", "acme-breach", "--db", db_url, "--out", "-")
    page = BeautifulSoup(embedded.stdout, "html.parser")
    assert not page.find_all("script", src=True)
    assert not page.find_all("script", integrity=True)


# --- the month-end table and the page-1 charts ------------------------------------------------


def test_the_month_end_table_and_page_one_charts_keep_strangers_text_inert(
    runner: CliRunner, tmp_path: Path, db_url: str
) -> None:
    from tests.test_report import EVIL_SCRIPT, EVIL_TITLE, build_evil

    build_evil(runner, tmp_path, db_url)
    out = tmp_path / "evil.html"
    result = invoke(runner, "report", "evil", "--db", db_url, "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    table = soup.select_one("#months-0")
    assert table is not None
    assert not table.find_all(["a", "img", "iframe", "script", "svg"])
    cells = [td for td in table.select("tbody td") if "num" not in (td.get("class") or [])]
    # 3 May: the official page, the critic, the javascript: trap; the rest of page 1 empty
    assert [(td.get("class"), td.get("title"), string(td)) for td in cells[:3]] == [
        (["official"], EVIL_TITLE, "brand.example/statement"),
        (["critical"], EVIL_SCRIPT, "critic.example/story?<script>=1"),
        (
            ["unlabelled"],  # no label rule matches it
            "%{meta} <a href=javascript:alert('a')>click</a>",
            "javascript:alert('href')",
        ),
    ]
    assert [string(td) for td in cells[3:]] == ["–"] * 7
    # the page-1 charts carry only serptrack's own words: stance names and fixed templates
    charts = figures(html)
    for chart in ("page-all", "page-0"):
        names = [t["name"] for t in charts[chart]["data"]]
        assert names == ["official", "critical", "neutral", "unlabelled"]
        for path, value in strings(charts[chart]):
            assert "alert" not in value and "<a" not in value, path
