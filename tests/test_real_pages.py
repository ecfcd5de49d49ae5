"""Real Google result pages, read as their savers' own published parses say they should be.

The pages and expectations come from WebSearcher's source archive (see
``tests/fixtures/real/websearcher/ORIGIN.md``). Each expectation is one list: the URLs of
one placement on one page, in page order, as WebSearcher's snapshot lists them (each URL
once: the snapshots repeat a URL a carousel shows twice). ``KNOWN`` names the few that do
not hold yet, with the reason; they are strict xfails, so one that starts to hold fails
until it is taken off the list.
"""

from __future__ import annotations

import hashlib
import json
import lzma
from functools import cache
from pathlib import Path

import pytest
from _pytest.mark import ParameterSet
from click.testing import CliRunner
from sqlmodel import Session, select

from serptrack import store
from serptrack.cli import cli
from serptrack.models import Check, Payload
from serptrack.parsers.google import parse_google
from serptrack.snapshot import Snapshot

HERE = Path(__file__).parent / "fixtures" / "real" / "websearcher"
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))

#: (page, placement) → why serptrack's reading differs from the published expectation.
KNOWN = {
    ("9101d12ab778", "paid"): "Local Services ads (relative /localservices links) are not read",
    ("f6fae1c9a96e", "organic"): "the snapshot folds the whole page into one finance panel",
    ("56cbcf8cd4dc", "local"): "the snapshot lists a sponsored place by its relative /aclk link",
}


@cache
def snapshot(page: str) -> Snapshot:
    return parse_google(lzma.decompress((HERE / f"{page}.html.xz").read_bytes()))


def unique(urls: list[str]) -> list[str]:
    return list(dict.fromkeys(urls))


def cases() -> list[ParameterSet]:
    out = []
    for page, entry in EXPECTED.items():
        for placement, urls in entry["urls"].items():
            if not urls and placement != "organic":
                continue
            marks = []
            reason = KNOWN.get((page, placement))
            if reason:
                marks.append(pytest.mark.xfail(reason=reason, strict=True))
            out.append(pytest.param(page, placement, id=f"{page}-{placement}", marks=marks))
    return out


def test_every_page_is_the_saved_one() -> None:
    for page, entry in EXPECTED.items():
        html = lzma.decompress((HERE / f"{page}.html.xz").read_bytes())
        assert hashlib.sha256(html).hexdigest() == entry["sha256"], page


@pytest.mark.parametrize(("page", "placement"), cases())
def test_placement_urls_match_the_published_parse(page: str, placement: str) -> None:
    got = unique([item.url for item in snapshot(page).results if item.placement == placement])
    assert got == unique(EXPECTED[page]["urls"][placement])


@pytest.mark.parametrize("page", sorted(EXPECTED))
def test_query_and_device_are_read(page: str) -> None:
    snap = snapshot(page)
    assert snap.query == EXPECTED[page]["query"]
    assert snap.device == "desktop"  # every page was saved by desktop Chrome


def test_results_on_googles_own_hosts_are_kept() -> None:
    """news.google.com, google.com/travel and translate.google.* are organic results there."""
    hosts = {
        item.url.split("/")[2]
        for page in ("30c5d6bdb650", "39617f527744", "6e401e618433", "faa9c7c889db")
        for item in snapshot(page).results
        if item.placement == "organic"
    }
    assert {"news.google.com", "www.google.com", "translate.google.com"} <= hosts


def test_a_page_for_another_query_says_which() -> None:
    """ "No results found for @elaboratetweet. Results for elaboratetweet" and Google's
    spelling correction ("These are results for congress usa") answer another query."""
    answered = {page: snapshot(page).answered_query for page in EXPECTED}
    assert {page: q for page, q in answered.items() if q} == {
        "3c03a4a2cb7c": "elaboratetweet",
        "d920789249af": "congress usa",
    }


def test_people_also_ask_keeps_each_question_with_its_answers_source() -> None:
    asked = [
        (item.title, item.url.split("#")[0])
        for item in snapshot("01f85d1329ba").results
        if item.placement == "people_also_ask"
    ]
    assert asked == [
        (
            "Where exactly are the northern lights?",
            "https://www.discover-the-world.com/northern-lights/",
        ),
        (
            "What time are the northern lights best tonight?",
            "https://www.swpc.noaa.gov/content/tips-viewing-aurora",
        ),
        ("What causes the northern lights?", "https://www.youtube.com/watch?v=1apyBNhsTbI&t=230"),
        (
            "Where is it best to see the northern lights?",
            "https://theaurorazone.com/about-the-aurora/the-science-of-the-northern-lights/the-best-place-to-see-the-northern-lights/",
        ),
    ]


CAMPAIGN = """\
[campaign]
name = "congress"

[defaults]
provider = "replay"
engine = "google"

[providers.replay]
path = "pages"

[[keywords]]
query = "cngress usa"

[labels]
official = ["congress.gov"]
"""


def test_a_check_of_a_page_for_another_query_is_failed_not_unranked(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    """Its results answer another query: the check is failed (query-relaxed), stores none
    of them, and keeps the page as evidence; it is not a check where nothing ranked."""
    (tmp_path / "pages").mkdir()
    (tmp_path / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    page = tmp_path / "cngress.html"
    page.write_bytes(lzma.decompress((HERE / "d920789249af.html.xz").read_bytes()))
    assert (
        runner.invoke(cli, ["apply", str(tmp_path / "campaign.toml"), "--db", db_url]).exit_code
        == 0
    )
    args = ["import-serp", str(page), "--campaign", "congress", "--query", "cngress usa"]
    result = runner.invoke(
        cli, [*args, "--observed-at", "2026-02-06T12:00:00Z", "--json", "--db", db_url]
    )
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "failed"
    assert "'congress usa'" in outcome["error"] and outcome["results"] == 0
    result = runner.invoke(cli, ["history", "congress", "--json", "--db", db_url])
    rows = json.loads(result.stdout)
    assert [(r["status"], r["url"]) for r in rows] == [("failed", None)]
    with Session(store.connect(db_url)) as session:
        check = session.exec(select(Check)).one()
        assert check.error_kind == "query-relaxed"
        assert session.exec(select(Payload).where(Payload.check_id == check.id)).one()
