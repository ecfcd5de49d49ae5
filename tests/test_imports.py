"""A command imports what it uses: help loads no subsystem, history no parser or HTTP client.

Each case runs in a fresh interpreter, since this test session has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from serptrack import __version__
from serptrack.cli import cli

# Runs ``cli`` on the arguments after the first, then writes the loaded modules (each, and its
# top-level package) to the file named by the first (stdout belongs to the command).
SCRIPT = """\
import json, sys
from serptrack.cli import cli
code = cli.main(sys.argv[2:], prog_name="serptrack", standalone_mode=False)
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump({"code": code or 0, "modules": sorted({*sys.modules, *(m.split(".")[0] for m in sys.modules)})}, out)
"""

SUBSYSTEMS = ("sqlalchemy", "sqlmodel", "alembic", "bs4", "lxml", "httpx", "plotly", "jinja2")
PARSING_HTTP_AND_REPORTS = ("bs4", "lxml", "httpx", "plotly", "jinja2")
VALIDATION_AND_DOMAINS = ("pydantic", "tldextract", "croniter", "tabulate")

CAMPAIGN = """\
[campaign]
name = "acme"

[providers.replay]
path = "fixtures"

[[keywords]]
query = "acme recall"
provider = "replay"
"""


def command_names(group: click.Group = cli, prefix: str = "") -> list[str]:
    """Every command and subcommand, as typed after ``serptrack``."""
    names = []
    for name, command in sorted(group.commands.items()):
        names.append(prefix + name)
        if isinstance(command, click.Group):
            names.extend(command_names(command, prefix + name + " "))
    return names


def loaded_packages(tmp_path: Path, *args: str) -> tuple[set[str], str]:
    """The top-level packages a fresh interpreter holds after ``serptrack ARGS``, and its stdout."""
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(report), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(report.read_text(encoding="utf-8"))
    assert found["code"] == 0, done.stdout + done.stderr
    return set(found["modules"]), done.stdout


def applied(
    tmp_path: Path, db_url: str, runner: CliRunner, snapshot_writer: Callable[..., Path]
) -> None:
    """CAMPAIGN applied to ``db_url``, with one replayed page for 2026-03-01."""
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(CAMPAIGN, encoding="utf-8")
    result = [{"url": "https://acme.example/", "placement": "organic", "rank": 1}]
    snapshot_writer(tmp_path / "fixtures", "2026-03-01", "acme recall", result)
    assert runner.invoke(cli, ["apply", str(campaign), "--db", db_url]).exit_code == 0


def assert_not_loaded(loaded: set[str], packages: tuple[str, ...]) -> None:
    """Fail naming every package of ``packages`` that was loaded."""
    assert sorted(loaded.intersection(packages)) == []


@pytest.mark.parametrize(
    "args",
    [["--help"], *([*name.split(), "--help"] for name in command_names())],
    ids=["serptrack", *command_names()],
)
def test_help_loads_no_subsystem(tmp_path: Path, args: list[str]) -> None:
    loaded, output = loaded_packages(tmp_path, *args)
    assert output.startswith("Usage: serptrack")
    assert_not_loaded(loaded, SUBSYSTEMS + VALIDATION_AND_DOMAINS)


def test_history_loads_no_parser_http_client_or_report(
    tmp_path: Path, db_url: str, runner: CliRunner, snapshot_writer: Callable[..., Path]
) -> None:
    applied(tmp_path, db_url, runner, snapshot_writer)
    checked = runner.invoke(cli, ["check", "--as-of", "2026-03-01T07:00:00Z", "--db", db_url])
    assert checked.exit_code == 0, checked.output

    loaded, output = loaded_packages(tmp_path, "history", "acme", "--json", "--db", db_url)

    assert [row["url"] for row in json.loads(output)] == ["https://acme.example/"]
    assert_not_loaded(loaded, (*PARSING_HTTP_AND_REPORTS, "alembic", "tldextract", "requests"))
    assert_not_loaded(loaded, ("serptrack.store.outbox", "serptrack.alerts"))  # no alerting


def test_campaigns_loads_no_parser_http_client_or_report(tmp_path: Path, db_url: str) -> None:
    from serptrack import store

    store.connect(db_url).dispose()
    loaded, output = loaded_packages(tmp_path, "campaigns", "--json", "--db", db_url)
    assert json.loads(output) == []
    assert_not_loaded(loaded, PARSING_HTTP_AND_REPORTS)


def test_providers_loads_no_database_parser_or_report(tmp_path: Path) -> None:
    loaded, output = loaded_packages(tmp_path, "providers", "--json")
    assert "replay" in {row["name"] for row in json.loads(output)}
    assert_not_loaded(
        loaded, (*SUBSYSTEMS[:5], "plotly", "jinja2", "tldextract", "pydantic", "asyncio")
    )
    assert "httpx" in loaded  # what it does need


def test_a_check_on_json_loads_no_page_parser_migration_tool_or_report(
    tmp_path: Path, db_url: str, runner: CliRunner, snapshot_writer: Callable[..., Path]
) -> None:
    applied(tmp_path, db_url, runner, snapshot_writer)

    loaded, output = loaded_packages(
        tmp_path, "check", "--as-of", "2026-03-01T07:00:00Z", "--json", "--db", db_url
    )

    assert [row["status"] for row in json.loads(output)] == ["ok"]
    assert_not_loaded(loaded, ("alembic", "mako", "bs4", "lxml", "soupsieve", "plotly", "jinja2"))


def test_python_m_serptrack_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "serptrack", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, f"serptrack, version {__version__}\n")
