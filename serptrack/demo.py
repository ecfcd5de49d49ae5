"""``serptrack demo``: replay the bundled campaign(s) offline into a fresh database."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from . import storage, tracker
from .campaign import load_campaign_file
from .errors import DatabaseError, SerptrackError

__all__ = ["DEMO_CAMPAIGNS", "demo_dir", "run_demo", "summary_lines"]

#: bundled campaign folder → the days its fixtures cover
DEMO_CAMPAIGNS: dict[str, tuple[dt.date, dt.date]] = {
    "acme-recall": (dt.date(2026, 3, 1), dt.date(2026, 3, 12)),
}


def demo_dir() -> Path:
    """Where the bundled demo campaigns live inside the installed package."""
    return Path(str(resources.files("serptrack") / "data" / "demo"))


def run_demo(db_path: Path, *, now: dt.datetime) -> dict[str, Any]:
    """Apply and backfill every bundled campaign into a fresh database at ``db_path``."""
    _replace_demo_database(db_path)
    engine = storage.connect(str(db_path))
    try:
        campaigns = [_replay(engine, name, days, now) for name, days in DEMO_CAMPAIGNS.items()]
    finally:
        engine.dispose()
    return {"database": str(db_path), "campaigns": campaigns}


def _replay(
    engine: Engine, name: str, days: tuple[dt.date, dt.date], now: dt.datetime
) -> dict[str, Any]:
    spec = load_campaign_file(demo_dir() / name / "campaign.toml")
    storage.apply_campaign(engine, spec, now)
    with Session(engine) as session:
        campaign = storage.get_campaign(session, spec.name)
        tasks = tracker.plan_backfill(session, campaign, days[0], days[1], now=now)
        providers = tracker.build_providers([campaign], tasks, environ={})
    outcomes = tracker.run_checks(engine, tasks, providers)
    failed = [o for o in outcomes if o.status != "ok"]
    return {
        "campaign": spec.name,
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
                "error": o.error,
            }
            for o in failed
        ],
    }


def _replace_demo_database(db_path: Path) -> None:
    if not db_path.exists():
        return
    try:
        engine = storage.connect(str(db_path))
    except SerptrackError:
        raise DatabaseError(
            f"{db_path} exists and is not a serptrack demo database; choose another --db"
        ) from None
    try:
        with Session(engine) as session:
            names = {row["name"] for row in storage.list_campaigns(session)}
    finally:
        engine.dispose()
    if not names <= set(DEMO_CAMPAIGNS):
        raise DatabaseError(
            f"{db_path} holds campaigns other than the demo's ({', '.join(sorted(names))}); choose another --db"
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The human summary of a demo run."""
    lines = [f"Demo database: {result['database']}"]
    for campaign in result["campaigns"]:
        lines.append(
            f"{campaign['campaign']}: {campaign['keywords']} keywords, {campaign['from']} to {campaign['to']}: "
            f"{campaign['checks']} checks, {campaign['ok']} ok, {len(campaign['failed'])} failed"
        )
        for failure in campaign["failed"]:
            lines.append(f"  {failure['status']}: {failure['error']}")
    name = result["campaigns"][0]["campaign"]
    lines.append(f"Explore: serptrack history {name} --db {result['database']}")
    return lines
