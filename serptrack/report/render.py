"""Turn :class:`~serptrack.report.build.ReportData` into one self-contained HTML file, or JSON.

The HTML comes from the Jinja2 templates in ``templates/`` with autoescaping on, so a title,
snippet or URL is text wherever it lands; links are made only from ``http``/``https`` URLs.
Charts travel as JSON blocks (:class:`~serptrack.report.charts.ChartPack`) drawn by one
copy of plotly.js, embedded (the default: the file opens offline and survives email) or
loaded from the plotly CDN (a small file that needs the network). A Content-Security-Policy
allows only the page's own scripts, by hash, and no network access at all when embedded; the
CDN's script carries Subresource Integrity (:func:`plotly_integrity`), so the browser runs it
only if it is byte for byte the plotly.js this report was made with.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from plotly.offline import get_plotlyjs
from plotly.offline.offline import get_plotlyjs_version

from ..defaults import PLOTLYJS_MODES
from ..lead import COMPOSITION, PAGE_ONE, VIEWS, Share
from ..output import json_text
from ..sampling import Interval, PlacementShares
from ..vocabulary import failure_words
from .branding import Branding
from .build import (
    FeatureHold,
    KeywordReport,
    LeadState,
    MonthEnd,
    Movement,
    OwnershipRules,
    ReportData,
    Score,
)
from .charts import (
    AI_NAMES,
    ChartPack,
    ai_chart,
    campaign_composition_chart,
    composition_base,
    composition_chart,
    host_of,
    rank_base,
    rank_chart,
    share_chart,
)

__all__ = [
    "BASIC_VERSION",
    "PLOTLYJS_MODES",
    "REPORT_FORMAT",
    "embedded_plotly_js",
    "executive_summary",
    "plotly_cdn_src",
    "plotly_integrity",
    "render_html",
    "render_json",
    "report_document",
]

REPORT_FORMAT = "serptrack-report/1"
_TOP = PAGE_ONE  # the month-end table's rows: ranks 1-10
_PRESENCE_LABELS = {
    "both": "ad and organic",
    "ad": "ad only",
    "organic": "organic only",
    "neither": "neither",
}


@functools.cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("serptrack.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=_pct,
        pos=_pos,
        day=_day,
        moment=_moment,
        href=_href,
        host=_host,
        short_url=_short_url,
        failure=failure_words,
        score=_score,
        score_parts=_score_parts,
    )
    return env


@functools.cache
def _renderer() -> str:
    return (resources.files("serptrack.report") / "templates" / "render.js").read_text("utf-8")


#: the plotly.js version of the vendored basic bundle (``vendor/ORIGIN.md``)
BASIC_VERSION = "4.1.1"


@functools.cache
def _plotly_js(full: bool = False) -> str:
    # the library never contains "</script", but a future build must not end the element early
    return embedded_plotly_js(full).replace("</script", "<\\/script")


@functools.cache
def embedded_plotly_js(full: bool = False) -> str:
    """The plotly.js an embedded report carries: the official basic bundle (scatter, bar and
    pie traces: every chart here is a scatter; 1.2 MB instead of 4.8 MB) when it is the
    version plotly.py builds figures for, else (or with ``full``) plotly.py's full bundle."""
    if not full and get_plotlyjs_version() == BASIC_VERSION:
        vendored = resources.files("serptrack.report") / "vendor" / "plotly-basic.min.js"
        return vendored.read_text("utf-8")
    library: str = get_plotlyjs()  # plotly is untyped
    return library


def plotly_cdn_src() -> str:
    """The CDN URL of the bundled plotly.js version, as plotly builds it (``plotly_cdn_url``)."""
    return f"https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js"


@functools.cache
def plotly_integrity() -> str:
    """The ``integrity`` value of the CDN's plotly.js: the SHA-384 of the bundled file.

    plotly fetches its bundle from the plotly.js release (``dist/plotly.min.js`` of tag
    ``v<version>``, plotly.py's ``commands.py update_bundle``) and cdn.plot.ly serves that
    release's ``dist/plotly.min.js`` as ``plotly-<version>.min.js``: the same bytes, which is
    why plotly's own ``to_html(include_plotlyjs="cdn")`` hashes the bundled file too.
    """
    library: str = get_plotlyjs()  # the file's text, decoded from UTF-8 by plotly
    digest = hashlib.sha384(library.encode("utf-8")).digest()
    return f"sha384-{base64.b64encode(digest).decode('ascii')}"


# --- HTML ------------------------------------------------------------------------------------


def render_html(data: ReportData, branding: Branding, *, plotlyjs: str = "embed") -> str:
    """The report as one HTML document."""
    if plotlyjs not in PLOTLYJS_MODES:
        raise ValueError(f"plotlyjs must be one of {PLOTLYJS_MODES}")
    env = _environment()
    pack = ChartPack()
    base = rank_base(data.period, data.notes)
    charts = [
        {
            "id": f"rank-{n}",
            "json": Markup(pack.add(rank_chart(k, data.period, data.generated_at), base)),
        }
        for n, k in enumerate(data.keywords)
    ]
    page_base = composition_base(data.period)
    pages = [
        {"id": f"page-{n}", "json": Markup(pack.add(composition_chart(k, data.period), page_base))}
        for n, k in enumerate(data.keywords)
    ]
    ai_charts = {
        n: {"id": f"ai-{n}", "json": Markup(pack.add(ai_chart(k, data.period)))}
        for n, k in enumerate(data.keywords)
        if k.ai
    }
    share = {"id": "share-chart", "json": Markup(pack.add(share_chart(data)))}
    page_one = {"id": "page-all", "json": Markup(pack.add(campaign_composition_chart(data)))}
    scripts = [_renderer()]
    plotly_src = None
    if plotlyjs in ("embed", "full"):
        scripts.insert(0, _plotly_js(full=plotlyjs == "full"))
    else:
        plotly_src = plotly_cdn_src()
    template = env.get_template("report.html.j2")
    return template.render(
        data=data,
        campaign=data.campaign,
        period=data.period,
        branding=branding,
        logo=branding.logo_uri(),
        csp=_csp(scripts, plotly_src),
        scripts=[Markup(s) for s in scripts],
        plotly_src=plotly_src,
        plotly_integrity=plotly_integrity() if plotly_src else None,
        plotly_version=get_plotlyjs_version(),
        charts=charts,
        page_charts=pages,
        share_chart=share,
        ai_charts=ai_charts,
        page_one_chart=page_one,
        shared=Markup(pack.shared_json()),
        headline=_headline(data),
        summary_sentence=executive_summary(data),
        keywords=[_keyword_view(k, data, n) for n, k in enumerate(data.keywords)],
        paid=_paid_view(data),
        serp_features=_features_view(data.serp_features()),
        methodology=_methodology(data),
        presence_labels=_PRESENCE_LABELS,
    )


def _csp(scripts: Sequence[str], plotly_src: str | None) -> str:
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode('utf-8')).digest()).decode()}'"
        for s in scripts
    )
    source = f" {plotly_src}" if plotly_src else ""
    return (
        f"default-src 'none'; script-src {hashes}{source}; style-src 'unsafe-inline'; "
        "img-src data:; font-src data:; base-uri 'none'; form-action 'none'"
    )


def _headline(data: ReportData) -> list[dict[str, Any]]:
    """The cards on top of the summary: each a label, a value now and what it was."""
    total = len(data.keywords)
    cards: list[dict[str, Any]] = []
    for view in VIEWS:
        cards.append(
            {
                "label": f"keywords the official side leads ({view} view)",
                "end": f"{data.leaders('end', view)['official']} of {total}",
                "start": f"{data.leaders('start', view)['official']} of {total}",
            }
        )
    overtakes = sum(1 for e in data.events if e.kind == "overtake")
    lost = sum(1 for e in data.events if e.kind == "lost")
    cards.append({"label": "overtakes / lost leads (both views)", "end": f"{overtakes} / {lost}"})
    first = sum(k.critical_on_page_1("start") or 0 for k in data.keywords)
    last = sum(k.critical_on_page_1("end") or 0 for k in data.keywords)
    cards.append(
        {"label": "critical results on page 1 (all keywords)", "end": last, "start": first}
    )
    score = {which: data.score(which) for which in ("start", "end")}
    cards.append(
        {
            "label": "reputation score (organic, mean of keywords)",
            "end": _score(score["end"]),
            "start": _score(score["start"]),
            "detail": _score_parts(score["end"]),
        }
    )
    cards.append(
        {
            "label": "official share of voice (organic, mean)",
            "end": _pct(_mean_share(data.keywords, "end", "official")),
            "start": _pct(_mean_share(data.keywords, "start", "official")),
        }
    )
    return cards


def executive_summary(data: ReportData) -> str:
    """One sentence of plain words on top of the report, made from its numbers: who leads how
    many keywords now, how page 1 changed, and the last lead lost (if any)."""
    total = len(data.keywords)
    leading = data.leaders("end", "organic")["official"]
    before = data.leaders("start", "organic")["official"]
    noun = "keyword" if total == 1 else "keywords"
    parts = [f"The official response leads {leading} of {total} {noun} in organic results"]
    if before != leading:
        parts[0] += f" ({before} at the start of the period)"
    first = sum(k.critical_on_page_1("start") or 0 for k in data.keywords)
    last = sum(k.critical_on_page_1("end") or 0 for k in data.keywords)
    if first != last:
        verb = "fell" if last < first else "rose"
        parts.append(f"critical results on page 1 {verb} from {first} to {last}")
    else:
        parts.append(f"critical results on page 1 stayed at {last}")
    lost = [e for e in data.events if e.kind == "lost"]
    if lost:
        latest = max(lost, key=lambda e: e.at)
        parts.append(
            f"the last lead lost was \u201c{latest.keyword.query}\u201d ({latest.view} view) on "
            f"{_day(latest.at)}"
        )
    else:
        parts.append("no lead was lost in the period")
    return "; ".join(parts) + "."


def _mean_share(keywords: Sequence[KeywordReport], which: str, stance: str) -> float | None:
    values = []
    for keyword in keywords:
        share = keyword.share(which)
        if share is not None and share.organic is not None:
            values.append(share.organic[stance])
    return sum(values) / len(values) if values else None


def _keyword_view(keyword: KeywordReport, data: ReportData, number: int) -> dict[str, Any]:
    crisis = data.campaign.crisis_start
    first_overtake = {
        view: {
            "event": keyword.first_overtake[view],
            "days": keyword.days_to_first_overtake(view, crisis),
        }
        for view in VIEWS
    }
    last_ok = keyword.points[-1].at if keyword.points else None
    return {
        "number": number,
        "anchor": f"kw-{number}",
        "info": keyword.keyword,
        "report": keyword,
        "leads": {
            view: {"start": keyword.start.get(view), "end": keyword.end.get(view)} for view in VIEWS
        },
        "overtakes": sum(1 for e in keyword.events if e.kind == "overtake"),
        "lost": sum(1 for e in keyword.events if e.kind == "lost"),
        "page_one": (keyword.critical_on_page_1("start"), keyword.critical_on_page_1("end")),
        "share": {
            stance: (
                _share_of(keyword.share("start"), stance),
                _share_of(keyword.share("end"), stance),
            )
            for stance in ("official", "critical")
        },
        "first_overtake": first_overtake,
        "score": {which: keyword.score(which) for which in ("start", "end")},
        # every ad, and the news boxes and other features that hold a labelled result
        "features": [
            item
            for item in keyword.features
            if item.placement == "paid" or item.stance != "neutral"
        ],
        "last_ok": last_ok,
        "serp_features": _features_view(keyword.serp_features),
        "ai": [_ai_row(shares) for shares in keyword.ai.values()],
        "ownership": {
            "rows": {item.norm_url: data.ownership.of(item.norm_url) for item in keyword.top},
            "counts": data.ownership.count(keyword.top),
        },
        "months": _month_table(keyword, data.months),
        "failures": keyword.failures,
        "ok": len(keyword.points),
    }


def _score(score: Score | None) -> str:
    """A reputation score as a client reads it: ``+32``, ``−8``, ``0``."""
    if score is None:
        return "–"
    value = round(score.value)
    return f"+{value}" if value > 0 else (f"\u2212{-value}" if value < 0 else "0")


def _score_parts(score: Score | None) -> str:
    """The components a score is made of, beside it: ``official 45% − critical 13%``."""
    if score is None:
        return "no page-1 result weighs"
    return (
        f"official {_pct(score.official)} \u2212 critical {_pct(score.critical)}; "
        f"neutral {_pct(score.neutral)}"
    )


def _features_view(holds: Sequence[FeatureHold]) -> list[dict[str, Any]]:
    """Rows of a SERP-features table: the feature, how often it showed, who was in it."""
    return [
        {
            "hold": hold,
            "present": f"{hold.present} of {hold.checks}",
            "official": _held(hold.official, hold.present),
            "critical": _held(hold.critical, hold.present),
        }
        for hold in holds
    ]


def _ai_row(shares: PlacementShares) -> dict[str, Any]:
    """One AI placement of a keyword over the period, each share with its interval."""
    return {
        "placement": AI_NAMES.get(shares.placement, shares.placement),
        "samples": shares.samples,
        "shown": _interval(shares.shown),
        "official": _interval(shares.cites_official),
        "critical": _interval(shares.cites_critical),
        "citations": shares.citations,
        "by_stance": {stance: _interval(i) for stance, i in shares.by_stance.items()},
    }


def _interval(interval: Interval) -> str:
    """``67% (21–94%)``: a share and its 95 % Wilson interval."""
    if interval.share is None:
        return "–"
    low, high = interval.bounds()
    return f"{interval.share:.0%} ({100 * low:.0f}\u2013{100 * high:.0f}%)"


def _held(count: int, present: int) -> str:
    return f"{count} ({count / present:.0%})" if present else "–"


def _month_table(keyword: KeywordReport, months: Sequence[str]) -> dict[str, Any]:
    """The month-end top 10s as rows of cells (rank 1 to 10, one cell per month): each cell a
    URL with its stance and its move since the month before (``▲2``, ``▼1``, ``new``)."""
    ends = {end.month: end for end in keyword.month_ends}
    columns = [ends.get(month) for month in months]
    rows = []
    for rank in range(1, _TOP + 1):
        cells = []
        for end in columns:
            found = next((r for r in end.top if r.rank == rank), None) if end else None
            cells.append(None if found is None else _month_cell(end, found))
        rows.append({"rank": rank, "cells": cells})
    return {
        "heads": [
            {"label": _month_label(month), "end": end.at if end else None}
            for month, end in zip(months, columns, strict=True)
        ],
        "rows": rows,
        "entered": keyword.entered,
        "left": keyword.left,
        "since": keyword.since,
    }


def _month_cell(end: MonthEnd | None, row: Any) -> dict[str, Any]:
    """A month-end cell: the URL, its move, and what it is coloured as: its stance, or
    ``unlabelled`` for a URL no rule labels (neutral by default, not judged neutral)."""
    unlabelled = end is not None and row.norm_url in end.unlabelled
    return {"row": row, "move": _move(end, row), "kind": "unlabelled" if unlabelled else row.stance}


def _move(end: MonthEnd | None, row: Any) -> str:
    """``▲2`` (up two places since the month before), ``▼1``, ``new`` or nothing."""
    if end is None or row.norm_url not in end.moves:
        return ""
    gained = end.moves[row.norm_url]
    if gained is None:
        return "new"
    if gained == 0:
        return ""
    return f"▲{gained}" if gained > 0 else f"▼{-gained}"


def _month_label(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{dt.date(year, number, 1):%b %Y}"


def _share_of(share: Share | None, stance: str) -> float | None:
    if share is None or share.organic is None:
        return None
    return share.organic.get(stance)


def _paid_view(data: ReportData) -> dict[str, Any]:
    days = data.period.days()
    today = data.generated_at.astimezone(dt.UTC).date()
    rows = []
    for n, keyword in enumerate(data.keywords):
        by_day = {d.day: d for d in keyword.paid}
        counts = dict.fromkeys(_PRESENCE_LABELS, 0)
        for paid_day in keyword.paid:
            counts[paid_day.presence] += 1
        redundant = [d.day for d in keyword.paid if d.redundant_ad]
        carried = [d.day for d in keyword.paid if d.ad_carries_lead]
        rows.append(
            {
                "anchor": f"kw-{n}",
                "info": keyword.keyword,
                "checked": len(keyword.paid),
                "counts": counts,
                "redundant": redundant,
                "redundant_ranges": _ranges(redundant),
                "carried": carried,
                "carried_ranges": _ranges(carried),
                "cells": [_cell(by_day.get(day), future=day > today) for day in days],
            }
        )
    months: list[dict[str, Any]] = []
    for day in days:
        if not months or months[-1]["month"] != (day.year, day.month):
            months.append({"month": (day.year, day.month), "label": f"{day:%b %Y}", "span": 0})
        months[-1]["span"] += 1
    return {"days": days, "months": months, "rows": rows}


def _cell(day: Any, *, future: bool = False) -> str:
    """The CSS classes of one day of the presence grid (a day still to come is no gap)."""
    if day is None:
        return "future" if future else "none"
    classes = [day.presence]
    if day.redundant_ad:
        classes.append("r")
    if day.ad_carries_lead:
        classes.append("c")
    return " ".join(classes)


def _ranges(days: Sequence[dt.date]) -> str:
    """``14-18 Dec, 22 Dec``: consecutive days joined."""
    parts: list[str] = []
    run: list[dt.date] = []
    for day in sorted(days):
        if run and (day - run[-1]).days == 1:
            run.append(day)
            continue
        if run:
            parts.append(_run(run))
        run = [day]
    if run:
        parts.append(_run(run))
    return ", ".join(parts)


def _run(run: Sequence[dt.date]) -> str:
    first, last = run[0], run[-1]
    if first == last:
        return f"{first.day} {first:%b}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%b}"
    return f"{first.day} {first:%b} – {last.day} {last:%b}"


def _methodology(data: ReportData) -> dict[str, Any]:
    keywords = data.keywords
    checks = data.checks
    statuses = {status: 0 for status in ("ok", "failed", "blocked")}
    for check in checks:
        statuses[check.status] = statuses.get(check.status, 0) + 1
    return {
        "providers": sorted({check.provider for check in checks} | {k.provider for k in keywords}),
        "engines": sorted({k.keyword.engine for k in keywords}),
        "locales": sorted(
            {
                "-".join(p for p in (k.keyword.country, k.keyword.language) if p) or "any"
                for k in keywords
            }
        ),
        "devices": sorted({k.keyword.device for k in keywords}),
        "depths": sorted({k.depth for k in keywords}),
        "samples": sorted({k.samples for k in keywords}),
        "schedules": sorted({f"{k.schedule} ({k.timezone})" for k in keywords}),
        "checks": len(checks),
        "statuses": statuses,
        "reasons": data.failure_reasons(),
        "sources": data.sources(),
        "curve": data.curve,
        "curve_top": [f"{value:g}%" for value in data.curve.positions[:10]],
        "rules": data.rules,
        "ownership": data.ownership.patterns if data.ownership else {},
    }


# --- JSON ------------------------------------------------------------------------------------


def render_json(data: ReportData, branding: Branding) -> str:
    """The numbers behind the report as one JSON document (``serptrack-report/1``)."""
    return json_text(report_document(data, branding))


def report_document(data: ReportData, branding: Branding) -> dict[str, Any]:
    """The numbers behind the report: per keyword leads, events, share of voice, paid days,
    per-URL positions and the month-end top 10, plus the methodology."""
    campaign = data.campaign
    return {
        "format": REPORT_FORMAT,
        "campaign": {
            "name": campaign.name,
            "brand": campaign.brand,
            "description": campaign.description,
            "crisis_start": campaign.crisis_start,
        },
        "period": data.period.to_json(),
        "generated_at": data.generated_at,
        "serptrack": data.version,
        "branding": branding.to_json(),
        "hold": data.hold,
        "ctr_curve": data.curve.describe(),
        "summary": {
            "sentence": executive_summary(data),
            "keywords": len(data.keywords),
            "official_leads": {
                view: {which: data.leaders(which, view)["official"] for which in ("start", "end")}
                for view in VIEWS
            },
            "overtakes": sum(1 for e in data.events if e.kind == "overtake"),
            "lost": sum(1 for e in data.events if e.kind == "lost"),
            "score": {which: _score_document(data.score(which)) for which in ("start", "end")},
        },
        "serp_features": [hold.to_json() for hold in data.serp_features()],
        "events": [event.to_json() for event in data.events],
        "annotations": [
            {"number": n.number, "date": n.date, "text": n.text, "query": n.query}
            for n in data.notes
        ],
        "keywords": [_keyword_document(k, data) for k in data.keywords],
        "share_of_voice_by_day": [
            {
                "date": day.day,
                "keywords": day.keywords,
                "organic": _rounded(day.organic),
                "page": _rounded(day.page),
            }
            for day in data.share_by_day
        ],
        "page_one_by_day": [
            {
                "date": day.day,
                "keywords": day.keywords,
                **{kind: round(day.counts[kind], 4) for kind in COMPOSITION},
            }
            for day in data.composition_by_day
        ],
        "months": data.months,
        "methodology": {
            "checks": len(data.checks),
            "by_status": _methodology(data)["statuses"],
            "failures": [
                {"status": status, "reason": reason, "count": count}
                for status, reason, count in data.failure_reasons()
            ],
            "sources": [{"source": source, "checks": n} for source, n in data.sources()],
            "labels": data.rules,
            "ownership": data.ownership.patterns if data.ownership else None,
        },
    }


def _keyword_document(keyword: KeywordReport, data: ReportData) -> dict[str, Any]:
    crisis = data.campaign.crisis_start
    points = {point.check_id: point for point in keyword.points}
    return {
        **keyword.keyword.identity(),
        "tags": list(keyword.keyword.tags),
        "provider": keyword.provider,
        "depth": keyword.depth,
        "schedule": keyword.schedule,
        "start": _lead_document(keyword.start),
        "end": _lead_document(keyword.end),
        "critical_on_page_1": {
            "start": keyword.critical_on_page_1("start"),
            "end": keyword.critical_on_page_1("end"),
        },
        "share_of_voice": {
            which: {"organic": _rounded(share.organic), "page": _rounded(share.page)}
            if (share := keyword.share(which))
            else None
            for which in ("start", "end")
        },
        "score": {which: _score_document(keyword.score(which)) for which in ("start", "end")},
        "serp_features": [hold.to_json() for hold in keyword.serp_features],
        "ai": {
            "samples": keyword.ai_samples,
            "failed_samples": keyword.ai_failed_samples,
            "placements": {p: shares.to_json() for p, shares in keyword.ai.items()},
            "by_day": [
                {
                    "date": day.day,
                    "samples": day.samples,
                    "placements": {p: sh.to_json() for p, sh in day.shares.items()},
                }
                for day in keyword.ai_days
            ],
        },
        "events": [event.to_json() for event in keyword.events],
        "first_overtake": {view: _first_overtake(keyword, view, crisis) for view in VIEWS},
        "checks": [
            {
                "check_id": check.check_id,
                "at": check.at,
                "status": check.status,
                "error_kind": check.error_kind,
                **(_point_document(points[check.check_id]) if check.check_id in points else {}),
                **(
                    {"page_one": dict(keyword.composition[check.check_id])}
                    if check.check_id in keyword.composition
                    else {}
                ),
            }
            for check in keyword.checks
        ],
        "urls": [
            {
                "url": series.url,
                "norm_url": series.norm_url,
                "stance": series.stance,
                "title": series.title,
                "best_organic_rank": series.best,
                "organic": [
                    {"check_id": check_id, "rank": rank}
                    for check_id, rank in series.organic.items()
                ],
                "features": [
                    {
                        "check_id": item.check_id,
                        "placement": item.placement,
                        "block": item.block,
                        "rank": item.rank,
                        "page_position": item.page_position,
                    }
                    for item in series.features
                ],
            }
            for series in keyword.urls
        ],
        "top10": [_result_document(item, data.ownership) for item in keyword.top],
        "page_one_ownership": data.ownership.count(keyword.top),
        "page_features": [_result_document(item, data.ownership) for item in keyword.features],
        "month_end_top10": [_month_end_document(end, data.ownership) for end in keyword.month_ends],
        "page_one_changes": {
            "since": keyword.since,
            "entered": [_movement_document(m) for m in keyword.entered],
            "left": [_movement_document(m) for m in keyword.left],
        },
        "paid_days": [
            {
                "date": day.day,
                "presence": day.presence,
                "redundant_ad": day.redundant_ad,
                "ad_carries_lead": day.ad_carries_lead,
                "official_ad_rank": day.official_ad_rank,
                "official_organic_rank": day.official_organic_rank,
            }
            for day in keyword.paid
        ],
    }


def _score_document(score: Score | None) -> dict[str, float] | None:
    return score.to_json() if score is not None else None


def _month_end_document(end: MonthEnd, ownership: OwnershipRules) -> dict[str, Any]:
    return {
        "month": end.month,
        "at": end.at,
        "check_id": end.check_id,
        "top10": [
            {
                "rank": row.rank,
                "url": row.url,
                "title": row.title,
                "stance": row.stance,
                "labelled": row.norm_url not in end.unlabelled,
                "move": end.moves.get(row.norm_url),
                "new": row.norm_url in end.moves and end.moves[row.norm_url] is None,
                "ownership": ownership.of(row.norm_url),
            }
            for row in end.top
        ],
    }


def _movement_document(movement: Movement) -> dict[str, Any]:
    return {
        "url": movement.url,
        "title": movement.title,
        "stance": movement.stance,
        "labelled": movement.labelled,
        "rank": movement.rank,
    }


def _lead_document(states: Mapping[str, LeadState]) -> dict[str, Any] | None:
    if not states:
        return None
    return {view: states[view].to_json() for view in VIEWS}


def _point_document(point: Any) -> dict[str, Any]:
    return {
        "organic": {
            "official": point.organic.official,
            "critical": point.organic.critical,
            "leader": point.organic.leader,
        },
        "page": {
            "official": point.page.official,
            "critical": point.page.critical,
            "leader": point.page.leader,
        },
        "critical_on_page_1": point.critical_on_page_1,
        "official_on_page_1": point.official_on_page_1,
        "presence": point.presence,
        "share_of_voice": {
            "organic": _rounded(point.share.organic),
            "page": _rounded(point.share.page),
        }
        if point.share
        else None,
    }


def _first_overtake(
    keyword: KeywordReport, view: str, crisis: dt.date | None
) -> dict[str, Any] | None:
    event = keyword.first_overtake[view]
    if event is None:
        return None
    return {
        "at": event.at,
        "check_id": event.check_id,
        "days_from_crisis_start": keyword.days_to_first_overtake(view, crisis),
    }


def _result_document(item: Any, ownership: OwnershipRules) -> dict[str, Any]:
    return {
        "placement": item.placement,
        "block": item.block,
        "rank": item.rank,
        "page_position": item.page_position,
        "url": item.url,
        "title": item.title,
        "stance": item.stance,
        "ownership": ownership.of(item.norm_url),
    }


def _rounded(shares: Mapping[str, float] | None) -> dict[str, float] | None:
    return {k: round(v, 4) for k, v in shares.items()} if shares is not None else None


# --- filters ---------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _pos(value: int | None) -> str:
    return "–" if value is None else f"#{value}"


def _day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    return f"{value.day} {value:%b %Y}"


def _moment(value: dt.datetime | None, zone: bool = True) -> str:
    if value is None:
        return "–"
    value = value.astimezone(dt.UTC)
    return f"{value.day} {value:%b %Y %H:%M}" + (" UTC" if zone else "")


def _href(url: str) -> str | None:
    """The URL when it is safe to link to (http or https), else None."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _host(url: str) -> str:
    return host_of(url) or _short_url(url, 40)


def _short_url(url: str, limit: int = 70) -> str:
    text = url.split("://", 1)[-1].removeprefix("www.")
    return text if len(text) <= limit else text[: limit - 1] + "…"
