"""Alert channels: webhook, Slack and email senders, the address guard, retrying delivery.

Webhooks go to a real HTTP server on 127.0.0.1 (``loopback_server``), email to a real SMTP
server (``smtp_support``); the address guard and Slack are also checked through
``httpx.MockTransport`` with an injected resolver, so no test leaves 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import json
import re
import shutil
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import serptrack
from serptrack.alerts.channels import (
    Attempt,
    Resolver,
    backoff_delay,
    deliver,
    refused_address,
    resolve_host,
    send,
    slack_text,
)
from serptrack.alerts.message import SCHEMA, Alert
from serptrack.alerts.settings import Channel, EmailChannel, SlackChannel, WebhookChannel

from .loopback_server import Attempts, Reply, Seen, base_url, json_reply, loopback
from .smtp_support import Mailbox, free_port, self_signed, smtp_server

NOW = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
SECRET = "whsec-signing-key-0123456789"
TOKEN = "T0123/B0456/XoXoSecretToken789"
PUBLIC_IP = "93.184.215.14"


def now() -> dt.datetime:
    return NOW


def public(host: str, port: int) -> list[str]:
    return [PUBLIC_IP]


@pytest.fixture
def alert() -> Alert:
    return Alert(
        id="evt-1",
        campaign="acme",
        rule="rule-1:overtake",
        kind="overtake",
        text="A critical result now outranks the official response for acme recall.",
        query="acme recall",
        country="us",
        language="en",
        device="desktop",
        view="organic",
        at=dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
        check_id=7,
        url="https://acme.example/recall",
        position=4,
        official_url="https://acme.example/recall",
        official_position=4,
        critical_url="https://news.example/acme-scandal",
        critical_position=2,
    )


@pytest.fixture
def hostile() -> Alert:
    """An alert whose every string comes from a stranger's result page."""
    return Alert(
        id="evt-2",
        campaign="acme",
        rule="rule-2:new-url",
        kind="new-url",
        text="New: <!channel> <https://evil.example|click here> & <script>alert(1)</script> >",
        query="acme <b>recall</b>",
        url="https://evil.example/a|b>c?x=<script>&y=1",
        position=1,
        critical_url="javascript:alert(1)",
        critical_position=2,
    )


@pytest.fixture(autouse=True)
def numeric_lookups_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DNS from these tests: a lookup reads IP literals only (``2130706433`` included)."""
    real = socket.getaddrinfo

    def numeric(
        host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Any:
        return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", numeric)
    # smtplib names itself in EHLO with getfqdn(), a reverse lookup
    monkeypatch.setattr(socket, "getfqdn", lambda name="": "localhost")


class LoopbackOnly(httpx.HTTPTransport):
    """The real transport, for 127.0.0.1 only: a test bug cannot reach the network."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == "127.0.0.1", f"a test tried to reach {request.url.host}"
        return super().handle_request(request)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    # trust_env=False: a proxy set in the environment must not take these requests elsewhere
    with httpx.Client(transport=LoopbackOnly(), trust_env=False) as http:
        yield http


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler), trust_env=False)


def no_request(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request may be made, got {request.method} {request.url}")


def hook(name: str = "ops", *, secret: bool = False, allow_private: bool = True) -> WebhookChannel:
    return WebhookChannel(
        name=name,
        url_env="HOOK_URL",
        secret_env="HOOK_SECRET" if secret else None,
        allow_private=allow_private,
    )


def attempt_once(
    channel: Channel,
    alert: Alert,
    environ: dict[str, str],
    client: httpx.Client,
    *,
    resolve: Resolver = resolve_host,
) -> Attempt:
    return send(
        channel, alert, environ=environ, client=client, timeout=2.0, now=now, resolve=resolve
    )


def ok_route(seen: Seen) -> Reply:
    return Reply(200, b'{"ok":true}')


# --- webhook: body and signature ---------------------------------------------------------


def test_webhook_posts_the_raw_body_signed(alert: Alert, client: httpx.Client) -> None:
    with loopback(ok_route) as server:
        environ = {"HOOK_URL": f"{base_url(server)}/hooks/{TOKEN}", "HOOK_SECRET": SECRET}
        attempt = attempt_once(hook(secret=True), alert, environ, client)
    assert attempt.ok and attempt.status_code == 200 and attempt.error is None
    assert attempt.channel == "ops" and attempt.at == NOW and attempt.duration >= 0
    (seen,) = server.seen
    assert seen.method == "POST" and seen.path == f"/hooks/{TOKEN}"
    assert seen.body == alert.raw_body()
    assert json.loads(seen.body)["schema"] == SCHEMA == "serptrack-alert/1"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"] == f"serptrack/{serptrack.__version__}"
    assert seen.headers["host"] == f"127.0.0.1:{server.server_address[1]}"
    stamp = seen.headers["x-serptrack-timestamp"]
    assert stamp == str(int(NOW.timestamp()))
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + seen.body, hashlib.sha256)
    assert seen.headers["x-serptrack-signature"] == f"sha256={expected.hexdigest()}"


def test_webhook_without_secret_env_is_not_signed(alert: Alert, client: httpx.Client) -> None:
    with loopback(ok_route) as server:
        environ = {"HOOK_URL": f"{base_url(server)}/hook"}
        attempt = attempt_once(hook(), alert, environ, client)
    assert attempt.ok
    (seen,) = server.seen
    assert seen.body == alert.raw_body()
    assert "x-serptrack-signature" not in seen.headers
    assert "x-serptrack-timestamp" not in seen.headers


# --- the address guard -------------------------------------------------------------------


def test_loopback_is_refused_without_allow_private(alert: Alert, client: httpx.Client) -> None:
    with loopback(ok_route) as server:
        url = f"{base_url(server)}/hooks/{TOKEN}"
        attempt = attempt_once(hook(allow_private=False), alert, {"HOOK_URL": url}, client)
    assert server.seen == []
    assert not attempt.ok and not attempt.retryable and attempt.status_code is None
    assert attempt.error is not None
    assert "127.0.0.1" in attempt.error and "allow_private" in attempt.error
    assert url not in attempt.error and TOKEN not in attempt.error


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.5"],
        ["169.254.169.254"],
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["0.0.0.0"],
        ["fc00::1"],
        ["fe80::1%eth0"],
        ["100.64.0.1"],
        ["224.0.0.1"],
        ["64:ff9b::7f00:1"],
        [PUBLIC_IP, "192.168.1.10"],  # one private answer among public ones is enough
    ],
)
def test_a_name_resolving_to_a_private_address_is_refused(
    alert: Alert, addresses: list[str]
) -> None:
    lookups: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append((host, port))
        return addresses

    with mock_client(no_request) as client:
        attempt = attempt_once(
            hook(allow_private=False),
            alert,
            {"HOOK_URL": f"https://hooks.example.com/{TOKEN}"},
            client,
            resolve=resolve,
        )
    assert lookups == [("hooks.example.com", 443)]
    assert not attempt.ok and not attempt.retryable
    assert attempt.error is not None and "hooks.example.com" in attempt.error
    assert TOKEN not in attempt.error


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/hook", "http://[::1]:8080/hook", "http://[::ffff:7f00:1]/hook"]
)
def test_an_ip_literal_is_checked_without_a_lookup(alert: Alert, url: str) -> None:
    def resolve(host: str, port: int) -> list[str]:
        raise AssertionError("an IP literal needs no lookup")

    with mock_client(no_request) as client:
        attempt = attempt_once(
            hook(allow_private=False), alert, {"HOOK_URL": url}, client, resolve=resolve
        )
    assert not attempt.ok and not attempt.retryable
    assert attempt.error is not None and "allow_private" in attempt.error


def test_an_odd_spelling_of_loopback_is_caught_by_the_lookup(alert: Alert) -> None:
    # httpx takes 2130706433 for a name; getaddrinfo reads it as 127.0.0.1 (no DNS involved)
    with mock_client(no_request) as client:
        attempt = attempt_once(
            hook(allow_private=False), alert, {"HOOK_URL": "http://2130706433/hook"}, client
        )
    assert not attempt.ok and not attempt.retryable
    assert attempt.error is not None and "127.0.0.1" in attempt.error


@pytest.mark.parametrize(
    ("url", "address", "request_host", "host_header", "sni"),
    [
        (
            f"https://hooks.example.com/services/{TOKEN}?a=1",
            PUBLIC_IP,
            PUBLIC_IP,
            "hooks.example.com",
            "hooks.example.com",
        ),
        (
            "http://hooks.example.com:8080/hook",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "hooks.example.com:8080",
            None,
        ),
    ],
)
def test_the_request_goes_to_the_vetted_address(
    alert: Alert, url: str, address: str, request_host: str, host_header: str, sni: str | None
) -> None:
    seen: list[httpx.Request] = []
    lookups: list[tuple[str, int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    def resolve(host: str, port: int) -> list[str]:
        lookups.append((host, port))
        return [address]

    with mock_client(handler) as client:
        attempt = attempt_once(
            hook(allow_private=False),
            alert,
            {"HOOK_URL": url},
            client,
            resolve=resolve,
        )
    assert attempt.ok and attempt.status_code == 204
    assert len(lookups) == 1  # one lookup: the address vetted is the address used
    (request,) = seen
    original = httpx.URL(url)
    assert request.url.host == request_host
    assert request.url.scheme == original.scheme and request.url.port == original.port
    assert request.url.raw_path == original.raw_path
    assert request.headers["host"] == host_header
    assert request.extensions.get("sni_hostname") == sni
    assert request.content == alert.raw_body()
    if ":" in request_host:
        assert f"[{request_host}]" in str(request.url)


def test_a_failed_lookup_is_retryable(alert: Alert) -> None:
    def resolve(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with mock_client(no_request) as client:
        attempt = attempt_once(
            hook(), alert, {"HOOK_URL": "https://nowhere.example/hook"}, client, resolve=resolve
        )
    assert not attempt.ok and attempt.retryable
    assert attempt.error is not None and "cannot resolve host nowhere.example" in attempt.error


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/x", "file:///etc/passwd", "hooks"])
def test_only_http_urls(alert: Alert, url: str) -> None:
    with mock_client(no_request) as client:
        attempt = attempt_once(hook(), alert, {"HOOK_URL": url, "HOOK_SECRET": SECRET}, client)
    assert not attempt.ok and not attempt.retryable
    assert attempt.error is not None and "HOOK_URL" in attempt.error


def test_refused_address() -> None:
    assert not refused_address(PUBLIC_IP)
    assert not refused_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    for address in ("127.0.0.1", "10.0.0.1", "::", "::ffff:10.0.0.1", "2002:7f00:1::1", "x"):
        assert refused_address(address), address


# --- answers ------------------------------------------------------------------------------


def test_a_redirect_is_not_followed(alert: Alert, client: httpx.Client) -> None:
    def route(seen: Seen) -> Reply:
        return Reply(302, b"", {"Location": "http://127.0.0.1:1/elsewhere"})

    with loopback(route) as server:
        environ = {"HOOK_URL": f"{base_url(server)}/hook"}
        attempts = deliver(
            hook(),
            alert,
            environ=environ,
            client=client,
            deadline=time.monotonic() + 10,
            sleep=lambda s: None,
        )
    assert len(server.seen) == 1
    (attempt,) = attempts
    assert not attempt.ok and not attempt.retryable and attempt.status_code == 302
    assert attempt.error is not None and "redirect" in attempt.error


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def scripted(*replies: Reply) -> Callable[[Seen], Reply]:
    """A route answering the replies in turn, then the last one forever."""
    counter = Attempts()

    def route(seen: Seen) -> Reply:
        number = counter.next("all")
        return replies[min(number, len(replies)) - 1]

    return route


def deliver_to(
    route: Callable[[Seen], Reply],
    alert: Alert,
    client: httpx.Client,
    clock: FakeClock,
    *,
    deadline: float = 100.0,
    rand: Callable[[], float] = lambda: 0.5,
    max_attempts: int = 4,
) -> tuple[list[Attempt], list[Seen]]:
    with loopback(route) as server:
        environ = {"HOOK_URL": f"{base_url(server)}/hook", "HOOK_SECRET": SECRET}
        attempts = deliver(
            hook(secret=True),
            alert,
            environ=environ,
            client=client,
            deadline=clock.t + deadline,
            monotonic=clock.monotonic,
            sleep=clock.sleep,
            now=now,
            random=rand,
            max_attempts=max_attempts,
        )
    return attempts, server.seen


def test_a_500_is_retried_until_a_200(alert: Alert, client: httpx.Client) -> None:
    clock = FakeClock()
    attempts, seen = deliver_to(scripted(Reply(500), Reply(200)), alert, client, clock)
    assert [(a.ok, a.status_code, a.retryable) for a in attempts] == [
        (False, 500, True),
        (True, 200, False),
    ]
    assert len(seen) == 2 and seen[0].body == seen[1].body == alert.raw_body()
    assert clock.sleeps == [0.25]  # full jitter: random() * 0.5


def test_a_404_is_not_retried(alert: Alert, client: httpx.Client) -> None:
    clock = FakeClock()
    attempts, seen = deliver_to(scripted(Reply(404, b"no such hook")), alert, client, clock)
    (attempt,) = attempts
    assert not attempt.ok and not attempt.retryable and attempt.status_code == 404
    assert attempt.error is not None and "no such hook" in attempt.error
    assert len(seen) == 1 and clock.sleeps == []


def test_retry_after_is_honoured(alert: Alert, client: httpx.Client) -> None:
    clock = FakeClock()
    busy = json_reply({"error": "slow down"}, 429, **{"Retry-After": "2"})
    attempts, _ = deliver_to(scripted(busy, Reply(200)), alert, client, clock, rand=lambda: 0.1)
    assert attempts[0].retry_after == 2.0 and attempts[0].retryable
    assert attempts[-1].ok
    assert len(clock.sleeps) == 1 and clock.sleeps[0] >= 2.0


def test_retry_after_as_an_http_date(alert: Alert, client: httpx.Client) -> None:
    clock = FakeClock()
    later = email.utils.format_datetime(NOW + dt.timedelta(seconds=7), usegmt=True)
    busy = Reply(503, b"", {"Retry-After": later})
    attempts, _ = deliver_to(scripted(busy, Reply(200)), alert, client, clock)
    assert attempts[0].retry_after == 7.0
    assert clock.sleeps == [7.0]


def test_a_retry_after_past_the_deadline_stops_delivery(alert: Alert, client: httpx.Client) -> None:
    clock = FakeClock()
    busy = Reply(503, b"", {"Retry-After": "120"})
    attempts, seen = deliver_to(scripted(busy), alert, client, clock, deadline=60)
    (attempt,) = attempts
    assert not attempt.ok and attempt.retryable and attempt.retry_after == 120
    assert clock.sleeps == [] and len(seen) == 1


def test_backoff_doubles_with_full_jitter(alert: Alert, client: httpx.Client) -> None:
    clock = FakeClock()
    draws = iter([1.0, 0.5, 0.25])
    attempts, seen = deliver_to(
        scripted(Reply(502)), alert, client, clock, rand=lambda: next(draws)
    )
    assert len(attempts) == 4 and len(seen) == 4 and not any(a.ok for a in attempts)
    assert clock.sleeps == [0.5 * 1.0, 1.0 * 0.5, 2.0 * 0.25]


def test_backoff_delay_range() -> None:
    for attempt in range(1, 12):
        step = min(30.0, 0.5 * 2 ** (attempt - 1))
        assert backoff_delay(attempt, lambda: 0.0) == 0.0
        assert backoff_delay(attempt, lambda: 0.999) == pytest.approx(0.999 * step)
    assert backoff_delay(20, lambda: 1.0) == 30.0


def test_each_attempt_is_capped_by_the_time_left(alert: Alert) -> None:
    timeouts: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"]["read"])
        return httpx.Response(200)

    with mock_client(handler) as client:
        deliver(
            hook(secret=True),
            alert,
            environ={"HOOK_URL": "https://hooks.example.com/x", "HOOK_SECRET": SECRET},
            client=client,
            deadline=time.monotonic() + 1.5,
            resolve=public,
            timeout=10.0,
        )
    (timeout,) = timeouts
    assert 0 < timeout <= 1.5


def test_a_receiver_that_never_answers_cannot_hold_delivery_past_the_deadline(
    alert: Alert, client: httpx.Client
) -> None:
    with loopback(lambda seen: Reply(200, delay=5.0)) as server:
        environ = {"HOOK_URL": f"{base_url(server)}/hooks/{TOKEN}", "HOOK_SECRET": SECRET}
        started = time.monotonic()
        attempts = deliver(
            hook(secret=True),
            alert,
            environ=environ,
            client=client,
            deadline=started + 1.0,
            now=now,
        )
        elapsed = time.monotonic() - started
    assert elapsed < 3.0
    assert attempts, "at least one attempt is made"
    last = attempts[-1]
    assert not last.ok and last.retryable and last.status_code is None
    assert last.error is not None and "no answer" in last.error and TOKEN not in last.error


# --- missing variables and secrets --------------------------------------------------------


def test_a_missing_url_variable(alert: Alert) -> None:
    with mock_client(no_request) as client:
        for environ in ({}, {"HOOK_URL": ""}, {"HOOK_URL": "  "}):
            attempt = attempt_once(hook(), alert, environ, client)
            assert not attempt.ok and not attempt.retryable
            assert attempt.error is not None
            assert "'ops'" in attempt.error and "HOOK_URL" in attempt.error
            assert "export" in attempt.error


def test_a_missing_secret_variable(alert: Alert) -> None:
    url = f"https://hooks.example.com/{TOKEN}"
    with mock_client(no_request) as client:
        attempt = attempt_once(hook(secret=True), alert, {"HOOK_URL": url}, client, resolve=public)
    assert not attempt.ok and not attempt.retryable
    assert attempt.error is not None and "HOOK_SECRET" in attempt.error
    assert url not in attempt.error and TOKEN not in attempt.error


def echo(status: int, padding: int) -> Callable[[Seen], Reply]:
    """A hostile receiver quoting back what it got (path and headers, secrets included),
    after ``padding`` characters: a secret can sit where a long error would be cut."""

    def route(seen: Seen) -> Reply:
        doc = {"pad": "x" * padding, "got": seen.path, "headers": seen.headers}
        return Reply(status, json.dumps(doc).encode())

    return route


def assert_no_secret(attempt: Attempt, url: str) -> None:
    assert not attempt.ok
    assert attempt.error is not None and "\n" not in attempt.error
    for secret in (url, TOKEN, SECRET, "XoXoSecretToken789", "SecretToken"):
        assert secret not in attempt.error, attempt.error


@pytest.mark.parametrize(("status", "padding"), [(500, 0), (404, 0), (500, 200), (400, 230)])
def test_no_secret_in_an_answer_quoted_back(
    alert: Alert, client: httpx.Client, status: int, padding: int
) -> None:
    with loopback(echo(status, padding)) as server:
        url = f"{base_url(server)}/hooks/{TOKEN}"
        environ = {"HOOK_URL": url, "HOOK_SECRET": SECRET}
        attempt = attempt_once(hook(secret=True), alert, environ, client)
    assert attempt.status_code == status
    assert_no_secret(attempt, url)


def _raising(exc: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc(f"failed on {request.url} with key {SECRET}", request=request)

    return handler


@pytest.mark.parametrize(
    ("case", "url"),
    [
        ("closed-port", "http://127.0.0.1:{port}/hooks/{token}"),
        ("private", "http://127.0.0.1:{port}/hooks/{token}"),
        ("connect-error", "https://hooks.example.com/hooks/{token}"),
        ("read-error", "https://hooks.example.com/hooks/{token}"),
        ("timeout", "https://hooks.example.com/hooks/{token}"),
        ("scheme", "ftp://hooks.example.com/hooks/{token}"),
        ("invalid", "http://hooks.example.com:99999999/hooks/{token}"),
    ],
)
def test_no_secret_in_any_failure(alert: Alert, client: httpx.Client, case: str, url: str) -> None:
    url = url.format(port=free_port(), token=TOKEN)
    failures = {
        "connect-error": httpx.ConnectError,
        "read-error": httpx.ReadError,
        "timeout": httpx.ReadTimeout,
    }
    if case in failures:
        http = mock_client(_raising(failures[case]))
    elif case in ("scheme", "invalid"):
        http = mock_client(no_request)
    else:
        http = client  # 127.0.0.1 only
    channel = hook(secret=True, allow_private=case != "private")
    environ = {"HOOK_URL": url, "HOOK_SECRET": SECRET}
    attempt = attempt_once(channel, alert, environ, http, resolve=public)
    assert_no_secret(attempt, url)


# --- Slack --------------------------------------------------------------------------------


def slack(allow_private: bool = False) -> SlackChannel:
    return SlackChannel(name="team", url_env="SLACK_URL", allow_private=allow_private)


SLACK_URL = "https://hooks.slack.com/services/T000/B000/slackSecretToken"


def slack_send(alert: Alert, response: httpx.Response) -> tuple[Attempt, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response

    with mock_client(handler) as client:
        attempt = attempt_once(slack(), alert, {"SLACK_URL": SLACK_URL}, client, resolve=public)
    return attempt, seen


def test_slack_posts_the_facts(alert: Alert) -> None:
    attempt, seen = slack_send(alert, httpx.Response(200, text="ok"))
    assert attempt.ok
    (request,) = seen
    assert request.headers["host"] == "hooks.slack.com"
    assert request.extensions["sni_hostname"] == "hooks.slack.com"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert set(body) == {"text"}
    text = body["text"]
    assert text == slack_text(alert)
    for fact in ("acme", "overtake", "acme recall", alert.text, "4", "2"):
        assert fact in text
    assert "<https://acme.example/recall|https://acme.example/recall>" in text
    assert "<https://news.example/acme-scandal|https://news.example/acme-scandal>" in text


def test_slack_text_escapes_everything_from_data(hostile: Alert) -> None:
    text = slack_text(hostile)
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "<https://evil.example|click here>" not in text
    assert "&amp; " in text and "&lt;b&gt;recall&lt;/b&gt;" in text
    # the only <...> left are our links: a web URL, no | inside it, and an escaped label
    links = re.findall(r"<([^>]*)>", text)
    assert links == [
        "https://evil.example/a%7Cb&gt;c?x=&lt;script&gt;&amp;y=1"
        "|https://evil.example/a|b&gt;c?x=&lt;script&gt;&amp;y=1"
    ]
    assert "<javascript" not in text and "javascript:alert(1)" in text
    assert "<!" not in text and "<@" not in text and "<#" not in text


def test_slack_ok_and_refusals(hostile: Alert) -> None:
    attempt, _ = slack_send(hostile, httpx.Response(200, text="ok"))
    assert attempt.ok
    for status, said in ((400, "invalid_payload"), (403, "invalid_token"), (404, "no_service")):
        attempt, seen = slack_send(hostile, httpx.Response(status, text=said))
        assert len(seen) == 1 and not attempt.ok and not attempt.retryable, status
        assert attempt.error is not None and said in attempt.error
        assert "slackSecretToken" not in attempt.error
    attempt, _ = slack_send(hostile, httpx.Response(410, text="channel_is_archived"))
    assert not attempt.retryable and attempt.status_code == 410


def test_slack_429_is_retried_after_its_wait(alert: Alert) -> None:
    replies = iter(
        [
            httpx.Response(429, headers={"Retry-After": "3"}, text="rate_limited"),
            httpx.Response(200, text="ok"),
        ]
    )
    clock = FakeClock()
    with mock_client(lambda request: next(replies)) as client:
        attempts = deliver(
            slack(),
            alert,
            environ={"SLACK_URL": SLACK_URL},
            client=client,
            deadline=clock.t + 60,
            monotonic=clock.monotonic,
            sleep=clock.sleep,
            random=lambda: 0.0,
            resolve=public,
        )
    assert [a.status_code for a in attempts] == [429, 200]
    assert attempts[0].retryable and attempts[0].retry_after == 3.0
    assert clock.sleeps == [3.0]


def test_slack_guard_refuses_private(alert: Alert, client: httpx.Client) -> None:
    with loopback(ok_route) as server:
        attempt = attempt_once(slack(), alert, {"SLACK_URL": f"{base_url(server)}/x"}, client)
    assert server.seen == [] and not attempt.ok and not attempt.retryable


# --- email --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make a test certificate")
    return self_signed(tmp_path_factory.mktemp("tls"))


def mail(port: int, **options: object) -> EmailChannel:
    settings: dict[str, object] = {
        "name": "client",
        "to": ("crisis@acme.example", "pr@acme.example"),
        "sender": "alerts@agency.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "starttls": False,
        **options,
    }
    return EmailChannel(**settings)  # type: ignore[arg-type]


def email_once(
    channel: EmailChannel,
    alert: Alert,
    environ: dict[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Attempt:
    with mock_client(no_request) as client:
        return send(
            channel,
            alert,
            environ=environ or {},
            client=client,
            timeout=5.0,
            now=now,
            ssl_context=ssl_context,
        )


def parts(box: Mailbox) -> tuple[str, str]:
    (message,) = box.messages
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    return plain.get_content(), rich.get_content()


def test_email_has_a_text_and_an_html_part(alert: Alert) -> None:
    with smtp_server() as box:
        attempt = email_once(mail(box.port), alert)
    assert attempt.ok and attempt.status_code == 250 and attempt.error is None
    (message,) = box.messages
    assert message["Subject"] == alert.subject
    assert message["From"] == "alerts@agency.example"
    assert message["To"] == "crisis@acme.example, pr@acme.example"
    assert message["Message-ID"].endswith("@agency.example>")
    assert email.utils.parsedate_to_datetime(message["Date"]) == NOW
    assert box.envelopes == [("alerts@agency.example", ["crisis@acme.example", "pr@acme.example"])]
    plain, rich = parts(box)
    assert alert.text in plain and "https://news.example/acme-scandal" in plain
    assert '<a href="https://news.example/acme-scandal">' in rich


def test_email_html_is_escaped(hostile: Alert) -> None:
    with smtp_server() as box:
        attempt = email_once(mail(box.port), hostile)
    assert attempt.ok
    plain, rich = parts(box)
    assert hostile.text in plain  # plain text is shown as text: nothing to escape
    assert "<script>" not in rich and "<b>" not in rich and "<!channel>" not in rich
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rich
    assert 'href="https://evil.example/a|b&gt;c?x=&lt;script&gt;&amp;y=1"' in rich
    assert 'href="javascript' not in rich and "javascript:alert(1)" in rich


def test_email_over_starttls_with_login(alert: Alert, certificate: tuple[Path, Path]) -> None:
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    users = {"alerts@agency.example": "smtp-pass-4567"}
    with smtp_server(tls=certificate, users=users) as box:
        channel = mail(
            box.port, starttls=True, username="alerts@agency.example", password_env="SMTP_PASSWORD"
        )
        attempt = email_once(channel, alert, {"SMTP_PASSWORD": "smtp-pass-4567"}, trust)
        wrong = email_once(channel, alert, {"SMTP_PASSWORD": "not-the-password"}, trust)
        untrusted = email_once(channel, alert, {"SMTP_PASSWORD": "smtp-pass-4567"})
        plain = email_once(mail(box.port), alert)
    assert attempt.ok, attempt.error
    assert box.logins == [("alerts@agency.example", "smtp-pass-4567")]
    assert len(box.messages) == 1 and box.messages[0]["Subject"] == alert.subject

    assert not wrong.ok and not wrong.retryable and wrong.status_code == 535
    assert wrong.error is not None and "SMTP_PASSWORD" in wrong.error
    assert "not-the-password" not in wrong.error

    assert not untrusted.ok and untrusted.error is not None
    assert "certificate" in untrusted.error

    # the server requires STARTTLS: a channel without it gets a final 5xx
    assert not plain.ok and not plain.retryable and plain.status_code == 530


def test_email_missing_password_variable(alert: Alert) -> None:
    channel = mail(free_port(), username="alerts@agency.example", password_env="SMTP_PASSWORD")
    attempt = email_once(channel, alert, {})
    assert not attempt.ok and not attempt.retryable
    assert attempt.error is not None and "SMTP_PASSWORD" in attempt.error


@pytest.mark.parametrize(
    ("where", "reply", "retryable"),
    [
        ("data", "451 4.3.0 Try again later", True),
        ("data", "550 5.7.1 Rejected as spam", False),
        ("rcpt", "450 4.2.1 Mailbox busy", True),
        ("rcpt", "550 5.1.1 No such user", False),
    ],
)
def test_email_server_refusals(alert: Alert, where: str, reply: str, retryable: bool) -> None:
    with smtp_server() as box:
        if where == "data":
            box.data_reply = reply
        else:
            box.rcpt_reply = reply
        attempt = email_once(mail(box.port), alert)
    assert not attempt.ok and attempt.retryable is retryable
    assert attempt.status_code == int(reply[:3])
    assert attempt.error is not None and "client" in attempt.error


def test_email_to_a_closed_port_is_retryable(alert: Alert) -> None:
    attempt = email_once(mail(free_port()), alert)
    assert not attempt.ok and attempt.retryable and attempt.status_code is None
    assert attempt.error is not None and "127.0.0.1" in attempt.error
