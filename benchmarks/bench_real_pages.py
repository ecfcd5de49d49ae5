"""Real result pages: expectations met per placement, and the time to parse each page.

Reads the pages and published expectations of ``tests/fixtures/real/`` (see the ORIGIN.md
there) with whichever serptrack ``import serptrack`` finds, so the same script measures an
older revision too:

    python benchmarks/bench_real_pages.py                      # this tree
    git worktree add --detach /tmp/serptrack-before REV
    PYTHONPATH=/tmp/serptrack-before python benchmarks/bench_real_pages.py   # REV

An expectation is one (page, placement) list of URLs in page order; it is met when the
parse gives exactly that list (each URL once). The parse budget is 50 ms for a 600 KB page:
the figure printed is the median time per 600 KB of page, and its ratio to that budget.
"""

from __future__ import annotations

import json
import lzma
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import serptrack
from serptrack.errors import SerptrackError
from serptrack.parsers.google import parse_google

ROOT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "real" / "websearcher"
BUDGET_MS_PER_600KB = 50.0


def main() -> None:
    expected = json.loads((ROOT / "expected.json").read_text(encoding="utf-8"))
    met: Counter[str] = Counter()
    total: Counter[str] = Counter()
    per_600kb = []
    for page, entry in expected.items():
        html = lzma.decompress((ROOT / f"{page}.html.xz").read_bytes())
        start = time.perf_counter()
        try:
            results = parse_google(html).results
        except SerptrackError:  # an older revision may refuse a page: its expectations fail
            results = []
        elapsed = time.perf_counter() - start
        per_600kb.append(elapsed * 1000 * 600_000 / len(html))
        for placement, urls in entry["urls"].items():
            if not urls and placement != "organic":
                continue
            got = list(dict.fromkeys(i.url for i in results if i.placement == placement))
            total[placement] += 1
            met[placement] += got == list(dict.fromkeys(urls))
    print(f"serptrack from {Path(serptrack.__file__).parent}")
    print(f"source: WebSearcher 0.7.0 (Google desktop, 2026), {len(expected)} pages")
    for placement in sorted(total):
        print(f"  {placement:<13} {met[placement]:>3} / {total[placement]:<3} expectations met")
    print(f"  {'all':<13} {sum(met.values()):>3} / {sum(total.values()):<3}")
    median = statistics.median(per_600kb)
    print(
        f"parse time: median {median:.1f} ms per 600 KB of page "
        f"(budget {BUDGET_MS_PER_600KB:.0f} ms, ratio {median / BUDGET_MS_PER_600KB:.2f})"
    )


if __name__ == "__main__":
    sys.exit(main())
