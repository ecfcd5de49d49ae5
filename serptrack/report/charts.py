"""The report's charts as plotly figures, built from :class:`~serptrack.report.build.ReportData`.

Pure: plain data in, ``plotly.graph_objects.Figure`` out. Titles, snippets and URLs come from
strangers, and plotly.js reads trace names, hover text and annotations as a small HTML
dialect, so every such string is HTML-escaped here (plotly shows the escaped text literally)
and never put in a ``hovertemplate``, where ``%{...}`` would be interpreted.

:func:`figure_json` serialises a figure for a ``<script type="application/json">`` block: the
x values shared by most traces of a rank chart are written once (``"x"`` beside
``"figure"``; the page script gives them back to every trace without its own ``x``), and
``<``, ``>``, ``&`` and the two JavaScript line separators are escaped so no string can close
the script element.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from ..analysis import CheckEntry, Event
from .build import KeywordReport, Note, Period, ReportData, UrlSeries

__all__ = [
    "STANCE_COLOURS",
    "escape_text",
    "figure_json",
    "rank_chart",
    "script_safe",
    "share_chart",
    "x_value",
]

STANCE_COLOURS = {"official": "#15803d", "critical": "#b91c1c", "neutral": "#9ca3af"}
_PALETTES = {
    "official": ("#15803d", "#0e7490", "#65a30d", "#047857", "#0369a1", "#4d7c0f", "#166534"),
    "critical": ("#b91c1c", "#ea580c", "#be185d", "#9a3412", "#dc2626", "#c2410c", "#9f1239"),
}
# critical lines are dashed so the two sides stay apart without colour
_DASH = {"official": "solid", "critical": "dash"}
_EVENT_COLOURS = {"overtake": "#15803d", "lost": "#b91c1c"}
_FEATURE_ROWS = {"paid:top": "top ads", "news": "news box", "paid:bottom": "bottom ads"}
_FAILED_ROW = "check failed"
_SYMBOLS = {"paid": "square", "news": "circle"}
_LABEL_LENGTH = 48
_FONT = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
_RANK_HOVER = (
    "<b>%{meta[0]}</b><br>%{meta[1]}<br>%{meta[2]}: organic #%{y}<br>"
    "%{x|%d %b %Y %H:%M} UTC<extra></extra>"
)
_FEATURE_HOVER = (
    "<b>%{meta[0]}</b><br>%{meta[1]}<br>%{meta[2]}: %{text}<br>"
    "%{x|%d %b %Y %H:%M} UTC<extra></extra>"
)


def escape_text(text: str, limit: int | None = None) -> str:
    """A stranger's string made inert for plotly's HTML dialect, shortened to ``limit``."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)


def x_value(at: dt.datetime) -> str:
    """A UTC time as plotly reads dates (no zone suffix: the axis says UTC)."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def _day(day: dt.date) -> str:
    return day.isoformat()


# --- the rank chart of one keyword -----------------------------------------------------------


def rank_chart(keyword: KeywordReport, period: Period) -> go.Figure:
    """Organic rank of each official and critical URL at each check (rank 1 on top), their
    ads and news-box appearances in a strip above, failed checks as gaps and marks, and
    vertical lines at overtakes, lost leads and annotations."""
    checks = keyword.checks
    x = [x_value(check.at) for check in checks]
    traces: list[dict[str, Any]] = []
    rows: set[str] = set()
    counters = {"official": 0, "critical": 0}
    worst = 1
    for number, series in enumerate(keyword.urls):
        palette = _PALETTES.get(series.stance, ("#6b7280",))
        colour = palette[counters.get(series.stance, 0) % len(palette)]
        counters[series.stance] = counters.get(series.stance, 0) + 1
        meta = [
            escape_text(series.title or series.url, 90),
            escape_text(series.url, 90),
            series.stance,
        ]
        name = escape_text(series.norm_url.removeprefix("https://"), _LABEL_LENGTH)
        group = f"u{number}"
        if series.organic:
            worst = max(worst, max(series.organic.values()))
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": [
                        series.organic.get(c.check_id) if c.status == "ok" else None for c in checks
                    ],
                    "name": name,
                    "legendgroup": group,
                    "meta": meta,
                    "line": {"color": colour, "dash": _DASH.get(series.stance, "dot")},
                }
            )
        traces.extend(_feature_traces(series, name, group, colour, meta, not series.organic, rows))
    failures = [check for check in checks if check.status != "ok"]
    if failures:
        rows.add(_FAILED_ROW)
        traces.append(_failure_trace(failures))
    layout = _rank_layout(keyword, period, worst, [r for r in _row_order() if r in rows])
    return go.Figure(data=traces, layout=layout)


def _feature_traces(
    series: UrlSeries,
    name: str,
    group: str,
    colour: str,
    meta: list[str],
    show_legend: bool,
    rows: set[str],
) -> list[dict[str, Any]]:
    """One marker trace per kind of non-organic appearance (top ads, bottom ads, news box)."""
    by_row: dict[str, list[tuple[str, str]]] = {}
    symbols: dict[str, str] = {}
    for item in series.features:
        key = f"paid:{item.block or 'top'}" if item.placement == "paid" else item.placement
        row = _FEATURE_ROWS.get(key, item.placement.replace("_", " "))
        symbols[row] = _SYMBOLS.get(item.placement, "diamond")
        label = f"ad #{item.rank}" if item.placement == "paid" else f"{row} #{item.rank}"
        text = f"{label}, page position {item.page_position}"
        by_row.setdefault(row, []).append((x_value(item.at), text))
    traces = []
    for row, points in by_row.items():
        rows.add(row)
        traces.append(
            {
                "type": "scatter",
                "x": [p[0] for p in points],
                "y": [row] * len(points),
                "yaxis": "y2",
                "mode": "markers",
                "text": [p[1] for p in points],
                "name": name,
                "legendgroup": group,
                "showlegend": show_legend,
                "meta": meta,
                "hovertemplate": _FEATURE_HOVER,
                "marker": {"color": colour, "symbol": symbols[row], "size": 9},
            }
        )
        show_legend = False
    return traces


def _failure_trace(failures: Sequence[CheckEntry]) -> dict[str, Any]:
    return {
        "type": "scatter",
        "x": [x_value(check.at) for check in failures],
        "y": [_FAILED_ROW] * len(failures),
        "yaxis": "y2",
        "mode": "markers",
        "name": "check failed (gap)",
        "text": [escape_text(f"{c.status}: {c.error_kind or 'unknown'}") for c in failures],
        "hovertemplate": "%{text}<br>%{x|%d %b %Y %H:%M} UTC<extra></extra>",
        "marker": {"color": "#6b7280", "symbol": "x-thin-open", "size": 10, "line": {"width": 2}},
    }


def _row_order() -> list[str]:
    return [_FAILED_ROW, "bottom ads", "news box", "top ads"]


def _rank_layout(
    keyword: KeywordReport, period: Period, worst: int, rows: Sequence[str]
) -> dict[str, Any]:
    strip = 0.06 * len(rows) + 0.04 if rows else 0.0
    shapes: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for event in keyword.events:
        _event_marker(event, shapes, labels)
    by_date: dict[dt.date, list[Note]] = {}
    for note in keyword.notes:
        by_date.setdefault(note.date, []).append(note)
    for notes in by_date.values():
        _note_marker(notes, shapes, labels)
    layout: dict[str, Any] = {
        "template": _template(_RANK_HOVER),
        "height": 430 + 22 * len(rows),
        "margin": {"l": 56, "r": 16, "t": 36, "b": 40},
        "xaxis": {
            "type": "date",
            "range": [x_value(period.start), x_value(period.end)],
            "showgrid": True,
            "gridcolor": "#eef0f3",
        },
        "yaxis": {
            "title": {"text": "organic rank"},
            # reversed and fitted to the data: rank 1 on top, never a fixed 1-100
            "range": [max(worst, 5) + 0.5, 0.5],
            "domain": [0.0, 1.0 - strip],
            "zeroline": False,
            "gridcolor": "#eef0f3",
        },
        "legend": {"orientation": "h", "y": -0.12, "font": {"size": 11}},
        "shapes": shapes,
        "annotations": labels,
        "hovermode": "closest",
    }
    if rows:
        layout["yaxis2"] = {
            "domain": [1.0 - strip + 0.03, 1.0],
            "type": "category",
            "categoryorder": "array",
            "categoryarray": list(rows),
            "range": [-0.5, len(rows) - 0.5],
            "fixedrange": True,
            "tickfont": {"size": 10},
        }
    return layout


def _event_marker(event: Event, shapes: list[dict[str, Any]], labels: list[dict[str, Any]]) -> None:
    colour = _EVENT_COLOURS.get(event.kind, "#374151")
    at = x_value(event.at)
    shapes.append(
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": at,
            "x1": at,
            "y0": 0,
            "y1": 1,
            "line": {
                "color": colour,
                "width": 2,
                "dash": "solid" if event.view == "organic" else "dash",
            },
        }
    )
    arrow = "▲" if event.kind == "overtake" else "▼"
    labels.append(
        {
            "x": at,
            "xref": "x",
            "y": 1,
            "yref": "paper",
            "yanchor": "bottom",
            "showarrow": False,
            "text": f"{arrow} {event.view}",
            "font": {"color": colour, "size": 11},
            "hovertext": escape_text(
                f"{event.kind} ({event.view} view), {event.at:%d %b %Y %H:%M} UTC"
            ),
        }
    )


def _note_marker(
    notes: Sequence[Note], shapes: list[dict[str, Any]], labels: list[dict[str, Any]]
) -> None:
    """One dotted line per annotated day, labelled with the numbers of its notes."""
    at = _day(notes[0].date)
    shapes.append(
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": at,
            "x1": at,
            "y0": 0,
            "y1": 1,
            "line": {"color": "#9ca3af", "width": 1, "dash": "dot"},
        }
    )
    labels.append(
        {
            "x": at,
            "xref": "x",
            "y": 0,
            "yref": "paper",
            "yanchor": "bottom",
            "xanchor": "left",
            "showarrow": False,
            "text": " ".join(f"A{note.number}" for note in notes),
            "font": {"color": "#4b5563", "size": 10},
            "bgcolor": "rgba(255,255,255,0.8)",
            "hovertext": "<br>".join(
                escape_text(f"A{note.number} ({note.date}): {note.text}", 160) for note in notes
            ),
        }
    )


def _template(hover: str) -> dict[str, Any]:
    """Defaults every trace shares, written once per figure instead of once per trace."""
    return {
        "data": {
            "scatter": [
                {
                    "mode": "lines+markers",
                    "hovertemplate": hover,
                    "connectgaps": False,
                    "line": {"width": 1.6},
                    "marker": {"size": 4},
                    "opacity": 0.9,
                }
            ]
        },
        "layout": {
            "font": {"family": _FONT, "size": 12, "color": "#1f2937"},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "hoverlabel": {"align": "left"},
        },
    }


# --- share of voice over the period ----------------------------------------------------------


def share_chart(data: ReportData) -> go.Figure:
    """Share of voice by stance per day, averaged over keywords, stacked; organic and page
    views behind two buttons."""
    x = [_day(day.day) for day in data.share_by_day]
    traces = []
    for view in ("organic", "page"):
        by_day = [d.organic if view == "organic" else d.page for d in data.share_by_day]
        for stance in ("official", "critical", "neutral"):
            values = [round(100 * s[stance], 1) if s else None for s in by_day]
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": values,
                    "name": stance,
                    "legendgroup": stance,
                    "stackgroup": view,
                    "mode": "lines",
                    "line": {"color": STANCE_COLOURS[stance], "width": 1},
                    "fillcolor": STANCE_COLOURS[stance],
                    "visible": view == "organic",
                    "hovertemplate": f"{stance}: %{{y:.1f}}%<extra>{view} view</extra>",
                }
            )
    buttons = [
        {
            "label": f"{view} view",
            "method": "update",
            "args": [{"visible": [i // 3 == n for i in range(6)]}],
        }
        for n, view in enumerate(("organic", "page"))
    ]
    layout = {
        "template": _template(""),
        "height": 380,
        "margin": {"l": 56, "r": 16, "t": 48, "b": 40},
        "xaxis": {
            "type": "date",
            "range": [_day(data.period.first), _day(data.period.last)],
            "gridcolor": "#eef0f3",
        },
        "yaxis": {"range": [0, 100], "ticksuffix": "%", "title": {"text": "share of voice"}},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.12},
        "updatemenus": [
            {
                "type": "buttons",
                "direction": "right",
                "x": 0,
                "y": 1.14,
                "xanchor": "left",
                "buttons": buttons,
            }
        ],
    }
    return go.Figure(data=traces, layout=layout)


# --- serialising -----------------------------------------------------------------------------


def figure_json(figure: go.Figure) -> str:
    """The figure as JSON safe inside ``<script type="application/json">``, shared x hoisted."""
    spec = figure.to_plotly_json()
    data = spec.get("data", [])
    counts: dict[str, tuple[int, Any]] = {}
    for trace in data:
        if isinstance(trace.get("x"), list | tuple) and len(trace["x"]) > 1:
            key = json.dumps(list(trace["x"]))
            counts[key] = (counts.get(key, (0, None))[0] + 1, trace["x"])
    document: dict[str, Any] = {"figure": spec}
    if counts:
        key, (times, shared) = max(counts.items(), key=lambda item: item[1][0])
        if times > 1:
            for trace in data:
                if isinstance(trace.get("x"), list | tuple) and json.dumps(list(trace["x"])) == key:
                    del trace["x"]
            document["x"] = list(shared)
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=_plain)
    return script_safe(text)


def script_safe(text: str) -> str:
    """JSON text that cannot end a ``<script>`` element or open a comment inside it."""
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays, when plotly made any
        return value.tolist()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in a chart")
