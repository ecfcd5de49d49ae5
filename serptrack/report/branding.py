"""Who a report is from and for: agency, client, logo, accent colour and an optional notice.

The campaign file's ``[report]`` table sets them (checked at ``apply``); command-line options
override them for one report. The logo is read when the report is written and embedded as a
``data:`` URI, so the file opens offline and survives being emailed.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..campaign import LOGO_TYPES, check_accent, check_logo, logo_path
from ..errors import ReportError

__all__ = ["DEFAULT_ACCENT", "Branding", "branding_for"]

DEFAULT_ACCENT = "#1f4e79"


@dataclass(frozen=True)
class Branding:
    """Agency, client, logo file, accent colour (#rrggbb) and a notice shown on top."""

    agency: str = ""
    client: str = ""
    logo: Path | None = None
    accent: str = DEFAULT_ACCENT
    notice: str = ""

    def logo_uri(self) -> str | None:
        """The logo as a ``data:`` URI (read now, checked again), or None."""
        if self.logo is None:
            return None
        path = check_logo(self.logo)
        mime = LOGO_TYPES[path.suffix.lower()][0]
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

    def to_json(self) -> dict[str, Any]:
        """agency, client, logo (path), accent, notice."""
        return {
            "agency": self.agency,
            "client": self.client,
            "logo": str(self.logo) if self.logo else None,
            "accent": self.accent,
            "notice": self.notice,
        }


def branding_for(
    settings: Mapping[str, Any] | None,
    *,
    agency: str | None = None,
    client: str | None = None,
    logo: Path | None = None,
    accent: str | None = None,
    notice: str | None = None,
) -> Branding:
    """The campaign's stored ``[report]`` settings with any option given here on top."""
    stored = (settings or {}).get("report") or {}
    branding = Branding(
        agency=stored.get("agency") or "",
        client=stored.get("client") or "",
        logo=logo_path(stored["logo"]) if stored.get("logo") else None,
        accent=stored.get("accent") or DEFAULT_ACCENT,
        notice=stored.get("notice") or "",
    )
    overrides: dict[str, Any] = {}
    if agency is not None:
        overrides["agency"] = agency
    if client is not None:
        overrides["client"] = client
    if logo is not None:
        overrides["logo"] = check_logo(logo.expanduser(), Path.cwd())
    elif branding.logo is not None:
        try:
            check_logo(branding.logo)
        except ReportError as error:
            raise ReportError(
                f"{error} (set by the campaign file's [report] logo: fix it and apply the file "
                "again, or pass --logo)"
            ) from None
    if accent is not None:
        overrides["accent"] = check_accent(accent)
    if notice is not None:
        overrides["notice"] = notice
    return replace(branding, **overrides)
