"""Repeated sampling: one check makes N provider calls, each answer stored as a sample of it.

Through SerpApi (its inline AI overview) on an ``httpx.MockTransport`` and a fake clock: a
failed sample is recorded as failed, never as "no citation"; rank views read sample 1 only;
``status`` pools the samples into citation shares with Wilson intervals.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlmodel import Session

from serptrack import store, tracker
from serptrack.cli import cli
from serptrack.errors import CampaignFileError
from serptrack.fetch import Fetcher, RetryPolicy
from serptrack.providers import RawPage, SearchRequest
from serptrack.sampling import SampleCitations, citation_shares, wilson_interval
from serptrack.store import reads
from serptrack.store.schema import CHECK_SAMPLES, PAYLOADS, RESULTS

from .providers_support import FakeClock, fixture_json

KEY = "sk-serpapi-SAMPLES-1234"
DAY1 = dt.datetime(2026, 3, 3, 7, tzinfo=dt.UTC)
DAY2 = DAY1 + dt.timedelta(days=1)
NEWS = "https://news.example/2026/03/acme-recall"  # critical
ACME = "https://acme.example/recall"  # official
FORUM = "https://forum.example/t/acme-kettle-fire"  # neutral (no rule)


def campaign_file(folder: Path, name: str, samples: int | str = 3, where: str = "") -> Path:
    path = folder / f"{name}.toml"
    setting = f"samples = {samples}\n"
    path.write_text(
        f'[campaign]\nname = "{name}"\n'
        f'[defaults]\nprovider = "serpapi"\ncountry = "us"\nlanguage = "en"\n'
        + (setting if where == "defaults" else "")
        + '[[keywords]]\nquery = "acme recall"\n'
        + (setting if where != "defaults" else "")
        + '[labels]\nofficial = ["acme.example"]\ncritical = ["news.example"]\n',
        encoding="utf-8",
    )
    return path


def page(
    ai: Sequence[str] | None, *, official_first: bool = False, at: dt.datetime = DAY1
) -> bytes:
    """SerpApi's first page made at ``at``, its inline AI overview citing ``ai`` (None: no
    overview), its organic order as recorded (critical #1, official #2) or with the two
    swapped."""
    doc = copy.deepcopy(fixture_json("serpapi", "page1.json"))
    made = at.strftime("%Y-%m-%d %H:%M:%S UTC")
    doc["search_metadata"].update(created_at=made, processed_at=made)
    if ai is None:
        del doc["ai_overview"]
    else:
        doc["ai_overview"]["references"] = [
            {"title": f"source {i}", "link": url, "snippet": "", "index": i}
            for i, url in enumerate(ai)
        ]
        doc["ai_overview"]["text_blocks"][0]["reference_indexes"] = list(range(len(ai)))
    if official_first:
        organic = doc["organic_results"]
        organic[0], organic[1] = organic[1], organic[0]
        for position, result in enumerate(organic, start=1):
            result["position"] = position
    return json.dumps(doc).encode()


#: a page, an HTTP status (Retry-After: 0), a status with its Retry-After, or no answer
Answer = bytes | int | tuple[int, int] | type[httpx.TransportError]


def serpapi(answers: Sequence[Answer]) -> Callable[[httpx.Request], httpx.Response]:
    """A MockTransport handler answering each search, in order, with the next of ``answers``."""
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/search.json"
        assert request.url.params["engine"] == "google"
        assert request.url.params["q"] == "acme recall"
        assert queue, "a call more than the script expects"
        answer = queue.pop(0)
        if isinstance(answer, bytes):
            return httpx.Response(200, content=answer, headers={"content-type": "application/json"})
        if isinstance(answer, int | tuple):
            status, wait = (answer, 0) if isinstance(answer, int) else answer
            body = json.dumps({"error": "Too many requests."}).encode()
            return httpx.Response(status, content=body, headers={"retry-after": str(wait)})
        raise answer("connection refused", request=request)

    handle.queue = queue  # type: ignore[attr-defined]
    return handle


def apply(runner: CliRunner, db_url: str, path: Path) -> None:
    result = runner.invoke(cli, ["apply", str(path), "--db", db_url])
    assert result.exit_code == 0, result.output


def run(
    engine: Any, name: str, as_of: dt.datetime, answers: Sequence[Answer]
) -> tracker.CheckOutcome:
    """One check of the campaign's keyword as of ``as_of``, answered by ``answers``."""
    with Session(engine) as session:
        chosen = store.get_campaign(session, name)
        tasks = tracker.plan_checks(session, chosen, as_of)
        providers = tracker.build_providers([chosen], tasks, {"SERPAPI_API_KEY": KEY})
    handler = serpapi(answers)
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    policy = RetryPolicy(attempts=2, backoff_base=0.01, backoff_max=0.05, check_budget=60.0)
    fetcher = Fetcher(policy, clock=FakeClock(), rand=lambda: 0.5)
    (outcome,) = tracker.run_checks(engine, tasks, providers, client=client, fetcher=fetcher)
    assert handler.queue == []  # type: ignore[attr-defined]
    return outcome


def rows(engine: Any, table: Any, check_id: int) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(table).where(table.c.check_id == check_id)))


# --- the pure core -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Wilson (1927) score intervals at z = 1.96, as tabulated by Newcombe (1998), Table I,
        # and by every statistics package (R: prop.test(..., correct = FALSE)).
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (1, 10, 0.0179, 0.4042),
        (81, 263, 0.2553, 0.3662),  # Newcombe's example 81/263
        (15, 148, 0.0624, 0.1605),  # Newcombe's example 15/148
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(
    successes: int, n: int, low: float, high: float
) -> None:
    got = wilson_interval(successes, n)
    assert (round(got[0], 4), round(got[1], 4)) == (low, high)


def test_wilson_interval_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(3, 3)[1] == 1.0 and wilson_interval(0, 3)[0] == 0.0
    wider = wilson_interval(5, 10, z=2.575829)  # 99 %
    assert wider[0] < 0.2366 and wider[1] > 0.7634
    with pytest.raises(ValueError, match="0 <= successes <= n"):
        wilson_interval(4, 3)


def test_citation_shares_count_samples_and_distinct_citations() -> None:
    def sample(number: int, *cited: tuple[str, str]) -> SampleCitations:
        return SampleCitations(1, number, {"ai_answer": list(cited)} if cited else {})

    shares = citation_shares(
        [
            sample(1, ("a", "official"), ("a", "official"), ("c", "critical")),
            sample(2, ("n", "neutral")),
            sample(3),  # an answer citing nothing still counts as a sample
        ]
    )
    assert list(shares) == ["ai_answer"]
    got = shares["ai_answer"].to_json()
    assert got["samples"] == 3 and got["citations"] == 3  # "a" twice in one answer: once
    assert got["shown"]["count"] == 2
    assert got["cites_official"] == {"count": 1, "share": 0.3333, "low": 0.0615, "high": 0.7923}
    assert got["by_stance"]["official"]["count"] == 1
    assert citation_shares([sample(1), sample(2)]) == {}  # no AI placement present


# --- storage: samples, failed samples, incomplete checks ---------------------------------------


def test_one_failed_sample_leaves_the_check_ok_but_incomplete(
    db_url: str, engine: Any, tmp_path: Path, runner: CliRunner
) -> None:
    apply(runner, db_url, campaign_file(tmp_path, "acme-recall", samples=3))
    # call 1 answers, call 2 is rate limited and its retry gets no answer at all, call 3 answers
    outcome = run(
        engine, "acme-recall", DAY1, [page([NEWS, ACME]), 429, httpx.ConnectError, page([FORUM])]
    )
    assert outcome.status == "ok"
    assert (outcome.samples, outcome.samples_ok) == (3, 2)
    shown = outcome.to_json()
    assert shown["error"] is None and shown["error_kind"] is None
    assert shown["incomplete"].startswith("1 of 3 samples failed (sample 3: cannot connect to")
    samples = rows(engine, CHECK_SAMPLES, outcome.check_id)
    assert [(s.sample, s.status, s.error_kind) for s in samples] == [
        (1, "ok", None),
        (2, "ok", None),
        (3, "failed", "connect"),
    ]
    assert "gave up after 2 attempts" in samples[2].error
    assert [s.result_count for s in samples] == [17, 16, 0]  # one AI citation fewer in 2
    results = rows(engine, RESULTS, outcome.check_id)
    assert {r.sample for r in results} == {1, 2}  # the failed sample stored no result
    cited = {(r.sample, r.rank, r.url) for r in results if r.placement == "ai_overview"}
    assert cited == {(1, 1, NEWS), (1, 2, ACME), (2, 1, FORUM)}
    pages = [(p.sample, p.page) for p in rows(engine, PAYLOADS, outcome.check_id)]
    assert sorted(pages) == [(1, 1), (2, 1)]  # each answer's raw page, numbered per sample
    # history --json: every result with its sample; the failed sample is one row, failed
    result = runner.invoke(cli, ["history", "acme-recall", "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    history = json.loads(result.stdout)
    assert [r["sample"] for r in history] == sorted(r["sample"] for r in history)
    assert {r["sample"] for r in history} == {1, 2, 3}
    (failed,) = [r for r in history if r["sample"] == 3]
    assert (failed["status"], failed["sample_status"], failed["url"]) == ("ok", "failed", None)
    assert failed["sample_error"].startswith("cannot connect to")
    assert all(r["incomplete"] == shown["incomplete"] for r in history)
    assert all(r["error"] is None for r in history)
    ai = [
        (r["sample"], r["rank"], r["url"], r["stance"])
        for r in history
        if r["placement"] == "ai_overview"
    ]
    assert ai == [(1, 1, NEWS, "critical"), (1, 2, ACME, "official"), (2, 1, FORUM, "neutral")]


def test_a_failed_first_call_does_not_become_sample_1(
    db_url: str, engine: Any, tmp_path: Path, runner: CliRunner
) -> None:
    apply(runner, db_url, campaign_file(tmp_path, "acme-recall", samples=2))
    outcome = run(engine, "acme-recall", DAY1, [429, 429, page([ACME])])
    assert (outcome.status, outcome.samples_ok) == ("ok", 1)
    samples = rows(engine, CHECK_SAMPLES, outcome.check_id)
    assert [(s.sample, s.status, s.error_kind) for s in samples] == [
        (1, "ok", None),  # the answer: what rank views read
        (2, "failed", "http-429"),
    ]
    assert {r.sample for r in rows(engine, RESULTS, outcome.check_id)} == {1}
    # the 429 bodies are kept as evidence of the failed sample
    assert {p.sample for p in rows(engine, PAYLOADS, outcome.check_id)} >= {1}


def test_samples_share_the_check_budget_and_the_rate_limit(
    db_url: str, engine: Any, tmp_path: Path, runner: CliRunner
) -> None:
    apply(runner, db_url, campaign_file(tmp_path, "acme-recall", samples=3))
    # sample 2 is told to wait 100 s, more than the check's 60 s budget: it fails at once, and
    # sample 3 is not sent at all (the provider's hold applies to it too)
    outcome = run(engine, "acme-recall", DAY1, [page([ACME]), (429, 100)])
    assert (outcome.status, outcome.samples_ok) == ("ok", 1)
    samples = rows(engine, CHECK_SAMPLES, outcome.check_id)
    assert [(s.sample, s.status, s.error_kind) for s in samples] == [
        (1, "ok", None),
        (2, "failed", "http-429"),
        (3, "failed", "http-429"),
    ]
    assert "asks to wait 100 s, longer than the check's remaining budget" in samples[1].error
    assert "rate limited by SerpApi for 100 s" in samples[2].error


def test_every_sample_failing_fails_the_check_with_the_first_error(
    db_url: str, engine: Any, tmp_path: Path, runner: CliRunner
) -> None:
    apply(runner, db_url, campaign_file(tmp_path, "acme-recall", samples=3, where="defaults"))
    outcome = run(engine, "acme-recall", DAY1, [429, 429, 429, httpx.ConnectError, 429, 429])
    assert (outcome.status, outcome.error_kind, outcome.samples_ok) == ("failed", "http-429", 0)
    assert outcome.to_json()["incomplete"] is None
    samples = rows(engine, CHECK_SAMPLES, outcome.check_id)
    assert [(s.sample, s.status, s.error_kind) for s in samples] == [
        (1, "failed", "http-429"),
        (2, "failed", "connect"),
        (3, "failed", "http-429"),
    ]
    assert rows(engine, RESULTS, outcome.check_id) == []
    result = runner.invoke(cli, ["history", "acme-recall", "--db", db_url, "--json"])
    (row,) = json.loads(result.stdout)  # SPEC: a failed check is one row
    assert (row["status"], row["sample"], row["url"]) == ("failed", None, None)


def test_one_sample_stores_as_before(
    db_url: str, engine: Any, tmp_path: Path, runner: CliRunner
) -> None:
    apply(runner, db_url, campaign_file(tmp_path, "acme-recall", samples=1))
    outcome = run(engine, "acme-recall", DAY1, [page([NEWS])])
    assert (outcome.status, outcome.error, outcome.samples) == ("ok", None, 1)
    assert rows(engine, CHECK_SAMPLES, outcome.check_id) == []  # the check is its sample 1
    assert {r.sample for r in rows(engine, RESULTS, outcome.check_id)} == {1}


@pytest.mark.parametrize(
    ("value", "where", "message"),
    [
        (
            11,
            "keyword",
            "keywords #1 ('acme recall').samples (line 9): samples must be from 1 to 10 (got 11)",
        ),
        (0, "defaults", "defaults.samples (line 7): samples must be from 1 to 10 (got 0)"),
        (
            '"3"',
            "keyword",
            "keywords #1 ('acme recall').samples (line 9): Input should be a valid integer (got '3')",
        ),
    ],
)
def test_samples_is_validated_at_apply(
    db_url: str, tmp_path: Path, runner: CliRunner, value: Any, where: str, message: str
) -> None:
    path = campaign_file(tmp_path, "acme-recall", samples=value, where=where)
    result = runner.invoke(cli, ["apply", str(path), "--db", db_url])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {path}: {message}")
    if isinstance(value, int):
        assert "set samples = 3 to 5 for an answer engine, 1 for a result page" in line


def test_samples_is_a_setting_not_identity(
    db_url: str, engine: Any, tmp_path: Path, runner: CliRunner
) -> None:
    apply(runner, db_url, campaign_file(tmp_path, "acme-recall", samples=1))
    run(engine, "acme-recall", DAY1, [page([NEWS])])
    apply(runner, db_url, campaign_file(tmp_path, "acme-recall", samples=4))
    with Session(engine) as session:
        (keyword,) = store.campaign_keywords(session, store.get_campaign(session, "acme-recall"))
        assert keyword.samples == 4
        tasks = tracker.plan_checks(session, store.get_campaign(session, "acme-recall"), DAY2)
    assert [task.samples for task in tasks] == [4]
    assert keyword.id is not None  # the same keyword, its history kept
    with pytest.raises(CampaignFileError):
        from serptrack.campaign import load_campaign_file

        load_campaign_file(campaign_file(tmp_path, "acme-recall", samples=-1))


# --- reading: rank views read sample 1, status pools the samples -------------------------------

# Two days of three answers each. Sample 1 ranks the critical result first on day 1 and the
# official one on day 2 (an overtake); samples 2 and 3 rank the other way round, so a view
# that read every sample would see ties, other positions and other counts.
DAY1_ANSWERS = [
    page([NEWS, ACME]),
    page([NEWS], official_first=True),
    page([FORUM], official_first=True),
]
DAY2_ANSWERS = [
    page([ACME], official_first=True, at=DAY2),
    page([ACME, NEWS], at=DAY2),
    page(None, at=DAY2),
]


@pytest.fixture
def sampled(db_url: str, engine: Any, tmp_path: Path, runner: CliRunner) -> Iterator[str]:
    """Campaign "sampled" (3 answers a check) and "single" (their sample 1 only), two days."""
    apply(runner, db_url, campaign_file(tmp_path, "sampled", samples=3))
    apply(runner, db_url, campaign_file(tmp_path, "single", samples=1))
    for day, answers in ((DAY1, DAY1_ANSWERS), (DAY2, DAY2_ANSWERS)):
        assert run(engine, "sampled", day, answers).status == "ok"
        assert run(engine, "single", day, answers[:1]).status == "ok"
    yield db_url


def invoke_json(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def without_ids(document: Any) -> Any:
    """A document with the fields that name a campaign, a check or the AI pool left out."""
    if isinstance(document, dict):
        return {
            key: without_ids(value)
            for key, value in document.items()
            if key not in ("campaign", "check_id", "ai", "ai_window")
        }
    if isinstance(document, list):
        return [without_ids(value) for value in document]
    return document


def test_rank_views_read_sample_1_only(sampled: str, engine: Any, runner: CliRunner) -> None:
    db = ["--db", sampled]
    status = {
        name: invoke_json(runner, "status", name, *db, "--json")["keywords"][0]
        for name in ("sampled", "single")
    }
    assert status["sampled"]["organic"]["leader"] == "official"
    assert status["sampled"]["organic"]["official"]["rank"] == 1
    assert status["sampled"]["organic"]["critical"]["rank"] == 2
    assert status["sampled"]["checks_ok"] == 2
    assert without_ids(status["sampled"]) == without_ids(status["single"])
    overtakes = {
        name: invoke_json(runner, "overtakes", name, *db, "--json")
        for name in ("sampled", "single")
    }
    assert [(e["view"], e["kind"], e["at"]) for e in overtakes["sampled"]] == [
        ("organic", "overtake", "2026-03-04T07:00:00Z"),  # (an official ad leads the page)
    ]
    assert without_ids(overtakes["sampled"]) == without_ids(overtakes["single"])
    suggest = {
        name: invoke_json(runner, "labels", "suggest", name, *db, "--json")
        for name in ("sampled", "single")
    }
    assert without_ids(suggest["sampled"]) == without_ids(suggest["single"])
    with Session(engine) as session:
        found = {}
        for name in ("sampled", "single"):
            chosen = store.get_campaign(session, name)
            composition = reads.page_one_composition(session, chosen)
            positions = reads.url_positions(session, chosen)
            series = reads.keyword_series(session, chosen)
            found[name] = (
                sorted(composition.values(), key=str),
                [
                    (p.at, p.stance, p.placement, p.rank, p.page_position, p.norm_url)
                    for p in positions
                ],
                [(p.at, p.organic, p.page, p.official_on_page_1) for p in series[0].points],
            )
    assert found["sampled"] == found["single"]
    assert found["sampled"][0][0]["official"] == 1  # each check counted once, not three times


def test_alert_memory_reads_sample_1(sampled: str, engine: Any) -> None:
    # the outbox rebuilds a keyword's memory from stored results: sample 1 of each check only
    from serptrack.store import outbox

    with engine.connect() as connection:
        keyword_ids = dict(
            connection.execute(
                text("SELECT c.name, k.id FROM keywords k JOIN campaigns c ON c.id = k.campaign_id")
            ).all()
        )
        history = {
            name: outbox._history(connection, keyword_ids[name], set(), _alerting(connection, name))
            for name in ("sampled", "single")
        }
    assert [[(s.url, s.rank, s.page_position) for s in o.results] for o in history["sampled"]] == [
        [(s.url, s.rank, s.page_position) for s in o.results] for o in history["single"]
    ]


def _alerting(connection: Any, name: str) -> Any:
    """What alert finding knows of a campaign: its labeller, every result within reach."""
    from serptrack.alerts.settings import from_settings
    from serptrack.ctr import curve_from_settings
    from serptrack.store import outbox

    with Session(connection) as session:
        labeller = store.campaign_labeller(session, store.get_campaign(session, name))
    curve = tuple(curve_from_settings(None).positions)
    return outbox._Alerting(from_settings(None), labeller, curve, "", 100)


def test_status_pools_the_samples_into_shares_with_intervals(
    sampled: str, runner: CliRunner
) -> None:
    document = invoke_json(runner, "status", "sampled", "--db", sampled, "--json")
    assert document["samples_window"] == 7
    (keyword,) = document["keywords"]
    assert keyword["ai_window"] == {
        "days": 7,
        "after": "2026-02-25T07:00:00Z",
        "until": "2026-03-04T07:00:00Z",
        "checks": 2,
        "samples": 6,
        "failed_samples": 0,
    }
    # six answers: [news, acme] [news] [forum] | [acme] [acme, news] (no overview)
    assert keyword["ai"] == {
        "ai_overview": {
            "samples": 6,
            "shown": {"count": 5, "share": 0.8333, "low": 0.4365, "high": 0.9699},
            "cites_official": {"count": 3, "share": 0.5, "low": 0.1876, "high": 0.8124},
            "cites_critical": {"count": 3, "share": 0.5, "low": 0.1876, "high": 0.8124},
            "citations": 7,
            "by_stance": {
                "official": {"count": 3, "share": 0.4286, "low": 0.1582, "high": 0.7495},
                "critical": {"count": 3, "share": 0.4286, "low": 0.1582, "high": 0.7495},
                "neutral": {"count": 1, "share": 0.1429, "low": 0.0257, "high": 0.5131},
            },
        }
    }
    latest = invoke_json(
        runner, "status", "sampled", "--db", sampled, "--json", "--samples-window", "0"
    )["keywords"][0]
    assert (latest["ai_window"]["checks"], latest["ai_window"]["samples"]) == (1, 3)
    assert latest["ai"]["ai_overview"]["cites_official"]["count"] == 2
    assert latest["ai"]["ai_overview"]["cites_critical"]["count"] == 1
    single = invoke_json(runner, "status", "single", "--db", sampled, "--json")["keywords"][0]
    assert single["ai"]["ai_overview"]["samples"] == 2  # a check of one call is one sample
    text_out = runner.invoke(cli, ["status", "sampled", "--db", sampled])
    assert text_out.exit_code == 0, text_out.output
    assert (
        "  acme recall (us-en desktop) ai_overview: 6 samples of 2 checks; cites official "
        "50% [19-81], critical 50% [19-81]; 7 citations: official 43% [16-75], critical "
        "43% [16-75], neutral 14% [3-51]"
    ) in text_out.stdout.splitlines()


def test_failed_samples_are_left_out_of_the_pool(
    db_url: str, engine: Any, tmp_path: Path, runner: CliRunner
) -> None:
    apply(runner, db_url, campaign_file(tmp_path, "acme-recall", samples=3))
    run(engine, "acme-recall", DAY1, [page([NEWS]), 429, 429, page([ACME])])
    keyword = invoke_json(runner, "status", "acme-recall", "--db", db_url, "--json")["keywords"][0]
    assert (keyword["ai_window"]["samples"], keyword["ai_window"]["failed_samples"]) == (2, 1)
    shares = keyword["ai"]["ai_overview"]
    assert shares["samples"] == 2  # not 3: a failed sample is not an answer citing nobody
    assert shares["cites_official"]["count"] == shares["cites_critical"]["count"] == 1
    text_out = runner.invoke(cli, ["status", "acme-recall", "--db", db_url]).stdout
    assert "ai_overview: 2 samples of 1 checks (1 failed, left out);" in text_out


def test_record_writes_each_sample_beside_the_replay_file(
    db_url: str, engine: Any, tmp_path: Path
) -> None:
    pages = [RawPage(b'{"n": 1}'), RawPage(b'{"n": 2}')]
    task = tracker.CheckTask(
        "c",
        1,
        "serpapi",
        SearchRequest("acme recall", country="us", language="en", as_of=DAY1),
        samples=2,
    )
    first = tracker.record_pages(tmp_path, task, pages[:1], [], ok=True)
    second = tracker.record_pages(tmp_path, task, pages[1:], [], ok=True, sample=2)
    assert first is not None and second is not None
    assert first.name == "acme-recall.us-en-desktop.json"
    assert second.name == "acme-recall.us-en-desktop.sample-2.json"
    assert second.read_bytes() == b'{"n": 2}'


# --- the upgrade -------------------------------------------------------------------------------


def test_an_existing_database_upgrades_to_samples_of_one(tmp_path: Path) -> None:
    from tests.conftest import new_database
    from tests.test_migration_safety import assert_whole, build_old

    target = new_database(tmp_path)
    counts = build_old(target, "0008", checks=30)
    assert_whole(target, counts)  # at head, every check and result kept
    engine = store.connect(target)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT DISTINCT sample FROM results")).all() == [(1,)]
            assert connection.execute(text("SELECT samples FROM keywords")).all() == [(1,)]
            assert connection.execute(text("SELECT count(*) FROM check_samples")).scalar() == 0
            from sqlalchemy import inspect

            (index,) = [
                i
                for i in inspect(connection).get_indexes("results")
                if i["name"] == "ix_results_norm_url_positions"
            ]
            assert index["column_names"][-1] == "sample"
    finally:
        engine.dispose()


def test_a_bad_value_in_a_later_sample_fails_the_check_whole(
    db_url: str, engine: Any, tmp_path: Path, runner: CliRunner
) -> None:
    import asyncio

    from serptrack.snapshot import Item
    from serptrack.store import CheckRecord, SampleRecord

    apply(runner, db_url, campaign_file(tmp_path, "acme-recall", samples=2))
    with Session(engine) as session:
        (keyword,) = store.campaign_keywords(session, store.get_campaign(session, "acme-recall"))
    good = [Item("ai_overview", ACME)]
    bad = [Item("ai_overview", NEWS, rank=10**30)]  # more than any INTEGER column holds
    raw = [RawPage(b"{}")]
    record = CheckRecord(
        keyword_id=keyword.id or 0,
        provider="serpapi",
        observed_at=DAY1,
        items=good,
        pages=raw,
        samples=[SampleRecord(1, items=good, pages=raw), SampleRecord(2, items=bad, pages=raw)],
    )

    async def store_it() -> int:
        return await tracker._Writer(engine).store(record)

    check_id = asyncio.run(store_it())
    assert (record.status, record.error_kind) == ("failed", "bad-response")
    assert rows(engine, RESULTS, check_id) == []  # none of its samples' results
    assert sorted((p.sample, p.page) for p in rows(engine, PAYLOADS, check_id)) == [(1, 1), (2, 1)]
    assert [s.result_count for s in rows(engine, CHECK_SAMPLES, check_id)] == [0, 0]


def test_samples_the_budget_leaves_no_time_for_fail_as_timeouts(
    db_url: str, engine: Any, tmp_path: Path, runner: CliRunner
) -> None:
    import asyncio

    apply(runner, db_url, campaign_file(tmp_path, "acme-recall", samples=3))
    calls: list[int] = []

    async def slow_second(request: httpx.Request) -> httpx.Response:
        calls.append(len(calls) + 1)
        if len(calls) == 2:
            await asyncio.sleep(30)  # never answers within the check's budget
        return httpx.Response(200, content=page([ACME]))

    with Session(engine) as session:
        chosen = store.get_campaign(session, "acme-recall")
        tasks = tracker.plan_checks(session, chosen, DAY1)
        providers = tracker.build_providers([chosen], tasks, {"SERPAPI_API_KEY": KEY})
    client = httpx.AsyncClient(transport=httpx.MockTransport(slow_second))
    fetcher = Fetcher(RetryPolicy(attempts=1, check_budget=0.5), clock=FakeClock())
    (outcome,) = tracker.run_checks(engine, tasks, providers, client=client, fetcher=fetcher)
    assert calls == [1, 2]  # the third call never started
    assert (outcome.status, outcome.samples_ok) == ("ok", 1)
    samples = rows(engine, CHECK_SAMPLES, outcome.check_id)
    assert [(s.sample, s.status, s.error_kind) for s in samples] == [
        (1, "ok", None),
        (2, "failed", "timeout"),
        (3, "failed", "timeout"),
    ]
    assert samples[1].error == (
        "serpapi did not deliver within 0.5 s (retries included); try again later"
    )


# --- end to end through the CLI: an answer engine sampled three times --------------------------


def test_an_answer_engine_sampled_three_times_end_to_end(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serptrack.sampling import Interval

    from .loopback_server import Reply, Seen, base_url, loopback
    from .providers_support import fixture

    monkeypatch.setenv("PERPLEXITY_API_KEY", "pplx-SAMPLES-5678")
    answers = [
        Reply(body=fixture("perplexity", "answer.json")),  # cites 4 sources
        Reply(400, fixture("perplexity", "error_model.json")),  # refused: not retried
        Reply(body=fixture("perplexity", "no_sources.json")),  # answers, cites nobody
    ]

    def route(seen: Seen) -> Reply:
        assert seen.path == "/chat/completions"
        return answers.pop(0)

    db = str(tmp_path / "ai.db")
    with loopback(route) as server:
        path = tmp_path / "ai.toml"
        path.write_text(
            '[campaign]\nname = "ai"\n[defaults]\nprovider = "perplexity"\ncountry = "us"\n'
            f'language = "en"\nsamples = 3\n[providers.perplexity]\nbase_url = "{base_url(server)}"\n'
            '[[keywords]]\nquery = "acme recall"\n'
            '[labels]\nofficial = ["acme.example"]\n'
            'critical = ["lawfirm.example", "https://news.example/2026/03/acme-recall"]\n',
            encoding="utf-8",
        )
        assert runner.invoke(cli, ["apply", str(path), "--db", db]).exit_code == 0
        recorded = tmp_path / "recorded"
        checked = runner.invoke(cli, ["check", "--db", db, "--json", "--record", str(recorded)])
    assert answers == []
    assert checked.exit_code == 0, checked.output  # ok: two of its three samples answered
    (outcome,) = json.loads(checked.stdout)
    assert (outcome["status"], outcome["error"], outcome["results"]) == ("ok", None, 4)
    assert (outcome["samples"], outcome["samples_ok"]) == (3, 2)
    assert outcome["incomplete"].startswith("1 of 3 samples failed (sample 3: ")
    assert "ok but incomplete: 1 (e.g. 1 of 3 samples failed" in checked.stderr
    history = invoke_json(runner, "history", "ai", "--db", db, "--json")
    assert [(r["sample"], r["sample_status"], r["rank"], r["stance"]) for r in history] == [
        (1, "ok", 1, "critical"),
        (1, "ok", 2, "neutral"),
        (1, "ok", 3, "critical"),
        (1, "ok", 4, "official"),
        (2, "ok", None, None),  # an answer citing nobody: a sample, not a failure
        (3, "failed", None, None),  # the refused call: a failed sample, not "no citation"
    ]
    assert "Invalid model" in history[-1]["sample_error"]
    (keyword,) = invoke_json(runner, "status", "ai", "--db", db, "--json")["keywords"]
    assert keyword["ai_window"]["samples"] == 2
    assert keyword["ai_window"]["failed_samples"] == 1
    assert keyword["ai"] == {
        "ai_answer": {
            "samples": 2,
            "shown": Interval(1, 2).to_json(),
            "cites_official": Interval(1, 2).to_json(),
            "cites_critical": Interval(1, 2).to_json(),
            "citations": 4,
            "by_stance": {
                "official": Interval(1, 4).to_json(),
                "critical": Interval(2, 4).to_json(),
                "neutral": Interval(1, 4).to_json(),
            },
        }
    }
    assert Interval(1, 2).to_json() == {"count": 1, "share": 0.5, "low": 0.0945, "high": 0.9055}
    shown = runner.invoke(cli, ["status", "ai", "--db", db]).stdout
    assert (
        "  acme recall [perplexity] (us-en desktop) ai_answer: 2 samples of 1 checks (1 failed"
        in shown
    )
    # --record keeps each sample; a replay with samples = 3 reads each one's own recording
    (day,) = recorded.iterdir()  # the day the check stood for
    assert sorted(p.name for p in day.iterdir()) == [
        "acme-recall.perplexity.us-en-desktop.json",  # answer engines' names carry the engine
        "acme-recall.perplexity.us-en-desktop.sample-2.json",
        "acme-recall.perplexity.us-en-desktop.sample-3.json",
    ]
    replay = tmp_path / "replayed.toml"
    replay.write_text(
        '[campaign]\nname = "replayed"\n[defaults]\nprovider = "replay"\ncountry = "us"\n'
        f'language = "en"\nsamples = 3\n[providers.replay]\npath = "{recorded}"\n'
        '[[keywords]]\nquery = "acme recall"\nengine = "perplexity"\n'
        '[labels]\nofficial = ["acme.example"]\n'
        'critical = ["lawfirm.example", "https://news.example/2026/03/acme-recall"]\n',
        encoding="utf-8",
    )
    assert runner.invoke(cli, ["apply", str(replay), "--db", db]).exit_code == 0
    replayed = runner.invoke(
        cli, ["check", "replayed", "--db", db, "--as-of", f"{day.name}T12:00:00Z"]
    )
    assert replayed.exit_code == 0, replayed.output
    again = invoke_json(runner, "history", "replayed", "--db", db, "--json")
    assert [(r["sample"], r["sample_status"], r["url"]) for r in again] == [
        (r["sample"], r["sample_status"], r["url"]) for r in history
    ]
    (replayed_keyword,) = invoke_json(runner, "status", "replayed", "--db", db, "--json")[
        "keywords"
    ]
    assert replayed_keyword["ai"] == keyword["ai"]


def test_replay_never_answers_two_samples_with_one_recording(tmp_path: Path) -> None:
    from serptrack.providers.replay import fixture_candidates

    folder = tmp_path / "2026-03-03"
    folder.mkdir()
    for name in ("acme-recall.us-en-desktop.json", "acme-recall.us-en-desktop.sample-2.json"):
        (folder / name).write_text("{}", encoding="utf-8")
    (folder / "acme-recall.sample-3.json").write_text("{}", encoding="utf-8")

    def names(sample: int) -> list[str]:
        found = fixture_candidates(
            tmp_path, DAY1, "acme recall", "us", "en", "desktop", sample=sample
        )
        return [p.name for p in found]

    assert names(1) == ["acme-recall.us-en-desktop.json"]
    assert names(2) == ["acme-recall.us-en-desktop.sample-2.json"]
    assert names(3) == ["acme-recall.sample-3.json"]
    assert names(4) == []  # a missing recording: that sample fails (missing-fixture)
