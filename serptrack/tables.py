"""The human tables the CLI prints for analysis commands (``--json`` prints the documents)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .lead import Event, ResultRef

__all__ = ["PAID_TABLE_COLUMNS", "ai_lines", "event_table", "status_table"]

PAID_TABLE_COLUMNS = [
    "date",
    "query",
    "country",
    "language",
    "presence",
    "official_ad_rank",
    "official_organic_rank",
    "redundant_ad",
    "ad_carries_lead",
    "page_leader",
]


def event_table(events: Sequence[Event]) -> list[dict[str, Any]]:
    """The human table of ``overtakes``: one row per event."""
    return [
        {
            "at": event.at,
            "query": event.keyword.query,
            "locale": event.keyword.locale,
            "view": event.view,
            "kind": event.kind,
            "official": _side_cell(event, "official"),
            "critical": _side_cell(event, "critical"),
        }
        for event in events
    ]


def status_table(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The human table of ``status``: one row per keyword."""
    table = []
    for row in document["keywords"]:
        share = (row["share_of_voice"] or {}).get("organic") or {}
        table.append(
            {
                # a query tracked on two engines (Google and its AI mode) must tell its rows apart
                "query": row["query"]
                + ("" if row["engine"] == "google" else f" [{row['engine']}]"),
                "locale": "-".join(p for p in (row["country"], row["language"]) if p)
                + f" {row['device']}",
                "checked": row["observed_at"].date().isoformat() if row["observed_at"] else "never",
                "organic (O vs C)": _lead_cell(row, "organic"),
                "page (O vs C)": _lead_cell(row, "page"),
                "critical p1": row["critical_on_page_1"],
                "SoV off/crit": f"{_percent(share.get('official'))} / {_percent(share.get('critical'))}"
                if share
                else "",
                "ads": row["paid"]["presence"] or "",
                "failed": row["failed_since_last_ok"] or "",
            }
        )
    return table


def ai_lines(document: Mapping[str, Any]) -> list[str]:
    """One compact line per keyword and AI placement of a ``status`` document: the samples
    pooled, the share citing each side and the share of citations by stance, with their
    95 % intervals (``44% [19-73]``)."""
    lines = []
    for row in document["keywords"]:
        window = row.get("ai_window") or {}
        failed = window.get("failed_samples") or 0
        for placement, shares in (row.get("ai") or {}).items():
            stances = shares["by_stance"]
            engine = "" if row["engine"] == "google" else f" [{row['engine']}]"
            lines.append(
                f"{row['query']}{engine} ({row['country'] or '-'}-{row['language'] or '-'} "
                f"{row['device']}) {placement}: {shares['samples']} samples of "
                f"{window.get('checks', 0)} checks"
                + (f" ({failed} failed, left out)" if failed else "")
                + f"; cites official {_interval(shares['cites_official'])}, critical "
                f"{_interval(shares['cites_critical'])}; {shares['citations']} citations: "
                + ", ".join(f"{stance} {_interval(stances[stance])}" for stance in stances)
            )
    return lines


def _interval(share: Mapping[str, Any]) -> str:
    return f"{_percent(share['share'])} [{share['low'] * 100:.0f}-{share['high'] * 100:.0f}]"


def _lead_cell(row: Mapping[str, Any], view: str) -> str:
    key = "rank" if view == "organic" else "page_position"
    official, critical = row[view]["official"], row[view]["critical"]
    o = official[key] if official else "-"
    c = critical[key] if critical else "-"
    return f"{row[view]['leader'] or 'nobody'} ({o} vs {c})"


def _side_cell(event: Event, side: str) -> str:
    """One side of an event: its best result, or (AI view) how many samples cite it."""
    if event.shares is not None:
        cited = event.shares[f"cites_{side}"]
        return f"{cited['count']}/{event.shares['samples']} samples cite it ({event.placement})"
    return _ref_cell(getattr(event, side), event.view)


def _ref_cell(ref: ResultRef | None, view: str) -> str:
    return f"#{ref.position(view)} {ref.url}" if ref else "-"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
