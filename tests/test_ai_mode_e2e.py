"""An AI-mode keyword end to end: SerpApi on loopback, ``check --record``, ``history --json``,
then the recording replayed next to the same query's Google result page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from serptrack.cli import cli

from .loopback_server import Reply, Seen, base_url, loopback
from .providers_support import fixture

KEY = "sk-serpapi-AIMODE-4242"
AS_OF = "2026-03-03T07:00:00Z"
LABELS = (
    '[labels]\nofficial = ["acme.example"]\n'
    'critical = ["news.example", "consumerwatch.example/acme/*"]\n'
)


def campaign(folder: Path, name: str, provider: str, setting: str) -> Path:
    """One query tracked twice: Google's result page and Google AI mode."""
    path = folder / f"{name}.toml"
    path.write_text(
        f'[campaign]\nname = "{name}"\n[defaults]\nprovider = "{provider}"\ncountry = "us"\n'
        f'language = "en"\n[providers.{provider}]\n{setting}\n'
        '[[keywords]]\nquery = "acme recall"\n'
        '[[keywords]]\nquery = "acme recall"\nengine = "google_ai_mode"\n'
        f"{LABELS}",
        encoding="utf-8",
    )
    return path


def serpapi(seen: Seen) -> Reply:
    """SerpApi on loopback: a Google result page or an AI-mode answer, by ``engine``."""
    assert seen.query["api_key"] == KEY
    if seen.query["engine"] == "google_ai_mode":
        assert "start" not in seen.query and seen.query["q"] == "acme recall"
        return Reply(body=fixture("serpapi", "ai_mode.json"))
    assert seen.query["engine"] == "google"
    return Reply(body=fixture("serpapi", "no_ads.json"))


def invoke(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def history(runner: CliRunner, name: str, db: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        invoke(runner, "history", name, "--db", str(db), "--json").stdout
    )
    return found


def cited(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (row["rank"], row["page_position"], row["url"], row["stance"], row["status"])
        for row in rows
        if row["placement"] == "ai_mode"
    ]


def test_ai_mode_sources_are_stored_labelled_recorded_and_replayed(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERPAPI_API_KEY", KEY)
    db, recorded = tmp_path / "t.db", tmp_path / "recorded"
    with loopback(serpapi) as server:
        path = campaign(tmp_path, "live", "serpapi", f'base_url = "{base_url(server)}"')
        invoke(runner, "apply", str(path), "--db", str(db))
        checked = invoke(
            runner, "check", "--db", str(db), "--record", str(recorded), "--as-of", AS_OF,
            "--allow-live-past", "--json",
        )  # fmt: skip
    outcomes = json.loads(checked.stdout)
    assert sorted((o["status"], o["results"], o["error"]) for o in outcomes) == [
        ("ok", 4, None),  # the answer's four distinct sources
        ("ok", 8, None),  # the result page's organic results
    ]
    live = history(runner, "live", db)
    assert cited(live) == [
        (1, 1, "https://news.example/2026/03/acme-recall", "critical", "ok"),
        (2, 2, "https://acme.example/recall", "official", "ok"),
        (3, 3, "https://consumerwatch.example/acme/kettle-fires", "critical", "ok"),
        (4, 4, "https://www.reddit.com/r/appliances/comments/acme_kettle/", "neutral", "ok"),
    ]
    assert len([row for row in live if row["placement"] == "organic"]) == 8
    # Both keywords recorded side by side, neither overwriting the other.
    names = sorted(p.name for p in recorded.rglob("*") if p.is_file())
    assert names == [
        "acme-recall.google_ai_mode.us-en-desktop.json",
        "acme-recall.us-en-desktop.json",
    ]
    for file in recorded.rglob("*.json"):
        assert KEY.encode() not in file.read_bytes()

    table = invoke(runner, "status", "live", "--db", str(db)).stdout.splitlines()
    assert [line.split("  ")[0] for line in table[2:4]] == [
        "acme recall",
        "acme recall [google_ai_mode]",
    ]
    replay = campaign(tmp_path, "replayed", "replay", f'path = "{recorded}"')
    invoke(runner, "apply", str(replay), "--db", str(db))
    invoke(runner, "check", "replayed", "--db", str(db), "--as-of", AS_OF)
    replayed = history(runner, "replayed", db)
    assert cited(replayed) == cited(live)
    organic = [(r["rank"], r["url"]) for r in replayed if r["placement"] == "organic"]
    assert organic == [(r["rank"], r["url"]) for r in live if r["placement"] == "organic"]


def test_an_ai_mode_answer_imports_onto_the_ai_mode_keyword(
    runner: CliRunner, tmp_path: Path
) -> None:
    db = tmp_path / "t.db"
    folder = tmp_path / "fixtures"
    folder.mkdir()
    path = campaign(tmp_path, "imported", "replay", f'path = "{folder}"')
    invoke(runner, "apply", str(path), "--db", str(db))
    answer = tmp_path / "answer.json"
    answer.write_bytes(fixture("dataforseo", "ai_mode.json"))
    invoke(
        runner, "import-serp", str(answer), "--campaign", "imported", "--query", "acme recall",
        "--observed-at", AS_OF, "--db", str(db),
    )  # fmt: skip
    rows = history(runner, "imported", db)
    assert [(r["rank"], r["stance"]) for r in rows if r["placement"] == "ai_mode"] == [
        (1, "critical"),
        (2, "official"),
        (3, "critical"),
        (4, "neutral"),
    ]
