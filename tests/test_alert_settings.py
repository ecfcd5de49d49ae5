"""The ``[alerts]`` tables at apply (SPEC section 7): what is refused, in one line naming the
key and its line; what is only a warning; what is stored (variable names, never values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from serptrack import store
from serptrack.alerts.settings import from_settings, parse_cooldown
from serptrack.campaign import load_campaign_file
from serptrack.cli import cli
from serptrack.errors import CampaignFileError

BASE = """\
[campaign]
name = "acme"

[defaults]
provider = "replay"

[providers.replay]
path = "."

[[keywords]]
query = "acme recall"
"""

OPS = """
[alerts.channels.ops]
type = "webhook"
url_env = "ACME_HOOK_URL"
"""


def parse(tmp_path: Path, alerts: str, environ: dict[str, str] | None = None) -> object:
    path = tmp_path / "campaign.toml"
    path.write_text(BASE + alerts, encoding="utf-8")
    return load_campaign_file(path, environ=environ or {})


def refused(tmp_path: Path, alerts: str) -> str:
    with pytest.raises(CampaignFileError) as caught:
        parse(tmp_path, alerts)
    message = str(caught.value)
    assert "\n" not in message
    return message.split(": ", 1)[1]  # without the file name


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        (
            OPS + '\n[[alerts.rules]]\non = "overtakes"\nchannels = ["ops"]\n',
            "alerts.rules #1.on (line 18): unknown alert kind 'overtakes' (known: overtake, lost, "
            "critical-enters, official-leaves, new-url, critical-in-feature, critical-share, "
            'own-ad-missing, failing); did you mean "overtake"?',
        ),
        (
            OPS + '\n[[alerts.rules]]\non = "lost"\nchannels = ["ops", "team"]\n',
            "alerts.rules #1.channels (line 19): no channel named 'team' (defined: ops); define "
            "it under [alerts.channels.team]",
        ),
        (
            OPS + '\n[[alerts.rules]]\non = "overtake"\ntop = 3\nchannels = ["ops"]\n',
            "alerts.rules #1.top (line 19): 'top' does not apply to 'overtake' rules (only to "
            "critical-enters, official-leaves, new-url)",
        ),
        (
            OPS
            + '\n[[alerts.rules]]\non = "failing"\nchannels = ["ops"]\nqueries = ["acme recal"]\n',
            "alerts.rules #1.queries (line 20): 'acme recal' is not a keyword of this campaign",
        ),
        (
            OPS + '\n[[alerts.rules]]\non = "failing"\nchannels = []\n',
            "alerts.rules #1.channels (line 19): List should have at least 1 item after "
            "validation, not 0 (got [])",
        ),
        (
            '\n[alerts.channels.ops]\ntype = "webhook"\n',
            "alerts.channels.ops (line 13): a webhook channel needs 'url_env'",
        ),
        (
            '\n[alerts.channels.team]\ntype = "slack"\nurl_env = "S"\nsecret_env = "K"\n',
            "alerts.channels.team.secret_env (line 16): 'secret_env' is not a setting of a slack "
            "channel (it is a setting of webhook channels)",
        ),
        (
            '\n[alerts.channels.mail]\ntype = "email"\nfrom = "a@b.example"\nsmtp_host = "h"\n',
            "alerts.channels.mail (line 13): an email channel needs 'to'",
        ),
        (
            '\n[alerts.channels.mail]\ntype = "email"\nto = ["crisis"]\nfrom = "a@b.example"\n'
            'smtp_host = "h"\n',
            "alerts.channels.mail.to (line 15): 'crisis' is not an email address",
        ),
        (
            '\n[alerts.channels.mail]\ntype = "email"\nto = ["c@acme.example"]\n'
            'from = "a@b.example"\nsmtp_host = "h"\nusername = "u"\npassword_env = "P"\n'
            "starttls = false\n",
            "alerts.channels.mail.starttls (line 20): logging in without STARTTLS would send the "
            "password in clear; set starttls = true",
        ),
        (
            '\n[alerts.channels.mail]\ntype = "email"\nto = ["c@acme.example"]\n'
            'from = "a@b.example"\nsmtp_host = "h"\nusername = "u"\n',
            "alerts.channels.mail (line 13): username and password_env go together: set both "
            "to log in, or neither",
        ),
        (
            '\n[alerts.channels.ops]\ntype = "pager"\nurl_env = "X"\n',
            "alerts.channels.ops.type (line 14): Input should be 'webhook', 'slack' or 'email' "
            "(got 'pager')",
        ),
        (
            OPS
            + '\n[[alerts.rules]]\non = "lost"\nname = "x"\nchannels = ["ops"]\n'
            + '\n[[alerts.rules]]\non = "overtake"\nname = "x"\nchannels = ["ops"]\n',
            "alerts.rules #2.name (line 24): another rule is named 'x'; give each rule its own name",
        ),
        (
            '\n[alerts]\ncooldown = "six hours"\n',
            "alerts.cooldown (line 14): cooldown 'six hours' is not a duration; write e.g. \"6h\", "
            '"30m" or 0',
        ),
    ],
)
def test_refused_in_one_line_naming_the_key(tmp_path: Path, alerts: str, message: str) -> None:
    assert refused(tmp_path, alerts) == message


def test_a_url_pasted_as_a_variable_name_is_refused_without_quoting_it(tmp_path: Path) -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
    message = refused(tmp_path, f'\n[alerts.channels.team]\ntype = "slack"\nurl_env = "{url}"\n')
    assert message == (
        "alerts.channels.team.url_env (line 15): url_env names an environment variable "
        "(e.g. ACME_WEBHOOK_URL), not its value; put the value in a variable and write the "
        "variable's name here"
    )
    assert "SECRET" not in message and "hooks.slack.com" not in message


def test_unset_variables_are_warnings_not_errors(tmp_path: Path) -> None:
    spec = parse(
        tmp_path,
        OPS
        + 'secret_env = "ACME_HOOK_SECRET"\n\n[[alerts.rules]]\non = "lost"\nchannels = ["ops"]\n',
        environ={"ACME_HOOK_SECRET": "s3cr3t-value"},
    )
    assert spec.warnings == [  # type: ignore[attr-defined]
        "alert channel 'ops' needs ACME_HOOK_URL in the environment (not set here); set it "
        "where checks run (export ACME_HOOK_URL=...)"
    ]


def test_settings_store_names_and_come_back_whole(tmp_path: Path) -> None:
    spec = parse(
        tmp_path,
        '\n[alerts]\ncooldown = "6h"\ndaily_cap = 20\n'
        + OPS
        + 'secret_env = "ACME_HOOK_SECRET"\nallow_private = true\n'
        '\n[alerts.channels.mail]\ntype = "email"\nto = ["c@acme.example", "d@acme.example"]\n'
        'from = "a@agency.example"\nsmtp_host = "smtp.agency.example"\nsmtp_port = 2525\n'
        'username = "a@agency.example"\npassword_env = "SMTP_PASSWORD"\n'
        '\n[[alerts.rules]]\non = "overtake"\nname = "lead-won"\nview = "organic"\nhold = 2\n'
        'channels = ["ops", "mail"]\nqueries = ["acme recall"]\n'
        '\n[[alerts.rules]]\non = "critical-share"\npoints = 15\nchannels = ["mail"]\n',
    )
    alerts = spec.alerts  # type: ignore[attr-defined]
    assert alerts.cooldown_seconds == 6 * 3600 and alerts.daily_cap == 20
    assert [r.key for r in alerts.rules] == ["lead-won", "critical-share#2"]
    assert alerts.rules[0].views == ("organic",) and alerts.rules[0].hold == 2
    assert alerts.rules[1].points == 15
    stored = json.loads(json.dumps(spec.settings["alerts"]))  # type: ignore[attr-defined]
    assert from_settings(stored) == alerts
    assert stored["channels"]["mail"]["password_env"] == "SMTP_PASSWORD"
    assert stored["channels"]["mail"]["to"] == ["c@acme.example", "d@acme.example"]


def test_apply_stores_the_alerts_and_a_second_apply_changes_nothing(
    tmp_path: Path, runner: CliRunner, db_url: str
) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(BASE + OPS + '\n[[alerts.rules]]\non = "lost"\nchannels = ["ops"]\n')
    first = runner.invoke(cli, ["apply", str(path), "--db", db_url, "--json"])
    assert first.exit_code == 0, first.output
    assert "ACME_HOOK_URL" in first.stderr  # the warning
    again = runner.invoke(cli, ["apply", str(path), "--db", db_url, "--json"])
    assert json.loads(again.stdout)["changed"] is False
    path.write_text(BASE + OPS + '\n[[alerts.rules]]\non = "overtake"\nchannels = ["ops"]\n')
    changed = runner.invoke(cli, ["apply", str(path), "--db", db_url, "--json"])
    assert json.loads(changed.stdout)["changed"] is True
    engine = store.connect(db_url)
    from sqlmodel import Session

    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme")
        assert [r.on for r in from_settings(campaign.settings["alerts"]).rules] == ["overtake"]
    engine.dispose()


@pytest.mark.parametrize(
    ("text", "seconds"), [(0, 0), ("0", 0), (90, 90), ("30m", 1800), ("6h", 21600), ("2d", 172800)]
)
def test_cooldowns(text: str | int, seconds: int) -> None:
    assert parse_cooldown(text) == seconds
