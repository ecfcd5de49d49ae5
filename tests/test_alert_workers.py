"""Alerts across processes: three `worker --once` on one database (PostgreSQL with
SERPTRACK_TEST_POSTGRES, else SQLite) store checks that fire events; every event is stored
once and delivered once, whichever worker finds or sends it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlmodel import Session, col
from sqlmodel import select as select_models

from serptrack import store
from serptrack.cli import cli
from serptrack.models import Keyword
from serptrack.snapshot import Item
from serptrack.store.checks import CheckRecord, record_checks
from serptrack.store.schema import ALERT_ATTEMPTS, ALERT_DELIVERIES, ALERT_EVENTS
from tests.loopback_server import Reply, Seen, base_url, json_reply, loopback

KEY = "alert-workers-key-0000"
KEYWORDS = 24
CRITICAL = "https://critic.example/acme-{n}"


def serpapi(seen: Seen) -> Reply:
    """Today's page: the critical article of the keyword has come up to #1."""
    n = seen.query["q"].rsplit(" ", 1)[1]
    results = [{"position": 1, "title": "Acme exposed", "link": CRITICAL.format(n=n)}]
    results += [
        {"position": p, "title": f"page {p}", "link": f"https://site{p}.example/acme-{n}"}
        for p in range(2, 11)
    ]
    return json_reply({"search_metadata": {"status": "Success"}, "organic_results": results})


def campaign(folder: Path, api: str) -> Path:
    lines = [
        '[campaign]\nname = "fleet"\n',
        '[defaults]\nprovider = "serpapi"\ncountry = "us"\nlanguage = "en"\nschedule = "1d"\n',
        f'[providers.serpapi]\nbase_url = "{api}"\n',
        '[labels]\ncritical = ["critic.example"]\n',
        '[alerts.channels.ops]\ntype = "webhook"\nurl_env = "FLEET_HOOK_URL"\n'
        "allow_private = true\n",
        '[[alerts.rules]]\non = "critical-enters"\ntop = 3\nchannels = ["ops"]\n',
    ]
    lines += [f'[[keywords]]\nquery = "acme {n}"\n' for n in range(KEYWORDS)]
    path = folder / "fleet.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def seed_baselines(db: str) -> None:
    """Yesterday's check of every keyword, the critical article at #8: the baseline."""
    engine = store.connect(db)
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with Session(engine) as session:
        keywords = list(session.exec(select_models(Keyword).order_by(col(Keyword.id))))
    records = [
        CheckRecord(
            keyword_id=keyword.id or 0,
            provider="serpapi",
            observed_at=yesterday,
            items=[
                Item("organic", f"https://site{p}.example/acme-{keyword.query[5:]}")
                for p in range(1, 8)
            ]
            + [Item("organic", CRITICAL.format(n=keyword.query[5:]))],
        )
        for keyword in keywords
    ]
    record_checks(engine, records)
    engine.dispose()


def test_three_workers_store_and_deliver_every_event_exactly_once(
    tmp_path: Path, db_url: str, runner: CliRunner
) -> None:
    received: list[str] = []
    lock = threading.Lock()

    def hook(seen: Seen) -> Reply:
        with lock:
            received.append(json.loads(seen.body)["id"])
        return Reply(200, b"ok", delay=0.02)

    with loopback(serpapi) as api, loopback(hook) as receiver:
        path = campaign(tmp_path, base_url(api))
        assert runner.invoke(cli, ["apply", str(path), "--db", db_url]).exit_code == 0
        seed_baselines(db_url)
        env = {
            **os.environ,
            "SERPAPI_API_KEY": KEY,
            "FLEET_HOOK_URL": base_url(receiver) + "/hook",
        }
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "serptrack", "worker", "--once", "--db", db_url],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        logs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], logs
    engine = store.connect(db_url)
    with engine.connect() as connection:
        events = connection.execute(select(ALERT_EVENTS.c.id, ALERT_EVENTS.c.url)).all()
        states = connection.execute(
            select(ALERT_DELIVERIES.c.state, ALERT_DELIVERIES.c.attempts)
        ).all()
        attempts = connection.execute(select(func.count()).select_from(ALERT_ATTEMPTS)).scalar()
    engine.dispose()
    assert sorted(e.url for e in events) == sorted(CRITICAL.format(n=n) for n in range(KEYWORDS))
    assert sorted(received) == sorted(e.id for e in events)  # each once, none twice
    assert {(s.state, s.attempts) for s in states} == {("sent", 1)}
    assert attempts == KEYWORDS
    sent = sum(
        int(line.split(" sent")[0].rsplit(" ", 1)[1])
        for _, stderr in logs
        for line in stderr.splitlines()
        if line.startswith("Alerts: ")
    )
    assert sent == KEYWORDS, logs
