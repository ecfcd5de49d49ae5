"""Every command: help, JSON shapes, and the errors a user meets first."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from serptrack import __version__, store
from serptrack.cli import cli


def all_commands(group: click.Group = cli, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, prefix + name + " "))
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(), ids=[n for n, _ in all_commands()])
def test_every_command_has_help_with_an_example(
    runner: CliRunner, name: str, command: click.Command
) -> None:
    result = runner.invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert command.help and command.help.strip()
    if not isinstance(command, click.Group):
        assert "Example: serptrack " in result.output


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.output == f"serptrack, version {__version__}\n"


def test_listing_commands_accept_json(runner: CliRunner, db_url: str) -> None:
    db = db_url
    store.connect(db).dispose()
    for args in (["campaigns"], ["doctor"], ["providers"]):
        result = runner.invoke(
            cli, [*args, "--json", *(["--db", db] if args[0] != "providers" else [])]
        )
        assert result.exit_code == 0, result.output
        json.loads(result.output)


def test_providers_json_names_keys_but_never_values(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(cli, ["providers", "--json"])
    rows = json.loads(result.output)
    replay = next(r for r in rows if r["name"] == "replay")
    assert replay == {
        "name": "replay",
        "description": "recorded snapshots, API payloads or saved pages replayed from a folder",
        "configured": True,
        "key_env": [],
        "missing": [],
        "placements": [
            "organic",
            "paid",
            "news",
            "ai_overview",
            "featured_snippet",
            "video",
            "local",
            "perspectives",
            "people_also_ask",
            "knowledge_panel",
            "ai_answer",
            "ai_mode",
        ],
        "engines": [
            "google",
            "bing",
            "duckduckgo",
            "brave",
            "searxng",
            "google_ai_mode",
            "perplexity",
            "openai",
        ],
        "uses_http": False,
        "notes": "needs no key; [providers.replay] path is relative to the campaign file",
    }


@pytest.mark.sqlite_only
def test_doctor_on_a_fresh_database(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    store.connect(str(db)).dispose()
    result = runner.invoke(cli, ["doctor", "--db", str(db)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Database: sqlite:///{db} (sqlite, schema ")
    assert (
        lines[1]
        == f"Default database: {tmp_path / 'home' / 'serptrack.db'} (override with --db or SERPTRACK_DB)"
    )
    assert "Campaigns: none yet (serptrack apply FILE)" in lines


@pytest.mark.sqlite_only
def test_doctor_honours_serptrack_db(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERPTRACK_DB", str(tmp_path / "env.db"))
    result = runner.invoke(cli, ["doctor", "--json"])
    assert json.loads(result.output)["database"] == f"sqlite:///{tmp_path / 'env.db'}"


def test_unknown_campaign(runner: CliRunner, db_url: str) -> None:
    store.connect(db_url).dispose()
    result = runner.invoke(cli, ["history", "nope", "--db", db_url])
    assert result.exit_code == 1
    assert (
        result.output == "Error: no campaign named 'nope'; create it with: serptrack apply FILE\n"
    )


def test_check_without_any_campaign(runner: CliRunner, db_url: str) -> None:
    result = runner.invoke(cli, ["check", "--db", db_url])
    assert (result.exit_code, result.output) == (
        1,
        "Error: no campaigns yet: create one with `serptrack apply FILE`\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "c", "--as-of", "tomorrow"], "'tomorrow' is not an ISO 8601 datetime"),
        (
            ["backfill", "c", "--from", "2026-03-32", "--to", "2026-04-01"],
            "'2026-03-32' is not a date",
        ),
        (["backfill", "c", "--from", "2026-03-05", "--to", "2026-03-01"], "--to is before --from"),
        (["backfill", "c", "--from", "2026-03-05"], "Missing option '--to'"),
        (["history", "c", "--json", "--csv"], "use --json or --csv, not both"),
        (["history", "c", "--from", "2026-03-05", "--to", "2026-03-01"], "--to is before --from"),
        (["check", "c", "--concurrency", "0"], "0 is not in the range 1<=x<=500"),
    ],
)
def test_usage_errors_exit_2(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(cli, [*args, "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert message in result.output


def test_demo_runs_offline_and_replaces_its_own_database(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    for _ in range(2):
        result = runner.invoke(
            cli, ["demo", "--db", str(db), "--out", str(tmp_path / "reports"), "--json"]
        )
        assert result.exit_code == 0, result.output
        summary = json.loads(result.output)
        campaign = summary["campaigns"][0]
        assert (campaign["campaign"], campaign["keywords"], campaign["checks"], campaign["ok"]) == (
            "skype-2008",
            5,
            245,
            238,
        )
        assert {f["query"] for f in campaign["failed"]} == {
            "skype china",
            "skype censorship",
            "tom-skype",
            "skype privacy",
            "skype",
        }
    history = runner.invoke(cli, ["history", "skype-2008", "--db", str(db), "--json"])
    assert len({row["check_id"] for row in json.loads(history.output)}) == 245


def test_demo_refuses_to_overwrite_a_real_database(runner: CliRunner, tmp_path: Path) -> None:
    campaign = tmp_path / "c.toml"
    (tmp_path / "fx").mkdir()
    campaign.write_text(
        '[campaign]\nname="mine"\n[providers.replay]\npath="fx"\n[[keywords]]\nquery="q"\nprovider="replay"\n'
    )
    db = tmp_path / "mine.db"
    assert runner.invoke(cli, ["apply", str(campaign), "--db", str(db)]).exit_code == 0
    result = runner.invoke(cli, ["demo", "--db", str(db)])
    assert result.exit_code == 1
    assert (
        result.output
        == f"Error: {db} holds campaigns other than the demo's (mine); choose another --db\n"
    )
    assert "mine" in runner.invoke(cli, ["campaigns", "--db", str(db)]).output
