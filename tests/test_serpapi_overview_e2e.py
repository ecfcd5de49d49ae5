"""A deferred SerpApi AI overview end to end: check --record over loopback, then its replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from serptrack import store
from serptrack.cli import cli
from serptrack.models import Check

from .loopback_server import Reply, Seen, base_url, json_reply, loopback
from .providers_support import fixture, fixture_json
from .test_secrets import forms

KEY = "sk-serpapi-LEAK-9999"
AS_OF = "2026-03-03T07:00:00Z"
LABELS = '[labels]\nofficial = ["acme.example"]\ncritical = ["lawfirm.example", "news.example"]\n'


def campaign(folder: Path, name: str, provider: str, setting: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        f'[campaign]\nname = "{name}"\n[defaults]\nprovider = "{provider}"\ncountry = "us"\n'
        f'language = "en"\n[providers.{provider}]\n{setting}\n[[keywords]]\n'
        f'query = "acme recall"\n{LABELS}',
        encoding="utf-8",
    )
    return path


def serpapi(overview_status: int) -> Any:
    """SerpApi on loopback: the search defers its overview; the follow-up echoes the key."""

    def route(seen: Seen) -> Reply:
        if seen.query.get("engine") == "google":
            return Reply(body=fixture("serpapi", "deferred.json"))
        assert seen.query["engine"] == "google_ai_overview" and seen.query["page_token"]
        if overview_status != 200:
            return json_reply({"error": "Invalid page_token."}, overview_status)
        doc = fixture_json("serpapi", "ai_overview.json")
        doc["ai_overview"]["references"][2]["title"] = f"Recall (key {seen.query['api_key']})"
        return json_reply(doc)

    return route


def run(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(cli, list(args))
    return result


def rows(runner: CliRunner, name: str, db: Path) -> list[dict[str, Any]]:
    result = run(runner, "history", name, "--db", str(db), "--json")
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def live_then_replay(
    runner: CliRunner, tmp_path: Path, overview_status: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Path]:
    db, recorded = tmp_path / "t.db", tmp_path / "recorded"
    with loopback(serpapi(overview_status)) as server:
        path = campaign(tmp_path, "live", "serpapi", f'base_url = "{base_url(server)}"')
        assert run(runner, "apply", str(path), "--db", str(db)).exit_code == 0
        checked = run(
            runner, "check", "--db", str(db), "--record", str(recorded), "--as-of", AS_OF,
            "--allow-live-past", "--json",
        )  # fmt: skip
    assert checked.exit_code == 0, checked.output
    (outcome,) = json.loads(checked.stdout)
    assert (outcome["status"], outcome["error"]) == ("ok", None)  # SPEC: error null when ok
    assert (outcome["incomplete"] is None) == (overview_status == 200)
    # the search and its follow-up: two SerpApi searches billed (a refused follow-up: one)
    assert outcome["pages"] == (2 if overview_status == 200 else 1)
    replay = campaign(tmp_path, "replayed", "replay", f'path = "{recorded}"')
    assert run(runner, "apply", str(replay), "--db", str(db)).exit_code == 0
    replayed = run(runner, "check", "replayed", "--db", str(db), "--as-of", AS_OF)
    assert replayed.exit_code == 0, replayed.output
    gap_line = "  ok but incomplete: 1 (e.g. SerpApi deferred the AI overview (page_token) and"
    assert (gap_line in replayed.stderr) == (overview_status != 200)
    return rows(runner, "live", db), rows(runner, "replayed", db), db


def stored(history: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("placement", "block", "rank", "page_position", "url", "title", "stance", "status")
    return [tuple(row[key] for key in keys) for row in history]


def test_deferred_overview_is_stored_recorded_and_replayed(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERPAPI_API_KEY", KEY)
    live, replayed, db = live_then_replay(runner, tmp_path, 200)
    cited = [(r["rank"], r["url"], r["stance"]) for r in live if r["placement"] == "ai_overview"]
    assert cited == [
        (1, "https://news.example/2026/03/acme-recall", "critical"),
        (2, "https://lawfirm.example/acme-class-action", "critical"),
        (3, "https://acme.example/recall", "official"),
    ]
    assert {r["error"] for r in live} == {r["incomplete"] for r in live} == {None}
    assert stored(replayed) == stored(live)
    recordings = [p for p in (tmp_path / "recorded").rglob("*") if p.is_file()]
    (recording,) = recordings
    document = json.loads(recording.read_bytes())
    assert document["format"] == "serptrack-pages/1" and len(document["pages"]) == 2
    blobs = {p.name: p.read_bytes() for p in tmp_path.glob("t.db*")}
    blobs[recording.name] = recording.read_bytes()
    engine = store.connect(str(db))
    with Session(engine) as session:
        check_ids = list(session.exec(select(Check.id)))
        payloads = store.load_payloads(session, check_ids[0])  # type: ignore[arg-type]
        assert len(payloads) == 2  # the follow-up is one more request, one more payload row
        blobs.update({f"payload {n}": body for n, (_, body) in enumerate(payloads)})
    engine.dispose()
    assert any(r["title"] == "Recall (key ***)" for r in live)
    for form in forms(KEY):
        for where, blob in blobs.items():
            assert form.encode() not in blob, f"{form!r} leaked into {where}"


def test_failed_overview_keeps_the_check_ok_and_says_so(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERPAPI_API_KEY", KEY)
    live, replayed, _ = live_then_replay(runner, tmp_path, 400)  # a 400 is not retried
    assert {r["status"] for r in live} == {"ok"}
    assert not [r for r in live if r["placement"] == "ai_overview"]
    assert len([r for r in live if r["placement"] == "organic"]) == 10
    assert {r["error"] for r in live} == {None}  # SPEC: error is null when ok
    (error,) = {r["incomplete"] for r in live}
    assert error.startswith(
        "SerpApi deferred the AI overview (page_token) and its request failed: SerpApi returned "
        "an error: Invalid page_token. (HTTP 400)"
    )
    assert error.endswith("its sources are unknown, not absent")
    # The recording holds the result page alone; its replay still knows the overview is missing.
    (replayed_error,) = {r["incomplete"] for r in replayed}
    assert "and it was not fetched" in replayed_error
    assert stored(replayed) == stored(live)
