"""What finding alert events costs a check (issue: crisis alerts; limit: 5 % of a check).

Runs the same checks twice, each into a fresh SQLite database: a campaign with every alert
kind of SPEC section 7 (nine rules, a webhook channel; nothing is delivered), and the same
campaign without `[alerts]`. Each check is a real one: `tracker.run_checks` with the SerpApi
provider, parsed and stored; pages move a little every day, so events fire as in a real
crisis (about one check in three fires one). Three ways the pages arrive:

- over HTTP from a loopback server (a child process), through the client `check` makes, at
  concurrency 20: what a check costs a user, and batches of a few checks form;
- one check at a time over HTTP with 50 ms of latency: every check is its own batch (a cron
  run against a slow API), so the per-batch cost of finding events is paid by each check;
- from an `httpx.MockTransport` in-process: no HTTP stack, the cheapest check there is, so
  the strictest base.

Prints, for each, min/median/max over `--runs` of CPU per check with and without alerts, the
CPU spent in `find_events` per check (timed around the call itself, on its own thread), and
its share of the check's CPU in the same run beside the 5 % limit. Then delivery timings to a
webhook on 127.0.0.1: a healthy receiver, one that answers 500 before each 200 (retried with
backoff), and one that accepts connections but never answers (the run must end within its
budget, the events left pending).

Run: .venv/bin/python benchmarks/bench_alerts.py [--keywords 100] [--days 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session

from serptrack import store, tracker
from serptrack.campaign import load_campaign_file
from serptrack.store import outbox as store_outbox

START = dt.datetime(2026, 5, 1, 7, tzinfo=dt.UTC)
ALERTS = """
[alerts.channels.ops]
type = "webhook"
url_env = "BENCH_HOOK_URL"

[[alerts.rules]]
on = "overtake"
channels = ["ops"]
[[alerts.rules]]
on = "lost"
channels = ["ops"]
[[alerts.rules]]
on = "critical-enters"
channels = ["ops"]
[[alerts.rules]]
on = "official-leaves"
channels = ["ops"]
[[alerts.rules]]
on = "new-url"
top = 5
channels = ["ops"]
[[alerts.rules]]
on = "critical-in-feature"
channels = ["ops"]
[[alerts.rules]]
on = "critical-share"
channels = ["ops"]
[[alerts.rules]]
on = "own-ad-missing"
channels = ["ops"]
[[alerts.rules]]
on = "failing"
channels = ["ops"]
"""


def campaign_text(keywords: int, alerts: bool, depth: int = 10) -> str:
    lines = [
        '[campaign]\nname = "bench"\n',
        f'[defaults]\nprovider = "serpapi"\ncountry = "us"\nlanguage = "en"\ndepth = {depth}\n',
        '[labels]\nofficial = ["acme.example"]\ncritical = ["critic.example", "watch.example"]\n',
    ]
    lines += [f'[[keywords]]\nquery = "acme {n}"\n' for n in range(keywords)]
    return "\n".join(lines) + (ALERTS if alerts else "")


def payload(query: str, day: int, depth: int = 10) -> dict[str, Any]:
    """A SerpApi page for ``query`` on ``day``: ads, ``depth`` organic results, a news box.

    Each keyword has its own page that drifts: a couple of neighbours swap places most days,
    and now and then the official statement or the critical article jumps (the events).
    """
    n = query[5:]
    base = [f"https://site{(int(n) * 7 + i) % 40}.example/acme-{n}/{i}" for i in range(depth + 2)]
    base[3] = "https://acme.example/statement"
    base[5] = f"https://critic.example/acme-{n}"
    for d in range(day + 1):  # the page's drift up to this day, the same on every run
        rng = random.Random(f"{query}/{d}")
        i = rng.randrange(11)
        base[i], base[i + 1] = base[i + 1], base[i]
        if rng.random() < 0.05:  # a jump: one result moves to the top three
            j = rng.randrange(3, 12)
            base.insert(rng.randrange(3), base.pop(j))
    rng = random.Random(f"{query}/{day}/features")
    organic = [
        {"position": p, "title": f"About {u}", "link": u, "snippet": "Acme recall news " * 5}
        for p, u in enumerate(base[:depth], start=1)
    ]
    doc: dict[str, Any] = {"search_metadata": {"status": "Success"}, "organic_results": organic}
    if day % 10 < 7:  # the official ad runs most days
        doc["ads"] = [
            {
                "position": 1,
                "block_position": "top",
                "title": "Acme: the facts",
                "link": "https://acme.example/ad",
            }
        ]
    critical_story = rng.random() < 0.05
    doc["top_stories"] = [
        {
            "title": "Acme in the news",
            "link": "https://critic.example/story"
            if critical_story
            else "https://paper.example/acme",
        }
    ]
    return doc


class Day:
    """The day the mock answers for (the run's as-of)."""

    value = 0


def serve_pages(port: Any, day: Any, depth: int, latency: float) -> None:
    """The loopback SerpApi (a child process, so its CPU is not the checks'): ``payload`` for
    the query asked and the day in the shared ``day``, after ``latency`` seconds, over
    keep-alive HTTP/1.1."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    class Pages(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)["q"][0]
            body = json.dumps(payload(query, day.value, depth)).encode()
            if latency:
                time.sleep(latency)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    server.daemon_threads = True
    port.value = server.server_address[1]
    server.serve_forever()


class Loopback:
    """A :func:`serve_pages` child process and the day it answers for."""

    def __init__(self, depth: int, latency: float = 0.0) -> None:
        context = multiprocessing.get_context("fork")
        self.day = context.Value("i", 0)
        self._port = context.Value("i", 0)
        self._process = context.Process(
            target=serve_pages, args=(self._port, self.day, depth, latency), daemon=True
        )
        self._process.start()
        while not self._port.value:
            time.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{self._port.value}"

    def close(self) -> None:
        self._process.terminate()
        self._process.join()


def run(
    folder: Path,
    keywords: int,
    days: int,
    alerts: bool,
    depth: int,
    loopback: Loopback | None = None,
    concurrency: int = 20,
) -> tuple[float, float, int]:
    """(CPU seconds of all checks, CPU seconds inside find_events, events found).

    The pages come from an ``httpx.MockTransport`` in this process, or, with ``loopback``,
    over real HTTP through the client ``check`` uses (``fetch.make_client``).
    """
    path = folder / f"campaign-{alerts}.toml"
    text = campaign_text(keywords, alerts, depth)
    if loopback is not None:
        text += f'\n[providers.serpapi]\nbase_url = "{loopback.base_url}"\n'
    path.write_text(text)
    db = folder / f"bench-{alerts}.db"
    engine = store.connect(str(db))
    store.apply_campaign(engine, load_campaign_file(path))
    spent = [0.0]
    real = store_outbox.find_events

    def timed(*args: Any, **kwargs: Any) -> int:
        started = time.thread_time()  # this thread's CPU only: the fetches run beside it
        try:
            return real(*args, **kwargs)
        finally:
            spent[0] += time.thread_time() - started

    store_outbox.find_events = timed  # type: ignore[assignment]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=payload(request.url.params["q"], Day.value, depth))

    total = 0.0
    try:
        for day in range(days):
            Day.value = day
            when = START + dt.timedelta(days=day)
            with Session(engine) as session:
                campaign = store.get_campaign(session, "bench")
                tasks = tracker.plan_checks(session, campaign, when)
                tasks = [t for t in tasks]
            providers = tracker.build_providers([campaign], tasks)
            client = None  # over loopback, run_checks makes the client `check` uses
            if loopback is None:
                client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
            else:
                loopback.day.value = day
            started = time.process_time()
            # each day's checks observed on that day, as a daily cron run's are: on the wall
            # clock, thirty days of pages would all fall on one UTC day, and the rules' daily
            # caps would hold most of their events back
            tracker.run_checks(
                engine,
                tasks,
                providers,
                concurrency=concurrency,
                client=client,
                clock=lambda when=when: when,
            )
            total += time.process_time() - started
    finally:
        store_outbox.find_events = real  # type: ignore[assignment]
    with engine.connect() as connection:
        found = connection.exec_driver_sql("SELECT count(*) FROM alert_events").scalar() or 0
    engine.dispose()
    return total, spent[0], int(found)


def bench_delivery(folder: Path, events: int) -> None:
    """Delivery timings: a healthy loopback receiver, one that answers 500 first, a dead one."""
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from serptrack.alerts import dispatch
    from serptrack.store import outbox

    failures: dict[str, int] = {}

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen = failures.get(self.path, 0)
            failures[self.path] = seen + 1
            fail_first = self.path == "/flaky" and b'"id"' in body and seen % 2 == 0
            self.send_response(500 if fail_first else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead.listen(100)  # accepts connections, never answers
    base = f"http://127.0.0.1:{server.server_address[1]}"
    path = folder / "delivery.toml"
    path.write_text(
        campaign_text(1, alerts=False)
        + '\n[alerts.channels.ops]\ntype = "webhook"\nurl_env = "BENCH_HOOK_URL"\n'
        'allow_private = true\n\n[[alerts.rules]]\non = "lost"\nchannels = ["ops"]\n'
    )
    engine = store.connect(str(folder / "delivery.db"))
    store.apply_campaign(engine, load_campaign_file(path))
    with Session(engine) as session:
        campaign_id = store.get_campaign(session, "bench").id or 0
    print(f"delivery (webhook on 127.0.0.1, {events} events each):")
    for label, url, budget in (
        ("healthy receiver", f"{base}/hook", 60.0),
        ("500, then 200   ", f"{base}/flaky", 60.0),
        ("dead receiver   ", f"http://127.0.0.1:{dead.getsockname()[1]}/hook", 2.0),
    ):
        with engine.begin() as connection:
            for n in range(events):
                outbox.add_event(
                    connection, campaign_id, "test", f"event {n}", ["ops"], dt.datetime.now(dt.UTC)
                )
        started = time.perf_counter()
        report = dispatch.deliver_pending(
            engine, environ={"BENCH_HOOK_URL": url}, budget=budget, due_only=False
        )
        wall = time.perf_counter() - started
        print(
            f"  {label}  {wall:6.2f} s ({wall / events * 1000:6.1f} ms per event), "
            f"{report.sent} sent, {report.pending} pending, {report.attempts} attempts "
            f"(budget {budget:g} s -> {wall / budget:.2f} of it)"
        )
        with engine.begin() as connection:  # the next scenario starts from an empty outbox
            connection.exec_driver_sql(
                "UPDATE alert_deliveries SET state = 'failed' WHERE state = 'pending'"
            )
    server.shutdown()
    dead.close()
    engine.dispose()


@dataclass(frozen=True)
class Scenario:
    """How the checks reach the store: in-process or over HTTP, how many at once."""

    label: str
    keywords: int
    days: int
    concurrency: int
    loopback: bool
    latency: float = 0.0  # seconds the loopback server waits before it answers


def spread(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """min/median/max of ``values`` times ``scale``."""
    figures = (min(values), statistics.median(values), max(values))
    return "/".join(f"{value * scale:.{digits}f}" for value in figures)


def measure(args: argparse.Namespace, scenario: Scenario) -> None:
    """Run the scenario's checks with and without alerts, alternately, and print what finding
    events costs a check: find_events' CPU beside the CPU of the same checks without alerts
    in the paired run."""
    loopback = Loopback(args.depth, scenario.latency) if scenario.loopback else None
    checks = scenario.keywords * scenario.days
    pairs: list[tuple[tuple[float, float, int], tuple[float, float, int]]] = []
    try:
        for _ in range(args.runs):  # alternated, so machine load hits both alike
            both = []
            for alerts in (False, True):
                with tempfile.TemporaryDirectory() as tmp:
                    both.append(
                        run(
                            Path(tmp),
                            scenario.keywords,
                            scenario.days,
                            alerts,
                            args.depth,
                            loopback,
                            scenario.concurrency,
                        )
                    )
            pairs.append((both[0], both[1]))
    finally:
        if loopback is not None:
            loopback.close()
    plain = [p[0] / checks for p, _ in pairs]
    alerting = [a[0] / checks for _, a in pairs]
    finding = [a[1] / checks for _, a in pairs]
    shares = [f / p for f, p in zip(finding, plain, strict=True)]
    found = pairs[0][1][2]
    print(f"{scenario.label} ({checks:,} checks; figures min/median/max of {args.runs} runs)")
    print(f"  events found:               {found:,} ({found / checks:.2f} per check)")
    print(
        f"  CPU per check, no alerts:   {spread(plain, 1000)} ms (run_checks: fetch, parse, store)"
    )
    print(f"  CPU per check, 9 rules:     {spread(alerting, 1000)} ms")
    print(f"  find_events per check:      {spread(finding, 1000, 3)} ms")
    print(
        f"  share of a check's CPU:     {spread(shares, 100, 1)} % (limit 5 %) -> "
        f"{statistics.median(shares) / 0.05:.2f} of the limit (median)"
    )
    differences = [(a - p) / p for a, p in zip(alerting, plain, strict=True)]
    print(f"  whole-run difference:       {spread(differences, 100, 1)} % (noisier)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keywords", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--depth", type=int, default=10, help="organic results per page")
    parser.add_argument("--events", type=int, default=50, help="events per delivery scenario")
    args = parser.parse_args()
    os.environ.setdefault("SERPAPI_API_KEY", "bench-key-0000")
    print(f"{args.depth} organic results a page, ads and a news box; 9 alert rules")
    one_by_one = max(1, args.keywords // 5), max(1, args.days // 3)
    for scenario in (
        Scenario(
            "over HTTP from a loopback server, concurrency 20 (the client `check` uses)",
            args.keywords,
            args.days,
            20,
            loopback=True,
        ),
        Scenario(
            "one check at a time over HTTP, 50 ms latency: every check its own batch",
            *one_by_one,
            1,
            loopback=True,
            latency=0.05,
        ),
        Scenario(
            "in-process httpx.MockTransport, concurrency 20 (no HTTP stack: strictest)",
            args.keywords,
            args.days,
            20,
            loopback=False,
        ),
    ):
        measure(args, scenario)
    with tempfile.TemporaryDirectory() as tmp:
        bench_delivery(Path(tmp), args.events)


if __name__ == "__main__":
    main()
