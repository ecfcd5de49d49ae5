"""The whole `serptrack check` command against a loopback API, beside a minimal tracker.

Issue "Speed", fetch path: over 1,000 keywords with 100 ms of latency at `--concurrency 50`,
the command reaches at least 0.8 of the ideal throughput (concurrency / latency); over 2,000
at 200, at least 0.6; and it spends at most 1.5 ms of CPU per check, start-up included.

Each run starts the mock SerpApi of `bench_fetch.py` (a raw asyncio server in a child
process: 100 organic results and 5 ads per page, answered after the latency), applies a
campaign whose provider points at it, then times, each in a fresh process:

- `serptrack check bench --concurrency C --json` (what cron runs), with the HTTP engine that
  `SERPTRACK_HTTP_ENGINE` chooses (`--engine`; both by default);
- the reference: a minimal tracker on aiohttp that fetches the same pages at the same
  concurrency, decodes them and stores the same rows in SQLite (one transaction per 100
  checks), and nothing else: no retries, no redaction, no labels, no raw payloads.

Wall time gives checks per second and the ratio to the ideal; the child's CPU (user + system,
from `getrusage`) gives the CPU per check, start-up included. Prints min / median / max over
`--runs`, each figure beside the reference measured in the same run, and its ratio to the
target.

    .venv/bin/python benchmarks/bench_check.py                     # both scenarios, 3 runs
    .venv/bin/python benchmarks/bench_check.py --scenario 50 --runs 1 --engine aiohttp
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_fetch import _campaign, mock_server  # noqa: E402

SCENARIOS = {50: 1000, 200: 2000}  # concurrency -> keywords
TARGET_RATIO = {50: 0.8, 200: 0.6}
TARGET_CPU_MS = 1.5
LATENCY = 0.1

# The reference tracker: fetch, decode, store the same rows; nothing else.
REFERENCE = """\
import asyncio, json, sqlite3, sys
import aiohttp

base, count, concurrency, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
connection = sqlite3.connect(db)
connection.execute(
    "CREATE TABLE IF NOT EXISTS results (query TEXT, placement TEXT, rank INTEGER, "
    "url TEXT, title TEXT, snippet TEXT)"
)
pending = []

def store(query, doc):
    rows = [(query, "paid", ad["position"], ad["link"], ad["title"], ad.get("description"))
            for ad in doc.get("ads", [])]
    rows += [(query, "organic", r["position"], r["link"], r["title"], r.get("snippet"))
             for r in doc.get("organic_results", [])]
    pending.append(rows)
    if len(pending) >= 100:
        flush()

def flush():
    with connection:
        for rows in pending:
            connection.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)", rows)
    pending.clear()

async def main():
    semaphore = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(n):
            query = f"acme recall {n}"
            async with semaphore:
                params = {"q": query, "engine": "google", "api_key": "bench-key"}
                async with session.get(base + "/search", params=params) as response:
                    doc = json.loads(await response.read())
            store(query, doc)
        await asyncio.gather(*(one(n) for n in range(count)))
    flush()

asyncio.run(main())
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child and its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def serptrack(
    folder: Path, port: int, count: int, concurrency: int, engine: str
) -> tuple[float, float]:
    """Apply a fresh campaign (not timed), then time `serptrack check`; (wall, CPU)."""
    db = f"sqlite:///{folder / f'check-{engine}-{concurrency}.db'}"
    Path(db[len("sqlite:///") :]).unlink(missing_ok=True)
    env = {**os.environ, "SERPAPI_API_KEY": "bench-key", "SERPTRACK_HTTP_ENGINE": engine}
    cli = [sys.executable, "-m", "serptrack"]
    campaign = _campaign(folder, port, count)
    subprocess.run(
        [*cli, "apply", str(campaign), "--db", db], env=env, check=True, capture_output=True
    )
    wall, cpu = timed(
        [
            *cli,
            "check",
            "bench",
            "--concurrency",
            str(concurrency),
            "--json",
            "--no-alerts",
            "--db",
            db,
        ],
        env,
    )
    stored = _count(
        Path(db[len("sqlite:///") :]), "SELECT count(*) FROM checks WHERE status = 'ok'"
    )
    if stored != count:
        raise SystemExit(f"serptrack stored {stored} successful checks of {count}")
    return wall, cpu


def reference(folder: Path, port: int, count: int, concurrency: int) -> tuple[float, float]:
    """Time the minimal tracker; (wall, CPU)."""
    db = folder / f"reference-{concurrency}.db"
    db.unlink(missing_ok=True)
    script = folder / "reference.py"
    script.write_text(REFERENCE)
    wall, cpu = timed(
        [
            sys.executable,
            str(script),
            f"http://127.0.0.1:{port}",
            str(count),
            str(concurrency),
            str(db),
        ],
        dict(os.environ),
    )
    rows = _count(db, "SELECT count(*) FROM results")
    if rows != count * 105:
        raise SystemExit(f"the reference stored {rows} rows, not {count * 105}")
    return wall, cpu


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute(sql).fetchone()[0])


def _spread(values: list[float], fmt: str) -> str:
    return "/".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", type=int, choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--engine", choices=("aiohttp", "httpcore"), action="append")
    parser.add_argument("--keywords", type=int, help="override the scenario's keyword count")
    args = parser.parse_args()
    scenarios = args.scenario or sorted(SCENARIOS)
    engines = args.engine or ["aiohttp", "httpcore"]
    print(f"latency {LATENCY * 1000:.0f} ms; figures are min/median/max over {args.runs} runs")
    with mock_server(LATENCY) as port, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for concurrency in scenarios:
            count = args.keywords or SCENARIOS[concurrency]
            ideal = concurrency / LATENCY
            figures: dict[str, list[tuple[float, float]]] = {
                name: [] for name in [*engines, "reference"]
            }
            for _ in range(args.runs):  # alternate, so a change in load hits every side alike
                for engine in engines:
                    figures[engine].append(serptrack(folder, port, count, concurrency, engine))
                figures["reference"].append(reference(folder, port, count, concurrency))
            print(f"\nconcurrency {concurrency}, {count} keywords (ideal {ideal:.0f} checks/s):")
            ref_ratio = [count / wall / ideal for wall, _ in figures["reference"]]
            ref_cpu = [cpu / count * 1000 for _, cpu in figures["reference"]]
            for name, runs in figures.items():
                ratios = [count / wall / ideal for wall, _ in runs]
                cpu_ms = [cpu / count * 1000 for _, cpu in runs]
                label = "reference (aiohttp)" if name == "reference" else f"serptrack check, {name}"
                line = (
                    f"  {label:<27} ratio to ideal {_spread(ratios, '.2f')}"
                    f"  CPU per check {_spread(cpu_ms, '.2f')} ms"
                )
                if name != "reference":
                    ratio, cpu = statistics.median(ratios), statistics.median(cpu_ms)
                    line += (
                        f"  | vs reference {ratio / statistics.median(ref_ratio):.2f}x throughput,"
                        f" {cpu / statistics.median(ref_cpu):.1f}x CPU"
                        f"  | target ratio >= {TARGET_RATIO[concurrency]} -> "
                        f"{ratio / TARGET_RATIO[concurrency]:.2f} of it; CPU <= {TARGET_CPU_MS} ms -> "
                        f"{cpu / TARGET_CPU_MS:.2f} of the limit"
                    )
                print(line)


if __name__ == "__main__":
    main()
