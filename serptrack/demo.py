"""``serptrack demo``: replay the bundled crisis scenarios offline and write their reports.

Two illustrative reconstructions ship as package data (``serptrack/data/demo``): Skype in
autumn 2008 and Eurostar in December 2009. The crises and their dated events are real; every
result page was written for the demo (``tools/make_demo_data.py``), and both the campaign
files and the reports say so. The demo applies each campaign to a fresh database, backfills
its whole period through the replay provider (no key, no network), then writes one report per
scenario covering that period.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from . import report, store, tracker
from .campaign import load_campaign_file
from .errors import DatabaseError, SerptrackError
from .vocabulary import OutcomeStatus

__all__ = ["DEMO_CAMPAIGNS", "demo_dir", "run_demo", "summary_lines"]

#: bundled campaign folder → the days its fixtures cover (and its report shows)
DEMO_CAMPAIGNS: dict[str, tuple[dt.date, dt.date]] = {
    "skype-2008": (dt.date(2008, 9, 29), dt.date(2008, 11, 16)),
    "eurostar-2009": (dt.date(2009, 12, 14), dt.date(2010, 2, 14)),
}
# campaigns earlier releases' demo wrote: a database holding only these may be replaced too
_FORMER_DEMO_CAMPAIGNS = {"acme-recall"}


def demo_dir() -> Path:
    """Where the bundled demo campaigns live inside the installed package."""
    return Path(str(resources.files("serptrack") / "data" / "demo"))


def run_demo(
    db_path: Path,
    *,
    now: dt.datetime,
    out_dir: Path = Path("reports"),
    plotlyjs: str = "embed",
) -> dict[str, Any]:
    """Replay every bundled scenario into a fresh database at ``db_path`` and write each
    scenario's report (its whole period) into ``out_dir``."""
    _replace_demo_database(db_path)
    engine = store.connect(str(db_path))
    try:
        campaigns = [
            _replay(engine, name, days, now, out_dir, plotlyjs)
            for name, days in DEMO_CAMPAIGNS.items()
        ]
    finally:
        engine.dispose()
    return {"database": str(db_path), "reports": str(out_dir), "campaigns": campaigns}


def _replay(
    engine: Engine,
    name: str,
    days: tuple[dt.date, dt.date],
    now: dt.datetime,
    out_dir: Path,
    plotlyjs: str,
) -> dict[str, Any]:
    spec = load_campaign_file(demo_dir() / name / "campaign.toml")
    store.apply_campaign(engine, spec, now)
    with Session(engine) as session:
        campaign = store.get_campaign(session, spec.name)
        tasks = tracker.plan_backfill(session, campaign, days[0], days[1], now=now)
        providers = tracker.build_providers([campaign], tasks, environ={})
    outcomes = tracker.run_checks(engine, tasks, providers)
    failed = [o for o in outcomes if o.status != OutcomeStatus.OK]
    path = out_dir / f"{name}.html"
    with Session(engine) as session:
        campaign = store.get_campaign(session, spec.name)
        data = report.build_report(session, campaign, report.Period(*days), now=now)
        branding = report.branding_for(campaign.settings)
        text = report.render_html(data, branding, plotlyjs=plotlyjs)
    report.save(path, text)
    return {
        "campaign": spec.name,
        "brand": spec.brand,
        "description": spec.description,
        "from": days[0],
        "to": days[1],
        "keywords": len(spec.keywords),
        "checks": len(outcomes),
        "ok": len(outcomes) - len(failed),
        "failed": [
            {
                "query": o.task.request.query,
                "slot": o.task.slot,
                "status": o.status,
                "error_kind": o.error_kind,
                "error": o.error,
            }
            for o in failed
        ],
        "report": str(path),
        "overtakes": [event.to_json() for event in data.events],
        "lead_changes": [
            {
                **keyword.keyword.identity(),
                "events": [{"view": e.view, "kind": e.kind, "at": e.at} for e in keyword.events],
            }
            for keyword in data.keywords
        ],
    }


def _replace_demo_database(db_path: Path) -> None:
    if not db_path.exists():
        return
    try:
        engine = store.connect(str(db_path))
    except SerptrackError:
        raise DatabaseError(
            f"{db_path} exists and is not a serptrack demo database; choose another --db"
        ) from None
    try:
        with Session(engine) as session:
            names = {row["name"] for row in store.list_campaigns(session)}
    finally:
        engine.dispose()
    if not names <= set(DEMO_CAMPAIGNS) | _FORMER_DEMO_CAMPAIGNS:
        raise DatabaseError(
            f"{db_path} holds campaigns other than the demo's ({', '.join(sorted(names))}); choose another --db"
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The human summary of a demo run: what was replayed, where the reports are, and when
    the official response overtook the critics on each keyword."""
    lines = [
        f"Demo database: {result['database']} (illustrative reconstructions, not recorded results)"
    ]
    for campaign in result["campaigns"]:
        failures = Counter(f["error_kind"] or f["status"] for f in campaign["failed"])
        failed = ", ".join(f"{n} {kind}" for kind, n in failures.most_common())
        lines += [
            "",
            f"{campaign['campaign']} ({campaign['brand']}), {campaign['from']} to {campaign['to']}: "
            f"{campaign['keywords']} keywords, {campaign['checks']} daily checks, {campaign['ok']} ok"
            + (f", {len(campaign['failed'])} failed on purpose ({failed})" if failed else ""),
            f"  Report: {campaign['report']}",
        ]
        for keyword in campaign["lead_changes"]:
            found = [
                f"{e['view']} {e['kind']} {e['at'].date().isoformat()}" for e in keyword["events"]
            ]
            locale = f"{keyword['country']}-{keyword['language']}"
            lines.append(f"  {keyword['query']} ({locale}): {', '.join(found) or 'no lead change'}")
    first = result["campaigns"][0]["campaign"]
    lines += [
        "",
        f"Open the reports in a browser. Explore: serptrack overtakes {first} --db {result['database']}",
    ]
    return lines
