"""Scaling-out benchmark: N workers on one PostgreSQL database, a mock API with fixed latency.

Creates a fresh PostgreSQL database, applies a campaign of 2,000 keywords whose provider
(SerpApi-shaped, 100-result pages) is a loopback mock answering after 100 ms, starts four
`serptrack worker --once --concurrency 50` processes at once and waits for them. Prints:

- checks/s over the workers' run (first check stored to last) and the ratio to the ideal of
  the summed concurrency (4 x 50 / 0.1 s = 2,000 checks/s), and the same from process start;
- the number of duplicate checks (two checks of one keyword and slot): must be 0;
- checks per worker, from their log lines.

    .venv/bin/python benchmarks/bench_workers.py
    .venv/bin/python benchmarks/bench_workers.py --keywords 500 --workers 2 --server postgresql+psycopg://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keywords", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()

    name = f"serptrack_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp, mock_server(args.latency) as port:
            engine = store.connect(url)
            store.apply_campaign(
                engine, load_campaign_file(campaign(Path(tmp), port, args.keywords))
            )
            env = {**os.environ, "SERPAPI_API_KEY": "bench-key"}
            command = [
                sys.executable,
                "-m",
                "serptrack",
                "worker",
                "--once",
                "--concurrency",
                str(args.concurrency),
                "--db",
                url,
            ]
            started = time.perf_counter()
            workers = [
                subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
                for _ in range(args.workers)
            ]
            logs = [worker.communicate()[1] for worker in workers]
            wall = time.perf_counter() - started
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            with engine.connect() as connection:
                total, slots, ok, span = connection.execute(
                    text(
                        "SELECT count(*), count(DISTINCT (keyword_id, slot)),"
                        " sum(CASE WHEN status = 'ok' THEN 1 ELSE 0 END),"
                        " EXTRACT(EPOCH FROM max(created_at) - min(created_at)) FROM checks"
                    )
                ).one()
            engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    ideal = args.workers * args.concurrency / args.latency
    span = float(span or 0) or wall
    print(
        f"workers: {args.workers} x concurrency {args.concurrency}, mock latency {args.latency * 1000:.0f} ms, {args.keywords} due keywords"
    )
    print(f"exit codes: {[w.returncode for w in workers]}")
    for number, log in enumerate(logs, start=1):
        print(f"  worker {number}: {log.strip().splitlines()[-1] if log.strip() else '(no log)'}")
    print(
        f"checks stored: {total} ({ok} ok), distinct keyword slots: {slots}, duplicates: {total - slots}"
    )
    print(
        f"checks/s, first to last store: {total / span:,.0f} (ideal {ideal:,.0f}) -> ratio {total / span / ideal:.2f}"
    )
    print(
        f"checks/s, from process start:   {total / wall:,.0f} -> ratio {total / wall / ideal:.2f} ({wall:.1f} s wall)"
    )
    cpu = children.ru_utime + children.ru_stime  # the workers and the mock, not PostgreSQL
    print(
        f"client CPU: {cpu * 1000 / max(total, 1):.1f} ms per check over {os.cpu_count()} cores: "
        f"at most {os.cpu_count() / (cpu / max(total, 1)):,.0f} checks/s on this machine before PostgreSQL's share"
    )


if __name__ == "__main__":
    main()
