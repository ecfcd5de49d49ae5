"""A replay campaign end to end: apply, backfill, check, history."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from serptrack.cli import cli
from tests.conftest import write_snapshot

CAMPAIGN = """\
[campaign]
name = "acme-recall"
brand = "Acme"

[defaults]
provider = "replay"
country = "us"
language = "en"

[providers.replay]
path = "fixtures"

[[keywords]]
query = "acme recall"

[[keywords]]
query = "Acme kettle!"

[labels]
official = ["acme.example"]
critical = ["https://news.example/2026/03/acme-recall"]
"""

DAYS = [f"2026-03-{day:02d}" for day in range(1, 11)]
MISSING = ("acme recall", "2026-03-06")


def page(day_index: int) -> list[dict]:
    """Official climbs one place a day from 5; the critical article sits at 2."""
    official_rank = max(1, 5 - day_index)
    organic = [
        "https://neutral.example/a",
        "https://www.news.example/2026/03/acme-recall/?utm_source=x",
        "https://neutral.example/b",
        "https://neutral.example/c",
        "https://neutral.example/d",
    ]
    organic.remove("https://neutral.example/d")
    organic.insert(official_rank - 1, "https://acme.example/statement")
    results = [
        {
            "placement": "paid",
            "block": "top",
            "url": "https://acme.example/faq",
            "title": "Acme FAQ",
        }
    ]
    results += [
        {"placement": "organic", "url": url, "title": f"T{i}"} for i, url in enumerate(organic[:5])
    ]
    return results


@pytest.fixture
def campaign_file(tmp_path: Path) -> Path:
    fixtures = tmp_path / "fixtures"
    for index, day in enumerate(DAYS):
        for query in ("acme recall", "Acme kettle!"):
            if (query, day) == MISSING:
                continue
            write_snapshot(fixtures, day, query, page(index), observed_at=f"{day}T07:00:00Z")
    path = tmp_path / "campaign.toml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    return path


def invoke(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.output


def test_backfill_then_history_json(
    db_url: str, tmp_path: Path, runner: CliRunner, campaign_file: Path
) -> None:
    db = db_url
    assert invoke(runner, "apply", str(campaign_file), "--db", db)[0] == 0
    code, output = invoke(
        runner, "backfill", "acme-recall", "--from", "2026-03-01", "--to", "2026-03-10", "--db", db
    )
    assert code == 1  # one check failed: the missing day
    assert output.splitlines()[0] == "20 checks: 19 ok, 1 failed or blocked."
    assert "missing-fixture: 1 (e.g. no replay file for 'acme recall' on 2026-03-06" in output
    assert output.splitlines()[-1] == "Error: 1 of 20 checks failed"

    code, output = invoke(runner, "history", "acme-recall", "--db", db, "--json")
    assert code == 0
    rows = json.loads(output)
    assert len(rows) == 19 * 6 + 1
    failed = [r for r in rows if r["status"] != "ok"]
    assert len(failed) == 1
    assert (
        failed[0]["query"] == "acme recall" and failed[0]["observed_at"] == "2026-03-06T00:00:00Z"
    )
    assert failed[0]["error"].startswith("no replay file for 'acme recall' on 2026-03-06")
    assert all(
        failed[0][k] is None
        for k in ("placement", "block", "rank", "page_position", "url", "domain", "title", "stance")
    )

    first = rows[0]
    assert first == {
        "campaign": "acme-recall",
        "query": "acme recall",
        "engine": "google",
        "country": "us",
        "language": "en",
        "device": "desktop",
        "provider": "replay",
        "check_id": 1,
        "observed_at": "2026-03-01T07:00:00Z",
        "status": "ok",
        "error": None,
        "incomplete": None,
        "placement": "paid",
        "block": "top",
        "rank": 1,
        "page_position": 1,
        "url": "https://acme.example/faq",
        "domain": "acme.example",
        "title": "Acme FAQ",
        "snippet": "",
        "stance": "official",
        "sample": 1,
        "sample_status": "ok",
        "sample_error": None,
    }
    day1 = [r for r in rows if r["check_id"] == 1]
    assert [(r["placement"], r["rank"], r["page_position"], r["stance"]) for r in day1] == [
        ("paid", 1, 1, "official"),
        ("organic", 1, 2, "neutral"),
        (
            "organic",
            2,
            3,
            "critical",
        ),  # matched only after normalisation (www, utm, trailing slash)
        ("organic", 3, 4, "neutral"),
        ("organic", 4, 5, "neutral"),
        ("organic", 5, 6, "official"),
    ]
    official_by_day = [
        r["rank"]
        for r in rows
        if r["query"] == "Acme kettle!" and r["url"] == "https://acme.example/statement"
    ]
    assert official_by_day == [5, 4, 3, 2, 1, 1, 1, 1, 1, 1]
    times = [r["observed_at"] for r in rows]
    assert times == sorted(times)

    # Rerunning the same backfill only retries nothing: done slots (even failed) are skipped.
    code, output = invoke(
        runner, "backfill", "acme-recall", "--from", "2026-03-01", "--to", "2026-03-10", "--db", db
    )
    assert (code, output) == (0, "0 checks: 0 ok, 0 failed or blocked.\n")


def test_retry_failed_fills_a_day_once_its_file_exists(
    db_url: str, tmp_path: Path, runner: CliRunner, campaign_file: Path
) -> None:
    db = db_url
    invoke(runner, "apply", str(campaign_file), "--db", db)
    invoke(
        runner, "backfill", "acme-recall", "--from", "2026-03-05", "--to", "2026-03-06", "--db", db
    )
    write_snapshot(tmp_path / "fixtures", "2026-03-06", "acme recall", page(5))
    code, output = invoke(
        runner,
        "backfill",
        "acme-recall",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-06",
        "--db",
        db,
        "--retry-failed",
        "--json",
    )
    assert code == 0
    checks = json.loads(output)
    assert len(checks) == 9  # 4 new days x 2 keywords + the retried failed slot
    assert next(c for c in checks if c["slot"] == "2026-03-06T00:00:00Z")["status"] == "ok"
    code, output = invoke(
        runner,
        "history",
        "acme-recall",
        "--db",
        db,
        "--json",
        "--query",
        "acme recall",
        "--from",
        "2026-03-06",
        "--to",
        "2026-03-06",
    )
    statuses = sorted({(r["check_id"], r["status"]) for r in json.loads(output)})
    assert [s for _, s in statuses] == ["failed", "ok"]  # the failure stays as evidence


def test_check_as_of_json_shape(
    db_url: str, tmp_path: Path, runner: CliRunner, campaign_file: Path
) -> None:
    db = db_url
    invoke(runner, "apply", str(campaign_file), "--db", db)
    result = CliRunner().invoke(
        cli, ["check", "acme-recall", "--as-of", "2026-03-07T11:00:00+02:00", "--json", "--db", db]
    )
    assert result.exit_code == 0
    checks = json.loads(result.stdout)
    assert checks == [
        {
            "campaign": "acme-recall",
            "query": "acme recall",
            "engine": "google",
            "country": "us",
            "language": "en",
            "device": "desktop",
            "provider": "replay",
            "check_id": 1,
            "slot": None,
            "status": "ok",
            "observed_at": "2026-03-07T07:00:00Z",
            "results": 6,
            "error": None,
            "error_kind": None,
            "incomplete": None,
            "samples": 1,
            "samples_ok": 1,
            "pages": 1,
        },
        {
            "campaign": "acme-recall",
            "query": "Acme kettle!",
            "engine": "google",
            "country": "us",
            "language": "en",
            "device": "desktop",
            "provider": "replay",
            "check_id": 2,
            "slot": None,
            "status": "ok",
            "observed_at": "2026-03-07T07:00:00Z",
            "results": 6,
            "error": None,
            "error_kind": None,
            "incomplete": None,
            "samples": 1,
            "samples_ok": 1,
            "pages": 1,
        },
    ]


def test_failed_check_json_goes_to_stdout_and_summary_to_stderr(
    db_url: str, tmp_path: Path, campaign_file: Path
) -> None:
    runner = CliRunner()
    db = db_url
    runner.invoke(cli, ["apply", str(campaign_file), "--db", db])
    result = runner.invoke(
        cli, ["check", "acme-recall", "--as-of", "2026-03-06T07:00:00Z", "--json", "--db", db]
    )
    assert result.exit_code == 1
    checks = json.loads(result.stdout)
    assert [(c["query"], c["status"], c["error_kind"], c["results"]) for c in checks] == [
        ("acme recall", "failed", "missing-fixture", 0),
        ("Acme kettle!", "ok", None, 6),
    ]
    assert result.stderr.splitlines()[-1] == "Error: 1 of 2 checks failed"


def test_history_csv_and_filters(
    db_url: str, tmp_path: Path, runner: CliRunner, campaign_file: Path
) -> None:
    db = db_url
    invoke(runner, "apply", str(campaign_file), "--db", db)
    invoke(
        runner, "backfill", "acme-recall", "--from", "2026-03-01", "--to", "2026-03-03", "--db", db
    )
    code, output = invoke(
        runner,
        "history",
        "acme-recall",
        "--csv",
        "--query",
        "acme recall",
        "--from",
        "2026-03-02",
        "--db",
        db,
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(output)))
    assert len(rows) == 12
    assert {r["query"] for r in rows} == {"acme recall"}
    assert {r["observed_at"][:10] for r in rows} == {"2026-03-02", "2026-03-03"}
    assert rows[0]["block"] == "top" and rows[1]["block"] == ""
    code, output = invoke(runner, "history", "acme-recall", "--db", db, "--to", "2026-03-01")
    assert code == 0
    lines = output.splitlines()
    assert lines[0].split() == [
        "observed_at",
        "query",
        "status",
        "placement",
        "rank",
        "page_position",
        "stance",
        "url",
        "error",
    ]
    assert len(lines) == 2 + 12


def test_locale_specific_replay_file_wins(
    db_url: str, tmp_path: Path, runner: CliRunner, campaign_file: Path
) -> None:
    fixtures = tmp_path / "fixtures"
    write_snapshot(
        fixtures,
        "2026-03-01",
        "acme recall",
        [{"url": "https://us-only.example/"}],
        slug="acme-recall.us-en-desktop",
    )
    db = db_url
    invoke(runner, "apply", str(campaign_file), "--db", db)
    invoke(runner, "check", "acme-recall", "--as-of", "2026-03-01T08:00:00Z", "--db", db)
    code, output = invoke(
        runner, "history", "acme-recall", "--json", "--query", "acme recall", "--db", db
    )
    assert code == 0
    assert [r["url"] for r in json.loads(output)] == ["https://us-only.example/"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "serptrack-snapshot/1", "query": ', "not valid JSON"),
        ('{"kind": "something else"}', "JSON of an unknown format"),
        ("binary \x00 garbage", "not a known format"),
    ],
)
def test_bad_replay_files_fail_the_check_and_keep_the_evidence(
    db_url: str, tmp_path: Path, runner: CliRunner, campaign_file: Path, content: str, message: str
) -> None:
    bad = tmp_path / "fixtures" / "2026-03-02" / "acme-recall.json"
    bad.write_text(content, encoding="utf-8")
    db = db_url
    invoke(runner, "apply", str(campaign_file), "--db", db)
    result = CliRunner().invoke(
        cli, ["check", "acme-recall", "--as-of", "2026-03-02T08:00:00Z", "--json", "--db", db]
    )
    assert result.exit_code == 1
    failed = json.loads(result.stdout)[0]
    assert (failed["status"], failed["error_kind"], failed["results"]) == (
        "failed",
        "parse-error",
        0,
    )
    assert failed["error"] == f"{bad}: {message}" or failed["error"].startswith(f"{bad}: {message}")
    from sqlmodel import Session

    from serptrack import store

    engine = store.connect(db)
    with Session(engine) as session:
        assert [body for _, body in store.load_payloads(session, failed["check_id"])] == [
            content.encode()
        ]
    engine.dispose()


def test_a_saved_page_of_another_engine_is_refused(
    db_url: str, tmp_path: Path, runner: CliRunner
) -> None:
    page = Path(__file__).parent / "fixtures" / "html" / "google-desktop-old.html"
    day = tmp_path / "pages" / "2026-03-02"
    day.mkdir(parents=True)
    (day / "acme-recall.html").write_bytes(page.read_bytes())
    campaign = tmp_path / "bing.toml"
    campaign.write_text(
        '[campaign]\nname = "bing"\n[providers.replay]\npath = "pages"\n'
        '[[keywords]]\nquery = "acme recall"\nprovider = "replay"\nengine = "bing"\n'
    )
    assert runner.invoke(cli, ["apply", str(campaign), "--db", db_url]).exit_code == 0
    result = CliRunner().invoke(
        cli, ["check", "bing", "--as-of", "2026-03-02T09:00:00Z", "--json", "--db", db_url]
    )
    assert result.exit_code == 1
    (check,) = json.loads(result.stdout)
    assert (check["status"], check["error_kind"]) == ("failed", "engine-mismatch")
    assert "is a saved google page but 'acme recall' is tracked on bing" in check["error"]


# --- check --record: the replay layout for any query, and file errors -----------------------

LONG_QUERY = ("acme kettle recall refund " * 12)[:300]
RECORD_AS_OF = "2026-03-07T09:00:00Z"


def replay_campaign(path: Path, name: str, folder: Path, queries: list[str]) -> Path:
    """A replay campaign over ``folder`` tracking ``queries`` (us/en/desktop)."""
    lines = [
        f'[campaign]\nname = "{name}"\n[defaults]\nprovider = "replay"',
        'country = "us"\nlanguage = "en"',
        f"[providers.replay]\npath = {json.dumps(str(folder))}",
    ]
    lines += [f"[[keywords]]\nquery = {json.dumps(q, ensure_ascii=False)}" for q in queries]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def urls_by_query(runner: CliRunner, campaign: str, db: str) -> dict[str, list[str]]:
    code, output = invoke(runner, "history", campaign, "--json", "--db", db)
    assert code == 0, output
    found: dict[str, list[str]] = {}
    for row in json.loads(output):
        found.setdefault(row["query"], []).append(row["url"])
    return found


def record_then_replay(
    tmp_path: Path, runner: CliRunner, db: str, queries: list[str]
) -> tuple[Path, dict[str, list[str]]]:
    """Check ``queries`` on one replay folder with ``--record``, then replay the recording as a
    second campaign; both must store the same results. Gives the recorded day folder."""
    source = tmp_path / "source"
    for index, query in enumerate(queries):
        results = [{"url": f"https://site{index}.example/{n}", "title": query} for n in range(3)]
        write_snapshot(source, "2026-03-07", query, results, observed_at=RECORD_AS_OF)
    recorded = tmp_path / "recorded"
    live = replay_campaign(tmp_path / "live.toml", "live", source, queries)
    again = replay_campaign(tmp_path / "again.toml", "again", recorded, queries)
    assert invoke(runner, "apply", str(live), "--db", db)[0] == 0
    result = runner.invoke(
        cli, ["check", "live", "--as-of", RECORD_AS_OF, "--record", str(recorded), "--db", db]
    )
    assert (result.exit_code, result.output) == (
        0,
        f"{len(queries)} checks: {len(queries)} ok, 0 failed or blocked.\n",
    )
    assert invoke(runner, "apply", str(again), "--db", db)[0] == 0  # the folder exists now
    result = runner.invoke(cli, ["check", "again", "--as-of", RECORD_AS_OF, "--json", "--db", db])
    assert result.exit_code == 0, result.output
    assert [c["status"] for c in json.loads(result.stdout)] == ["ok"] * len(queries)
    replayed = urls_by_query(runner, "again", db)
    assert replayed == urls_by_query(runner, "live", db)
    assert sorted(replayed) == sorted(queries)
    day = recorded / "2026-03-07"
    names = sorted(entry.name for entry in day.iterdir())
    assert len(names) == len(queries)  # one file per query: no two share a name
    assert not [name for name in names if name.startswith(".")]  # nothing hidden, no leftovers
    return day, replayed


def test_a_300_character_query_records_and_replays(
    db_url: str, tmp_path: Path, runner: CliRunner
) -> None:
    assert len(LONG_QUERY) == 300
    day, replayed = record_then_replay(tmp_path, runner, db_url, [LONG_QUERY, "acme recall"])
    assert replayed[LONG_QUERY] == [f"https://site0.example/{n}" for n in range(3)]
    (long_file,) = [entry for entry in day.iterdir() if entry.name.startswith("acme-kettle")]
    assert len(long_file.name.encode()) < 255
    assert re.fullmatch(
        r"acme-kettle-recall-refund-[a-z-]+-[0-9a-f]{8}\.us-en-desktop\.json", long_file.name
    )
    assert (day / "acme-recall.us-en-desktop.json").is_file()  # ASCII names as before


def test_non_latin_queries_record_under_their_own_letters(
    db_url: str, tmp_path: Path, runner: CliRunner
) -> None:
    day, _ = record_then_replay(tmp_path, runner, db_url, ["電気ケトル", "Skype à Pékin"])
    assert sorted(entry.name for entry in day.iterdir()) == [
        "skype-à-pékin.us-en-desktop.json",
        "電気ケトル.us-en-desktop.json",
    ]


def test_emoji_only_queries_record_to_visible_files_that_replay(
    db_url: str, tmp_path: Path, runner: CliRunner
) -> None:
    day, replayed = record_then_replay(tmp_path, runner, db_url, ["🔥🔥🔥", "☕", "acme recall"])
    hashed = [
        e.name for e in day.iterdir() if re.fullmatch(r"q-[0-9a-f]{8}\.us-en-desktop\.json", e.name)
    ]
    assert len(hashed) == 2
    assert replayed["🔥🔥🔥"] == [f"https://site0.example/{n}" for n in range(3)]
    assert replayed["☕"] == [f"https://site1.example/{n}" for n in range(3)]


def _read_only(record_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record_dir.mkdir()
    record_dir.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway: refuse as the read-only folder would
        real = os.mkdir

        def refuse(path: Any, *args: Any, **kwargs: Any) -> None:
            if Path(path).parent == record_dir:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            real(path, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", refuse)


def _day_is_a_file(record_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record_dir.mkdir()
    (record_dir / "2026-03-07").write_text("not a folder")


def _disk_full(record_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Path.write_bytes

    def full(self: Path, data: Any) -> int:
        if record_dir in self.parents:
            real(self, data[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_read_only, "Permission denied"),
        (_day_is_a_file, "File exists"),
        (_disk_full, "No space left on device"),
    ],
)
def test_a_record_folder_that_cannot_be_written_stores_every_check_then_fails_cleanly(
    db_url: str,
    tmp_path: Path,
    campaign_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[Path, pytest.MonkeyPatch], None],
    reason: str,
) -> None:
    runner = CliRunner()
    db = db_url
    assert invoke(runner, "apply", str(campaign_file), "--db", db)[0] == 0
    record_dir = tmp_path / "recorded"
    args = ["check", "acme-recall", "--as-of", RECORD_AS_OF, "--record", str(record_dir)]
    make(record_dir, monkeypatch)
    try:
        result = runner.invoke(cli, [*args, "--db", db])
    finally:
        monkeypatch.undo()
        record_dir.chmod(0o755)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    lines = result.output.splitlines()
    assert len([line for line in lines if line.startswith("Error:")]) == 1
    assert lines[-1].startswith(
        "Error: 2 checks stored (2 ok, 0 failed or blocked), but 2 --record files were not "
        f"written, e.g. cannot record {record_dir / '2026-03-07'}"
    )
    assert lines[-1].endswith(f"acme-kettle.us-en-desktop.json: {reason}")
    assert sorted(urls_by_query(runner, "acme-recall", db)) == ["Acme kettle!", "acme recall"]
    if record_dir.is_dir() and (record_dir / "2026-03-07").is_dir():
        assert list((record_dir / "2026-03-07").iterdir()) == []  # no half-written file left
