"""The monthly report: one self-contained HTML file (or the JSON behind it) per campaign and period.

- :mod:`.build` gathers the numbers from :mod:`serptrack.analysis` (never computing leads
  itself) into plain data;
- :mod:`.charts` turns them into plotly figures, escaping every stranger's string;
- :mod:`.render` fills the Jinja2 templates (autoescaped) or writes the JSON document;
- :mod:`.branding` resolves agency, client, logo and accent colour.

:func:`make_report` is what ``serptrack report`` and ``serptrack demo`` call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlmodel import Session

from .. import collector
from ..defaults import REPORT_FORMATS as FORMATS
from ..errors import ReportError
from ..models import Campaign
from .branding import Branding, branding_for
from .build import Period, ReportData, build_report, choose_period, month_period
from .render import PLOTLYJS_MODES, REPORT_FORMAT, render_html, render_json, report_document

__all__ = [
    "FORMATS",
    "PLOTLYJS_MODES",
    "REPORT_FORMAT",
    "Branding",
    "Period",
    "ReportData",
    "branding_for",
    "build_report",
    "choose_period",
    "default_path",
    "make_report",
    "month_period",
    "render_html",
    "render_json",
    "report_document",
    "save",
]


def make_report(
    session: Session,
    campaign: Campaign,
    period: Period,
    *,
    now: dt.datetime,
    branding: Branding | None = None,
    fmt: str = "html",
    plotlyjs: str = "embed",
    hold: int = 1,
    queries: Sequence[str] | None = None,
) -> str:
    """The report of ``campaign`` over ``period`` as HTML or JSON text."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}")
    branding = branding or branding_for(campaign.settings)
    with collector.paused():  # the build pauses it too; rendering builds as many objects
        data = build_report(session, campaign, period, now=now, hold=hold, queries=queries)
        if fmt == "json":
            return render_json(data, branding) + "\n"
        return render_html(data, branding, plotlyjs=plotlyjs)


def default_path(
    campaign: str, period: Period, fmt: str = "html", folder: Path | None = None
) -> Path:
    """``reports/<campaign>-<YYYY-MM>.html`` (or the period's ``<from>_<to>``), relative to
    the current directory unless ``folder`` is given."""
    return (folder or Path("reports")) / f"{campaign}-{period.slug}.{fmt}"


def save(path: Path, text: str) -> None:
    """Write a report to ``path``, creating its folder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ReportError(f"cannot write {path} ({error.strerror}); choose another --out") from None
