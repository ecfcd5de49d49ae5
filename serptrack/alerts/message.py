"""One alert event as it is delivered: the ``serptrack-alert/1`` body of SPEC section 7.

``text`` is one plain-language line. It quotes result URLs, which strangers write: each
channel escapes it for its own format (Slack mrkdwn, HTML email); the webhook body is JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from ..snapshot import format_datetime

__all__ = ["SCHEMA", "Alert"]

SCHEMA = "serptrack-alert/1"


@dataclass(frozen=True)
class Alert:
    """An event of the outbox, with the facts every channel shows."""

    id: str
    campaign: str
    rule: str
    kind: str
    text: str
    query: str | None = None
    country: str | None = None
    language: str | None = None
    device: str | None = None
    view: str | None = None
    at: dt.datetime | None = None
    check_id: int | None = None
    url: str | None = None
    position: int | None = None
    official_url: str | None = None
    official_position: int | None = None
    critical_url: str | None = None
    critical_position: int | None = None

    def body(self) -> dict[str, Any]:
        """The webhook body, every SPEC field present (null where it does not apply)."""
        return {
            "schema": SCHEMA,
            "id": self.id,
            "campaign": self.campaign,
            "rule": self.rule,
            "kind": self.kind,
            "query": self.query,
            "country": self.country,
            "language": self.language,
            "device": self.device,
            "view": self.view,
            "at": _iso(self.at),
            "check_id": self.check_id,
            "url": self.url,
            "position": self.position,
            "official_url": self.official_url,
            "official_position": self.official_position,
            "critical_url": self.critical_url,
            "critical_position": self.critical_position,
            "text": self.text,
        }

    def raw_body(self) -> bytes:
        """The exact bytes POSTed (and signed): compact JSON, UTF-8."""
        return json.dumps(self.body(), ensure_ascii=False, separators=(",", ":")).encode()

    @property
    def subject(self) -> str:
        """A one-line title: campaign, kind and keyword."""
        about = f" \u2014 {self.query}" if self.query else ""
        return f"[serptrack] {self.campaign}: {self.kind}{about}"


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else format_datetime(at)
