"""Reads follow the period: a month read on a year of history costs what it costs alone.

Issue "Speed", reads: a month's report, `status --from/--to` and `overtakes --from/--to` cost
no more on a database holding a year of history than on one holding that month alone
(target: within 15 %), and both are measured in one run. Builds two SQLite databases of the same campaign (20 keywords,
100 results a check, an official and a critical URL moving on every page, the other URLs
churning so that a year brings hundreds of thousands of distinct URLs): one with 365 daily
checks, one with the last 31 of them. Then times, in this process (CPU, median of `--runs`,
runs alternating between the databases), for the last month:

- `keyword_series` (the read that status, overtakes and the report share);
- the report's build alone (every read and the assembly, no rendering): on the year, the
  report also shows the five months before in its month-end table (issue 14), so its
  rendered output is larger there by design (about 13 %) and the rendering costs more;
- `serptrack report CAMPAIGN --month M --format json` and the HTML report;
- `serptrack status CAMPAIGN --from --to --json`;
- `serptrack overtakes CAMPAIGN --from --to --json`.

Each figure is printed as min/median/max over the runs, beside the same run's figures on the
month alone, with the ratio of the medians and its share of the 1.15 limit.

A third database holds the six months the report shows (its month-end table reaches back to
June). Pages follow the date, so the report there is the year's, line for line, but for the
check ids and the first overtake ever (a fact of the whole history, read from its start);
the differing lines are counted and said. The year against those six months is the cost of
history alone, like for like; it is printed for the report lines.

    .venv/bin/python benchmarks/bench_period.py [--runs 5] [--keywords 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner
from sqlmodel import Session

from serptrack import report, store
from serptrack.campaign import load_campaign_file
from serptrack.cli import cli
from serptrack.snapshot import Item
from serptrack.store import reads
from serptrack.store.checks import CheckRecord, record_checks

END = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # the month read is November 2026
MONTH_START = END - dt.timedelta(days=30)
LIMIT = 1.15
SHOWN = 183  # 1 June to 30 November: the months a November report's month-end table shows
SIZES = (365, SHOWN, 31)


def build(db: str, days: int, keywords: int, folder: Path) -> None:
    """The campaign and ``days`` daily checks of each keyword, ending with November."""
    engine = store.connect(db)
    (folder / "fixtures").mkdir(exist_ok=True)
    lines = [
        '[campaign]\nname = "bench"\n[providers.replay]\npath = "fixtures"\n',
        '[labels]\nofficial = ["acme.example"]\ncritical = ["critic.example"]\n',
    ]
    lines += [f'[[keywords]]\nquery = "acme {n}"\nprovider = "replay"\n' for n in range(keywords)]
    (folder / "campaign.toml").write_text("\n".join(lines))
    store.apply_campaign(engine, load_campaign_file(folder / "campaign.toml"))
    with Session(engine) as session:
        campaign = store.get_campaign(session, "bench")
        ids = [k.id or 0 for k in store.campaign_keywords(session, campaign)]
    for back in range(days, 0, -1):
        at = END - dt.timedelta(days=back) + dt.timedelta(hours=7)
        day = 365 - back  # pages follow the date, so every database shows the same day alike
        records = []
        for n, keyword_id in enumerate(ids):
            urls = [f"https://site{(i * 7 + day) % 300}.example/{n}/{i}" for i in range(100)]
            urls[(day + n) % 10] = "https://acme.example/statement"
            urls[(day * 3 + n) % 12] = f"https://critic.example/story{n}"
            items = tuple(Item("organic", url) for url in urls)
            records.append(
                CheckRecord(keyword_id=keyword_id, provider="replay", observed_at=at, items=items)
            )
        record_checks(engine, records)
    engine.dispose()


def measures(db: str) -> dict[str, float]:
    """CPU seconds of each read of the month on ``db``."""
    runner = CliRunner()
    found: dict[str, float] = {}
    engine = store.connect(db)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "bench")
        started = time.process_time()
        reads.keyword_series(session, campaign, start=MONTH_START, end=END)
        found["keyword_series"] = time.process_time() - started
        started = time.process_time()
        report.build_report(session, campaign, report.month_period("2026-11"), now=END)
        found["report: build (reads)"] = time.process_time() - started
    engine.dispose()
    month = ["--from", "2026-11-01", "--to", "2026-11-30"]
    for name, args in (
        ("report --format json", ["report", "bench", "--month", "2026-11", "--format", "json"]),
        ("report (html)", ["report", "bench", "--month", "2026-11"]),
        ("status --from --to", ["status", "bench", *month]),
        ("overtakes --from --to", ["overtakes", "bench", *month]),
    ):
        started = time.process_time()
        result = runner.invoke(
            cli,
            [*args, "--out", "-"] if name.startswith("report") else [*args, "--json"],
            env={"SERPTRACK_DB": db},
        )
        found[name] = time.process_time() - started
        if result.exit_code != 0:
            raise SystemExit(f"{name} failed: {result.output[-1000:]}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keywords", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dbs = {}
        builders = []
        for days in SIZES:  # built side by side, each in a process of its own
            folder = root / f"d{days}"
            folder.mkdir()
            dbs[days] = f"sqlite:///{folder / 'serptrack.db'}"
            builders.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--build",
                        dbs[days],
                        str(days),
                        str(args.keywords),
                        str(folder),
                    ]
                )
            )
        for builder in builders:
            if builder.wait() != 0:
                raise SystemExit("building a database failed")
        for days in SIZES:
            measures(dbs[days])  # warm: imports, caches, pages
        year_lines = report_text(dbs[365]).splitlines()
        shown_lines = report_text(dbs[SHOWN]).splitlines()
        differing = sum(a != b for a, b in zip(year_lines, shown_lines, strict=False))
        differing += abs(len(year_lines) - len(shown_lines))
        runs: dict[int, list[dict[str, float]]] = {days: [] for days in SIZES}
        for _ in range(args.runs):
            for days in SIZES:
                runs[days].append(measures(dbs[days]))
        print(
            f"{args.keywords} keywords; November 2026 read; CPU ms over {args.runs} runs "
            "(min/median/max), a year of history beside that month alone, same run"
        )
        for name in runs[365][0]:
            year = [r[name] * 1000 for r in runs[365]]
            month = [r[name] * 1000 for r in runs[31]]
            ratio = statistics.median(year) / statistics.median(month)
            print(
                f"  {name:<22} year {spread(year)}  month alone {spread(month)}"
                f"  ratio {ratio:.2f} (limit {LIMIT}) -> {ratio / LIMIT:.2f} of it"
            )
        print(
            f"the six months the report shows ({SHOWN} days), same run; the report on them"
            f" differs from the year's in {differing} of {len(year_lines)} lines (check ids"
            " aside; the first overtake ever is read from the start of history):"
        )
        for name in runs[365][0]:
            if not name.startswith("report"):
                continue
            year = [r[name] * 1000 for r in runs[365]]
            shown = [r[name] * 1000 for r in runs[SHOWN]]
            ratio = statistics.median(year) / statistics.median(shown)
            print(
                f"  {name:<22} year {spread(year)}  six months  {spread(shown)}"
                f"  ratio {ratio:.2f} (limit {LIMIT}) -> {ratio / LIMIT:.2f} of it"
            )


def report_text(db: str) -> str:
    """The November report as JSON, built at a fixed time, its check ids masked (each
    database numbers its checks from its own first day)."""
    engine = store.connect(db)
    try:
        with Session(engine) as session:
            campaign = store.get_campaign(session, "bench")
            text = report.make_report(
                session, campaign, report.month_period("2026-11"), now=END, fmt="json"
            )
    finally:
        engine.dispose()
    return re.sub(r'"check_id": \d+', '"check_id": 0', text)


def spread(values: list[float]) -> str:
    """``min/median/max`` of ``values``."""
    return f"{min(values):7.1f}/{statistics.median(values):7.1f}/{max(values):7.1f}"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--build":
        build(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5]))
    else:
        main()
