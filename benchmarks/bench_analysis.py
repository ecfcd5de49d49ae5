"""Benchmark: ``status`` and ``overtakes`` on 200 keywords x 365 daily checks x 100 results.

Builds a 7.3 M-row SQLite database once with bulk inserts (cached under
``$SERPTRACK_BENCH_DIR``, default ``/tmp/serptrack-bench``), then times the library
functions the CLI calls, each in a fresh engine, and prints seconds and the ratio to the
3-second limit. Run: ``.venv/bin/python benchmarks/bench_analysis.py [--rebuild] [--runs N]``.

Each command also prints its CPU seconds in this process (min/median/max, beside its target:
1.3 s; 3 s for ``labels suggest``, timed with ``--all``, issue 15) and its peak anonymous RSS
(beside the 200 MB target). ``--only LABEL`` times that one command, e.g. ``--only "labels
suggest"``. ``--mmap BYTES`` sets ``PRAGMA mmap_size`` on each timed session's connection,
as the reads once did with 2 GiB, to weigh a memory map against what the engine sets
(256 MiB, and a 64 MiB page cache).

Before/after: ``--baseline REV`` (e.g. ``--baseline 796590c``) also times the same commands on
git revision REV in the same run and prints, per command, before, after and after/before
beside the ratio to the limit. REV is checked out as a detached worktree under ``/tmp``; each
side runs this script's own timing code in a worker process whose ``PYTHONPATH`` puts its
tree first, and the runs alternate, before, after, before, after, ... against a fresh engine
each. Each side has its own cached copy of the same generated data, built by this script on
that side's library: REV refuses a database that newer migrations (0005) have touched, so
the two cannot share one file. The working tree's copy is the usual cache file; REV's lives
in ``$SERPTRACK_BENCH_DIR/baseline-<sha12>/`` and is built on first use (several minutes).
The library calls differ between versions only in where the storage and stances modules
live (``serptrack.store`` in the working tree) and how the bulk load labels its URLs
(``label_loaded_urls``): one compatibility branch each, here.
Details in ``benchmarks/baseline.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import baseline
from sqlalchemy import Connection, Engine, text
from sqlmodel import Session

from serptrack import analysis, suggest
from serptrack.campaign import parse_campaign
from serptrack.models import Result

# Modules that moved after the baseline 796590c: the store package, then the old modules.
store = baseline.first_module("connect", "serptrack.store", "serptrack.storage")
stances = baseline.first_module("read_rules", "serptrack.store.stances", "serptrack.stances")

KEYWORDS = 200
DAYS = 365
PER_CHECK = 100  # 3 top ads, 2 news items, 95 organic results
LIMIT_SECONDS = 3.0
LIMITED = ("status", "overtakes")  # the commands the 3-second limit is set for
CPU_TARGET = 1.3  # issue "Speed": status and overtakes in <= 1.3 s of CPU in-process ...
RSS_TARGET_MB = 200  # ... and <= 200 MB of anonymous RSS
CPU_TARGETS = {"labels suggest": 3.0}  # issue 15: labels suggest in <= 3 s of CPU
VERSION = 3  # bump when the generated data changes, so caches are rebuilt
FIRST_DAY = dt.datetime(2025, 1, 1, 7, 0)


def campaign_text() -> str:
    """The benchmark campaign: 200 keywords, one official host, critical prefixes and a regex."""
    keywords = "\n".join(f'[[keywords]]\nquery = "brand crisis {k}"\n' for k in range(KEYWORDS))
    critical = ", ".join(f'"news{j}.example/*"' for j in range(8))
    return f"""
[campaign]
name = "bench"
brand = "Brand"
crisis_start = 2025-01-01

[defaults]
provider = "replay"
country = "us"
language = "en"

[providers.replay]
path = "."

{keywords}
[labels]
official = ["brand.example", "https://twitter.com/brand_help"]
critical = [{critical}, "re:^https://critic\\\\.example/"]
"""


def keyword_rows(k: int, check_id: int, day: int, rng: random.Random) -> list[tuple[Any, ...]]:
    """The 100 results of keyword ``k`` on ``day``.

    Each keyword has its own crisis: the best critical article starts near the top and sinks,
    the official statement climbs and crosses it on a day of its own, with daily jitter (a
    few flips around the crossing); a critical news box stays for the first weeks; every
    other keyword runs an official top ad from day 60 to 240; one keyword in five relapses
    (the critical article back on top) for three weeks late in the year.
    """
    plan = random.Random(k)
    cross = plan.uniform(60, 300)
    news_until = plan.uniform(20, 150)
    progress = min(1.0, day / cross)
    official = [f"https://brand.example/k{k}/page{j}" for j in range(5)]
    critical = [f"https://news{j}.example/k{k}/article" for j in range(8)]
    neutral = [f"https://site{(k * 7 + j) % 600}.example/k{k}/p{j}" for j in range(200)]
    organic = rng.sample(neutral, 95 - len(official) - len(critical))
    best_official = max(0.0, 12 * (1 - progress) + 1 + rng.gauss(0, 0.8))
    best_critical = max(0.0, 1 + 8 * progress + rng.gauss(0, 0.8) + (day > cross) * 2)
    if k % 5 == 0 and 280 <= day < 301:
        best_critical = 0.0
    placed = sorted(
        [(best_official, official[0]), (best_critical + 0.5, critical[0])]
        + [(rng.uniform(15, 95), url) for url in official[1:] + critical[1:]]
    )
    for slot, url in placed:
        organic.insert(min(int(slot), len(organic)), url)
    ads = [f"https://ads{j}.example/k{k}" for j in range(3)]
    if k % 2 == 0 and 60 <= day < 240:
        ads[0] = f"https://brand.example/k{k}/faq"
    news = [critical[1] if day < news_until else neutral[0], neutral[1]]
    rows: list[tuple[Any, ...]] = []
    page_position = 0
    for placement, urls, block in (
        ("paid", ads, "top"),
        ("news", news, None),
        ("organic", organic, None),
    ):
        for rank, url in enumerate(urls, start=1):
            page_position += 1
            host = url.split("/")[2]
            rows.append(
                (check_id, placement, block, rank, page_position, url, url, host,
                 f"Title {k} {rank}", "A short snippet about the brand.", None)
            )  # fmt: skip
    return rows


def build(path: Path) -> None:
    """Create the database at ``path`` with bulk inserts (indexes are built after the load)."""
    started = time.perf_counter()
    engine = store.connect(str(path))
    spec = parse_campaign(campaign_text(), "bench.toml", base_dir=path.parent)
    store.apply_campaign(engine, spec)
    with engine.begin() as connection:
        keyword_ids = [
            row[0] for row in connection.execute(text("SELECT id FROM keywords ORDER BY id"))
        ]
    indexes = list(Result.__table__.indexes)  # type: ignore[attr-defined]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for index in indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {index.name}")
        check_id = 0
        for day in range(DAYS):
            # the text form SQLAlchemy itself stores for a UTC datetime in SQLite
            at = (FIRST_DAY + dt.timedelta(days=day)).strftime("%Y-%m-%d %H:%M:%S.%f")
            checks, results = [], []
            for k, keyword_id in enumerate(keyword_ids):
                check_id += 1
                status = "failed" if (day * 31 + k) % 97 == 0 else "ok"
                checks.append((check_id, keyword_id, "replay", at, at, status, PER_CHECK, at))
                if status == "ok":
                    rng = random.Random(day * 1000 + k)
                    results.extend(keyword_rows(k, check_id, day, rng))
            cursor.executemany(
                "INSERT INTO checks (id, keyword_id, provider, slot, observed_at, status, "
                "result_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                checks,
            )
            cursor.executemany(
                "INSERT INTO results (check_id, placement, block, rank, page_position, url, "
                "norm_url, domain, title, snippet, tracking_url) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                results,
            )
            if day % 73 == 72:
                print(f"  loaded {day + 1} of {DAYS} days", file=sys.stderr)
        raw.commit()
        print("  building indexes", file=sys.stderr)
        for index in indexes:
            columns = ", ".join(column.name for column in index.columns)
            cursor.execute(f"CREATE INDEX {index.name} ON results ({columns})")
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:  # a bulk load bypasses the check path: label its URLs
        campaign_id = connection.execute(text("SELECT id FROM campaigns")).scalar_one()
        label_loaded_urls(connection, campaign_id)
    engine.dispose()
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def label_loaded_urls(connection: Connection, campaign_id: int) -> None:
    """Give every bulk-loaded result URL its stance row, through either version's API."""
    if hasattr(stances, "bring_up_to_date"):  # since 9a1636f (stance marks by check)
        rules = stances.read_rules(connection, campaign_id)
        stances.bring_up_to_date(connection, campaign_id, rules)
    else:  # 796590c and before
        stances.refresh_url_stances(connection, campaign_id)


def database() -> Path:
    """The cached database's path under ``$SERPTRACK_BENCH_DIR``."""
    return baseline.bench_dir() / f"analysis-v{VERSION}-{KEYWORDS}x{DAYS}x{PER_CHECK}.db"


def prepare(rebuild: bool = False) -> dict[str, Any]:
    """Build the database if missing (or asked to); say where it is and what it holds."""
    rows = KEYWORDS * DAYS * PER_CHECK
    return baseline.prepare_cache(database(), build, rows, store.connect, rebuild=rebuild)


def describe(data: dict[str, Any]) -> str:
    """One line on a prepared database."""
    return (
        f"{data['path']} ({data['bytes'] / 1e9:.1f} GB): {data['checks']:,} checks, "
        f"{data['rows']:,} results, {KEYWORDS} keywords, one campaign"
    )


def run_once(call: Callable[[Engine], int], path: Path) -> tuple[float, int]:
    """Time ``call`` once on a fresh engine; return (seconds, rows)."""
    seconds, count, _cpu, _anon = measure_once(call, path)
    return seconds, count


def measure_once(call: Callable[[Engine], int], path: Path) -> tuple[float, int, float, int]:
    """Run ``call`` once on a fresh engine; return (wall seconds, rows, CPU seconds of this
    process, peak anonymous RSS in MB while it ran)."""
    engine = store.connect(str(path))
    try:
        with AnonPeak() as peak:
            started, cpu = time.perf_counter(), time.process_time()
            count = call(engine)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return elapsed, count, cpu, peak.mb
    finally:
        engine.dispose()


#: ``--mmap BYTES``: the memory map each timed session asks for, as the reads once did
#: (0: none beyond what the engine sets)
MMAP_BYTES = 0


class AnonPeak:
    """The peak anonymous RSS (``RssAnon`` in /proc/self/status, MB) while in the block,
    sampled every 5 ms by a thread: what the issue's "anonymous RSS" target counts (file
    pages a memory map brings in are not anonymous)."""

    def __init__(self) -> None:
        self.mb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> AnonPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            self.mb = max(self.mb, anon_mb())
            if self._stop.wait(0.005):
                return


def anon_mb() -> int:
    """This process's anonymous RSS now, in MB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def time_command(label: str) -> dict[str, Any]:
    """One timed run of the command ``label`` (a worker's request)."""
    seconds, count, cpu, anon = measure_once(with_campaign(dict(commands(True))[label]), database())
    return {"seconds": seconds, "count": count, "cpu": cpu, "anon_mb": anon}


def limit_note(label: str, median: float) -> str:
    """The median's share of the limit, for the commands that have one."""
    if label.split()[0] not in LIMITED:
        return "no limit set"
    return f"{median / LIMIT_SECONDS:.0%} of the {LIMIT_SECONDS:.0f} s limit"


def cpu_note(label: str, cpus: list[float]) -> str:
    """The CPU seconds of a command's runs (min/median/max) and the median's share of its
    target."""
    target = CPU_TARGETS.get(label, CPU_TARGET)
    cpu = statistics.median(cpus)
    return (
        f"CPU {min(cpus):.2f}/{cpu:.2f}/{max(cpus):.2f} s (min/median/max; target "
        f"{target} s -> {cpu / target:.2f} of it)"
    )


def timed(label: str, runs: int, fn: Callable[[Engine], int], path: Path) -> list[float]:
    """Run ``fn`` ``runs`` times, each with a fresh engine; print and return the seconds
    (wall), with the CPU seconds (min/median/max, beside the command's target) and the peak
    anonymous RSS (beside its 200 MB target)."""
    seconds, cpus, peaks = [], [], []
    count = 0
    for _ in range(runs):
        elapsed, count, cpu, anon = measure_once(fn, path)
        seconds.append(elapsed)
        cpus.append(cpu)
        peaks.append(anon)
    limit = limit_note(label, statistics.median(seconds))
    print(f"{label:<20} {baseline.spread(seconds)}  ({limit})  -> {count} rows")
    print(f"{'':<20} {cpu_note(label, cpus)}  {rss_note(peaks)}")
    return seconds


def rss_note(peaks: list[int]) -> str:
    """The peak anonymous RSS of a command's runs (min/median/max) beside its target."""
    return (
        f"peak anonymous RSS {min(peaks)}/{statistics.median(peaks):.0f}/{max(peaks)} MB "
        f"(target {RSS_TARGET_MB})"
    )


def with_campaign(call: Callable[[Session, Any], Any]) -> Callable[[Engine], int]:
    """Wrap a library call as the CLI makes it: a session, the campaign looked up by name."""

    def run(engine: Engine) -> int:
        with Session(engine) as session:
            if MMAP_BYTES:  # on the session's own connection: the pool's are already open
                session.connection().exec_driver_sql(f"PRAGMA mmap_size = {MMAP_BYTES}")
            campaign = store.get_campaign(session, "bench")
            found = call(session, campaign)
        return len(found["keywords"]) if isinstance(found, dict) else len(found)

    return run


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the database, then time status and overtakes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per command")
    parser.add_argument("--all", action="store_true", help="also time paid and labels suggest")
    parser.add_argument("--only", metavar="LABEL", help='time one command (e.g. "labels suggest")')
    parser.add_argument(
        "--mmap", type=int, default=0, metavar="BYTES", help="PRAGMA mmap_size per connection"
    )
    baseline.add_options(parser)
    args = parser.parse_args(argv)
    global MMAP_BYTES
    MMAP_BYTES = args.mmap
    if args.worker:
        return baseline.serve({"prepare": prepare, "time": time_command})
    if args.baseline:
        return compare(args.baseline, args.runs, args.all, args.rebuild, args.only)
    data = prepare(args.rebuild)
    path = Path(data["path"])
    print(f"Database: {describe(data)}")
    worst = 0.0
    for label, call in commands(args.all, args.only):
        seconds = timed(label, args.runs, with_campaign(call), path)
        if label.split()[0] in LIMITED:
            worst = max(worst, statistics.median(seconds))
    if args.only and args.only.split()[0] not in LIMITED:  # no wall-clock limit to judge
        return 0
    verdict = "PASS" if worst < LIMIT_SECONDS else "FAIL"
    print(f"{verdict}: slowest median {worst:.2f} s against a {LIMIT_SECONDS:.0f} s limit")
    return 0 if worst < LIMIT_SECONDS else 1


def compare(rev: str, runs: int, everything: bool, rebuild: bool, only: str | None) -> int:
    """Time every command on ``rev`` (before) and the working tree (after), interleaved."""
    with baseline.sides(__file__, rev) as pair:
        data = []
        for side in pair:
            data.append(side.call("prepare", rebuild=rebuild))
            print(f"{side.name:<6} database: {describe(data[-1])}")
        if (data[0]["checks"], data[0]["rows"]) != (data[1]["checks"], data[1]["rows"]):
            print("WARNING: the two databases do not hold the same checks and results")
        print(f"{runs} runs per side, alternating before/after, each on a fresh engine")
        worst = slowest = 0.0
        slowest_label = ""
        for label, _ in commands(everything, only):
            runs_of = baseline.alternate(pair, runs, "time", label=label)
            medians = []
            for name, (side, replies) in enumerate(zip(pair, runs_of, strict=True)):
                seconds = [reply["seconds"] for reply in replies]
                medians.append(statistics.median(seconds))
                head = label if name == 0 else ""
                print(
                    f"{head:<20} {side.name:<6} {baseline.spread(seconds)}  "
                    f"({limit_note(label, medians[-1])})  -> {replies[-1]['count']} rows"
                )
                cpus = [reply["cpu"] for reply in replies]
                peaks = [reply["anon_mb"] for reply in replies]
                print(f"{'':<20} {'':<6} {cpu_note(label, cpus)}  {rss_note(peaks)}")
            best = [min(reply["seconds"] for reply in replies) for replies in runs_of]
            cpu_medians = [
                statistics.median(reply["cpu"] for reply in replies) for replies in runs_of
            ]
            change = baseline.ratio(medians[1], medians[0])
            print(
                f"{'':<20} after/before: median {change:.2f}  "
                f"best {baseline.ratio(best[1], best[0]):.2f}  "
                f"CPU median {baseline.ratio(cpu_medians[1], cpu_medians[0]):.2f}"
            )
            if runs_of[0][-1]["count"] != runs_of[1][-1]["count"]:
                print(f"{'':<20} WARNING: before and after return different row counts")
            if label.split()[0] in LIMITED:
                worst = max(worst, medians[1])
            if change > slowest:
                slowest, slowest_label = change, label
    if only and only.split()[0] not in LIMITED:  # no wall-clock limit to judge
        return 0
    verdict = "PASS" if worst < LIMIT_SECONDS else "FAIL"
    print(
        f"{verdict}: slowest median after {worst:.2f} s against a {LIMIT_SECONDS:.0f} s limit; "
        f"largest after/before median ratio {slowest:.2f} ({slowest_label})"
    )
    return 0 if worst < LIMIT_SECONDS else 1


def commands(
    everything: bool, only: str | None = None
) -> Iterator[tuple[str, Callable[[Session, Any], Any]]]:
    """The library calls behind each timed command (``only``: just the one of that label)."""
    calls: list[tuple[str, Callable[[Session, Any], Any]]] = [
        ("status", lambda session, c: analysis.status(session, c)),
        ("overtakes", lambda session, c: analysis.overtakes(session, c)),
        ("overtakes --hold 3", lambda session, c: analysis.overtakes(session, c, hold=3)),
    ]
    if everything or only:
        calls.append(("paid", lambda session, c: analysis.paid_rows(session, c)))
        calls.append(("labels suggest", lambda session, c: suggest.suggest_labels(session, c)))
    if only is not None and only not in dict(calls):
        raise SystemExit(f"--only: no command {only!r}; one of {', '.join(dict(calls))}")
    yield from (call for call in calls if only is None or call[0] == only)


if __name__ == "__main__":
    sys.exit(main())
