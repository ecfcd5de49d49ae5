"""What ``doctor`` and ``providers`` report: the database, the keys, the campaigns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .providers import PROVIDERS

if TYPE_CHECKING:  # doctor's own imports: `providers` needs no database machinery
    from sqlalchemy import Engine
    from sqlmodel import Session

__all__ = ["doctor_lines", "doctor_report", "provider_rows"]


def provider_rows(environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per registered provider; says which variables are set, never their values."""
    rows = []
    for name in sorted(PROVIDERS):
        cls = PROVIDERS[name]
        missing = cls.missing_keys(environ)
        rows.append(
            {
                "name": name,
                "description": cls.description,
                "configured": not missing,
                "key_env": list(cls.key_env),
                "missing": missing,
                "placements": list(cls.placements),
                "engines": list(cls.engines),
                "uses_http": cls.uses_http,
                "notes": cls.notes,
            }
        )
    return rows


def doctor_report(
    engine: Engine, environ: Mapping[str, str], *, now: dt.datetime
) -> dict[str, Any]:
    """The database, its schema revision, the providers' keys and each campaign's state."""
    from sqlmodel import Session

    from . import store, tracker

    revision = store.schema_revision(engine)
    with Session(engine) as session:
        campaigns = []
        for row in store.list_campaigns(session):
            campaign = store.get_campaign(session, row["name"])
            last, failed = store.check_summary(session, campaign)
            providers = sorted({k.provider for k in store.campaign_keywords(session, campaign)})
            campaigns.append(
                {
                    **row,
                    "providers": providers,
                    "last_check": last,
                    "failed_checks": failed,
                    "due_now": len(tracker.due_slots(session, campaign, now)),
                    "next_due": tracker.next_due(session, campaign, now),
                    "alerts": _alerts_state(session, campaign, environ),
                }
            )
    return {
        "database": store.describe_target(str(engine.url.render_as_string(hide_password=False))),
        "exists": True,
        "default_database": str(store.default_db_path(environ)),
        "dialect": engine.dialect.name,
        "schema_revision": revision,
        "now": now,
        "providers": provider_rows(environ),
        "campaigns": campaigns,
    }


def _alerts_state(session: Session, campaign: Any, environ: Mapping[str, str]) -> dict[str, Any]:
    """The campaign's alert rules, whether each channel's variables are set, and how many
    deliveries are pending or were given up."""
    from .alerts.settings import from_settings
    from .store import outbox

    settings = from_settings((campaign.settings or {}).get("alerts"))
    counts = outbox.delivery_counts(session.connection(), campaign.id)
    return {
        "rules": len(settings.rules),
        "channels": {
            name: [v for v in channel.env_names() if not environ.get(v, "").strip()]
            for name, channel in settings.channels.items()
        },
        "pending": counts.get("pending", 0),
        "failed": counts.get("failed", 0),
    }


def missing_database_report(
    url: str, environ: Mapping[str, str], *, now: dt.datetime
) -> dict[str, Any]:
    """What :func:`doctor_report` says of a SQLite database that does not exist yet."""
    from . import store

    return {
        "database": store.describe_target(url),
        "exists": False,
        "default_database": str(store.default_db_path(environ)),
        "dialect": "sqlite",
        "schema_revision": None,
        "now": now,
        "providers": provider_rows(environ),
        "campaigns": [],
    }


def doctor_lines(report: Mapping[str, Any]) -> list[str]:
    """The human form of :func:`doctor_report`."""
    state = (
        f"{report['dialect']}, schema {report['schema_revision']}"
        if report["exists"]
        else "does not exist yet: `serptrack apply FILE` or `serptrack demo` creates it"
    )
    lines = [
        f"Database: {report['database']} ({state})",
        f"Default database: {report['default_database']} (override with --db or SERPTRACK_DB)",
        "Providers:",
    ]
    for provider in report["providers"]:
        if not provider["key_env"]:
            state = "ready (no key needed)"
        elif provider["configured"]:
            state = "ready (" + ", ".join(provider["key_env"]) + " set)"
        else:
            state = "not configured: set " + " and ".join(provider["missing"])
        lines.append(f"  {provider['name']:<12} {state}")
    if not report["campaigns"]:
        lines.append("Campaigns: none yet (serptrack apply FILE)")
    else:
        lines.append("Campaigns:")
    for campaign in report["campaigns"]:
        last = (
            campaign["last_check"].strftime("%Y-%m-%d %H:%M UTC")
            if campaign["last_check"]
            else "never"
        )
        lines.append(
            f"  {campaign['name']}: {campaign['keywords']} active keywords via "
            f"{', '.join(campaign['providers']) or 'no provider'}; {campaign['checks']} checks "
            f"({campaign['failed_checks']} failed or blocked); last check {last}"
        )
        upcoming = (
            campaign["next_due"].strftime("%Y-%m-%d %H:%M UTC") if campaign["next_due"] else "none"
        )
        lines.append(
            f"    due now: {campaign['due_now']} keywords; next slot {upcoming} (run: serptrack check --due)"
        )
        alerts = campaign["alerts"]
        if alerts["rules"]:
            channels = ", ".join(
                f"{name} ({'ready' if not missing else ' and '.join(missing) + ' not set'})"
                for name, missing in alerts["channels"].items()
            )
            lines.append(
                f"    alerts: {alerts['rules']} rules to {channels}; {alerts['pending']} "
                f"deliveries pending, {alerts['failed']} given up (serptrack alerts list)"
            )
    return lines
