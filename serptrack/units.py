"""Ready-made ways to run scheduled checks: a crontab line and systemd units."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["cron_line", "serptrack_command", "systemd_units"]


def serptrack_command() -> list[str]:
    """How to start this serptrack: its console script beside this Python, else ``python -m``."""
    script = Path(sys.executable).parent / "serptrack"
    return [str(script)] if script.exists() else [sys.executable, "-m", "serptrack"]


def _command(executable: Sequence[str], db: str | None, *args: str) -> str:
    parts = [*executable, *args]
    if db:
        parts += ["--db", db]
    return " ".join(shlex.quote(part) for part in parts)


def cron_line(
    executable: Sequence[str], db: str | None, log_file: Path, every_minutes: int = 5
) -> str:
    """A crontab line running ``check --due`` every few minutes; slots make it exactly once."""
    command = _command(executable, db, "check", "--due")
    line = f"{command} >> {shlex.quote(str(log_file))} 2>&1"
    return f"*/{every_minutes} * * * * " + line.replace("%", "\\%")  # cron reads % as a newline


def systemd_units(
    executable: Sequence[str], db: str | None, user: str | None = None
) -> dict[str, str]:
    """A long-running worker service, and a timer-driven alternative, as file name → content."""
    user_line = f"User={user}\n" if user else ""
    worker = _command(executable, db, "worker")
    check = _command(executable, db, "check", "--due")
    return {
        "serptrack-worker.service": (
            "[Unit]\n"
            "Description=serptrack worker: runs due rank checks\n"
            "After=network-online.target postgresql.service\n"
            "Wants=network-online.target\n\n"
            "[Service]\n"
            f"{user_line}"
            f"ExecStart={worker}\n"
            "# SIGTERM lets the checks in flight finish, then the worker exits 0.\n"
            "KillSignal=SIGTERM\n"
            "TimeoutStopSec=180\n"
            "Restart=on-failure\n"
            "RestartSec=30\n"
            "# Put API keys here, never in the campaign file: SERPAPI_API_KEY=...\n"
            "EnvironmentFile=-/etc/serptrack/env\n\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n"
        ),
        "serptrack-check.service": (
            "[Unit]\n"
            "Description=serptrack: run due rank checks once\n"
            "After=network-online.target\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            f"{user_line}"
            f"ExecStart={check}\n"
            "# check exits 1 when a check failed; the failure is stored, so do not retry here.\n"
            "SuccessExitStatus=1\n"
            "EnvironmentFile=-/etc/serptrack/env\n"
        ),
        "serptrack-check.timer": (
            "[Unit]\n"
            "Description=serptrack: run due rank checks every 5 minutes\n\n"
            "[Timer]\n"
            "OnCalendar=*:0/5\n"
            "Persistent=true\n\n"
            "[Install]\n"
            "WantedBy=timers.target\n"
        ),
    }
