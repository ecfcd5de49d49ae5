"""Reports in a real browser: headless Chromium (Debian's package, driven by Playwright) opens
each report from disk with the network blocked, and every chart must be drawn with no console
error, no page error and no dialog. .ci/run installs Chromium, so CI never skips this."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from serptrack.cli import cli
from serptrack.report.pdf import LAUNCH_ARGS
from tests.test_report import EVIL_LINK, EVIL_SCRIPT, build_crisis, build_evil
from tests.test_report_ai import build_answers
from tests.test_report_hostile import build_phish


def chromium_path() -> str:
    """Debian's chromium, or a skip (a failure on CI, which installs it)."""
    found = os.environ.get("SERPTRACK_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI runs the browser test: install Debian's chromium (.ci/run does)")
    pytest.skip("no chromium on this machine: apt-get install chromium")


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium. Ask for it last: Playwright runs an event loop while it is open, and
    building a report's data (backfill) runs one of its own."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        yield launched
        launched.close()


class Visit:
    """A page opened from disk with every non-file request aborted and everything recorded."""

    def __init__(self, browser: Any, path: Path, width: int = 1280) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.escaped: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.page.goto(path.resolve().as_uri())

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.escaped.append(route.request.url)
            route.abort()

    def wait_for_charts(self) -> list[dict[str, Any]]:
        """Wait until the page script has drawn every chart; describe each."""
        self.page.wait_for_selector("html[data-charts=done]", state="attached", timeout=60_000)
        charts: list[dict[str, Any]] = self.page.eval_on_selector_all(
            "[data-figure]",
            """boxes => boxes.map(box => ({
                id: box.id,
                state: box.getAttribute('data-state'),
                svg: box.querySelectorAll('svg.main-svg').length,
                traces: (box._fullData || []).filter(t => t.visible === true).length,
                drawn: box.querySelectorAll('.scatterlayer .trace, .barlayer .trace').length,
                bars: box.querySelectorAll('.barlayer .trace').length,
            }))""",
        )
        return charts

    def close(self) -> None:
        self.page.close()


def show_every_url(page: Any, chart: str = "rank-0") -> None:
    """Press the rank chart's "Show every URL" button: each URL's own line is drawn."""
    hidden = page.evaluate(
        f"document.getElementById({chart!r})._fullData.filter(t => t.visible !== true).length"
    )
    assert hidden >= 1  # by default only the best positions are drawn
    page.locator(f"#{chart} .updatemenu-button").filter(has_text="Show every URL").click()
    page.wait_for_function(
        f"document.getElementById({chart!r})._fullData.every(t => t.visible === true)"
    )


def overlapping_labels(page: Any) -> Any:
    """Pairs of text labels drawn over each other in one chart: annotations (A1, A2 ...) and
    marker text, compared by their bounding boxes on screen."""
    return page.evaluate(
        """[...document.querySelectorAll('[data-figure]')].flatMap(box => {
            const labels = [...box.querySelectorAll('g.annotation, .scatterlayer .textpoint')]
                .map(el => [el.textContent, el.getBoundingClientRect()])
                .filter(([, r]) => r.width > 0 && r.height > 0);
            const pairs = [];
            labels.forEach(([a, r], i) => labels.slice(i + 1).forEach(([b, s]) => {
                if (r.left < s.right - 1 && s.left < r.right - 1 &&
                    r.top < s.bottom - 1 && s.top < r.bottom - 1) {
                    pairs.push([box.id, a, b]);
                }
            }));
            return pairs;
        })"""
    )


def rank_axis_tops(page: Any) -> Any:
    """The top tick label of every rank chart's rank axis."""
    return page.evaluate(
        """[...document.querySelectorAll('[id^=rank-]')].map(box => {
            const ticks = [...box.querySelectorAll('.yaxislayer-above .ytick text')];
            ticks.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
            return ticks.length ? ticks[0].textContent : null;
        })"""
    )


def annotation_count(page: Any) -> int:
    return int(page.evaluate("document.querySelectorAll('[id^=rank-] g.annotation').length"))


def assert_clean(visit: Visit) -> None:
    assert visit.errors == []
    assert visit.dialogs == []
    assert visit.escaped == []


@pytest.fixture
def demo_reports(tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    result = CliRunner().invoke(cli, ["demo", "--db", str(tmp_path / "demo.db"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def evil_report(runner: CliRunner, tmp_path: Path, db_url: str) -> Path:
    build_evil(runner, tmp_path, db_url)
    path = tmp_path / "evil.html"
    result = runner.invoke(cli, ["report", "evil", "--db", db_url, "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def phish_report(runner: CliRunner, tmp_path: Path, db_url: str) -> Path:
    build_phish(runner, tmp_path, db_url)
    path = tmp_path / "phish.html"
    result = runner.invoke(cli, ["report", "phish", "--db", db_url, "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def cdn_report(runner: CliRunner, tmp_path: Path, db_url: str) -> Path:
    build_crisis(runner, tmp_path, db_url)
    path = tmp_path / "cdn.html"
    args = ["report", "acme-breach", "--db", db_url, "--out", str(path), "--plotlyjs", "cdn"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    return path


def test_the_demo_reports(demo_reports: Path, browser: Any) -> None:
    out = demo_reports
    for name in ("eurostar-2009", "skype-2008"):
        visit = Visit(browser, out / f"{name}.html", width=1400)
        charts = visit.wait_for_charts()
        keywords = 6 if name == "eurostar-2009" else 5
        # page 1 for the campaign, then per keyword its rank and page-1 charts, share of voice
        assert [c["id"] for c in charts] == [
            "page-all",
            *(f"{kind}-{n}" for n in range(keywords) for kind in ("rank", "page")),
            "share-chart",
        ]
        assert [c["bars"] for c in charts if c["id"].startswith("page")] == [4] * (keywords + 1)
        for chart in charts:
            assert chart["state"] == "drawn", chart
            assert (
                chart["svg"] >= 1 and chart["traces"] >= 3 and chart["drawn"] == chart["traces"]
            ), chart
        # the answer chart draws the two best positions (and event marks), no URL's own line
        drawn = visit.page.evaluate(
            """[...document.querySelectorAll('[id^=rank-]')].map(box =>
                box._fullData.filter(t => t.visible === true && t.yaxis === 'y').map(t => t.name))"""
        )
        assert all(names[:2] == ["best official result", "best critical result"] for names in drawn)
        assert all(set(names[2:]) <= {"▲ overtake", "▼ lost lead"} for names in drawn)
        assert annotation_count(visit.page) >= keywords  # the demos are annotated
        assert overlapping_labels(visit.page) == []
        assert rank_axis_tops(visit.page) == ["1"] * keywords  # rank 1 labelled on every chart
        months = visit.page.locator("table.months")
        assert months.count() == keywords
        assert visit.page.locator("table.months td.official").count() >= keywords
        assert visit.page.locator("img.logo").evaluate("img => img.naturalWidth") > 0
        assert visit.page.locator("#notice").inner_text().startswith("Illustrative reconstruction")
        assert_clean(visit)
        visit.close()


def test_hostile_text_stays_inert_in_the_browser(evil_report: Path, browser: Any) -> None:
    visit = Visit(browser, evil_report)
    charts = visit.wait_for_charts()
    assert [c["state"] for c in charts] == ["drawn"] * 4
    page = visit.page
    assert page.evaluate("document.querySelectorAll('img, iframe').length") == 0
    show_every_url(page)
    legend = page.locator("#rank-0 .legend").text_content() or ""
    # shown as written: plotly draws <a> and <b> from a name, so they must arrive escaped
    assert f"brand.example: {EVIL_LINK} <i…" in legend
    assert f"critic.example: {EVIL_SCRIPT}" in legend
    # hover the critic's line: the label shows the title as text
    page.evaluate(
        """() => {
            const box = document.getElementById('rank-0');
            const n = box.data.findIndex(t => t.name.startsWith('critic.example'));
            Plotly.Fx.hover(box, [{curveNumber: n, pointNumber: 0}]);
        }"""
    )
    hover = page.locator("#rank-0 .hoverlayer").text_content() or ""
    assert EVIL_SCRIPT in hover and "critical: organic #1" in hover
    assert page.locator("#notice").inner_text() == "<script>alert('notice')</script> & friends"
    assert page.evaluate("document.querySelectorAll('a[href^=javascript], svg a').length") == 0
    assert_clean(visit)
    visit.close()


PHISH_LINKS = "a[href*='phish.example'], a[*|href*='phish.example']"


def test_hostile_placements_draw_no_link(phish_report: Path, browser: Any) -> None:
    """A stored placement ``<a href="https://phish.example/login">...</a>`` (and such a block
    and title): plotly would draw each as a working link in the strip's tick labels, the
    hover label or the legend. None may exist, before or after hovering every point."""
    visit = Visit(browser, phish_report)
    charts = visit.wait_for_charts()
    assert [c["state"] for c in charts] == ["drawn"] * 4
    page = visit.page
    show_every_url(page)
    assert page.evaluate(f"document.querySelectorAll({PHISH_LINKS!r}).length") == 0
    ticks = page.locator("#rank-0 .yaxislayer-above").all_text_contents()
    assert "other ads" in "".join(ticks) and "phish" not in "".join(ticks)
    legend = page.locator("#rank-0 .legend").text_content() or ""
    assert '<a href="https://phish.example/title">' in legend  # the title, shown as text
    points = page.evaluate(
        """() => document.getElementById('rank-0')._fullData.flatMap((trace, n) =>
            (trace.y || []).map((y, i) => [n, i, trace.xaxis + trace.yaxis, y])
                .filter(point => point[3] !== null && point[3] !== undefined))"""
    )
    hovered = []
    for curve, point, subplot, _ in points:
        page.evaluate(
            "([curve, point, subplot]) => Plotly.Fx.hover(document.getElementById('rank-0'),"
            " [{curveNumber: curve, pointNumber: point}], subplot)",
            [curve, point, subplot],
        )
        page.wait_for_timeout(80)  # plotly drops a hover within 50 ms of the last one
        label = page.locator("#rank-0 .hoverlayer").text_content() or ""
        hovered.append((label, page.evaluate(f"document.querySelectorAll({PHISH_LINKS!r}).length")))
    assert hovered and all(links == 0 for _, links in hovered)
    texts = " | ".join(label for label, _ in hovered)
    # the strip's hover names the row neutrally
    assert "official: other ads" in texts and re.search(r"official: other (?!ads)", texts)
    assert "phish.example/login" not in texts and "phish.example/block" not in texts
    assert page.evaluate(f"document.querySelectorAll({PHISH_LINKS!r}).length") == 0
    assert_clean(visit)
    visit.close()


def test_a_cdn_report_offline_says_why_it_has_no_charts(cdn_report: Path, browser: Any) -> None:
    visit = Visit(browser, cdn_report)
    visit.page.wait_for_selector(".chart-missing")
    texts = visit.page.locator("[data-figure]").all_inner_texts()
    assert len(texts) == 6 and all("written with --plotlyjs cdn" in t for t in texts)
    assert [url.split("/")[2] for url in visit.escaped] == ["cdn.plot.ly"]  # tried, and blocked
    assert visit.dialogs == []
    visit.close()


@pytest.mark.parametrize("name", ["skype-2008", "eurostar-2009"])
def test_a_demo_report_fits_a_phone_screen(demo_reports: Path, name: str, browser: Any) -> None:
    visit = Visit(browser, demo_reports / f"{name}.html", width=390)
    charts = visit.wait_for_charts()
    assert charts and all(c["state"] == "drawn" and c["svg"] for c in charts)
    width, screen = visit.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen  # no sideways scroll: wide tables scroll inside their own box
    widest = visit.page.evaluate(
        "Math.max(...[...document.querySelectorAll('[data-figure]')].map(b => b.getBoundingClientRect().right))"
    )
    assert widest <= screen  # the charts resize to the screen
    assert annotation_count(visit.page) > 0
    assert overlapping_labels(visit.page) == []  # days a few px apart: labels stacked
    assert set(rank_axis_tops(visit.page)) == {"1"}
    boxes = visit.page.evaluate(
        """[...document.querySelectorAll('table.months')].map(t => [
            t.parentElement.getBoundingClientRect().right, t.parentElement.scrollWidth,
            t.parentElement.clientWidth])"""
    )
    assert boxes and all(right <= screen for right, _, _ in boxes)
    assert any(wide > box for _, wide, box in boxes)  # six months scroll inside their box
    assert_clean(visit)
    visit.close()


def test_a_printed_report_keeps_every_table_whole_and_no_toolbar(
    demo_reports: Path, browser: Any
) -> None:
    visit = Visit(browser, demo_reports / "eurostar-2009.html", width=794)  # A4 at 96 dpi
    visit.wait_for_charts()
    visit.page.emulate_media(media="print")
    clipped = visit.page.evaluate(
        """() => [...document.querySelectorAll('table')]
            .filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map(t => t.id || t.className)"""
    )
    assert clipped == []  # printed whole: cells wrap, nothing scrolls on paper
    toolbars = visit.page.evaluate(
        "[...document.querySelectorAll('.modebar')].filter(m => getComputedStyle(m).display !== 'none').length"
    )
    assert toolbars == 0
    pdf = visit.page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 4
    assert_clean(visit)
    visit.close()


def test_report_pdf_prints_the_report_offline_with_every_table_whole(
    demo_reports: Path, tmp_path: Path
) -> None:
    chromium = chromium_path()
    html = tmp_path / "client" / "eurostar.html"
    args = ["report", "eurostar-2009", "--db", str(tmp_path / "demo.db"), "--out", str(html)]
    result = CliRunner().invoke(
        cli, [*args, "--pdf", "--paper", "letter"], env={"SERPTRACK_CHROMIUM": chromium}
    )

    assert result.exit_code == 0, result.output
    pdf = html.with_suffix(".pdf").read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pdf.startswith(b"%PDF") and pages >= 4
    assert re.search(rb"/MediaBox\s*\[\s*0 0 612 792\s*\]", pdf)  # Letter, in points
    assert (
        result.output.splitlines()[-1]
        == f"Wrote {html.with_suffix('.pdf')}: {pages} pages, Letter."
    )
    assert "Warning" not in result.output  # no table wider than the page
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.fixture
def answers_report(runner: CliRunner, tmp_path: Path, db_url: str) -> Path:
    build_answers(runner, tmp_path, db_url)
    path = tmp_path / "answers.html"
    args = ["report", "answers", "--month", "2026-04", "--db", db_url, "--out", str(path)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    return path


def test_the_ai_answers_chart_draws_its_lines_and_bands(answers_report: Path, browser: Any) -> None:
    path = answers_report
    for width in (1400, 390):
        visit = Visit(browser, path, width=width)
        charts = {c["id"]: c for c in visit.wait_for_charts()}
        ai = charts["ai-0"]
        assert ai["state"] == "drawn" and ai["svg"] >= 1
        assert ai["traces"] == 4 and ai["drawn"] == 4  # two lines, each with its band
        fills = visit.page.evaluate(
            "document.querySelectorAll('#ai-0 .scatterlayer .trace path.js-fill').length"
        )
        assert fills == 2
        width_now, screen = visit.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert width_now <= screen
        assert_clean(visit)
        visit.close()
