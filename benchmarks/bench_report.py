"""Benchmark: the monthly report of 100 keywords x 31 daily checks x 100 results.

Builds the database once through the store path ``check`` uses (``record_checks``:
whole checks in group commits, stances remembered as they are written) and caches it under
``$SERPTRACK_BENCH_DIR`` (default ``/tmp/serptrack-bench``). Then builds the report through
the library, as ``serptrack report`` does, each run with a fresh engine, and prints the build
time and the file size with their ratios to the targets: 5 s and 6 MB (10^6 bytes) with
plotly.js embedded.

Run: ``.venv/bin/python benchmarks/bench_report.py [--rebuild] [--runs N] [--out FILE]``

Before/after: ``--baseline REV`` (e.g. ``--baseline 796590c``) also builds the same report on
git revision REV in the same run and prints before, after and after/before for the build
time and the size, beside their ratios to the targets. REV is checked out as a detached
worktree under ``/tmp``; each side runs this script's own code in a worker process whose
``PYTHONPATH`` puts its tree first, and the runs alternate, before, after, before, after, ...,
each with a fresh engine. Each side has its own cached copy of the same generated data,
stored by this script through that side's ``record_checks``: REV refuses a database
that newer migrations (0005) have touched, so the two cannot share one file. The working
tree's copy is the usual cache file; REV's lives in ``$SERPTRACK_BENCH_DIR/baseline-<sha12>/``.
``--out`` writes the working tree's report. Details in ``benchmarks/baseline.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import baseline
from sqlalchemy import text
from sqlmodel import Session

from serptrack import report
from serptrack.campaign import parse_campaign
from serptrack.snapshot import Item

# The storage functions' module: the store package in the working tree, storage at 796590c.
store = baseline.first_module("record_checks", "serptrack.store", "serptrack.storage")

KEYWORDS = 100
DAYS = 31
PER_CHECK = 100  # 2 top ads, 2 news items, 96 organic results
LIMIT_SECONDS = 5.0
LIMIT_BYTES = 6_000_000
VERSION = 1  # bump when the generated data changes, so caches are rebuilt
FIRST_DAY = dt.datetime(2025, 1, 1, 7, 0, tzinfo=dt.UTC)
MONTH = "2025-01"
WORDS = [
    *("brand", "recall", "customers", "statement", "investigation", "safety", "update"),
    *("regulator", "response", "report", "faulty", "product", "apology", "refund", "board"),
    *("chief", "executive", "analysts", "shares", "review"),
]


def campaign_text() -> str:
    """100 keywords on one official host, critical news prefixes, annotations, a logo-free brand."""
    keywords = "\n".join(f'[[keywords]]\nquery = "brand crisis {k}"\n' for k in range(KEYWORDS))
    critical = ", ".join(f'"news{j}.example/*"' for j in range(8))
    notes = "\n".join(
        f'[[annotations]]\ndate = 2025-01-{day:02d}\ntext = "Event on day {day}"\n'
        for day in (3, 10, 17, 24)
    )
    return f"""
[campaign]
name = "bench-report"
brand = "Brand"
crisis_start = 2024-12-28

[defaults]
provider = "replay"
country = "us"
language = "en"
depth = 96

[providers.replay]
path = "."

[report]
agency = "Benchmark & Partners"
accent = "#1f4e79"

{keywords}
[labels]
official = ["brand.example", "https://twitter.com/brand_help"]
critical = [{critical}]

{notes}
"""


def title(rng: random.Random) -> str:
    """A title of realistic length (about 60 characters)."""
    return " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()[:70]


def page(k: int, day: int) -> list[Item]:
    """Keyword ``k``'s page on ``day``: the official statement climbs past the critical
    article on a day of its own; 5 official and 8 critical URLs among 96 organic results."""
    plan = random.Random(k)
    rng = random.Random(k * 1000 + day)
    cross = plan.uniform(5, 40)
    progress = min(1.0, day / cross)
    official = [f"https://brand.example/newsroom/2025/01/statement-{k}-{j}" for j in range(5)]
    critical = [f"https://news{j}.example/2025/01/brand-crisis-investigation-{k}" for j in range(8)]
    neutral = [
        f"https://site{(k * 7 + j) % 600}.example/forum/threads/brand-crisis-{k}-{j}"
        for j in range(200)
    ]
    organic = rng.sample(neutral, 96 - len(official) - len(critical))
    placed = sorted(
        [
            (max(0.0, 12 * (1 - progress) + 1 + rng.gauss(0, 0.8)), official[0]),
            (max(0.0, 1 + 8 * progress + rng.gauss(0, 0.8)) + 0.5, critical[0]),
        ]
        + [(rng.uniform(5, 95), url) for url in official[1:] + critical[1:]]
    )
    for slot, url in placed:
        organic.insert(min(int(slot), len(organic)), url)
    ads = [f"https://ads{j}.example/landing/brand-alternative" for j in range(2)]
    if k % 2 == 0 and day >= 3:
        ads[0] = f"https://brand.example/faq/crisis-{k}"
    news = [critical[1] if day < 12 else neutral[0], neutral[1]]
    snippet = "A short snippet about the brand and what happened this month, as search shows it."
    items = [Item("paid", url, title(rng), snippet, block="top") for url in ads]
    items += [Item("news", url, title(rng), snippet) for url in news]
    items += [Item("organic", url, title(rng), snippet) for url in organic]
    return items


def build(path: Path) -> None:
    """Create the database through the store path ``check`` uses, one day per group commit."""
    started = time.perf_counter()
    engine = store.connect(str(path))
    spec = parse_campaign(campaign_text(), "bench-report.toml", base_dir=path.parent)
    store.apply_campaign(engine, spec)
    with engine.begin() as connection:
        keyword_ids = [
            row[0] for row in connection.execute(text("SELECT id FROM keywords ORDER BY id"))
        ]
    for day in range(DAYS):
        at = FIRST_DAY + dt.timedelta(days=day)
        records = []
        for k, keyword_id in enumerate(keyword_ids):
            failed = (day * 31 + k) % 97 == 0
            records.append(
                store.CheckRecord(
                    keyword_id=keyword_id,
                    provider="replay",
                    observed_at=at,
                    slot=at,
                    status="failed" if failed else "ok",
                    items=() if failed else page(k, day),
                    error="no replay file" if failed else None,
                    error_kind="missing-fixture" if failed else None,
                    source="benchmark",
                )
            )
        store.record_checks(engine, records)
    engine.dispose()
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def run(path: Path) -> tuple[float, str]:
    """Build the report once with a fresh engine; return (seconds, HTML)."""
    engine = store.connect(str(path))
    try:
        started = time.perf_counter()
        with Session(engine) as session:
            campaign = store.get_campaign(session, "bench-report")
            html = report.make_report(
                session,
                campaign,
                report.month_period(MONTH),
                now=dt.datetime.now(dt.UTC),
            )
        return time.perf_counter() - started, html
    finally:
        engine.dispose()


def database() -> Path:
    """The cached database's path under ``$SERPTRACK_BENCH_DIR``."""
    return baseline.bench_dir() / f"report-v{VERSION}-{KEYWORDS}x{DAYS}x{PER_CHECK}.db"


def prepare(rebuild: bool = False) -> dict[str, Any]:
    """Build the database if missing (or asked to); say where it is and what it holds."""
    rows = KEYWORDS * DAYS * PER_CHECK
    return baseline.prepare_cache(database(), build, rows, store.connect, rebuild=rebuild)


def describe(data: dict[str, Any]) -> str:
    """One line on a prepared database."""
    return (
        f"{data['path']} ({data['bytes'] / 1e6:.0f} MB): {data['checks']:,} checks, "
        f"{data['rows']:,} results, {KEYWORDS} keywords, report for {MONTH}"
    )


_last_html = ""  # a worker's latest report, kept for ``save``


def time_report() -> dict[str, Any]:
    """One timed build of the report (a worker's request): seconds and size in bytes."""
    global _last_html
    seconds, _last_html = run(database())
    return {"seconds": seconds, "bytes": len(_last_html.encode("utf-8"))}


def save(out: str) -> None:
    """Write the worker's latest report to ``out``."""
    Path(out).write_text(_last_html, encoding="utf-8")


def time_note(median: float) -> str:
    """The median build time's share of its target."""
    return f"{median / LIMIT_SECONDS:.0%} of the {LIMIT_SECONDS:.0f} s target"


def size_line(size: int) -> str:
    """A report size and its share of the target."""
    return (
        f"{size:,} bytes = {size / 1e6:.2f} MB "
        f"({size / LIMIT_BYTES:.0%} of the {LIMIT_BYTES / 1e6:.0f} MB target, plotly.js embedded)"
    )


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the database, then time the report and measure its size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    parser.add_argument("--runs", type=int, default=3, help="timed runs")
    parser.add_argument("--out", type=Path, help="also write the report here")
    baseline.add_options(parser)
    args = parser.parse_args(argv)
    if args.worker:
        return baseline.serve({"prepare": prepare, "time": time_report, "save": save})
    if args.baseline:
        return compare(args.baseline, args.runs, args.rebuild, args.out)
    data = prepare(args.rebuild)
    print(f"Database: {describe(data)}")
    seconds = []
    html = ""
    for _ in range(args.runs):
        elapsed, html = run(Path(data["path"]))
        seconds.append(elapsed)
    size = len(html.encode("utf-8"))
    if args.out:
        args.out.write_text(html, encoding="utf-8")
    median = statistics.median(seconds)
    print(f"build: {baseline.spread(seconds)}  ({time_note(median)})")
    print(f"size:  {size_line(size)}")
    ok = median < LIMIT_SECONDS and size < LIMIT_BYTES
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def compare(rev: str, runs: int, rebuild: bool, out: Path | None) -> int:
    """Build the report on ``rev`` (before) and the working tree (after), interleaved."""
    with baseline.sides(__file__, rev) as pair:
        data = []
        for side in pair:
            data.append(side.call("prepare", rebuild=rebuild))
            print(f"{side.name:<6} database: {describe(data[-1])}")
        if (data[0]["checks"], data[0]["rows"]) != (data[1]["checks"], data[1]["rows"]):
            print("WARNING: the two databases do not hold the same checks and results")
        print(f"{runs} runs per side, alternating before/after, each on a fresh engine")
        before, after = baseline.alternate(pair, runs, "time")
        if out:
            pair[1].call("save", out=str(out.resolve()))
    seconds = [[reply["seconds"] for reply in replies] for replies in (before, after)]
    medians = [statistics.median(runs_of) for runs_of in seconds]
    sizes = [before[-1]["bytes"], after[-1]["bytes"]]
    for name, (side, runs_of) in enumerate(zip(pair, seconds, strict=True)):
        head = "build:" if name == 0 else ""
        print(f"{head:<6} {side.name:<6} {baseline.spread(runs_of)}  ({time_note(medians[name])})")
    print(
        f"{'':<6} after/before: median {baseline.ratio(medians[1], medians[0]):.2f}  "
        f"best {baseline.ratio(min(seconds[1]), min(seconds[0])):.2f}"
    )
    for name, (side, size) in enumerate(zip(pair, sizes, strict=True)):
        print(f"{'size:' if name == 0 else '':<6} {side.name:<6} {size_line(size)}")
    print(f"{'':<6} after/before: {baseline.ratio(sizes[1], sizes[0]):.4f}")
    ok = medians[1] < LIMIT_SECONDS and sizes[1] < LIMIT_BYTES
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
