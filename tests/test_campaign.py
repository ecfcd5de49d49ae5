"""apply: round trip, idempotence, deactivation and every kind of bad campaign file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text
from sqlmodel import Session

from serptrack import store
from serptrack.campaign import load_campaign_file
from serptrack.cli import cli
from serptrack.errors import CampaignFileError

GOOD = """\
[campaign]
name = "acme-recall"
brand = "Acme"
crisis_start = 2026-03-01
description = "Recall of the Acme kettle"

[defaults]
provider = "replay"
country = "us"
language = "en"
depth = 20
schedule = "1d"

[providers.replay]
path = "fixtures/acme"

[[keywords]]
query = "acme recall"

[[keywords]]
query = "acme rappel"
country = "fr"
language = "fr"
tags = ["france"]
schedule = "0 7 * * *"
timezone = "Europe/Paris"

[labels]
official = ["acme.example", "https://twitter.com/acme_help"]
critical = ["https://news.example/2026/03/acme-recall", "consumerwatch.example/acme/*"]

[[annotations]]
date = 2026-03-03
text = "CEO statement published on the Acme blog"
"""


def write_campaign(folder: Path, body: str = GOOD, name: str = "campaign.toml") -> Path:
    (folder / "fixtures" / "acme").mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def dump(engine: Engine) -> dict[str, list]:
    """Every row of every table that apply writes, for before/after comparisons."""
    tables = ["campaigns", "keywords", "label_rules", "annotations"]
    with engine.connect() as connection:
        return {
            t: [tuple(r) for r in connection.execute(text(f"SELECT * FROM {t} ORDER BY id"))]
            for t in tables
        }


def test_load_resolves_defaults_and_paths(tmp_path: Path) -> None:
    spec = load_campaign_file(write_campaign(tmp_path))
    assert spec.name == "acme-recall"
    assert spec.crisis_start == dt.date(2026, 3, 1)
    first, second = spec.keywords
    assert (
        first.query,
        first.provider,
        first.country,
        first.language,
        first.depth,
        first.schedule,
    ) == (
        "acme recall",
        "replay",
        "us",
        "en",
        20,
        "1d",
    )
    assert (first.device, first.engine, first.timezone, first.tags) == (
        "desktop",
        "google",
        "UTC",
        (),
    )
    assert (second.country, second.language, second.tags, second.schedule, second.timezone) == (
        "fr",
        "fr",
        ("france",),
        "0 7 * * *",
        "Europe/Paris",
    )
    assert spec.providers == {"replay": {"path": str((tmp_path / "fixtures" / "acme").resolve())}}
    assert [(r.stance, r.kind) for r in spec.rules] == [
        ("official", "host"),
        ("official", "url"),
        ("critical", "url"),
        ("critical", "prefix"),
    ]
    assert spec.annotations[0].date == dt.date(2026, 3, 3)


def test_apply_round_trip_and_idempotence(db_url: str, tmp_path: Path, runner: CliRunner) -> None:
    path = write_campaign(tmp_path)
    db = db_url
    first = runner.invoke(cli, ["apply", str(path), "--db", db])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[0] == (
        "Created campaign acme-recall: 2 active keywords, 4 label rules, 1 annotation."
    )
    engine = store.connect(db)
    before = dump(engine)
    second = runner.invoke(cli, ["apply", str(path), "--db", db, "--json"])
    assert second.exit_code == 0
    summary = json.loads(second.output)
    assert summary["created"] is False
    assert summary["changed"] is False
    third = runner.invoke(cli, ["apply", str(path), "--db", db])
    assert third.output.splitlines()[0] == (
        "Campaign acme-recall unchanged: 2 active keywords, 4 label rules, 1 annotation."
    )
    path.write_text(path.read_text(encoding="utf-8").replace('brand = "Acme"', 'brand = "ACME"'))
    fourth = runner.invoke(cli, ["apply", str(path), "--db", db])
    assert fourth.output.startswith("Updated campaign acme-recall: ")
    path.write_text(path.read_text(encoding="utf-8").replace('brand = "ACME"', 'brand = "Acme"'))
    assert runner.invoke(cli, ["apply", str(path), "--db", db]).exit_code == 0
    assert (
        summary["keywords_added"]
        == summary["keywords_updated"]
        == summary["keywords_deactivated"]
        == []
    )
    after = dump(engine)
    assert [row[:-2] for row in after["keywords"]] == [row[:-2] for row in before["keywords"]]
    assert len(after["label_rules"]) == 4 and len(after["annotations"]) == 1
    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme-recall")
        keywords = store.campaign_keywords(session, campaign)
        assert [(k.query, k.country, k.schedule, k.timezone, k.tags) for k in keywords] == [
            ("acme recall", "us", "1d", "UTC", []),
            ("acme rappel", "fr", "0 7 * * *", "Europe/Paris", ["france"]),
        ]
        assert campaign.brand == "Acme" and campaign.crisis_start == dt.date(2026, 3, 1)
    engine.dispose()


def test_removed_keyword_is_deactivated_then_reactivated(
    db_url: str, tmp_path: Path, runner: CliRunner
) -> None:
    db = db_url
    path = write_campaign(tmp_path)
    assert runner.invoke(cli, ["apply", str(path), "--db", db]).exit_code == 0
    path.write_text(GOOD.replace('[[keywords]]\nquery = "acme recall"\n\n', ""), encoding="utf-8")
    result = runner.invoke(cli, ["apply", str(path), "--db", db])
    assert result.exit_code == 0
    assert "  deactivated: acme recall" in result.output
    engine = store.connect(db)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme-recall")
        all_keywords = store.campaign_keywords(session, campaign, active_only=False)
        assert [(k.query, k.active) for k in all_keywords] == [
            ("acme recall", False),
            ("acme rappel", True),
        ]
    path.write_text(GOOD.replace("depth = 20", "depth = 30"), encoding="utf-8")
    result = runner.invoke(cli, ["apply", str(path), "--db", db, "--json"])
    summary = json.loads(result.output)
    assert summary["keywords_reactivated"] == ["acme recall"]
    assert summary["keywords_updated"] == ["acme rappel"]
    with Session(engine) as session:
        keywords = store.campaign_keywords(session, store.get_campaign(session, "acme-recall"))
        assert [(k.query, k.depth, k.active) for k in keywords] == [
            ("acme recall", 30, True),
            ("acme rappel", 30, True),
        ]
    engine.dispose()


BAD_FILES = [
    (
        "[campaign\nname = 'x'",
        "campaign.toml: TOML syntax error: Expected ']' at the end of a table declaration (at line 1, column 10)",
    ),
    (
        GOOD.replace('brand = "Acme"', 'brand = "Acme"\ncolour = "red"'),
        "campaign.toml: campaign: unknown key 'colour' (line 4)",
    ),
    (
        GOOD.replace("depth = 20", 'depth = "20"'),
        "campaign.toml: defaults.depth (line 11): Input should be a valid integer (got '20')",
    ),
    (
        GOOD.replace('tags = ["france"]', 'tags = "france"'),
        "campaign.toml: keywords #2 ('acme rappel').tags (line 24): Input should be a valid list (got 'france')",
    ),
    (
        GOOD.replace('provider = "replay"', 'provider = "googlz"'),
        "campaign.toml: defaults.provider (line 8): unknown provider 'googlz'; known providers: ",
    ),
    (
        GOOD.replace('query = "acme rappel"', 'query = "acme rappel"\nprovider = "googlz"'),
        "campaign.toml: keywords #2 ('acme rappel', line 20): provider: unknown provider 'googlz'; known providers: ",
    ),
    (
        GOOD + '\n[providers.bingo]\nbase_url = "http://x"\n',
        "campaign.toml: providers.bingo: unknown provider 'bingo'; known providers: ",
    ),
    (
        GOOD.replace("crisis_start = 2026-03-01", 'crisis_start = "March 1st"'),
        "campaign.toml: campaign.crisis_start (line 4): Input should be a valid date (got 'March 1st')",
    ),
    (
        GOOD.replace("crisis_start = 2026-03-01", "crisis_start = 2026-02-30"),
        "campaign.toml: TOML syntax error: Invalid date or datetime (at line 4, column 16)",
    ),
    (
        GOOD.replace('schedule = "1d"', 'schedule = "daily"'),
        "campaign.toml: defaults.schedule (line 12): schedule 'daily' is neither an interval (30m, 6h, 1d, 1w) "
        "nor a 5-field cron expression (e.g. '0 7 * * *')",
    ),
    (
        GOOD.replace('timezone = "Europe/Paris"', 'timezone = "Europe/Pariss"'),
        "campaign.toml: keywords #2 ('acme rappel').timezone (line 26): unknown time zone 'Europe/Pariss'",
    ),
    (
        GOOD.replace('"consumerwatch.example/acme/*"', '"re:([a-z"'),
        "campaign.toml: labels.critical[1] (line 30): invalid regular expression '([a-z'",
    ),
    (
        GOOD.replace('"consumerwatch.example/acme/*"', '"consumer watch"'),
        "campaign.toml: labels.critical[1] (line 30): 'consumer watch' is not a host, URL, prefix",
    ),
    (
        GOOD.replace('"consumerwatch.example/acme/*"', '"http://www.twitter.com/acme_help/"'),
        "campaign.toml: labels (line 30): pattern 'http://www.twitter.com/acme_help/' is under both official and critical",
    ),
    (
        GOOD.replace('path = "fixtures/acme"', 'path = "fixtures/missing"'),
        "campaign.toml: providers.replay: path: folder ",
    ),
    (
        GOOD.replace('name = "acme-recall"', 'name = "acme recall"'),
        "campaign.toml: campaign.name (line 2): campaign name 'acme recall' may only use letters, digits and '-'",
    ),
    (
        GOOD.replace('[campaign]\nname = "acme-recall"\n', "[campaign]\n"),
        "campaign.toml: campaign.name: is required",
    ),
    (
        GOOD.replace('device = "desktop"', "").replace("depth = 20", 'device = "watch"'),
        "campaign.toml: defaults.device (line 11): Input should be 'desktop', 'mobile' or 'tablet' (got 'watch')",
    ),
    (
        GOOD.replace('[providers.replay]\npath = "fixtures/acme"\n', ""),
        "campaign.toml: keywords #1 ('acme recall', line 15): provider 'replay' needs 'path' in [providers.replay]",
    ),
    (
        GOOD.replace(
            'query = "acme rappel"\ncountry = "fr"\nlanguage = "fr"\n', 'query = "acme recall"\n'
        ),
        "campaign.toml: keywords #2 ('acme recall', line 20): the same keyword as keywords #1",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_FILES)
def test_bad_campaign_files_change_nothing(
    db_url: str, tmp_path: Path, runner: CliRunner, body: str, message: str
) -> None:
    db = db_url
    assert (
        runner.invoke(
            cli, ["apply", str(write_campaign(tmp_path, name="good.toml")), "--db", db]
        ).exit_code
        == 0
    )
    engine = store.connect(db)
    before = dump(engine)
    path = write_campaign(tmp_path, body)
    result = runner.invoke(cli, ["apply", str(path), "--db", db])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    expected = "Error: " + message.replace("campaign.toml", str(path), 1)
    assert lines[0].startswith(expected), f"{lines[0]!r} does not start with {expected!r}"
    assert dump(engine) == before
    engine.dispose()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match=r"nope\.toml: no such file"):
        load_campaign_file(tmp_path / "nope.toml")


def test_unknown_top_level_table(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match="unknown key 'keyword'"):
        load_campaign_file(write_campaign(tmp_path, GOOD + '\n[[keyword]]\nquery = "x"\n'))
