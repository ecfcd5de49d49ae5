"""Store one million result rows through the path `check` uses; compare with raw sqlite3.

Prints rows/s for serptrack's `tracker.run_checks` (10,000 checks x 100 results, stored as
`check` stores them: whole checks in group commits, from a provider that hands out prebuilt
pages, built before the clock starts) and for a raw `sqlite3.executemany` of the same rows in
one transaction, their ratio (issue "Speed", store path: within 2x), the peak memory of the
process (target: under 300 MB), and the time `history` takes for one keyword over 365 checks
(target: 100 ms).

Run: .venv/bin/python benchmarks/bench_store.py [--checks 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from sqlmodel import Session

from serptrack import store, tracker
from serptrack.models import Campaign, Keyword
from serptrack.providers import Fetched, Provider, SearchRequest
from serptrack.snapshot import Item, Snapshot

RESULTS_PER_CHECK = 100
RATIO_LIMIT = 2.0  # issue "Speed", store path: within 2x of raw sqlite3.executemany


def page(check: int) -> list[Item]:
    """A 100-result page: 2 top ads, 96 organic results, 2 bottom ads.

    A keyword's organic results are drawn from 300 URLs of its own and move a little each day
    (real result pages churn, they are not new every day); across keywords the sites overlap.
    """
    keyword, day = divmod(check, 365)
    items = [
        Item("paid", f"https://ads{i}.example/landing", f"Ad {i}", "Buy now", block="top")
        for i in range(2)
    ]
    items += [
        Item(
            "organic",
            _pool_url(keyword, (i + day // 3) % 300),
            f"Result {i}",
            "A snippet of text " * 4,
        )
        for i in range(96)
    ]
    items += [
        Item("paid", f"https://ads{i}.example/bottom", f"Ad {i}", "", block="bottom")
        for i in range(2)
    ]
    return items


def _pool_url(keyword: int, index: int) -> str:
    return f"https://site{(keyword * 7 + index) % 500}.example/kw{keyword}/page/{index}"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PageProvider(Provider):
    """Hands out prebuilt 100-result pages: the provider's own work is not what is measured
    (the raw side builds its rows before its clock starts too)."""

    name = "bench-pages"
    uses_http = False

    def __init__(self, pages: dict[int, list[Item]]) -> None:
        super().__init__()
        self.pages = pages

    async def fetch(self, request: SearchRequest, client: httpx.AsyncClient) -> Fetched:
        check = _check_number(request)
        return Fetched(
            Snapshot(query=request.query, results=self.pages[check], observed_at=request.as_of)
        )


def _check_number(request: SearchRequest) -> int:
    return int(request.query.split()[1]) * 365 + (request.as_of - START).days


START = dt.datetime(2025, 1, 1, 7, tzinfo=dt.UTC)


def bench_serptrack(folder: Path, checks: int) -> tuple[float, Path]:
    """Store ``checks`` pages through `tracker.run_checks`, the path `check` and `backfill` use."""
    path = folder / "serptrack.db"
    engine = store.connect(str(path))
    with Session(engine) as session:
        campaign = Campaign(name="bench")
        session.add(campaign)
        session.flush()
        keywords = [
            Keyword(campaign_id=campaign.id, query=f"kw {n}", provider="bench-pages")
            for n in range(checks // 365 + 1)
        ]
        session.add_all(keywords)
        session.commit()
        keyword_ids = [k.id for k in keywords]
    tasks = [
        tracker.CheckTask(
            "bench",
            keyword_ids[n // 365],
            "bench-pages",
            SearchRequest(query=f"kw {n // 365}", as_of=START + dt.timedelta(days=n % 365)),
        )
        for n in range(checks)
    ]
    elapsed = 0.0
    # Runs of 500 checks, each with its pages built before the clock starts: memory stays flat.
    for first in range(0, len(tasks), 500):
        run = tasks[first : first + 500]
        pages = {_check_number(task.request): page(_check_number(task.request)) for task in run}
        providers = {("bench", "bench-pages"): PageProvider(pages)}
        started = time.perf_counter()
        tracker.run_checks(engine, run, providers, concurrency=50)
        elapsed += time.perf_counter() - started
    engine.dispose()
    return elapsed, path


def bench_raw(folder: Path, checks: int) -> float:
    connection = sqlite3.connect(folder / "raw.db")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(
        "CREATE TABLE results (id INTEGER PRIMARY KEY, check_id INTEGER, placement TEXT, block TEXT, rank INTEGER,"
        " page_position INTEGER, url TEXT, norm_url TEXT, domain TEXT, title TEXT, snippet TEXT, tracking_url TEXT)"
    )
    # The same indexes as serptrack's results table, so both pay the same b-tree inserts.
    connection.execute("CREATE INDEX ix1 ON results (check_id, page_position)")
    connection.execute(
        "CREATE INDEX ix2 ON results (norm_url, check_id, placement, rank, page_position, block)"
    )
    rows = []
    for n in range(checks):
        for position, item in enumerate(page(n), start=1):
            rows.append(
                (
                    n,
                    item.placement,
                    item.block,
                    position,
                    position,
                    item.url,
                    item.url,
                    "example",
                    item.title,
                    item.snippet,
                    None,
                )
            )
    started = time.perf_counter()
    with connection:
        connection.executemany(
            "INSERT INTO results (check_id, placement, block, rank, page_position, url, norm_url, domain, title,"
            " snippet, tracking_url) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def bench_history(path: Path) -> tuple[float, int]:
    engine = store.connect(str(path))
    with Session(engine) as session:
        campaign = store.get_campaign(session, "bench")
        best = float("inf")
        count = 0
        for _ in range(5):
            started = time.perf_counter()
            rows = list(store.history_rows(session, campaign, query="kw 0"))
            best = min(best, time.perf_counter() - started)
            count = len(rows)
    engine.dispose()
    return best, count


def _spread(values: list[float], fmt: str) -> str:
    return "/".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1, help="figures are min/median/max")
    args = parser.parse_args()
    rows = args.checks * RESULTS_PER_CHECK
    ours: list[float] = []
    raws: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):  # alternate, so a change in load hits both sides alike
            folder = Path(tmp) / f"run-{run}"
            folder.mkdir()
            elapsed, path = bench_serptrack(folder, args.checks)
            ours.append(elapsed)
            if run == 0:
                peak_after_store = peak_mb()
                history_s, history_rows = bench_history(path)
            raws.append(bench_raw(folder, args.checks))
    ratios = [mine / raw for mine, raw in zip(ours, raws, strict=True)]
    print(
        f"rows stored:            {rows:,} ({args.checks:,} checks x {RESULTS_PER_CHECK} results);"
        f" min/median/max over {args.runs} runs"
    )
    print(
        f"serptrack run_checks:   {_spread([rows / t for t in ours], ',.0f')} rows/s"
        f" ({_spread(ours, '.1f')} s, the path `check` uses: group commits)"
    )
    print(
        f"raw sqlite3.executemany:{_spread([rows / t for t in raws], ',.0f')} rows/s"
        f" ({_spread(raws, '.1f')} s, one transaction)"
    )
    print(
        f"ratio serptrack/raw:    {_spread(ratios, '.2f')}x, each of the same run (limit "
        f"{RATIO_LIMIT:g}x) -> median {statistics.median(ratios) / RATIO_LIMIT:.2f} of the limit"
    )
    print(
        f"peak memory (storing):  {peak_after_store:.0f} MB (limit 300 MB) -> {peak_after_store / 300:.2f} of the limit"
    )
    print(
        f"history, 1 keyword x 365 checks ({history_rows:,} rows): {history_s * 1000:.0f} ms (limit 100 ms)"
        f" -> {history_s * 10:.2f} of the limit"
    )


if __name__ == "__main__":
    main()
