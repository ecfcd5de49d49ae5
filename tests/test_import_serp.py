"""``import-serp`` stores a saved page as one check; the replay provider reads ``.html`` files.

Both end to end through the CLI: apply a campaign, import or backfill, read ``history --json``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session

from serptrack import store
from serptrack.cli import cli

FIXTURES = Path(__file__).parent / "fixtures" / "html"

CAMPAIGN = """\
[campaign]
name = "acme-recall"
brand = "Acme"

[defaults]
provider = "replay"
engine = "google"
country = "us"
language = "en"
schedule = "1d"

[providers.replay]
path = "pages"

[[keywords]]
query = "acme recall"

[[keywords]]
query = "acme recall"
engine = "bing"

[[keywords]]
query = "acme rappel"
country = "fr"
language = "fr"
device = "mobile"

[[keywords]]
query = "acme kettle fire"
country = "us"

[[keywords]]
query = "acme kettle fire"
country = "gb"

[labels]
official = ["acme.example"]
critical = ["consumerwatch.example", "https://news.example/2026/03/acme-recall"]
"""


@pytest.fixture
def campaign_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "campaign"
    (folder / "pages").mkdir(parents=True)
    (folder / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    return folder


@pytest.fixture
def db(db_url: str, runner: CliRunner, campaign_dir: Path) -> str:
    result = runner.invoke(cli, ["apply", str(campaign_dir / "campaign.toml"), "--db", db_url])
    assert result.exit_code == 0, result.output
    return db_url


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args))


def import_serp(runner: CliRunner, db: str, page: str, query: str, *extra: str) -> Result:
    return run(
        runner,
        "import-serp",
        str(FIXTURES / page),
        "--campaign",
        "acme-recall",
        "--query",
        query,
        "--observed-at",
        "2026-03-03T07:00:00Z",
        "--db",
        db,
        *extra,
    )


def history(runner: CliRunner, db: str, query: str) -> list[dict[str, Any]]:
    result = run(runner, "history", "acme-recall", "--query", query, "--json", "--db", db)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_import_a_google_page(runner: CliRunner, db: str) -> None:
    result = import_serp(runner, db, "google-desktop-current.html", "acme recall", "--json")
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome == {
        "campaign": "acme-recall",
        "query": "acme recall",
        "engine": "google",
        "country": "us",
        "language": "en",
        "device": "desktop",
        "provider": "import",
        "check_id": outcome["check_id"],
        "status": "ok",
        "observed_at": "2026-03-03T07:00:00Z",
        "results": 9,
        "error": None,
        "source": "google-html",
        "warnings": [],
    }
    rows = history(runner, db, "acme recall")
    keys = ("provider", "status", "placement", "block", "rank", "page_position", "url", "stance")
    picked = [tuple(row[key] for key in keys) for row in rows]
    assert picked == [
        ("import", "ok", "paid", "top", 1, 1, "https://www.acme.example/recall", "official"),
        (
            "import",
            "ok",
            "paid",
            "top",
            2,
            2,
            "https://claims.lawfirm.example/acme-kettle?src=gads",
            "neutral",
        ),
        (
            "import",
            "ok",
            "organic",
            None,
            1,
            3,
            "https://news.example/2026/03/acme-recall",
            "critical",
        ),
        (
            "import",
            "ok",
            "news",
            None,
            1,
            4,
            "https://daily.example/business/acme-ceo-apology",
            "neutral",
        ),
        (
            "import",
            "ok",
            "news",
            None,
            2,
            5,
            "https://www.tvnews.example/acme-kettle-recall",
            "neutral",
        ),
        ("import", "ok", "organic", None, 2, 6, "https://www.acme.example/recall", "official"),
        (
            "import",
            "ok",
            "people_also_ask",
            None,
            1,
            7,
            "https://forum.example/t/acme-k2",
            "neutral",
        ),
        (
            "import",
            "ok",
            "organic",
            None,
            3,
            8,
            "https://consumerwatch.example/acme/kettle-fires",
            "critical",
        ),
        (
            "import",
            "ok",
            "paid",
            "bottom",
            3,
            9,
            "https://www.kettleshop.example/safe-kettles?utm_source=google",
            "neutral",
        ),
    ]
    assert {r["observed_at"] for r in rows} == {"2026-03-03T07:00:00Z"}


def test_the_raw_page_is_kept_with_the_check(runner: CliRunner, db: str) -> None:
    result = import_serp(runner, db, "bing.html", "acme recall", "--json")
    assert result.exit_code == 0, result.output
    check_id = json.loads(result.stdout)["check_id"]
    engine = store.connect(db)
    try:
        with Session(engine) as session:
            payloads = store.load_payloads(session, check_id)
    finally:
        engine.dispose()
    assert payloads == [("text/html", (FIXTURES / "bing.html").read_bytes())]


def test_the_page_engine_picks_the_keyword(runner: CliRunner, db: str) -> None:
    result = import_serp(runner, db, "bing.html", "acme recall")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Stored check 1 of 'acme recall' (bing, observed 2026-03-03 07:00 UTC): ok, 7 results."
    )
    engines = {row["engine"] for row in history(runner, db, "acme recall")}
    assert engines == {"bing"}


def test_a_block_page_is_stored_as_blocked_and_exits_1(runner: CliRunner, db: str) -> None:
    path = FIXTURES / "google-sorry.html"
    result = import_serp(runner, db, "google-sorry.html", "acme kettle fire", "--country", "us")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}: a Google block page (captcha: unusual traffic), not a result page "
        "(stored as blocked check 1)\n"
    )
    rows = history(runner, db, "acme kettle fire")
    assert [(r["status"], r["error"], r["url"], r["country"]) for r in rows] == [
        (
            "blocked",
            f"{path}: a Google block page (captcha: unusual traffic), not a result page",
            None,
            "us",
        )
    ]


def test_a_no_results_page_is_an_ok_check_with_no_rows_of_results(
    runner: CliRunner, db: str
) -> None:
    result = import_serp(runner, db, "google-no-results.html", "acme recall", "--json")
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert (outcome["status"], outcome["results"]) == ("ok", 0)
    assert outcome["warnings"] == [
        "the page is a search for 'xqzv acme kettle 99812', not 'acme recall'"
    ]
    assert "Warning: the page is a search for" in result.stderr


def test_unknown_campaign(runner: CliRunner, db: str) -> None:
    result = run(
        runner,
        "import-serp",
        str(FIXTURES / "bing.html"),
        "--campaign",
        "nope",
        "--query",
        "acme recall",
        "--observed-at",
        "2026-03-03T07:00:00Z",
        "--db",
        db,
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no campaign named 'nope' (known: acme-recall); create it with: "
        "serptrack apply FILE\n"
    )


def test_a_query_that_matches_no_keyword_lists_the_campaign_queries(
    runner: CliRunner, db: str
) -> None:
    result = import_serp(runner, db, "bing.html", "acme refund")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: campaign 'acme-recall' has no keyword 'acme refund'; its queries: "
        "'acme kettle fire', 'acme rappel', 'acme recall'\n"
    )


def test_a_query_tracked_several_ways_needs_the_locale(runner: CliRunner, db: str) -> None:
    result = import_serp(runner, db, "google-desktop-features.html", "acme kettle fire")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: campaign 'acme-recall' tracks 'acme kettle fire' several ways (google "
        "us-en-desktop, google gb-en-desktop); pick one with --country, --language and --device\n"
    )
    result = import_serp(
        runner, db, "google-desktop-features.html", "acme kettle fire", "--country", "gb"
    )
    assert result.exit_code == 0, result.output
    assert {row["country"] for row in history(runner, db, "acme kettle fire")} == {"gb"}


def test_a_locale_the_campaign_does_not_track(runner: CliRunner, db: str) -> None:
    result = import_serp(runner, db, "google-mobile.html", "acme rappel", "--country", "de")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: campaign 'acme-recall' has no keyword 'acme rappel' for de-*-*; it tracks it "
        "for: google fr-fr-mobile\n"
    )


def test_an_engine_the_keyword_is_not_tracked_on(runner: CliRunner, db: str) -> None:
    path = FIXTURES / "duckduckgo.html"
    result = import_serp(runner, db, "duckduckgo.html", "acme recall")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path} is a duckduckgo page, but campaign 'acme-recall' tracks 'acme recall' "
        "on bing, google\n"
    )


def test_the_same_page_is_not_imported_twice(runner: CliRunner, db: str) -> None:
    assert import_serp(runner, db, "google-mobile.html", "acme rappel").exit_code == 0
    result = import_serp(runner, db, "google-mobile.html", "acme rappel")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: a page of 'acme rappel' observed at 2026-03-03T07:00:00+00:00 is already "
        "imported (check 1); nothing stored\n"
    )


def test_a_file_that_is_not_a_page_stores_nothing(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    path = tmp_path / "notes.html"
    path.write_text("<html><body><p>my notes</p></body></html>", encoding="utf-8")
    result = run(
        runner,
        "import-serp",
        str(path),
        "--campaign",
        "acme-recall",
        "--query",
        "acme recall",
        "--observed-at",
        "2026-03-03T07:00:00Z",
        "--db",
        db,
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: an HTML page of no known result-page format")
    assert history(runner, db, "acme recall") == []


def test_observed_at_is_required_and_checked(runner: CliRunner, db: str) -> None:
    result = run(
        runner,
        "import-serp",
        str(FIXTURES / "bing.html"),
        "--campaign",
        "acme-recall",
        "--query",
        "acme recall",
        "--observed-at",
        "yesterday",
        "--db",
        db,
    )
    assert result.exit_code == 2
    assert "'yesterday' is not an ISO 8601 datetime" in result.stderr


# --- the replay provider reads saved pages ----------------------------------------------------


REPLAY_CAMPAIGN = """\
[campaign]
name = "replayed"

[defaults]
provider = "replay"
country = "us"
language = "en"

[providers.replay]
path = "pages"

[[keywords]]
query = "acme recall"

[[keywords]]
query = "acme recall"
engine = "bing"
country = "ca"

[labels]
official = ["acme.example"]
"""


def test_replay_reads_html_pages_end_to_end(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    for day, page in (
        ("2026-03-01", "google-desktop-old.html"),
        ("2026-03-02", "google-sorry.html"),
        ("2026-03-03", "google-desktop-current.html"),
    ):
        (pages / day).mkdir(parents=True)
        shutil.copy(FIXTURES / page, pages / day / "acme-recall.html")
        shutil.copy(FIXTURES / "bing.html", pages / day / "acme-recall.ca-en-desktop.html")
    (tmp_path / "replayed.toml").write_text(REPLAY_CAMPAIGN, encoding="utf-8")
    assert run(runner, "apply", str(tmp_path / "replayed.toml"), "--db", db_url).exit_code == 0
    result = run(
        runner,
        "backfill",
        "replayed",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-03",
        "--db",
        db_url,
        "--json",
    )
    assert result.exit_code == 1  # the captcha day
    checks = sorted(
        (c["engine"], c["observed_at"][:10], c["status"], c["results"])
        for c in json.loads(result.stdout)
    )
    assert checks == [
        ("bing", "2026-03-01", "ok", 7),
        ("bing", "2026-03-02", "ok", 7),
        ("bing", "2026-03-03", "ok", 7),
        ("google", "2026-03-01", "ok", 5),
        ("google", "2026-03-02", "blocked", 0),
        ("google", "2026-03-03", "ok", 9),
    ]
    listed = run(runner, "history", "replayed", "--json", "--db", db_url)
    rows = [r for r in json.loads(listed.stdout) if r["engine"] == "google"]
    blocked = [r for r in rows if r["status"] == "blocked"]
    assert len(blocked) == 1
    assert blocked[0]["url"] is None
    assert blocked[0]["error"] == (
        f"{pages / '2026-03-02' / 'acme-recall.html'}: a Google block page "
        "(captcha: unusual traffic), not a result page"
    )
    day3 = [r for r in rows if r["observed_at"].startswith("2026-03-03")]
    assert [(r["placement"], r["block"], r["rank"], r["url"], r["stance"]) for r in day3] == [
        ("paid", "top", 1, "https://www.acme.example/recall", "official"),
        ("paid", "top", 2, "https://claims.lawfirm.example/acme-kettle?src=gads", "neutral"),
        ("organic", None, 1, "https://news.example/2026/03/acme-recall", "neutral"),
        ("news", None, 1, "https://daily.example/business/acme-ceo-apology", "neutral"),
        ("news", None, 2, "https://www.tvnews.example/acme-kettle-recall", "neutral"),
        ("organic", None, 2, "https://www.acme.example/recall", "official"),
        ("people_also_ask", None, 1, "https://forum.example/t/acme-k2", "neutral"),
        ("organic", None, 3, "https://consumerwatch.example/acme/kettle-fires", "neutral"),
        (
            "paid",
            "bottom",
            3,
            "https://www.kettleshop.example/safe-kettles?utm_source=google",
            "neutral",
        ),
    ]
    assert {r["provider"] for r in rows} == {"replay"}
