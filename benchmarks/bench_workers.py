"""Scaling-out benchmark: N workers on one PostgreSQL database, a mock API with fixed latency,
beside one `check` process on the same campaign in the same run.

Each run creates fresh PostgreSQL databases of a campaign of 2,000 keywords whose provider
(SerpApi-shaped, 100-result pages) is a loopback mock answering after 100 ms, and times, in
turn on the same mock:

- four `serptrack worker --once --concurrency 50` processes started at once;
- one `serptrack check --concurrency 50` process (the same per-process concurrency);
- one `serptrack check --concurrency 200` process (the workers' summed concurrency).

For each it prints min/median/max over `--runs` of checks/s (first check stored to last, and
from process start) with the ratio to its ideal (concurrency / latency: 4 x 50 / 0.1 s =
2,000 checks/s for the workers), and the client CPU per check (the serptrack processes, not
the mock or PostgreSQL, from the children's rusage); then the duplicate checks of the workers
(two checks of one keyword and slot: must be 0) and checks per worker of the last run.

A worker round pays no start-up of its own: `worker` without `--once` runs its rounds in one
process (tests/test_worker.py), so `--once` here pays start-up once per worker, as a fleet
started by cron would.

    .venv/bin/python benchmarks/bench_workers.py [--runs 3]
    .venv/bin/python benchmarks/bench_workers.py --keywords 500 --workers 2 --server postgresql+psycopg://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_fetch import mock_server  # noqa: E402

from serptrack import store  # noqa: E402
from serptrack.campaign import load_campaign_file  # noqa: E402


def campaign(folder: Path, port: int, keywords: int) -> Path:
    lines = [
        '[campaign]\nname = "bench-workers"',
        '[defaults]\nprovider = "serpapi"\ncountry = "us"\nlanguage = "en"\ndepth = 100\nschedule = "1d"',
        f'[providers.serpapi]\nbase_url = "http://127.0.0.1:{port}"',
    ]
    lines += [f'[[keywords]]\nquery = "acme recall {n}"' for n in range(keywords)]
    path = folder / "campaign.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Measured(NamedTuple):
    """One timed command (or fleet of commands) over a fresh database."""

    total: int  # checks stored
    ok: int
    duplicates: int  # checks beyond one per keyword and slot
    span: float  # seconds from the first check stored to the last
    wall: float  # seconds from process start to the last exit
    cpu: float  # CPU seconds of the serptrack processes
    logs: list[str]
    exit_codes: list[int | None]


@contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on ``server``; dropped afterwards."""
    name = f"serptrack_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def measure(server: str, campaign_file: Path, commands: list[list[str]]) -> Measured:
    """Apply the campaign to a fresh database, start ``commands`` at once (each given the
    database's URL), wait for them and read what they stored."""
    with fresh_database(server) as url:
        engine = store.connect(url)
        store.apply_campaign(engine, load_campaign_file(campaign_file))
        env = {**os.environ, "SERPAPI_API_KEY": "bench-key"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                [*command, "--db", url],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for command in commands
        ]
        logs = [process.communicate()[1] for process in processes]
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        with engine.connect() as connection:
            total, slots, ok, span = connection.execute(
                text(
                    "SELECT count(*), count(DISTINCT (keyword_id, slot)),"
                    " sum(CASE WHEN status = 'ok' THEN 1 ELSE 0 END),"
                    " EXTRACT(EPOCH FROM max(created_at) - min(created_at)) FROM checks"
                )
            ).one()
        engine.dispose()
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Measured(
        total,
        int(ok or 0),
        total - slots,
        float(span or 0) or wall,
        wall,
        cpu,
        logs,
        [process.returncode for process in processes],
    )


def spread(values: list[float], digits: int = 2) -> str:
    """min/median/max."""
    return "/".join(
        f"{v:,.{digits}f}" for v in (min(values), statistics.median(values), max(values))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keywords", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    serptrack = [sys.executable, "-m", "serptrack"]
    worker = [*serptrack, "worker", "--once", "--concurrency", str(args.concurrency)]
    summed = args.workers * args.concurrency
    scenarios = {
        f"{args.workers} workers x concurrency {args.concurrency}": (
            [worker] * args.workers,
            summed,
        ),
        f"1 check, concurrency {args.concurrency}": (
            [[*serptrack, "check", "bench-workers", "--concurrency", str(args.concurrency)]],
            args.concurrency,
        ),
        f"1 check, concurrency {summed}": (
            [[*serptrack, "check", "bench-workers", "--concurrency", str(summed)]],
            summed,
        ),
    }
    results: dict[str, list[Measured]] = {name: [] for name in scenarios}
    with tempfile.TemporaryDirectory() as tmp, mock_server(args.latency) as port:
        campaign_file = campaign(Path(tmp), port, args.keywords)
        for _ in range(args.runs):
            for name, (commands, _) in scenarios.items():
                results[name].append(measure(args.server, campaign_file, commands))

    print(
        f"mock latency {args.latency * 1000:.0f} ms, {args.keywords} due keywords, {args.runs} runs "
        f"(min/median/max), on {os.cpu_count()} cores"
    )
    for name, (_, concurrency) in scenarios.items():
        runs = results[name]
        ideal = concurrency / args.latency
        stored = [r.total / r.span for r in runs]
        started = [r.total / r.wall for r in runs]
        cpu = [r.cpu * 1000 / max(r.total, 1) for r in runs]
        print(f"{name} (ideal {ideal:,.0f} checks/s):")
        print(
            f"  checks/s, first to last store: {spread(stored, 0)}"
            f" -> ratio {spread([v / ideal for v in stored])}"
        )
        print(
            f"  checks/s, from process start:  {spread(started, 0)}"
            f" -> ratio {spread([v / ideal for v in started])}"
            f" ({spread([r.wall for r in runs], 1)} s wall)"
        )
        print(f"  client CPU per check: {spread(cpu)} ms")
        print(
            f"  checks stored {[r.total for r in runs]}, ok {[r.ok for r in runs]}, duplicates"
            f" {[r.duplicates for r in runs]}, exit codes {[r.exit_codes for r in runs]}"
        )
    last = results[next(iter(scenarios))][-1]
    for number, log in enumerate(last.logs, start=1):
        print(
            f"  worker {number} (last run): {log.strip().splitlines()[-1] if log.strip() else '(no log)'}"
        )


if __name__ == "__main__":
    main()
