"""The report's charts as plotly figures, built from :class:`~serptrack.report.build.ReportData`.

Pure: plain data in, ``plotly.graph_objects.Figure`` out. Titles, snippets and URLs come from
strangers, and plotly.js reads trace names, hover text and annotations as a small HTML
dialect, so every such string is HTML-escaped here (plotly shows the escaped text literally)
and never put in a ``hovertemplate``, where ``%{...}`` would be interpreted.

:class:`ChartPack` serialises the figures of a page for ``<script type="application/json">``
blocks: what they share (the x values of most traces, the layout every rank chart has) is
written once, and ``<``, ``>``, ``&`` and the two JavaScript line separators are escaped so no
string can close the script element or open a comment in it.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import plotly.graph_objects as go

from ..lead import Event
from ..store.reads import CheckEntry, UrlPosition
from .build import KeywordReport, Note, Period, ReportData, UrlSeries

__all__ = [
    "STANCE_COLOURS",
    "ChartPack",
    "escape_text",
    "host_of",
    "rank_base",
    "rank_chart",
    "script_safe",
    "share_chart",
    "url_label",
    "x_value",
]

STANCE_COLOURS = {"official": "#15803d", "critical": "#b91c1c", "neutral": "#9ca3af"}
_PALETTES = {
    "official": ("#15803d", "#0e7490", "#65a30d", "#047857", "#0369a1", "#4d7c0f", "#166534"),
    "critical": ("#b91c1c", "#ea580c", "#be185d", "#9a3412", "#dc2626", "#c2410c", "#9f1239"),
}
# critical lines are dashed so the two sides stay apart without colour; once a palette is used
# up, the next round of lines gets the next dash pattern
_DASHES = {"official": ("solid", "longdash"), "critical": ("dash", "dot", "dashdot")}
_EVENT_COLOURS = {"overtake": "#15803d", "lost": "#b91c1c"}
_FEATURE_ROWS = {"paid:top": "top ads", "news": "news box", "paid:bottom": "bottom ads"}
_FAILED_ROW = "check failed"
_SYMBOLS = {"paid": "square", "news": "circle"}
_LABEL_LENGTH = 60
_FONT = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
# stranger's text reaches hover labels only through the trace name, never a template
_RANK_HOVER = (
    "<b>%{fullData.name}</b><br>%{meta}: organic #%{y}<br>%{x|%d %b %Y %H:%M} UTC<extra></extra>"
)
_FEATURE_HOVER = (
    "<b>%{fullData.name}</b><br>%{meta[0]}: %{meta[1]} %{text}<br>"
    "%{x|%d %b %Y %H:%M} UTC<extra></extra>"
)
_FAILED_HOVER = "%{text}<br>%{x|%d %b %Y %H:%M} UTC<extra></extra>"


def escape_text(text: str, limit: int | None = None) -> str:
    """A stranger's string made inert for plotly's HTML dialect, shortened to ``limit``."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)


def host_of(url: str) -> str:
    """A URL's host without ``www.``; empty when it has none (or is not a URL)."""
    try:
        return (urlsplit(url.strip()).hostname or "").removeprefix("www.")
    except ValueError:
        return ""


def url_label(url: str, title: str) -> str:
    """How a chart names a result: its host, then its title (or the URL)."""
    host = host_of(url)
    rest = title.strip() or url
    return f"{host}: {rest}" if host else rest


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
    failures = [check for check in checks if check.status != "ok"]
    present = {_feature_row(item) for series in keyword.urls for item in series.features}
    if failures:
        present.add(_FAILED_ROW)
    rows = [row for row in _row_order() if row in present]
    rows += sorted(present - set(rows))
    traces: list[dict[str, Any]] = []
    counters: dict[str, int] = {}
    worst = 1
    for number, series in enumerate(keyword.urls):
        palette = _PALETTES.get(series.stance, ("#6b7280",))
        dashes = _DASHES.get(series.stance, ("dot",))
        seen = counters.get(series.stance, 0)
        counters[series.stance] = seen + 1
        line: dict[str, Any] = {"color": palette[seen % len(palette)]}
        dash = dashes[(seen // len(palette)) % len(dashes)]
        if dash != "solid":
            line["dash"] = dash
        base: dict[str, Any] = {
            "type": "scatter",
            "x": x,
            "name": escape_text(url_label(series.url, series.title), _LABEL_LENGTH),
            "meta": series.stance,
        }
        if series.features:  # ads and boxes hide and show with the organic line
            base["legendgroup"] = f"u{number}"
        if series.organic:
            worst = max(worst, max(series.organic.values()))
            ranks = [series.organic.get(c.check_id) if c.status == "ok" else None for c in checks]
            traces.append({**base, "y": ranks, "line": line})
        traces.extend(_feature_traces(series, checks, base, line["color"], rows))
    if failures:
        traces.append(_failure_trace(failures, rows.index(_FAILED_ROW)))
    return go.Figure(data=traces, layout=_rank_layout(keyword, period, worst, rows))


def _feature_row(item: UrlPosition) -> str:
    key = f"paid:{item.block or 'top'}" if item.placement == "paid" else item.placement
    return _FEATURE_ROWS.get(key, item.placement.replace("_", " "))


def _feature_traces(
    series: UrlSeries,
    checks: Sequence[CheckEntry],
    base: dict[str, Any],
    colour: str,
    rows: Sequence[str],
) -> list[dict[str, Any]]:
    """One marker trace per kind of non-organic appearance (top ads, news box ...), on the
    chart's shared x: a row of the strip where the URL appeared, nothing elsewhere."""
    by_row: dict[str, dict[int, int]] = {}
    symbols: dict[str, str] = {}
    for item in series.features:
        row = _feature_row(item)
        symbols[row] = _SYMBOLS.get(item.placement, "diamond")
        ranks = by_row.setdefault(row, {})
        ranks[item.check_id] = min(item.rank, ranks.get(item.check_id, item.rank))
    traces = []
    show_legend = not series.organic
    for row, ranks in by_row.items():
        index = rows.index(row)
        labels = {f"#{rank}" for rank in ranks.values()}
        traces.append(
            {
                **base,
                "y": [index if c.check_id in ranks else None for c in checks],
                # one label for every point when the rank never changes
                "text": labels.pop()
                if len(labels) == 1
                else [f"#{ranks[c.check_id]}" if c.check_id in ranks else None for c in checks],
                "meta": [series.stance, row],
                "yaxis": "y2",
                "mode": "markers",
                "showlegend": show_legend,
                "hovertemplate": _FEATURE_HOVER,
                "marker": {"color": colour, "symbol": symbols[row], "size": 9},
            }
        )
        show_legend = False
    return traces


def _failure_trace(failures: Sequence[CheckEntry], row: int) -> dict[str, Any]:
    return {
        "type": "scatter",
        "x": [x_value(check.at) for check in failures],
        "y": [row] * len(failures),
        "yaxis": "y2",
        "mode": "markers",
        "name": "check failed (gap)",
        "text": [escape_text(f"{c.status}: {c.error_kind or 'unknown'}") for c in failures],
        "hovertemplate": _FAILED_HOVER,
        "marker": {"color": "#6b7280", "symbol": "x-thin-open", "size": 10, "line": {"width": 2}},
    }


def _row_order() -> list[str]:
    """The strip's rows, bottom to top."""
    return [_FAILED_ROW, "bottom ads", "news box", "top ads"]


def rank_base(period: Period, notes: Sequence[Note]) -> dict[str, Any]:
    """The layout every rank chart of a report shares: template, time axis, legend, and the
    annotations that concern every keyword (written once per page by :class:`ChartPack`)."""
    shapes: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    _note_markers([note for note in notes if note.query is None], shapes, labels, 0)
    return {
        "template": _template(_RANK_HOVER),
        "margin": {"l": 56, "r": 16, "t": 36, "b": 40},
        "xaxis": {
            "type": "date",
            "range": [x_value(period.start), x_value(period.end)],
            "showgrid": True,
            "gridcolor": "#eef0f3",
        },
        "legend": {"orientation": "h", "y": -0.12, "font": {"size": 11}},
        "hovermode": "closest",
        "shapes": shapes,
        "annotations": labels,
    }


def _rank_layout(
    keyword: KeywordReport, period: Period, worst: int, rows: Sequence[str]
) -> dict[str, Any]:
    layout = rank_base(period, keyword.notes)
    strip = 0.06 * len(rows) + 0.04 if rows else 0.0
    by_check: dict[int, list[Event]] = {}
    for event in keyword.events:
        by_check.setdefault(event.check_id, []).append(event)
    for events in by_check.values():
        _event_markers(events, layout["shapes"], layout["annotations"])
    own = [note for note in keyword.notes if note.query is not None]
    _note_markers(own, layout["shapes"], layout["annotations"], 14)
    layout["height"] = 430 + 22 * len(rows)
    layout["yaxis"] = {
        "title": {"text": "organic rank"},
        # reversed and fitted to the data: rank 1 on top, never a fixed 1-100
        "range": [max(worst, 5) + 0.5, 0.5],
        "domain": [0.0, 1.0 - strip],
        "zeroline": False,
        "gridcolor": "#eef0f3",
    }
    if rows:
        layout["yaxis2"] = {
            "domain": [1.0 - strip + 0.03, 1.0],
            "tickvals": list(range(len(rows))),
            "ticktext": list(rows),
            "showgrid": False,
            "zeroline": False,
            "range": [-0.5, len(rows) - 0.5],
            "fixedrange": True,
            "tickfont": {"size": 10},
        }
    return layout


def _event_markers(
    events: Sequence[Event], shapes: list[dict[str, Any]], labels: list[dict[str, Any]]
) -> None:
    """A vertical line per event (solid: organic view, dashed: page view), one label per check.

    What every marker shares (full height, label on top) is in the template's
    ``shapedefaults`` and ``annotationdefaults``: a report can hold hundreds of events.
    """
    at = x_value(events[0].at)
    for event in events:
        line = {"color": _EVENT_COLOURS.get(event.kind, "#374151")}
        if event.view != "organic":
            line["dash"] = "dash"
        shapes.append({"x0": at, "x1": at, "line": line})
    kinds = {event.kind for event in events}
    colour = _EVENT_COLOURS.get(events[0].kind, "#374151") if len(kinds) == 1 else "#374151"
    labels.append(
        {
            "x": at,
            "text": " ".join(f"{'▲' if e.kind == 'overtake' else '▼'} {e.view}" for e in events),
            "font": {"color": colour},
        }
    )


def _note_markers(
    notes: Sequence[Note], shapes: list[dict[str, Any]], labels: list[dict[str, Any]], shift: int
) -> None:
    """One dotted line per annotated day, labelled with the numbers of its notes."""
    by_date: dict[dt.date, list[Note]] = {}
    for note in notes:
        by_date.setdefault(note.date, []).append(note)
    for day, found in by_date.items():
        at = _day(day)
        shapes.append({"x0": at, "x1": at, "line": {"color": "#9ca3af", "width": 1, "dash": "dot"}})
        labels.append(
            {
                "x": at,
                "y": 0,
                "xanchor": "left",
                "yshift": shift,
                "text": " ".join(f"A{note.number}" for note in found),
                "font": {"color": "#4b5563", "size": 10},
                "bgcolor": "rgba(255,255,255,0.8)",
                "hovertext": "<br>".join(
                    escape_text(f"A{note.number} ({note.date}): {note.text}", 160) for note in found
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
            "shapedefaults": {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"width": 2},
            },
            "annotationdefaults": {
                "xref": "x",
                "yref": "paper",
                "y": 1,
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 11},
            },
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


class ChartPack:
    """Serialises the figures of one page, writing what they share only once.

    Each figure becomes ``{"figure": ..., "x": id, "base": id}``: ``x`` names an array of x
    values that its traces without their own ``x`` use, ``base`` a layout whose keys the
    figure lacks and whose ``shapes`` and ``annotations`` come before the figure's own. The
    arrays and bases are in :meth:`shared_json`; the page script puts them back before
    plotting. Only what is identical is taken out (and ``"type": "scatter"``, plotly.js's
    default), so the figure plotted is the figure built.
    """

    def __init__(self) -> None:
        """Start a page with nothing shared yet."""
        self._ids: dict[str, str] = {}
        self._shared: dict[str, dict[str, Any]] = {"arrays": {}, "bases": {}}

    def add(self, figure: go.Figure, base: dict[str, Any] | None = None) -> str:
        """The figure's JSON, safe inside ``<script type="application/json">``."""
        spec = figure.to_plotly_json()
        document: dict[str, Any] = {"figure": spec}
        if base is not None:
            layout = spec.setdefault("layout", {})
            stripped = _without_base(layout, go.Layout(base).to_plotly_json())
            if stripped is not None:
                spec["layout"] = stripped
                document["base"] = self._intern("bases", go.Layout(base).to_plotly_json())
        for trace in spec.get("data", []):
            if trace.get("type") == "scatter":  # plotly.js's default trace type
                del trace["type"]
        xs = [trace["x"] for trace in spec.get("data", []) if _is_array(trace.get("x"))]
        if xs:
            common = max(xs, key=lambda x: sum(1 for other in xs if list(other) == list(x)))
            for trace in spec["data"]:
                if _is_array(trace.get("x")) and list(trace["x"]) == list(common):
                    del trace["x"]
            document["x"] = self._intern("arrays", list(common))
        return _dumps(document)

    def shared_json(self) -> str:
        """The arrays and layouts the figures refer to."""
        return _dumps(self._shared)

    def _intern(self, kind: str, value: Any) -> str:
        text = _dumps(value)
        key = f"{kind}:{text}"
        if key not in self._ids:
            self._ids[key] = f"{kind[0]}{len(self._shared[kind])}"
            self._shared[kind][self._ids[key]] = value
        return self._ids[key]


def _without_base(layout: dict[str, Any], base: dict[str, Any]) -> dict[str, Any] | None:
    """``layout`` less what ``base`` gives it, or None when the base does not fit."""
    rest = dict(layout)
    for key, value in base.items():
        if key in ("shapes", "annotations"):
            own = list(rest.get(key, []))
            if own[: len(value)] != list(value):
                return None
            rest[key] = own[len(value) :]
        elif rest.get(key) == value:
            del rest[key]
        else:
            return None
    return rest


def _is_array(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) > 1


def _dumps(value: Any) -> str:
    return script_safe(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_plain))


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
