"""Alerts through every channel type from the CLI, against real servers on 127.0.0.1 (a
webhook receiver, a Slack-shaped one, an aiosmtpd SMTP server with STARTTLS and login), and
the secrets they use kept out of everything serptrack writes."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner, Result

from serptrack.cli import cli
from serptrack.models import utcnow
from tests.alert_scenario import DAYS, write_scenario
from tests.loopback_server import Reply, Seen, base_url, loopback
from tests.smtp_support import self_signed, smtp_server

HOOK_TOKEN = "hook-T0KEN-8c1d5e"
SLACK_TOKEN = "xoxb-SLACK-T0KEN-77aa"
SIGNING = "whsec-SIGNING-4b2f"
PASSWORD = "smtp-PASS-w0rd-91"

CHANNELS = """
[alerts.channels.ops]
type = "webhook"
url_env = "ACME_HOOK_URL"
secret_env = "ACME_HOOK_SECRET"
allow_private = true

[alerts.channels.team]
type = "slack"
url_env = "ACME_SLACK_URL"
allow_private = true

[alerts.channels.client]
type = "email"
to = ["crisis@acme.example"]
from = "alerts@agency.example"
smtp_host = "localhost"
smtp_port = {port}
username = "alerts@agency.example"
password_env = "SMTP_PASSWORD"
"""


def campaign(folder: Path, smtp_port: int, rules_on: str = '["ops", "team", "client"]') -> Path:
    path = write_scenario(folder)
    text = path.read_text()
    head, _, rest = text.partition("[alerts.channels.ops]")
    rules = rest[rest.index("[[alerts.rules]]") :].replace('["ops"]', rules_on)
    path.write_text(head + CHANNELS.format(port=smtp_port) + "\n" + rules)
    return path


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args))


class Recorder:
    def __init__(self, status: int = 200, body: bytes = b"ok") -> None:
        self.status, self.body = status, body
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    def __call__(self, seen: Seen) -> Reply:
        with self.lock:
            self.seen.append(seen)
        return Reply(self.status, self.body, {"Content-Type": "text/plain"})


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, trusted by this process's default context."""
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # read by each ssl.create_default_context()
    return cert, key


def test_every_channel_gets_the_events_escaped_for_its_format(
    runner: CliRunner, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, tls: Any
) -> None:
    hook, slack = Recorder(), Recorder()
    with (
        loopback(hook) as hook_server,
        loopback(slack) as slack_server,
        smtp_server(tls=tls, users={"alerts@agency.example": PASSWORD}) as mailbox,
    ):
        monkeypatch.setenv("ACME_HOOK_URL", f"{base_url(hook_server)}/{HOOK_TOKEN}")
        monkeypatch.setenv("ACME_HOOK_SECRET", SIGNING)
        monkeypatch.setenv("ACME_SLACK_URL", f"{base_url(slack_server)}/services/{SLACK_TOKEN}")
        monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
        path = campaign(tmp_path, mailbox.port)
        assert run(runner, "apply", str(path), "--db", db_url).exit_code == 0
        for day in DAYS[:2]:  # day 2: critical-in-feature
            result = run(
                runner, "check", "acme-alerts", "--as-of", f"{day}T07:00:00Z", "--db", db_url
            )
            assert result.exit_code == 0, result.output
        tested = run(runner, "alerts", "test", "acme-alerts", "--db", db_url)
    assert "Alerts: 3 sent." in result.stderr  # one event, three channels
    assert tested.exit_code == 0, tested.output
    assert sorted(tested.stdout.splitlines()) == ["client: sent", "ops: sent", "team: sent"]
    assert len(hook.seen) == 2 and len(slack.seen) == 2 and len(mailbox.messages) == 2
    assert mailbox.logins == [("alerts@agency.example", PASSWORD)] * 2
    text = json.loads(slack.seen[0].body)["text"]
    assert "critical-in-feature" in text and "acme recall" in text
    assert "<https://watchdog.example/acme|" in text
    message = mailbox.messages[0]
    assert message["To"] == "crisis@acme.example"
    assert "critical-in-feature" in message["Subject"]
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "https://watchdog.example/acme" in plain.get_content()
    assert 'href="https://watchdog.example/acme"' in html.get_content()


HOSTILE = "https://evil.example/<script>alert(1)</script>?a=1&b=<!channel>|x"


def test_text_from_result_pages_is_escaped_in_slack_and_email(
    runner: CliRunner, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, tls: Any
) -> None:
    slack = Recorder()
    with (
        loopback(slack) as slack_server,
        smtp_server(tls=tls, users={"alerts@agency.example": PASSWORD}) as mailbox,
    ):
        monkeypatch.setenv("ACME_SLACK_URL", f"{base_url(slack_server)}/services/{SLACK_TOKEN}")
        monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
        path = campaign(tmp_path, mailbox.port, rules_on='["team", "client"]')
        text = path.read_text().replace(
            'critical = ["news.example", "watchdog.example"]',
            'critical = ["news.example", "watchdog.example", "evil.example"]',
        )
        path.write_text(text)
        assert run(runner, "apply", str(path), "--db", db_url).exit_code == 0
        fixtures = tmp_path / "fixtures" / DAYS[1]
        page = json.loads((fixtures / "acme-recall.json").read_text())
        page["results"].append({"placement": "news", "url": HOSTILE, "title": "<b>x</b>"})
        (fixtures / "acme-recall.json").write_text(json.dumps(page))
        for day in DAYS[:2]:
            run(runner, "check", "acme-alerts", "--as-of", f"{day}T07:00:00Z", "--db", db_url)
    bodies = [json.loads(seen.body)["text"] for seen in slack.seen]
    hostile = next(body for body in bodies if "evil.example" in body)
    assert "<script>" not in hostile and "<!channel>" not in hostile
    assert "&lt;script&gt;" in hostile and "&lt;!channel&gt;" in hostile
    html = [m.get_body(("html",)) for m in mailbox.messages]
    content = next(
        part.get_content() for part in html if part and "evil.example" in part.get_content()
    )
    assert "<script>" not in content and "&lt;script&gt;" in content


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def test_no_secret_reaches_output_the_database_or_the_attempts(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls: Any
) -> None:
    db = tmp_path / "secrets.db"
    failing_hook = Recorder(500, f"bad token {HOOK_TOKEN}".encode())  # echoes its own URL
    refusing_slack = Recorder(403, f"invalid_token {SLACK_TOKEN}".encode())
    outputs: dict[str, str] = {}
    with (
        loopback(failing_hook) as hook_server,
        loopback(refusing_slack) as slack_server,
        smtp_server(tls=tls, users={"alerts@agency.example": "another password"}) as mailbox,
    ):
        monkeypatch.setenv("ACME_HOOK_URL", f"{base_url(hook_server)}/{HOOK_TOKEN}")
        monkeypatch.setenv("ACME_HOOK_SECRET", SIGNING)
        monkeypatch.setenv("ACME_SLACK_URL", f"{base_url(slack_server)}/services/{SLACK_TOKEN}")
        monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)  # refused: 535
        path = campaign(tmp_path, mailbox.port)
        outputs["apply"] = run(runner, "apply", str(path), "--db", str(db)).output
        for day in DAYS[:6]:
            result = run(
                runner, "-v", "check", "acme-alerts", "--as-of", f"{day}T07:00:00Z", "--db", str(db)
            )
            outputs[f"check {day}"] = result.output
        outputs["send"] = run(runner, "alerts", "send", "--db", str(db), "--budget", "2").output
        outputs["test"] = run(runner, "alerts", "test", "acme-alerts", "--db", str(db)).output
        for fmt in ("--json", "--csv"):
            outputs[f"list {fmt}"] = run(
                runner, "alerts", "list", "acme-alerts", "--db", str(db), fmt
            ).output
        outputs["list"] = run(runner, "alerts", "list", "acme-alerts", "--db", str(db)).output
        # a webhook to a private address, refused: its error names the host only
        monkeypatch.setenv("ACME_HOOK_URL", f"http://10.0.0.1:9/{HOOK_TOKEN}")
        outputs["refused"] = run(runner, "alerts", "test", "acme-alerts", "--db", str(db)).output
    assert failing_hook.seen and refusing_slack.seen  # they were tried and failed
    listed = json.loads(outputs["list --json"])
    errors = [d["last_error"] for e in listed for d in e["deliveries"] if d["last_error"]]
    assert any("500" in error for error in errors) and any("403" in error for error in errors)
    assert any("535" in error for error in errors)
    blobs = {str(p): p.read_bytes() for p in tmp_path.glob("secrets.db*")}
    for secret in (HOOK_TOKEN, SLACK_TOKEN, SIGNING, PASSWORD):
        for form in forms(secret):
            for where, output in outputs.items():
                assert form not in output, f"{form!r} leaked into {where}"
            for where, blob in blobs.items():
                assert form.encode() not in blob, f"{form!r} leaked into {where}"


def test_the_readme_receiver_accepts_signed_alerts_and_refuses_forged_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import http.server
    import re
    import time

    import httpx

    from serptrack.alerts import channels
    from serptrack.alerts.message import Alert
    from serptrack.alerts.settings import WebhookChannel

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    code = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if "Hook" in b)
    assert len(code.strip().splitlines()) <= 10
    servers: list[http.server.HTTPServer] = []

    class Loopback(http.server.HTTPServer):
        def __init__(self, _address: Any, handler: Any) -> None:
            super().__init__(("127.0.0.1", 0), handler)
            servers.append(self)

    monkeypatch.setattr(http.server, "HTTPServer", Loopback)
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", SIGNING)
    thread = threading.Thread(target=exec, args=(code, {}), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not servers:  # the snippet is serving (or it failed: then the thread is gone)
        assert thread.is_alive() and time.monotonic() < deadline, (
            "the README receiver did not start"
        )
        time.sleep(0.01)
    url = f"http://127.0.0.1:{servers[0].server_address[1]}/"
    alert = Alert(id="e1", campaign="acme", rule="overtake#1", kind="overtake", text="it works")
    channel = WebhookChannel("ops", "HOOK_URL", "HOOK_SECRET", allow_private=True)
    try:
        with httpx.Client() as client:
            signed = channels.send(
                channel,
                alert,
                environ={"HOOK_URL": url, "HOOK_SECRET": SIGNING},
                client=client,
                timeout=5,
                now=utcnow,
            )
            forged = channels.send(
                channel,
                alert,
                environ={"HOOK_URL": url, "HOOK_SECRET": "not-the-secret"},
                client=client,
                timeout=5,
                now=utcnow,
            )
    finally:
        servers[0].shutdown()
    assert (signed.ok, signed.status_code) == (True, 204)
    assert (forged.ok, forged.status_code) == (False, 401)
    assert "it works" in capsys.readouterr().out
