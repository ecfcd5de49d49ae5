"""Fetch-engine benchmark: live-provider checks against a loopback mock with fixed latency.

Starts its own mock SerpApi (a raw asyncio HTTP/1.1 server in a child process, so it does not
compete with the client for the GIL), applies a campaign of N keywords whose provider points
at it, and runs the checks through the same path ``serptrack check`` uses (providers, fetch
engine, parser, SQLite store). Each answer is a 100-result page with top and bottom ads.

Prints checks/s and the ratio to the ideal (concurrency / latency), the CPU milliseconds per
check (fetch + parse + store), the same for the fetch engine alone (the same providers, client
and fetcher, without the store) to show where the time goes, and the measure for a sequential
tracker (concurrency 1) on a smaller sample (1,000 sequential checks would take 100 s), with
the speed-up between the two.

    .venv/bin/python benchmarks/bench_fetch.py                 # 1,000 checks at 50, latency 100 ms
    .venv/bin/python benchmarks/bench_fetch.py --checks 200 --sequential 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from serptrack import store, tracker  # noqa: E402
from serptrack.campaign import load_campaign_file  # noqa: E402
from serptrack.fetch import Fetcher, make_client  # noqa: E402
from serptrack.models import utcnow  # noqa: E402
from serptrack.providers import Provider  # noqa: E402

VARIANTS = 16  # distinct result pages the mock serves (chosen by query)


def _page(variant: int) -> bytes:
    """A SerpApi-shaped page: 3 top ads, 100 organic results, 2 bottom ads."""
    ads = [
        {
            "position": i,
            "block_position": "top" if i <= 3 else "bottom",
            "title": f"Sponsored result {i}",
            "link": f"https://ads{i}.example/landing?v={variant}",
            "tracking_link": f"https://www.google.com/aclk?sa=L&ai=x{i}",
            "description": "An advertiser's text " * 4,
        }
        for i in range(1, 6)
    ]
    organic = [
        {
            "position": i,
            "title": f"Result {i} about the recall",
            "link": f"https://site{(i * 7 + variant) % 140}.example/news/{variant}/{i}",
            "displayed_link": f"https://site{i}.example › news",
            "snippet": "A snippet of text that describes the page in a sentence or two. " * 2,
        }
        for i in range(1, 101)
    ]
    doc = {
        "search_metadata": {"id": f"bench{variant}", "status": "Success", "json_endpoint": "x"},
        "search_parameters": {"engine": "google", "q": "bench", "gl": "us", "hl": "en"},
        "ads": ads,
        "organic_results": organic,
        "serpapi_pagination": {"current": 1, "next": "https://serpapi.com/search.json?start=100"},
    }
    return json.dumps(doc).encode()


async def _serve(port_file: Path, latency: float) -> None:
    bodies = [_page(v) for v in range(VARIANTS)]
    heads = [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % len(body)
        for body in bodies
    ]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0]
                variant = zlib.crc32(line) % VARIANTS
                await asyncio.sleep(latency)
                writer.write(heads[variant] + bodies[variant])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=2048)
    port = server.sockets[0].getsockname()[1]
    port_file.write_text(str(port))
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def mock_server(latency: float) -> Iterator[int]:
    """Run the mock in a child process; yield its port."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port_file), "--latency", str(latency)]
        )
        try:
            deadline = time.monotonic() + 10
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError("the mock server did not start")
                time.sleep(0.02)
            port = int(port_file.read_text())
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
            yield port
        finally:
            child.terminate()
            child.wait(timeout=10)


def _campaign(folder: Path, port: int, checks: int) -> Path:
    lines = [
        "[campaign]",
        'name = "bench"',
        "[defaults]",
        'provider = "serpapi"',
        'country = "us"',
        'language = "en"',
        "depth = 100",
        "[providers.serpapi]",
        f'base_url = "http://127.0.0.1:{port}"',
    ]
    for n in range(checks):
        lines += ["[[keywords]]", f'query = "acme recall {n}"']
    path = folder / "campaign.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(
    port: int, checks: int, concurrency: int, folder: Path, *, with_store: bool = True
) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, checks ok) for ``checks`` checks at ``concurrency``.

    With ``with_store`` (what ``check`` does) each check goes through ``tracker.run_checks`` into a
    SQLite file; without, the same providers, client and fetcher only fetch and parse.
    """
    db = folder / f"bench-{concurrency}-{with_store}.db"
    engine = store.connect(str(db))
    try:
        spec = load_campaign_file(_campaign(folder, port, checks))
        store.apply_campaign(engine, spec)
        with Session(engine) as session:
            campaign = store.get_campaign(session, "bench")
            tasks = tracker.plan_checks(session, campaign, utcnow())
            providers = tracker.build_providers(
                [campaign], tasks, environ={"SERPAPI_API_KEY": "bench-key"}
            )
        wall, cpu = time.perf_counter(), time.process_time()
        if with_store:
            outcomes = tracker.run_checks(engine, tasks, providers, concurrency=concurrency)
            counts = [o.results for o in outcomes if o.status == "ok"]
        else:
            counts = asyncio.run(_fetch_only(tasks, providers, concurrency))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        engine.dispose()
    return wall, cpu, sum(1 for count in counts if count == 105)


async def _fetch_only(
    tasks: list[tracker.CheckTask],
    providers: dict[tuple[str, str], Provider],
    concurrency: int,
) -> list[int]:
    fetcher = Fetcher()
    for provider in providers.values():
        provider.attach(fetcher)
    semaphore = asyncio.Semaphore(concurrency)
    async with make_client(concurrency) as client:

        async def one(task: tracker.CheckTask) -> int:
            async with semaphore:
                provider = providers[(task.campaign, task.provider)]
                fetched = await provider.fetch(task.request, client)
                return len(fetched.snapshot.results)

        return list(await asyncio.gather(*(one(task) for task in tasks)))


def main() -> None:
    """Parse options, start the mock, run both measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per mock answer")
    parser.add_argument("--sequential", type=int, default=50, help="checks at concurrency 1")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve, args.latency))
        return
    ideal = args.concurrency / args.latency
    with mock_server(args.latency) as port, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wall, cpu, ok = run(port, args.checks, args.concurrency, folder)
        rate = args.checks / wall
        print(
            f"concurrency {args.concurrency}: {args.checks} checks ({ok} ok) in {wall:.2f} s = "
            f"{rate:.0f} checks/s; ideal {ideal:.0f} checks/s; ratio {rate / ideal:.2f}"
        )
        print(
            f"CPU per check (fetch + parse + store, 105 results): {cpu / args.checks * 1000:.2f} ms"
        )
        f_wall, f_cpu, f_ok = run(port, args.checks, args.concurrency, folder, with_store=False)
        f_rate = args.checks / f_wall
        print(
            f"  the fetch engine alone (fetch + parse, no store; {f_ok} ok): {f_rate:.0f} "
            f"checks/s, ratio {f_rate / ideal:.2f}, CPU {f_cpu / args.checks * 1000:.2f} ms per check"
        )
        print(
            f"  so storing costs about {(cpu - f_cpu) / args.checks * 1000:.2f} ms of CPU per check"
        )
        s_wall, s_cpu, s_ok = run(port, args.sequential, 1, folder)
        s_rate = args.sequential / s_wall
        print(
            f"concurrency 1: {args.sequential} checks ({s_ok} ok) in {s_wall:.2f} s = "
            f"{s_rate:.1f} checks/s; ratio to ideal {s_rate * args.latency:.2f}; "
            f"CPU per check {s_cpu / args.sequential * 1000:.2f} ms"
        )
        print(
            f"speed-up of concurrency {args.concurrency} over a sequential tracker: "
            f"{rate / s_rate:.1f}x"
        )


if __name__ == "__main__":
    main()
