"""The fetch engine against a real socket on 127.0.0.1, with injected faults, end to end."""

from __future__ import annotations

import datetime as dt
import gc
import json
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from serptrack import store, tracker
from serptrack.campaign import load_campaign_file
from serptrack.fetch import Fetcher, RetryPolicy

from .loopback_server import Attempts, Reply, Seen, base_url, json_reply, loopback
from .providers_support import fixture

AS_OF = dt.datetime(2026, 3, 3, 7, 0, tzinfo=dt.UTC)
POLICY = RetryPolicy(attempts=3, backoff_base=0.01, backoff_max=0.05, check_budget=20)
CAPTCHA = (
    b"<!DOCTYPE html><html><head><title>Sorry...</title></head><body>Our systems have detected "
    b"unusual traffic from your computer network. <div class='g-recaptcha'></div></body></html>"
)
QUERIES = [
    "acme ok",
    "acme retry after",
    "acme flaky",
    "acme slow",
    "acme truncated",
    "acme captcha",
    "acme down",
    "acme bad key",
    "acme deep",
]


def serpapi_route(attempts: Attempts) -> Any:
    ok = Reply(body=fixture("serpapi", "no_ads.json"))

    def route(seen: Seen) -> Reply:
        query = seen.query.get("q", "")
        if query == "acme deep":
            name = "page2.json" if seen.query.get("start") == "10" else "page1.json"
            return Reply(body=fixture("serpapi", name))
        first = attempts.next(query) == 1
        if query == "acme retry after" and first:
            return json_reply({"error": "Slow down."}, 429, **{"Retry-After": "0"})
        if query == "acme flaky" and first:
            return json_reply({"error": "Internal error."}, 500)
        if query == "acme slow" and first:
            return Reply(body=ok.body, delay=1.0)
        if query == "acme truncated" and first:
            return Reply(body=ok.body, truncate=200)
        if query == "acme captcha":
            return Reply(body=CAPTCHA, headers={"Content-Type": "text/html"})
        if query == "acme down":
            return json_reply({"error": "We couldn't get valid results."}, 503)
        if query == "acme bad key":
            return json_reply({"error": "Invalid API key."}, 401)
        return ok

    return route


def campaign(folder: Path, name: str, provider_table: str, queries: list[str]) -> Path:
    lines = [
        "[campaign]",
        f'name = "{name}"',
        "[defaults]",
        f'provider = "{provider_table.split(".")[1].split("]")[0]}"',
        'country = "us"',
        'language = "en"',
        "depth = 5",
        provider_table,
    ]
    for query in queries:
        lines += ["[[keywords]]", f'query = "{query}"']
        if query == "acme deep":
            lines.append("depth = 15")
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(engine: Engine, path: Path, record_dir: Path | None = None) -> list[tracker.CheckOutcome]:
    spec = load_campaign_file(path)
    store.apply_campaign(engine, spec)
    with Session(engine) as session:
        chosen = store.get_campaign(session, spec.name)
        tasks = tracker.plan_checks(session, chosen, AS_OF)
        providers = tracker.build_providers(
            [chosen], tasks, environ={"SERPAPI_API_KEY": "loopback-key-123456"}
        )
    return tracker.run_checks(
        engine, tasks, providers, concurrency=4, fetcher=Fetcher(POLICY), record_dir=record_dir
    )


def test_faults_are_retried_blocked_or_failed_and_every_check_is_stored(
    engine: Engine, tmp_path: Path
) -> None:
    attempts = Attempts()
    record_dir = tmp_path / "recorded"
    with loopback(serpapi_route(attempts)) as server:
        table = f'[providers.serpapi]\nbase_url = "{base_url(server)}"\ntimeout = 0.3'
        outcomes = run(engine, campaign(tmp_path, "live", table, QUERIES), record_dir)
        requests = {q: sum(1 for s in server.seen if s.query.get("q") == q) for q in QUERIES}
    by_query = {o.task.request.query: o for o in outcomes}
    for query in ("acme ok", "acme retry after", "acme flaky", "acme slow", "acme truncated"):
        assert by_query[query].status == "ok", by_query[query].error
        assert by_query[query].results == 8
    assert by_query["acme deep"].results == 27
    captcha = by_query["acme captcha"]
    assert (captcha.status, captcha.error_kind, captcha.status_code) == ("blocked", "blocked", 200)
    down = by_query["acme down"]
    assert (down.status, down.error_kind, down.status_code) == ("failed", "http-503", 503)
    assert down.error and "gave up after 3 attempts" in down.error
    bad = by_query["acme bad key"]
    assert (bad.status, bad.error_kind, bad.status_code) == ("failed", "auth", 401)
    assert requests == {
        "acme ok": 1,
        "acme retry after": 2,
        "acme flaky": 2,
        "acme slow": 2,
        "acme truncated": 2,
        "acme captcha": 1,
        "acme down": 3,
        "acme bad key": 1,
        "acme deep": 2,
    }
    with engine.connect() as connection:
        stored: dict[str, int] = dict(
            connection.execute(text("SELECT status, count(*) FROM checks GROUP BY status")).all()
        )
    assert stored == {"ok": 6, "blocked": 1, "failed": 2}
    summary = dict((reason, count) for reason, count, _ in tracker.failure_summary(outcomes))
    assert summary == {"blocked": 1, "http-503": 1, "auth": 1}


def test_recorded_run_replays_exactly(engine: Engine, tmp_path: Path) -> None:
    record_dir = tmp_path / "recorded"
    ok_queries = ["acme ok", "acme deep", "acme flaky"]
    with loopback(serpapi_route(Attempts())) as server:
        table = f'[providers.serpapi]\nbase_url = "{base_url(server)}"'
        live = run(engine, campaign(tmp_path, "live", table, ok_queries), record_dir)
    day = record_dir / "2026-03-03"
    assert sorted(p.name for p in day.iterdir()) == [
        "acme-deep.us-en-desktop.json",
        "acme-flaky.us-en-desktop.json",
        "acme-ok.us-en-desktop.json",
    ]
    deep = json.loads((day / "acme-deep.us-en-desktop.json").read_text())
    assert deep["format"] == "serptrack-pages/1" and len(deep["pages"]) == 2
    replay_table = f'[providers.replay]\npath = "{record_dir}"'
    replayed = run(engine, campaign(tmp_path, "replayed", replay_table, ok_queries))
    assert [o.status for o in replayed] == ["ok"] * 3

    def results(check_id: int) -> list[tuple[Any, ...]]:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    text(
                        "SELECT placement, block, rank, page_position, url, title FROM results "
                        "WHERE check_id = :id ORDER BY page_position"
                    ),
                    {"id": check_id},
                ).all()
            )

    for before, after in zip(live, replayed, strict=True):
        assert results(before.check_id) == results(after.check_id)
        assert before.observed_at == after.observed_at


def test_a_failed_check_does_not_overwrite_a_good_recording(tmp_path: Path) -> None:
    from serptrack.providers import RawPage, SearchRequest

    task = tracker.CheckTask(
        "c", 1, "serpapi", SearchRequest("acme ok", "google", "us", "en", as_of=AS_OF)
    )
    good = RawPage(fixture("serpapi", "no_ads.json"))
    bad = RawPage(b'{"error": "Invalid API key."}')
    path = tracker.record_pages(tmp_path, task, [good], [], ok=True)
    assert path is not None and path.read_bytes() == good.body
    assert tracker.record_pages(tmp_path, task, [bad], [], ok=False) is None
    assert path.read_bytes() == good.body


def test_a_run_leaves_the_garbage_collector_as_it_found_it(engine: Engine, tmp_path: Path) -> None:
    # A run freezes what exists when it starts and collects the young less often; after it,
    # thresholds and frozen objects are as before, and garbage from before is collectable.
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    def collectable(run_one: Any) -> bool:
        cycle = Cycle()
        ref = weakref.ref(cycle)
        del cycle
        run_one()
        gc.collect()
        return ref() is None

    with loopback(lambda seen: Reply(body=fixture("serpapi", "no_ads.json"))) as server:
        table = f'[providers.serpapi]\nbase_url = "{base_url(server)}"'
        path = campaign(tmp_path, "gc", table, ["acme ok"])
        before = gc.get_threshold(), gc.get_freeze_count()
        assert collectable(lambda: run(engine, path))
        assert (gc.get_threshold(), gc.get_freeze_count()) == before
        gc.freeze()  # a process that froze objects itself keeps them frozen
        try:
            run(engine, path)
            assert gc.get_threshold() == before[0] and gc.get_freeze_count() > 0
        finally:
            gc.unfreeze()
