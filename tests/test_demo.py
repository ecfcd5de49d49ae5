"""``serptrack demo``: both crisis scenarios replayed offline, their reports written.

The scenario READMEs (written by tools/make_demo_data.py from the pages it generates) list
the events each keyword must produce; the demo's own output must say the same.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from serptrack.cli import cli
from serptrack.demo import DEMO_CAMPAIGNS, demo_dir
from tests.html_support import attr, string, tag

NOTICE = "Illustrative reconstruction, not recorded results."


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, str]:
    """Run the demo once with every outgoing connection refused; return (folder, JSON, text)."""
    folder = tmp_path_factory.mktemp("demo")
    monkeypatch = pytest.MonkeyPatch()

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"the demo tried to open a connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    try:
        runner = CliRunner()
        db, out = str(folder / "demo.db"), str(folder / "reports")
        as_json = runner.invoke(cli, ["demo", "--db", db, "--out", out, "--json"])
        assert as_json.exit_code == 0, as_json.output
        text = runner.invoke(cli, ["demo", "--db", db, "--out", out])
        assert text.exit_code == 0, text.output
    finally:
        monkeypatch.undo()
    return folder, json.loads(as_json.output), text.output


def readme_events(name: str) -> dict[tuple[str, str], list[str]]:
    """(query, locale) → ["organic lost 2009-12-19", ...] as the scenario README lists them."""
    text = (demo_dir() / name / "README.md").read_text(encoding="utf-8")
    found: dict[tuple[str, str], list[str]] = {}
    for block in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        query, locale = re.match(r"'(.+)' \((.+)\)", block).groups()  # type: ignore[union-attr]
        events = []
        for view in ("organic", "page"):
            listed = re.search(rf"^- {view} view: (.+)$", block, flags=re.MULTILINE)
            assert listed, f"{name}: {query} has no {view} view line"
            if listed[1] != "none":
                for kind, day in re.findall(r"(overtake|lost) (\d{4}-\d{2}-\d{2})", listed[1]):
                    events.append((day, view, kind))
        found[(query, locale)] = [f"{view} {kind} {day}" for day, view, kind in sorted(events)]
    return found


def test_both_scenarios_are_replayed(demo_run: tuple[Path, Any, str]) -> None:
    _, result, _ = demo_run
    summary = [
        (
            c["campaign"],
            c["brand"],
            str(c["from"]),
            str(c["to"]),
            c["keywords"],
            c["checks"],
            c["ok"],
        )
        for c in result["campaigns"]
    ]
    assert summary == [
        ("skype-2008", "Skype", "2008-09-29", "2008-11-16", 5, 245, 238),
        ("eurostar-2009", "Eurostar", "2009-12-14", "2010-02-14", 6, 378, 366),
    ]
    assert list(DEMO_CAMPAIGNS) == ["skype-2008", "eurostar-2009"]
    for campaign in result["campaigns"]:
        assert "illustrative reconstruction, not recorded results" in campaign["description"]
        kinds = {f["error_kind"] for f in campaign["failed"]}
        assert kinds <= {"missing-fixture", "blocked", "quota"}


@pytest.mark.parametrize("name", list(DEMO_CAMPAIGNS))
def test_lead_changes_are_the_ones_the_scenario_readme_lists(
    demo_run: tuple[Path, Any, str], name: str
) -> None:
    _, result, _ = demo_run
    campaign = next(c for c in result["campaigns"] if c["campaign"] == name)
    found = {
        (k["query"], f"{k['country']}-{k['language']}"): [
            f"{e['view']} {e['kind']} {e['at'][:10]}"
            for e in sorted(k["events"], key=lambda e: (e["at"], e["view"] != "organic"))
        ]
        for k in campaign["lead_changes"]
    }
    expected = readme_events(name)
    assert set(found) == set(expected)
    for key, events in expected.items():
        assert sorted(found[key]) == sorted(events), key


def test_the_output_says_where_the_reports_are_and_when_overtakes_happened(
    demo_run: tuple[Path, Any, str],
) -> None:
    folder, _, text = demo_run
    lines = text.splitlines()
    assert (
        lines[0]
        == f"Demo database: {folder / 'demo.db'} (illustrative reconstructions, not recorded results)"
    )
    assert (
        "skype-2008 (Skype), 2008-09-29 to 2008-11-16: 5 keywords, 245 daily checks, 238 ok, "
        "7 failed on purpose (6 missing-fixture, 1 blocked)"
    ) in lines
    assert f"  Report: {folder / 'reports' / 'skype-2008.html'}" in lines
    assert f"  Report: {folder / 'reports' / 'eurostar-2009.html'}" in lines
    assert "  skype china (us-en): page overtake 2008-10-04, organic overtake 2008-10-11" in lines
    assert "  skype (us-en): no lead change" in lines
    assert (
        "  eurostar breakdown (gb-en): page overtake 2009-12-20, organic overtake 2009-12-28, "
        "organic lost 2010-02-13"
    ) in lines


@pytest.mark.parametrize(
    ("name", "brand", "label"),
    [
        ("skype-2008", "Skype", "29 September 2008 to 16 November 2008"),
        ("eurostar-2009", "Eurostar", "14 December 2009 to 14 February 2010"),
    ],
)
def test_each_report_covers_its_scenario(
    demo_run: tuple[Path, Any, str], name: str, brand: str, label: str
) -> None:
    folder, _, _ = demo_run
    path = folder / "reports" / f"{name}.html"
    html = path.read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    assert string(soup.h1) == f"{brand}: search report, {label}"
    assert tag(soup.select_one("#notice")).get_text().startswith(NOTICE)
    assert string(soup.select_one(".agency")) == "serptrack demo"
    assert attr(soup.select_one("img.logo"), "src").startswith("data:image/svg+xml;base64,")
    assert "illustrative reconstruction (" in tag(soup.select_one("dl.method")).get_text()
    # per keyword: its rank chart and its page-1 chart
    rows = len(soup.select("#summary-table tbody tr"))
    assert len(soup.select("#keywords .chart")) == 2 * rows
    assert len(soup.select("#keywords table.months")) == rows
    assert path.stat().st_size < 6_000_000


def test_default_reports_folder_is_under_the_current_directory(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        "eurostar-2009.html",
        "skype-2008.html",
    ]
    assert (tmp_path / "serptrack-demo.db").exists()
    assert "  Report: reports/eurostar-2009.html" in result.output.splitlines()


def test_a_database_of_the_former_demo_is_replaced(runner: CliRunner, tmp_path: Path) -> None:
    campaign = tmp_path / "c.toml"
    (tmp_path / "fx").mkdir()
    campaign.write_text(
        '[campaign]\nname="acme-recall"\n[providers.replay]\npath="fx"\n[[keywords]]\nquery="q"\nprovider="replay"\n'
    )
    db = tmp_path / "old.db"
    assert runner.invoke(cli, ["apply", str(campaign), "--db", str(db)]).exit_code == 0
    result = runner.invoke(cli, ["demo", "--db", str(db), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, ["campaigns", "--db", str(db), "--json"])
    assert [row["name"] for row in json.loads(listed.output)] == ["eurostar-2009", "skype-2008"]
