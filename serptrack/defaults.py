"""Defaults and choices the command line shows before it imports any subsystem (stdlib only).

The subsystems that use them (tracker, worker, claims, report) import them from here.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "DEFAULT_ALERT_BUDGET",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LEASE",
    "DEFAULT_POLL",
    "PLOTLYJS_MODES",
    "REPORT_FORMATS",
]

DEFAULT_CONCURRENCY = 10
"""Checks run at once by ``check``, ``backfill`` and ``worker``."""

DEFAULT_POLL = 300.0
"""The worker's longest sleep between rounds, in seconds."""

DEFAULT_LEASE = dt.timedelta(minutes=10)
"""How long a claimed slot stays claimed before another worker may take it over."""

DEFAULT_ALERT_BUDGET = 5.0
"""Seconds a command that stored checks spends delivering their alerts before it exits."""

REPORT_FORMATS = ("html", "json")
"""What ``report`` can write: the HTML report, or the numbers behind it."""

PLOTLYJS_MODES = ("embed", "full", "cdn")
"""How an HTML report carries plotly.js: the basic bundle embedded (opens offline), the full
bundle embedded, or loaded from the CDN."""
