"""Sending one alert to one channel (SPEC section 7), and retrying it within a deadline.

    deliver(channel, alert, deadline=...)   attempts until a success, a final failure,
    │                                       ``max_attempts`` or the deadline; full-jitter
    │                                       backoff, ``Retry-After`` honoured, never a sleep
    │                                       that would end past the deadline
    └── send(channel, alert)                one attempt, always an :class:`Attempt`
        ├── webhook   POST of ``alert.raw_body()``, HMAC-signed with ``secret_env``
        ├── slack     POST of ``{"text": <mrkdwn>}`` (:func:`slack_text`)
        └── email     SMTP, STARTTLS and login, a text and an HTML part (:func:`email_message`)

HTTP channels read their URL from the environment at send time and pass the address guard:
the host is resolved once, every address must be public (unless ``allow_private``), and the
request goes to the vetted address itself, with the real name as ``Host`` and TLS SNI, so a
second DNS answer cannot point it elsewhere (DNS rebinding). Redirects are never followed.

A URL, a signing key and a password are secrets: no :attr:`Attempt.error` holds one, in any
spelling (:func:`serptrack.redaction.redact`); an error names the variable, at most the host.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import html
import ipaddress
import json
import random as _random
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx

import serptrack

from ..fetch import parse_retry_after
from ..redaction import redact
from ..snapshot import format_datetime
from .message import Alert
from .settings import Channel, EmailChannel, SlackChannel, WebhookChannel

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_MAX",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "Attempt",
    "Resolver",
    "backoff_delay",
    "deliver",
    "email_message",
    "refused_address",
    "resolve_host",
    "secrets_of",
    "send",
    "slack_text",
]

#: a callable turning ``(host, port)`` into the IP addresses to connect to
Resolver = Callable[[str, int], list[str]]

#: seconds one attempt may take at most (less when the deadline is nearer)
DEFAULT_TIMEOUT = 10.0
#: the first backoff step, doubled after each failed attempt, and its cap (seconds)
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0
#: bytes of an error answer read, to quote the receiver's reason (``no_service``)
_SNIPPET_BYTES = 2048
#: the longest error kept (cut after the secrets are masked)
_ERROR_CHARS = 400
#: an attempt with less time than this left is not worth starting
_MIN_ATTEMPT = 0.05

_VERSION: str | None = getattr(serptrack, "__version__", None)
USER_AGENT = f"serptrack/{_VERSION}" if _VERSION else "serptrack"


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt of one alert to one channel, as it is recorded."""

    channel: str
    at: dt.datetime
    ok: bool
    status_code: int | None
    error: str | None
    retryable: bool
    retry_after: float | None
    duration: float


@dataclass(frozen=True)
class _Result:
    """What a sender found; :func:`send` adds the channel, the times and the redaction."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None


def _failure(error: str, *, retryable: bool, status_code: int | None = None) -> _Result:
    return _Result(ok=False, status_code=status_code, error=error, retryable=retryable)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def resolve_host(host: str, port: int) -> list[str]:
    """The IP addresses ``host`` resolves to (``socket.getaddrinfo``), first seen first."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# --- the address guard -------------------------------------------------------------------


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> Iterator[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 one carries (mapped, 6to4, Teredo, NAT64)."""
    if ip.ipv4_mapped is not None:
        yield ip.ipv4_mapped
    if ip.sixtofour is not None:
        yield ip.sixtofour
    if ip.teredo is not None:
        yield from ip.teredo
    if ip in _NAT64:
        yield ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def refused_address(address: str) -> bool:
    """Whether ``address`` is not a public unicast address (loopback, private, link-local,
    multicast, reserved, unspecified, or an IPv6 form of one); an unreadable one is refused."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and any(
        _not_public(inner) for inner in _embedded_ipv4(ip)
    ):
        return True
    return _not_public(ip)


@dataclass(frozen=True)
class _Target:
    """Where a channel's URL points: its host, and the request URL for each vetted address."""

    host: str
    host_header: str
    https: bool
    urls: tuple[httpx.URL, ...]


def _ip_url(url: httpx.URL, address: str) -> httpx.URL:
    # A scope ("fe80::1%eth0") cannot be written in a URL; only link-local addresses have one.
    return url.copy_with(host=address.split("%", 1)[0])


def _target(
    name: str, variable: str, raw: str, resolve: Resolver, *, allow_private: bool
) -> _Target | _Result:
    """The vetted target of URL ``raw`` (read from ``variable``), or why there is none."""
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        return _failure(
            f"channel {name!r}: {variable} does not hold a valid URL; check the variable",
            retryable=False,
        )
    if url.port is not None and not 0 < url.port < 65536:
        return _failure(
            f"channel {name!r}: the URL in {variable} has a port out of range; check the variable",
            retryable=False,
        )
    if url.scheme not in ("http", "https") or not url.raw_host:
        return _failure(
            f"channel {name!r}: the URL in {variable} must start with http:// or https:// "
            "and name a host; check the variable",
            retryable=False,
        )
    host = url.raw_host.decode("ascii").strip("[]")
    port = url.port or (443 if url.scheme == "https" else 80)
    literal = True
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        literal = False
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            return _failure(
                f"channel {name!r}: cannot resolve host {host} ({_reason(exc)}); "
                f"check the URL in {variable} and the DNS",
                retryable=True,
            )
    if not addresses:
        return _failure(
            f"channel {name!r}: host {host} resolves to no address; check the URL in {variable}",
            retryable=True,
        )
    refused = [a for a in addresses if refused_address(a)]
    if refused and not allow_private:
        verb = "is" if literal else "resolves to"
        return _failure(
            f"channel {name!r}: host {host} {verb} a non-public address "
            f"({', '.join(refused)}), refused; set allow_private = true for a receiver "
            "on your own network",
            retryable=False,
        )
    return _Target(
        host=host,
        host_header=url.netloc.decode("ascii"),
        https=url.scheme == "https",
        urls=tuple(_ip_url(url, a) for a in addresses),
    )


# --- HTTP channels -----------------------------------------------------------------------


def _one_line(text: str) -> str:
    """``text`` on one line of printable characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _reason(exc: BaseException) -> str:
    # Neither cut nor flattened here: :func:`send` redacts the whole text first, so no
    # secret can escape the mask by being cut in half or having its spaces folded.
    return str(exc).strip() or type(exc).__name__


def _snippet(response: httpx.Response, *, monotonic: Callable[[], float], until: float) -> str:
    """An error answer's short body (Slack's ``no_service``), read within the attempt's time;
    nothing when it is longer than ``_SNIPPET_BYTES`` (a cut body could cut a secret in half,
    and the mask would miss the half)."""
    data = b""
    if response.is_stream_consumed:  # built in memory (a MockTransport): the body is there
        try:
            data = response.content
        except httpx.ResponseNotRead:
            return ""
    else:
        try:
            for chunk in response.iter_raw():
                data += chunk
                if len(data) > _SNIPPET_BYTES or monotonic() >= until:
                    return ""
        except (httpx.TransportError, httpx.StreamError):
            return ""  # the status says enough; the body was only a courtesy
    return "" if len(data) > _SNIPPET_BYTES else data.decode("utf-8", "replace").strip()


def _status_result(
    name: str,
    variable: str,
    target: _Target,
    response: httpx.Response,
    snippet: str,
    now: dt.datetime,
) -> _Result:
    """The verdict on an HTTP answer: 2xx ok, 429/5xx retryable, anything else final."""
    code = response.status_code
    said = f"host {target.host} answered {code}"
    quoted = f"; it said: {snippet}" if snippet else ""  # last: a long one is cut, not the hint
    if 200 <= code < 300:
        return _Result(ok=True, status_code=code)
    if 300 <= code < 400:
        return _failure(
            f"channel {name!r}: host {target.host} answered {code}, a redirect, and "
            f"redirects are not followed; set {variable} to the final URL",
            retryable=False,
            status_code=code,
        )
    if code == 429 or 500 <= code < 600:
        return _Result(
            ok=False,
            status_code=code,
            error=f"channel {name!r}: {said}; the receiver is busy or failing, retry later{quoted}",
            retryable=True,
            retry_after=parse_retry_after(response.headers.get("Retry-After"), now),
        )
    if code in (401, 403):
        hint = f"check the URL in {variable} and the signing key the receiver expects"
    elif code in (404, 410):
        hint = f"the endpoint is gone or revoked; check the URL in {variable}"
    else:
        hint = f"the receiver refused the message; check the URL in {variable}"
    return _failure(f"channel {name!r}: {said}; {hint}{quoted}", retryable=False, status_code=code)


def _post(
    name: str,
    variable: str,
    target: _Target,
    body: bytes,
    headers: Mapping[str, str],
    *,
    client: httpx.Client,
    timeout: float,
    now: dt.datetime,
    monotonic: Callable[[], float],
) -> _Result:
    """POST ``body`` to the vetted addresses in turn (the next only when one refuses us)."""
    until = monotonic() + timeout
    sent = {
        "Host": target.host_header,
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
        # No pooled connection: one verified for another name on the same address must not
        # carry this request (the pool knows addresses, not the names TLS checked).
        "Connection": "close",
        **headers,
    }
    extensions = {"sni_hostname": target.host} if target.https else {}
    result: _Result | None = None
    for url in target.urls:
        left = max(until - monotonic(), _MIN_ATTEMPT)
        request = client.build_request(
            "POST", url, content=body, headers=sent, extensions=extensions, timeout=left
        )
        try:
            response = client.send(request, follow_redirects=False, stream=True)
        except httpx.TimeoutException:
            return _failure(
                f"channel {name!r}: no answer from host {target.host} within {timeout:.3g} s; "
                "retry later",
                retryable=True,
            )
        except httpx.ConnectError as exc:
            result = _failure(
                f"channel {name!r}: cannot connect to host {target.host} ({_reason(exc)}); "
                "check that the receiver is up",
                retryable=True,
            )
            continue
        except httpx.TransportError as exc:
            return _failure(
                f"channel {name!r}: the exchange with host {target.host} failed "
                f"({type(exc).__name__}: {_reason(exc)}); retry later",
                retryable=True,
            )
        try:
            code = response.status_code
            snippet = (
                "" if 200 <= code < 400 else _snippet(response, monotonic=monotonic, until=until)
            )
            return _status_result(name, variable, target, response, snippet, now)
        finally:
            response.close()
    assert result is not None  # target.urls is never empty
    return result


def _signature_headers(secret: str, body: bytes, at: dt.datetime) -> dict[str, str]:
    """``X-Serptrack-Timestamp`` and the HMAC-SHA256 of ``"<timestamp>." + body``."""
    stamp = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Serptrack-Timestamp": stamp, "X-Serptrack-Signature": f"sha256={digest}"}


def _missing(name: str, variable: str, what: str) -> _Result:
    return _failure(
        f"channel {name!r}: environment variable {variable} is not set; export it with {what}",
        retryable=False,
    )


def _send_http(
    channel: WebhookChannel | SlackChannel,
    alert: Alert,
    *,
    environ: Mapping[str, str],
    client: httpx.Client,
    timeout: float,
    at: dt.datetime,
    resolve: Resolver,
    monotonic: Callable[[], float],
) -> _Result:
    """A webhook or Slack POST: URL from the environment, address guard, signature."""
    raw = environ.get(channel.url_env, "").strip()
    if not raw:
        what = "the Slack webhook URL" if channel.type == "slack" else "the webhook URL"
        return _missing(channel.name, channel.url_env, what)
    headers: dict[str, str] = {}
    if isinstance(channel, WebhookChannel):
        body = alert.raw_body()
        if channel.secret_env:
            secret = environ.get(channel.secret_env, "")
            if not secret:
                return _missing(channel.name, channel.secret_env, "the signing key")
            headers = _signature_headers(secret, body, at)
    else:
        body = json.dumps({"text": slack_text(alert)}, ensure_ascii=False).encode()
    target = _target(
        channel.name, channel.url_env, raw, resolve, allow_private=channel.allow_private
    )
    if isinstance(target, _Result):
        return target
    return _post(
        channel.name,
        channel.url_env,
        target,
        body,
        headers,
        client=client,
        timeout=timeout,
        now=at,
        monotonic=monotonic,
    )


# --- Slack -------------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """``text`` escaped for Slack mrkdwn: no ``<...>`` control sequence or link survives."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _is_web_url(url: str) -> bool:
    try:
        return urlsplit(url).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def _slack_link(url: str) -> str:
    """``<url|label>``: the URL escaped with ``|`` as ``%7C``; a non-web URL stays text."""
    if not _is_web_url(url):
        return _mrkdwn(url)
    return f"<{_mrkdwn(url).replace('|', '%7C')}|{_mrkdwn(url)}>"


@dataclass(frozen=True)
class _Fact:
    label: str
    value: str
    link: bool = False


def _facts(alert: Alert) -> list[_Fact]:
    """The alert's facts that apply, in the order every channel shows them."""
    facts = [_Fact("Campaign", alert.campaign), _Fact("Kind", f"{alert.kind} ({alert.rule})")]
    if alert.query:
        market = " / ".join(p for p in (alert.country, alert.language, alert.device) if p)
        facts.append(_Fact("Keyword", f"{alert.query} ({market})" if market else alert.query))
    if alert.view:
        facts.append(_Fact("View", alert.view))
    if alert.at is not None:
        facts.append(_Fact("Checked", format_datetime(alert.at)))
    for label, url, position in (
        ("URL", alert.url, alert.position),
        ("Official", alert.official_url, alert.official_position),
        ("Critical", alert.critical_url, alert.critical_position),
    ):
        if not url or (label == "URL" and url in (alert.official_url, alert.critical_url)):
            continue  # the event's own URL, when it is the official or critical one, once
        facts.append(_Fact(label if position is None else f"{label} #{position}", url, link=True))
    facts.append(_Fact("Event", alert.id))
    return facts


def slack_text(alert: Alert) -> str:
    """The Slack mrkdwn message: title, the text line, then one line per fact."""
    lines = [f"*{_mrkdwn(alert.subject)}*", _mrkdwn(alert.text)]
    for fact in _facts(alert):
        value = _slack_link(fact.value) if fact.link else _mrkdwn(fact.value)
        lines.append(f"• {fact.label}: {value}")
    return "\n".join(lines)


# --- email -------------------------------------------------------------------------------


def _header(text: str) -> str:
    # A line break in a header value would start a header of its own.
    return " ".join(text.split())


def _plain_text(alert: Alert) -> str:
    lines = [alert.text, ""]
    lines += [f"{fact.label}: {fact.value}" for fact in _facts(alert)]
    return "\n".join(lines) + "\n"


def _html_text(alert: Alert) -> str:
    rows: list[str] = []
    for fact in _facts(alert):
        value = html.escape(fact.value)
        if fact.link and _is_web_url(fact.value):
            value = f'<a href="{html.escape(fact.value, quote=True)}">{value}</a>'
        rows.append(f'<tr><th align="left">{html.escape(fact.label)}</th><td>{value}</td></tr>')
    return (
        "<!DOCTYPE html>\n<html><body>\n"
        f"<p>{html.escape(alert.text)}</p>\n"
        "<table>\n" + "\n".join(rows) + "\n</table>\n"
        "</body></html>\n"
    )


def email_message(channel: EmailChannel, alert: Alert, at: dt.datetime) -> EmailMessage:
    """The message sent: Subject, From, To, Date, a stable Message-ID, text and HTML parts."""
    domain = channel.sender.rpartition("@")[2].strip(" >") or "serptrack.invalid"
    message = EmailMessage()
    message["Subject"] = _header(alert.subject)
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message["Date"] = email.utils.format_datetime(at)
    # The same event keeps its Message-ID through retries, so a mailbox can drop a repeat.
    token = hashlib.sha256(f"{alert.campaign}\0{alert.id}".encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{token}@{domain}>"
    message.set_content(_plain_text(alert))
    message.add_alternative(_html_text(alert), subtype="html")
    return message


def _smtp_said(exc: smtplib.SMTPResponseException) -> str:
    said = exc.smtp_error
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    return f"{exc.smtp_code} {text.strip()}"


def _close(smtp: smtplib.SMTP, *, polite: bool) -> None:
    """QUIT when the session is sound, else just drop the socket."""
    if polite:
        try:
            smtp.quit()
            return
        except (smtplib.SMTPException, OSError):
            pass  # the server is gone already: closing is all that is left
    smtp.close()


def _smtp_session(
    channel: EmailChannel,
    message: EmailMessage,
    password: str | None,
    *,
    timeout: float,
    ssl_context: ssl.SSLContext | None,
) -> _Result:
    """Connect, STARTTLS, login and send; SMTP errors propagate to :func:`_send_email`."""
    smtp = smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=timeout)
    polite = False
    try:
        smtp.ehlo()
        if channel.starttls:
            smtp.starttls(context=ssl_context or ssl.create_default_context())
            smtp.ehlo()
        if channel.username and password is not None:
            smtp.login(channel.username, password)
        refused = smtp.send_message(message, from_addr=channel.sender, to_addrs=list(channel.to))
        polite = True
    except smtplib.SMTPServerDisconnected:
        raise
    except smtplib.SMTPException:
        polite = True  # the server answered: the session itself is still sound
        raise
    finally:
        _close(smtp, polite=polite)
    if refused:
        # Some recipients got it: a retry would send it to them twice.
        return _Result(
            ok=True,
            status_code=250,
            error=f"channel {channel.name!r}: the server refused "
            f"{', '.join(sorted(refused))}; check these addresses",
        )
    return _Result(ok=True, status_code=250)


def _send_email(
    channel: EmailChannel,
    alert: Alert,
    *,
    environ: Mapping[str, str],
    timeout: float,
    at: dt.datetime,
    ssl_context: ssl.SSLContext | None,
) -> _Result:
    """One SMTP session; every SMTP, TLS and socket failure becomes a :class:`_Result`."""
    name, server = channel.name, f"{channel.smtp_host}:{channel.smtp_port}"
    password: str | None = None
    if channel.username:
        if not channel.password_env:
            return _failure(
                f"channel {name!r}: username is set but password_env is not; name the "
                "variable that holds the SMTP password",
                retryable=False,
            )
        password = environ.get(channel.password_env, "")
        if not password:
            return _missing(name, channel.password_env, "the SMTP password")
    try:
        message = email_message(channel, alert, at)
    except ValueError as exc:  # a line break or an unusable address in the channel
        return _failure(
            f"channel {name!r}: cannot write the message ({_reason(exc)}); check from and to",
            retryable=False,
        )
    try:
        return _smtp_session(channel, message, password, timeout=timeout, ssl_context=ssl_context)
    except smtplib.SMTPAuthenticationError as exc:
        return _failure(
            f"channel {name!r}: {server} refused the login ({_smtp_said(exc)}); check the "
            f"username and the password in {channel.password_env}",
            retryable=400 <= exc.smtp_code < 500,
            status_code=exc.smtp_code,
        )
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return _failure(
            f"channel {name!r}: {server} refused every recipient "
            f"({', '.join(sorted(exc.recipients))}); check the to addresses",
            retryable=all(400 <= c < 500 for c in codes),
            status_code=codes[0] if codes else None,
        )
    except smtplib.SMTPResponseException as exc:
        final = 500 <= exc.smtp_code < 600
        hint = "check the sender, the recipients and the server" if final else "retry later"
        return _failure(
            f"channel {name!r}: {server} answered {_smtp_said(exc)}; {hint}",
            retryable=not final,
            status_code=exc.smtp_code,
        )
    except smtplib.SMTPServerDisconnected as exc:
        return _failure(
            f"channel {name!r}: {server} closed the connection ({_reason(exc)}); retry later",
            retryable=True,
        )
    except smtplib.SMTPNotSupportedError as exc:
        return _failure(
            f"channel {name!r}: {server} does not support what the channel asks "
            f"({_reason(exc)}); check starttls and username",
            retryable=False,
        )
    except smtplib.SMTPException as exc:
        return _failure(f"channel {name!r}: {server}: {_reason(exc)}", retryable=False)
    except TimeoutError:
        return _failure(
            f"channel {name!r}: no answer from {server} within {timeout:.3g} s; retry later",
            retryable=True,
        )
    except ssl.SSLError as exc:
        return _failure(
            f"channel {name!r}: TLS with {server} failed ({_reason(exc)}); check the "
            "server's certificate",
            retryable=True,
        )
    except OSError as exc:
        return _failure(
            f"channel {name!r}: cannot reach {server} ({_reason(exc)}); check smtp_host, "
            "smtp_port and that the server is up",
            retryable=True,
        )


# --- one attempt, and delivery -----------------------------------------------------------


def secrets_of(channel: Channel, environ: Mapping[str, str]) -> list[str]:
    """The values no error may show: the URL (its path and query, and each part of them a
    receiver could echo alone: Slack's token is one path segment), the signing key, the
    password."""
    values = [environ.get(variable, "") for variable in channel.env_names()]
    found = [v for v in values if v] + [v.strip() for v in values if v.strip()]
    if not isinstance(channel, EmailChannel):
        url = environ.get(channel.url_env, "").strip()
        try:
            parts = urlsplit(url)
        except ValueError:
            return found
        # the IP-addressed request URL differs from the URL but keeps its path and query
        found += [p for p in (parts.path, parts.query) if len(p) > 1]
        pieces = [*parts.path.split("/"), *re.split(r"[&=]", parts.query)]
        found += [piece for piece in pieces if _secret_looking(piece)]
    return found


def _secret_looking(piece: str) -> bool:
    """A URL part long enough to be a token and not a plain word (``services``, ``hooks``)."""
    return len(piece) >= 8 and not (piece.isalpha() and piece.islower())


def _clean(error: str, secrets: list[str]) -> str:
    """``error`` masked, on one line, then cut: masking first, so no cut or folded
    whitespace can hide part of a secret from the mask (and again once folded)."""
    text = redact(_one_line(redact(error, secrets)), secrets)
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


def send(
    channel: Channel,
    alert: Alert,
    *,
    environ: Mapping[str, str],
    client: httpx.Client,
    timeout: float,
    now: Callable[[], dt.datetime],
    resolve: Resolver = resolve_host,
    ssl_context: ssl.SSLContext | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> Attempt:
    """One attempt, never raises for delivery problems (they become an Attempt)."""
    at = now()
    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    started = monotonic()
    if isinstance(channel, EmailChannel):
        result = _send_email(
            channel, alert, environ=environ, timeout=timeout, at=at, ssl_context=ssl_context
        )
    else:
        result = _send_http(
            channel,
            alert,
            environ=environ,
            client=client,
            timeout=timeout,
            at=at,
            resolve=resolve,
            monotonic=monotonic,
        )
    error = result.error
    if error is not None:
        error = _clean(error, secrets_of(channel, environ))
    return Attempt(
        channel=channel.name,
        at=at,
        ok=result.ok,
        status_code=result.status_code,
        error=error,
        retryable=result.retryable,
        retry_after=result.retry_after,
        duration=max(0.0, monotonic() - started),
    )


def backoff_delay(
    attempt: int,
    rand: Callable[[], float],
    *,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_MAX,
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): full jitter, i.e. a random
    point in ``[0, min(cap, base * 2 ** (attempt - 1))]``."""
    return rand() * min(cap, base * 2.0 ** (attempt - 1))


def deliver(
    channel: Channel,
    alert: Alert,
    *,
    environ: Mapping[str, str],
    client: httpx.Client,
    deadline: float,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], dt.datetime] = _utc_now,
    random: Callable[[], float] = _random.random,
    max_attempts: int = 4,
    resolve: Resolver = resolve_host,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Attempt]:
    """Attempts until the first success, a non-retryable failure, max_attempts, or the
    monotonic `deadline` (each attempt's timeout capped by the time left; no sleep ends past
    the deadline: then it stops, so the caller can leave the event pending). No time left at
    all: no attempt, an empty list.

    The wait after failed attempt n is :func:`backoff_delay` (full jitter, 0.5 s doubling,
    capped at 30 s), or the receiver's ``Retry-After`` when that is longer."""
    attempts: list[Attempt] = []
    for number in range(1, max_attempts + 1):
        left = deadline - monotonic()
        if left < _MIN_ATTEMPT:
            break
        attempt = send(
            channel,
            alert,
            environ=environ,
            client=client,
            timeout=min(timeout, left),
            now=now,
            resolve=resolve,
            ssl_context=ssl_context,
            monotonic=monotonic,
        )
        attempts.append(attempt)
        if attempt.ok or not attempt.retryable or number == max_attempts:
            break
        wait = backoff_delay(number, random)
        if attempt.retry_after is not None:
            wait = max(wait, attempt.retry_after)
        if monotonic() + wait + _MIN_ATTEMPT > deadline:
            break
        sleep(wait)
    return attempts
