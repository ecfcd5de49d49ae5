"""A campaign as plain data: what ``apply`` stores, once :mod:`serptrack.campaign` validated it.

The store takes these and nothing of the file format, so it never depends on TOML, pydantic
or the provider registry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .alerts.settings import AlertSettings
from .classify import Rule
from .ctr import DEFAULT_CURVE
from .vocabulary import Device, identity_of

__all__ = ["MAX_SAMPLES", "MIN_SAMPLES", "AnnotationSpec", "CampaignSpec", "KeywordSpec"]

#: the range of a keyword's ``samples`` (provider calls per check): ten answers of an engine
#: already cost ten searches a check
MIN_SAMPLES, MAX_SAMPLES = 1, 10


@dataclass(frozen=True)
class KeywordSpec:
    """One keyword with every default applied."""

    query: str
    provider: str
    engine: str = "google"
    country: str = ""
    language: str = ""
    device: Device = Device.DESKTOP
    location: str = ""
    depth: int = 10
    samples: int = 1  # provider calls per check, each stored as a sample (not identity)
    schedule: str = "1d"
    timezone: str = "UTC"
    tags: tuple[str, ...] = ()
    #: an answer engine's prompt template ("" asks the query itself); not in the identity
    prompt: str = ""

    @property
    def identity(self) -> tuple[str, ...]:
        """What makes two keywords the same keyword (its history follows it): KEYWORD_IDENTITY."""
        return identity_of(self)


@dataclass(frozen=True)
class AnnotationSpec:
    """A dated note on the campaign's timeline."""

    date: dt.date
    text: str
    query: str | None = None


@dataclass
class CampaignSpec:
    """A validated campaign file, relative paths resolved."""

    name: str
    path: str
    brand: str = ""
    description: str = ""
    crisis_start: dt.date | None = None
    keywords: list[KeywordSpec] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    ownership: list[Rule] = field(default_factory=list)  # [labels.ownership], by class
    annotations: list[AnnotationSpec] = field(default_factory=list)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    domains: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    ctr_curve: str | dict[str, Any] = DEFAULT_CURVE
    report: dict[str, Any] = field(default_factory=dict)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    #: one line each: what ``apply`` should say but not refuse (e.g. an API key not set here,
    #: which the machine that runs the checks may hold); never stored
    warnings: list[str] = field(default_factory=list)

    @property
    def settings(self) -> dict[str, Any]:
        """What is stored in the campaign's ``settings`` column."""
        return {
            "providers": self.providers,
            "analysis": {"ctr_curve": self.ctr_curve},
            "brand": {"domains": self.domains, "accounts": self.accounts},
            "report": self.report,
            "alerts": self.alerts.to_settings(),
            "ownership": [[rule.stance, rule.pattern] for rule in self.ownership],
        }
