"""Alert channels and rules (SPEC section 7) as plain data, validated by :mod:`serptrack.campaign`.

Channels name their secrets by environment variable: only the variable's *name* is ever
stored. :func:`from_settings` reads back what ``apply`` stored in the campaign's settings.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

__all__ = [
    "CHANNEL_TYPES",
    "DEFAULT_DAILY_CAP",
    "KINDS",
    "TOP_KINDS",
    "AlertRule",
    "AlertSettingError",
    "AlertSettings",
    "Channel",
    "EmailChannel",
    "SlackChannel",
    "WebhookChannel",
    "alert_warnings",
    "check_alerts",
    "from_settings",
    "parse_cooldown",
]

#: every ``on`` of SPEC section 7, in the order the README lists them
KINDS = (
    "overtake",
    "lost",
    "critical-enters",
    "official-leaves",
    "new-url",
    "critical-in-feature",
    "critical-share",
    "own-ad-missing",
    "failing",
)
#: the kinds that read ``top``
TOP_KINDS = ("critical-enters", "official-leaves", "new-url")
CHANNEL_TYPES = ("webhook", "slack", "email")
DEFAULT_DAILY_CAP = 50

ViewChoice = Literal["organic", "page", "both"]


@dataclass(frozen=True)
class WebhookChannel:
    """A JSON POST to a URL read from ``url_env``, signed with ``secret_env`` when set."""

    name: str
    url_env: str
    secret_env: str | None = None
    allow_private: bool = False
    type: Literal["webhook"] = "webhook"

    def env_names(self) -> tuple[str, ...]:
        """The environment variables this channel reads."""
        return tuple(n for n in (self.url_env, self.secret_env) if n)


@dataclass(frozen=True)
class SlackChannel:
    """A Slack incoming webhook whose URL is read from ``url_env``."""

    name: str
    url_env: str
    allow_private: bool = False
    type: Literal["slack"] = "slack"

    def env_names(self) -> tuple[str, ...]:
        """The environment variables this channel reads."""
        return (self.url_env,)


@dataclass(frozen=True)
class EmailChannel:
    """A message over SMTP (STARTTLS by default), with a plain-text and an HTML part."""

    name: str
    to: tuple[str, ...]
    sender: str
    smtp_host: str
    smtp_port: int = 587
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None
    type: Literal["email"] = "email"

    def env_names(self) -> tuple[str, ...]:
        """The environment variables this channel reads."""
        return (self.password_env,) if self.password_env else ()


Channel = WebhookChannel | SlackChannel | EmailChannel


@dataclass(frozen=True)
class AlertRule:
    """One ``[[alerts.rules]]`` table; ``key`` names it in events (``rule-1:overtake``)."""

    key: str
    on: str
    channels: tuple[str, ...]
    view: ViewChoice = "both"
    hold: int = 1
    top: int = 3
    points: float = 10.0
    after: int = 2
    queries: tuple[str, ...] = ()

    def applies_to(self, query: str) -> bool:
        """Whether the rule watches keyword ``query`` (every keyword when ``queries`` is empty)."""
        return not self.queries or query in self.queries

    @property
    def views(self) -> tuple[str, ...]:
        """The views an overtake/lost rule watches."""
        return ("organic", "page") if self.view == "both" else (self.view,)


@dataclass(frozen=True)
class AlertSettings:
    """A campaign's alerting: noise control, channels by name, rules in file order."""

    cooldown_seconds: int = 0
    daily_cap: int = DEFAULT_DAILY_CAP
    channels: Mapping[str, Channel] = field(default_factory=dict)
    rules: tuple[AlertRule, ...] = ()

    def to_settings(self) -> dict[str, Any]:
        """The JSON stored in the campaign's settings (names of variables, never their values)."""
        return {
            "cooldown_seconds": self.cooldown_seconds,
            "daily_cap": self.daily_cap,
            "channels": {n: dataclasses.asdict(c) for n, c in self.channels.items()},
            "rules": [
                {**dataclasses.asdict(r), "channels": list(r.channels), "queries": list(r.queries)}
                for r in self.rules
            ],
        }


_CHANNEL_CLASSES: dict[str, type[Any]] = {
    "webhook": WebhookChannel,
    "slack": SlackChannel,
    "email": EmailChannel,
}


def _known_fields(cls: type[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without keys ``cls`` does not know (stored by another serptrack version)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in values.items() if key in names}


def from_settings(stored: Mapping[str, Any] | None) -> AlertSettings:
    """The :class:`AlertSettings` that :meth:`AlertSettings.to_settings` stored (none: empty)."""
    if not stored:
        return AlertSettings()
    channels: dict[str, Channel] = {}
    for name, values in stored.get("channels", {}).items():
        cls = _CHANNEL_CLASSES[values["type"]]
        known = _known_fields(cls, values)
        if cls is EmailChannel:
            known["to"] = tuple(known["to"])
        channels[name] = cls(**known)
    rules = tuple(
        AlertRule(
            **{
                **_known_fields(AlertRule, r),
                "channels": tuple(r["channels"]),
                "queries": tuple(r.get("queries", ())),
            }
        )
        for r in stored.get("rules", [])
    )
    return AlertSettings(
        cooldown_seconds=int(stored.get("cooldown_seconds", 0)),
        daily_cap=int(stored.get("daily_cap", DEFAULT_DAILY_CAP)),
        channels=channels,
        rules=rules,
    )


# --- validation (called by serptrack.campaign at apply) ------------------------------------


class AlertSettingError(ValueError):
    """An ``[alerts]`` key that cannot be used; ``where`` is its path below ``alerts``."""

    def __init__(self, where: tuple[str, ...], message: str) -> None:
        """``message`` says what is wrong with the key at ``where``."""
        super().__init__(message)
        self.where = where


_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_CHANNEL_KEYS = {
    "webhook": {"url_env", "secret_env", "allow_private"},
    "slack": {"url_env", "allow_private"},
    "email": {
        "to",
        "sender",
        "smtp_host",
        "smtp_port",
        "starttls",
        "username",
        "password_env",
    },
}
_REQUIRED = {"webhook": ("url_env",), "slack": ("url_env",), "email": ("to", "sender", "smtp_host")}
_FILE_KEY = {"sender": "from"}  # the campaign file's name for a field, where they differ
#: keys of a rule that only some kinds read
_KIND_KEYS = {
    "view": ("overtake", "lost"),
    "hold": ("overtake", "lost"),
    "top": TOP_KINDS,
    "points": ("critical-share",),
    "after": ("failing",),
}


def parse_cooldown(value: str | int) -> int:
    """A cooldown in seconds: ``0``, ``90`` (seconds), ``30m``, ``6h``, ``2d``, ``1w``."""
    match = _DURATION.match(str(value))
    if match is None:
        raise AlertSettingError(
            ("cooldown",), f'cooldown {value!r} is not a duration; write e.g. "6h", "30m" or 0'
        )
    return int(match.group(1)) * _SECONDS[match.group(2)]


def check_alerts(
    cooldown: str | int,
    daily_cap: int,
    channels: Mapping[str, Mapping[str, Any]],
    rules: Sequence[Mapping[str, Any]],
    queries: Iterable[str],
) -> AlertSettings:
    """Alert settings from the ``[alerts]`` tables (keys given only where the file set them)."""
    known_queries = set(queries)
    checked = {name: _channel(name, values) for name, values in channels.items()}
    made = tuple(_rule(index, values, checked, known_queries) for index, values in enumerate(rules))
    seen: set[str] = set()
    for index, rule in enumerate(made):
        if rule.key in seen:  # a rule's name is part of its events' ids
            raise AlertSettingError(
                ("rules", str(index), "name"),
                f"another rule is named {rule.key!r}; give each rule its own name",
            )
        seen.add(rule.key)
    return AlertSettings(
        cooldown_seconds=parse_cooldown(cooldown), daily_cap=daily_cap, channels=checked, rules=made
    )


def alert_warnings(settings: AlertSettings, environ: Mapping[str, str]) -> list[str]:
    """One line per channel variable this environment lacks (alerts may be sent elsewhere)."""
    warnings = []
    for name, channel in settings.channels.items():
        missing = [v for v in channel.env_names() if not environ.get(v, "").strip()]
        if missing:
            warnings.append(
                f"alert channel {name!r} needs {' and '.join(missing)} in the environment "
                f"(not set here); set it where checks run (export {missing[0]}=...)"
            )
    return warnings


def _channel(name: str, values: Mapping[str, Any]) -> Channel:
    kind = values["type"]
    for key in values:
        if key != "type" and key not in _CHANNEL_KEYS[kind]:
            able = [t for t, keys in _CHANNEL_KEYS.items() if key in keys]
            raise AlertSettingError(
                ("channels", name, _FILE_KEY.get(key, key)),
                f"{_FILE_KEY.get(key, key)!r} is not a setting of a {kind} channel"
                + (f" (it is a setting of {' and '.join(able)} channels)" if able else ""),
            )
    for key in _REQUIRED[kind]:
        if not values.get(key):
            article = "an" if kind[0] in "aeiou" else "a"
            raise AlertSettingError(
                ("channels", name),
                f"{article} {kind} channel needs {_FILE_KEY.get(key, key)!r}",
            )
    for key in ("url_env", "secret_env", "password_env"):
        if key in values:
            _variable_name(("channels", name, key), values[key])
    if kind == "email":
        for address in values["to"]:
            if "@" not in address:
                raise AlertSettingError(
                    ("channels", name, "to"), f"{address!r} is not an email address"
                )
        if "@" not in values["sender"]:
            raise AlertSettingError(
                ("channels", name, "from"), f"{values['sender']!r} is not an email address"
            )
        if bool(values.get("password_env")) != bool(values.get("username")):
            raise AlertSettingError(
                ("channels", name),
                "username and password_env go together: set both to log in, or neither",
            )
        if values.get("username") and values.get("starttls") is False:
            raise AlertSettingError(
                ("channels", name, "starttls"),
                "logging in without STARTTLS would send the password in clear; set starttls = true",
            )
        return EmailChannel(name=name, **{**values, "to": tuple(values["to"]), "type": "email"})
    cls: type[Any] = WebhookChannel if kind == "webhook" else SlackChannel
    return cast(Channel, cls(name=name, **values))


def _variable_name(where: tuple[str, ...], value: str) -> None:
    if _VARIABLE.match(value):
        return
    # Never quote the value: a URL or a key pasted here instead of a variable name is a secret.
    raise AlertSettingError(
        where,
        f"{where[-1]} names an environment variable (e.g. ACME_WEBHOOK_URL), not its value; "
        "put the value in a variable and write the variable's name here",
    )


def _rule(
    index: int,
    values: Mapping[str, Any],
    channels: Mapping[str, Channel],
    queries: set[str],
) -> AlertRule:
    on = values["on"]
    if on not in KINDS:
        close = difflib.get_close_matches(on, KINDS, n=1)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        raise AlertSettingError(
            ("rules", str(index), "on"),
            f"unknown alert kind {on!r} (known: {', '.join(KINDS)}){hint}",
        )
    for key, kinds in _KIND_KEYS.items():
        if key in values and on not in kinds:
            raise AlertSettingError(
                ("rules", str(index), key),
                f"{key!r} does not apply to {on!r} rules (only to {', '.join(kinds)})",
            )
    for name in values["channels"]:
        if name not in channels:
            known = f" (defined: {', '.join(channels)})" if channels else ""
            raise AlertSettingError(
                ("rules", str(index), "channels"),
                f"no channel named {name!r}{known}; define it under [alerts.channels.{name}]",
            )
    for query in values.get("queries", ()):
        if query.strip() not in queries:
            raise AlertSettingError(
                ("rules", str(index), "queries"),
                f"{query!r} is not a keyword of this campaign",
            )
    fields = {k: v for k, v in values.items() if k not in ("name", "channels", "queries")}
    return AlertRule(
        key=values.get("name") or f"{on}#{index + 1}",
        channels=tuple(values["channels"]),
        queries=tuple(q.strip() for q in values.get("queries", ())),
        **fields,
    )
