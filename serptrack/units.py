"""Ready-made ways to run scheduled checks: a crontab line and systemd units.

What is printed must run as printed, from any folder, under ``sh``, on a fresh account:
every path in it is absolute (the executable, the database, the log) and the cron line makes
its log folder before writing to it.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["absolute_target", "cron_line", "serptrack_command", "systemd_units"]


def serptrack_command() -> list[str]:
    """How to start this serptrack, by absolute path: its console script beside this Python,
    else ``python -m serptrack``."""
    # abspath, not resolve(): a venv's python is a symlink, and resolving it leaves the venv
    python = os.path.abspath(sys.executable)
    script = Path(python).parent / "serptrack"
    return [str(script)] if script.exists() else [python, "-m", "serptrack"]


def absolute_target(target: str) -> str:
    """A database target that means the same from any folder: file paths and relative SQLite
    URLs made absolute, other URLs as given."""
    if "://" not in target:
        return str(Path(target).expanduser().resolve())
    prefix = "sqlite:///"
    if target.startswith(prefix) and not target.startswith(prefix + "/"):
        path, _, query = target[len(prefix) :].partition("?")
        if path and not path.startswith("file:") and path != ":memory:":
            absolute = str(Path(path).expanduser().resolve())
            return prefix + absolute + (f"?{query}" if query else "")
    return target


def _command(executable: Sequence[str], db: str | None, *args: str) -> str:
    parts = [*executable, *args]
    if db:
        parts += ["--db", db]
    return " ".join(shlex.quote(part) for part in parts)


def cron_line(
    executable: Sequence[str], db: str | None, log_file: Path, every_minutes: int = 5
) -> str:
    """A crontab line running ``check --due`` every few minutes; slots make it exactly once.

    It creates the log's folder first: ``sh`` refuses a redirection into a missing folder.
    """
    command = _command(executable, db, "check", "--due")
    folder = shlex.quote(str(log_file.parent))
    line = f"mkdir -p {folder} && {command} >> {shlex.quote(str(log_file))} 2>&1"
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
