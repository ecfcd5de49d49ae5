"""Operations as a user meets them: printed schedules that run, databases that are the right ones."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from serptrack.cli import cli

CAMPAIGN = """
[campaign]
name = "ops"
[defaults]
provider = "replay"
schedule = "1d"
[providers.replay]
path = "fixtures"
[[keywords]]
query = "acme"
"""

READS = [
    ["history", "ops", "--json"],
    ["status", "ops", "--json"],
    ["overtakes", "ops", "--json"],
    ["paid", "ops", "--json"],
    ["labels", "suggest", "ops", "--json"],
    ["report", "ops", "--format", "json", "--out", "-"],
    ["campaigns", "--json"],
]


def campaign_file(folder: Path) -> Path:
    (folder / "fixtures").mkdir(parents=True, exist_ok=True)
    path = folder / "ops.toml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    return path


@pytest.mark.sqlite_only
@pytest.mark.parametrize("args", READS, ids=lambda args: args[0])
def test_a_read_on_a_mistyped_database_names_it_and_creates_nothing(
    args: list[str], runner: CliRunner, tmp_path: Path
) -> None:
    typo = tmp_path / "serptrak.db"
    result = runner.invoke(cli, [*args, "--db", str(typo)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: no serptrack database at {typo}: create one with")
    assert not typo.exists()


@pytest.mark.sqlite_only
def test_the_default_database_is_not_created_by_a_read(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["campaigns"])
    assert result.exit_code == 1
    assert "no serptrack database at" in result.output
    assert not (tmp_path / "home" / "serptrack.db").exists()
    doctor = runner.invoke(cli, ["doctor", "--json"])
    assert doctor.exit_code == 0
    assert json.loads(doctor.output)["exists"] is False
    assert not (tmp_path / "home" / "serptrack.db").exists()


@pytest.mark.sqlite_only
def test_another_applications_sqlite_file_is_refused_untouched(
    runner: CliRunner, tmp_path: Path
) -> None:
    other = tmp_path / "photos.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE albums (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO albums (name) VALUES ('holidays')")
    connection.close()
    before = hashlib.sha256(other.read_bytes()).hexdigest()
    for args in (["campaigns"], ["apply", str(campaign_file(tmp_path))]):
        result = runner.invoke(cli, [*args, "--db", str(other)])
        assert result.exit_code == 1
        assert "is not a serptrack database (it has tables: albums)" in result.output
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before
    assert not other.with_name("photos.db-wal").exists()


def test_a_postgresql_url_without_its_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    result = runner.invoke(cli, ["campaigns", "--db", "postgresql+psycopg://u@db.invalid/x"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: cannot open database postgresql+psycopg://u@db.invalid/x: the PostgreSQL driver "
        "is not installed; install it with: pip install 'serptrack[postgres]'\n"
    )


@pytest.mark.sqlite_only
def test_the_printed_cron_line_runs_as_printed_elsewhere_on_a_fresh_account(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    assert (
        runner.invoke(cli, ["apply", str(campaign_file(project)), "--db", "ops.db"]).exit_code == 0
    )
    result = runner.invoke(cli, ["schedule", "--cron", "--db", "ops.db"])
    assert result.exit_code == 0
    line = result.stdout.strip()
    assert line.startswith("*/5 * * * * ")
    command = line.removeprefix("*/5 * * * * ")
    log = tmp_path / "home" / "cron.log"
    assert f"--db {project / 'ops.db'}" in command  # absolute, whatever the folder
    assert f">> {log} 2>&1" in command
    assert shlex.split(command)[4] == os.path.abspath(Path(sys.executable).parent / "serptrack")
    elsewhere, fresh_home = tmp_path / "elsewhere", tmp_path / "fresh-home"
    elsewhere.mkdir()
    fresh_home.mkdir()
    env = {
        "HOME": str(fresh_home),
        "PATH": "/usr/bin:/bin",
        "SERPTRACK_HOME": str(tmp_path / "home"),
    }
    os.rmdir(tmp_path / "home")  # the log folder does not exist yet
    ran = subprocess.run(
        ["sh", "-c", command], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert "cannot create" not in ran.stderr
    assert "1 checks: 0 ok, 1 failed or blocked" in log.read_text(encoding="utf-8")
    history = runner.invoke(cli, ["history", "ops", "--json", "--db", str(project / "ops.db")])
    [row] = json.loads(history.stdout)
    assert (row["query"], row["status"]) == ("acme", "failed")  # no fixture for today
    assert not (elsewhere / "ops.db").exists()


def test_systemd_units_name_absolute_paths(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["schedule", "--systemd", "--db", "data/ops.db"])
    assert result.exit_code == 0
    starts = [line for line in result.output.splitlines() if line.startswith("ExecStart=")]
    assert len(starts) == 2
    for start in starts:
        words = shlex.split(start.removeprefix("ExecStart="))
        assert Path(words[0]).is_absolute()
        assert words[words.index("--db") + 1] == str(tmp_path / "data" / "ops.db")


def test_relative_sqlite_urls_become_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serptrack import units

    monkeypatch.chdir(tmp_path)
    assert units.absolute_target("sqlite:///rel.db") == f"sqlite:///{tmp_path / 'rel.db'}"
    assert units.absolute_target("sqlite:////abs/x.db") == "sqlite:////abs/x.db"
    assert units.absolute_target("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert units.absolute_target("~/x.db") == str(Path.home() / "x.db")


def small_campaign(runner: CliRunner, tmp_path: Path, db: str) -> None:
    from tests.conftest import write_snapshot

    path = campaign_file(tmp_path)
    write_snapshot(
        tmp_path / "fixtures",
        "2026-03-31",
        "acme",
        [{"placement": "organic", "url": "https://news.example/acme"}],
        observed_at="2026-03-31T07:00:00Z",
    )
    assert runner.invoke(cli, ["apply", str(path), "--db", db]).exit_code == 0


def test_history_of_an_unknown_query_is_an_error_as_in_status(
    runner: CliRunner, tmp_path: Path, db_url: str
) -> None:
    small_campaign(runner, tmp_path, db_url)
    for command in ("history", "status"):
        result = runner.invoke(
            cli, [command, "ops", "--query", "acme typo", "--json", "--db", db_url]
        )
        assert result.exit_code == 1, command
        assert "no" in result.output and "'acme typo'" in result.output, command
        assert result.output.startswith("Error: campaign 'ops' has no"), command
        assert "[" not in result.output  # nothing printed before the error


def test_labels_suggest_before_any_check_says_so(
    runner: CliRunner, tmp_path: Path, db_url: str
) -> None:
    small_campaign(runner, tmp_path, db_url)
    result = runner.invoke(cli, ["labels", "suggest", "ops", "--db", db_url])
    assert result.exit_code == 0
    assert "No checks stored yet for ops: run `serptrack check ops`" in result.output
    assert "is labelled" not in result.output


def test_the_default_report_month_is_that_of_the_latest_successful_check(
    runner: CliRunner, tmp_path: Path, db_url: str
) -> None:
    small_campaign(runner, tmp_path, db_url)
    for day in ("2026-03-31", "2026-04-01"):  # no fixture for April 1st: a failed check
        runner.invoke(cli, ["check", "ops", "--as-of", f"{day}T07:00:00Z", "--db", db_url])
    result = runner.invoke(cli, ["report", "ops", "--format", "json", "--out", "-", "--db", db_url])
    assert result.exit_code == 0, result.output
    period = json.loads(result.stdout)["period"]
    assert (period["from"], period["to"]) == ("2026-03-01", "2026-03-31")


LIVE = """
[campaign]
name = "live"
[defaults]
provider = "serper"
[[keywords]]
query = "acme"
"""


@pytest.mark.parametrize(
    "args",
    [
        ["backfill", "live", "--from", "2026-03-01", "--to", "2026-03-03"],
        ["check", "live", "--as-of", "2026-03-01T07:00:00Z"],
        ["check", "live", "--due", "--as-of", "2026-03-01T07:00:00Z"],
    ],
    ids=["backfill", "check --as-of", "check --due --as-of"],
)
def test_a_live_api_is_not_asked_for_the_past(
    args: list[str], runner: CliRunner, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERPER_API_KEY", "test-key-not-used")
    path = tmp_path / "live.toml"
    path.write_text(LIVE, encoding="utf-8")
    assert runner.invoke(cli, ["apply", str(path), "--db", db_url]).exit_code == 0
    result = runner.invoke(cli, [*args, "--db", db_url])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "for past slots on live APIs (serper), which can only answer for now" in result.output
    assert "--allow-live-past" in result.output
    history = runner.invoke(cli, ["history", "live", "--json", "--db", db_url])
    assert json.loads(history.stdout) == []  # nothing paid, nothing stored


def test_only_past_tasks_on_live_apis_are_refused(tmp_path: Path) -> None:
    import dataclasses
    import datetime as dt

    from serptrack import tracker
    from serptrack.errors import LivePastError
    from serptrack.providers import SearchRequest, build_provider

    live = build_provider("serper", None, {"SERPER_API_KEY": "k"})
    replay = build_provider("replay", {"path": str(tmp_path)}, {})
    request = SearchRequest("acme", as_of=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    now = tracker.CheckTask("c", 1, "serper", request)
    past_replay = tracker.CheckTask("c", 2, "replay", request, past=True)
    providers = {("c", "serper"): live, ("c", "replay"): replay}
    tracker.refuse_live_past([now, past_replay], providers)
    with pytest.raises(LivePastError, match="1 check is for past slots"):
        tracker.refuse_live_past([dataclasses.replace(now, past=True), past_replay], providers)


def test_the_demo_stores_its_logo_by_name_not_by_site_packages_path(tmp_path: Path) -> None:
    from serptrack.campaign import load_campaign_file, logo_reference
    from serptrack.demo import demo_dir
    from serptrack.report.branding import branding_for

    spec = load_campaign_file(demo_dir() / "skype-2008" / "campaign.toml")
    assert spec.settings["report"]["logo"] == "resource:data/demo/skype-2008/logo.svg"
    branding = branding_for(spec.settings)
    assert branding.logo is not None and branding.logo.is_file()
    own = tmp_path / "logo.svg"
    own.write_text("<svg/>", encoding="utf-8")
    assert logo_reference(own) == str(own)


def test_verbose_says_which_database_a_command_opens(runner: CliRunner, db_url: str) -> None:
    from serptrack import store

    store.connect(db_url).dispose()
    result = runner.invoke(cli, ["-v", "campaigns", "--json", "--db", db_url])
    assert result.exit_code == 0
    assert result.stdout == "[]\n"
    shown = store.describe_target(store.database_url(db_url))
    assert result.stderr == f"Database: {shown}\n"
