"""CTR curves: shipped as data with source and date, chosen or supplied by the campaign file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from serptrack import store
from serptrack.ctr import (
    CtrCurve,
    builtin_curve,
    builtin_names,
    curve_from_settings,
    load_curve_file,
)
from serptrack.errors import CurveError
from tests.conftest import write_snapshot
from tests.crisis_scenario import invoke, json_of

CAMPAIGN = """\
[campaign]
name = "curves"
brand = "Acme"

[defaults]
provider = "replay"

[providers.replay]
path = "fixtures"

[[keywords]]
query = "acme recall"

[labels]
official = ["acme.example"]
critical = ["news.example"]
{analysis}"""


def test_shipped_curves_name_source_date_and_url() -> None:
    assert builtin_names() == ["backlinko-2019", "sistrix-2020"]
    for name in builtin_names():
        curve = builtin_curve(name)
        assert curve.name == name
        assert curve.builtin
        assert curve.source and curve.title and curve.notes
        assert curve.url.startswith("https://")
        assert re.fullmatch(r"\d{4}(-\d{2})?", curve.date)
        assert len(curve.positions) == 10


def test_sistrix_2020() -> None:
    curve = builtin_curve("sistrix-2020")
    assert curve.positions == (28.5, 15.7, 11.0, 8.0, 7.2, 5.1, 4.0, 3.2, 2.8, 2.5)
    assert curve.date == "2020-07"
    assert (curve.weight(1), curve.weight(10), curve.weight(11), curve.weight(0)) == (
        28.5,
        2.5,
        0.0,
        0.0,
    )


def test_backlinko_2019() -> None:
    curve = builtin_curve("backlinko-2019")
    assert curve.positions == (31.7, 24.7, 18.7, 13.6, 9.5, 6.2, 4.2, 3.1, 3.0, 3.1)
    assert curve.date == "2019"


def test_the_default_curve_is_sistrix_2020() -> None:
    assert curve_from_settings({}).name == "sistrix-2020"
    assert (
        curve_from_settings({"analysis": {"ctr_curve": "backlinko-2019"}}).name == "backlinko-2019"
    )


def test_unknown_shipped_curve() -> None:
    with pytest.raises(CurveError) as raised:
        builtin_curve("awr-2014")
    assert str(raised.value) == (
        "unknown CTR curve 'awr-2014'; use one of backlinko-2019, sistrix-2020 "
        "or the path of a .toml or .json curve file"
    )


def test_user_curve_in_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "gsc.toml"
    toml.write_text(
        'name = "our-gsc-2026"\nsource = "Our Search Console, brand queries"\ndate = "2026-02"\n'
        "positions = [40, 20, 10]\n",
        encoding="utf-8",
    )
    assert load_curve_file(toml) == CtrCurve(
        name="our-gsc-2026",
        source="Our Search Console, brand queries",
        date="2026-02",
        positions=(40.0, 20.0, 10.0),
        title="our-gsc-2026",
    )
    data = {
        "name": "j",
        "source": "s",
        "date": "2026",
        "positions": [1.5],
        "url": "https://x.example",
    }
    (tmp_path / "j.json").write_text(json.dumps(data), encoding="utf-8")
    assert load_curve_file(tmp_path / "j.json").url == "https://x.example"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('name = "x"\nsource = "s"\ndate = "2026"\n', "'positions' is required"),
        (
            'name = "x"\nsource = "s"\ndate = "2026"\npositions = []\n',
            "'positions' must be a list of 1 to 100 percentages",
        ),
        (
            'name = "x"\nsource = "s"\ndate = "2026"\npositions = [30, -1]\n',
            "position 2 is -1; use a percentage from 0 to 100",
        ),
        (
            'name = "x"\nsource = "s"\ndate = "2026"\npositions = [0, 0]\n',
            "every position is 0; a curve needs at least one click",
        ),
        (
            'name = "x"\nsource = "s"\ndate = "March"\npositions = [1]\n',
            "date 'March' is not YYYY, YYYY-MM or YYYY-MM-DD",
        ),
        (
            'name = "X Y"\nsource = "s"\ndate = "2026"\npositions = [1]\n',
            "name 'X Y' may only use lower-case letters, digits, '.', '_' and '-'",
        ),
        (
            'name = "x"\nsource = " "\ndate = "2026"\npositions = [1]\n',
            "'source' is empty; say where the numbers come from",
        ),
        (
            'name = "x"\nsource = "s"\ndate = "2026"\npositions = [1]\nctr = [2]\n',
            "unknown key 'ctr'; a curve has date, name, notes, positions, source, title, url",
        ),
        ('name = "sistrix-2020"\nsource = "s"\ndate = "2026"\npositions = [1]\n', None),
    ],
)
def test_curve_file_errors(tmp_path: Path, content: str, message: str | None) -> None:
    path = tmp_path / "curve.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CurveError) as raised:
        load_curve_file(path)
    if message is None:
        message = "is named 'sistrix-2020', like a built-in curve; give it another name"
        assert str(raised.value) == f"CTR curve file {path} {message}"
    else:
        assert str(raised.value) == f"CTR curve file {path}: {message}"


def test_missing_and_unreadable_curve_files(tmp_path: Path) -> None:
    with pytest.raises(CurveError, match=r"does not exist; check the path$"):
        load_curve_file(tmp_path / "nope.toml")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(CurveError, match=r"^CTR curve file .*bad.json is not valid JSON: "):
        load_curve_file(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(CurveError, match=r"must hold one table/object, not list$"):
        load_curve_file(tmp_path / "list.json")


def make_campaign(folder: Path, analysis: str = "") -> Path:
    write_snapshot(
        folder / "fixtures",
        "2026-03-01",
        "acme recall",
        [
            {"placement": "organic", "url": "https://acme.example/statement"},
            {"placement": "organic", "url": "https://news.example/acme"},
            {"placement": "organic", "url": "https://shop.example/acme"},
        ],
        observed_at="2026-03-01T07:00:00Z",
    )
    path = folder / "campaign.toml"
    path.write_text(CAMPAIGN.replace("{analysis}", analysis), encoding="utf-8")
    return path


def backfill(runner: CliRunner, campaign: Path, db: str) -> None:
    assert invoke(runner, "apply", str(campaign), "--db", db).exit_code == 0
    assert (
        invoke(
            runner, "backfill", "curves", "--from", "2026-03-01", "--to", "2026-03-01", "--db", db
        ).exit_code
        == 0
    )


def test_status_names_the_default_curve(db_url: str, runner: CliRunner, tmp_path: Path) -> None:
    db = db_url
    backfill(runner, make_campaign(tmp_path), db)
    document = json_of(runner, "status", "curves", "--db", db)
    assert document["ctr_curve"]["name"] == "sistrix-2020"
    [row] = document["keywords"]
    assert row["share_of_voice"]["curve"] == "sistrix-2020"
    total = 28.5 + 15.7 + 11.0
    assert row["share_of_voice"]["organic"] == {
        "official": round(28.5 / total, 4),
        "critical": round(15.7 / total, 4),
        "neutral": round(11.0 / total, 4),
    }


def test_campaign_picks_another_shipped_curve(
    db_url: str, runner: CliRunner, tmp_path: Path
) -> None:
    db = db_url
    backfill(runner, make_campaign(tmp_path, '\n[analysis]\nctr_curve = "backlinko-2019"\n'), db)
    document = json_of(runner, "status", "curves", "--db", db)
    assert document["ctr_curve"] == builtin_curve("backlinko-2019").describe()
    total = 31.7 + 24.7 + 18.7
    assert document["keywords"][0]["share_of_voice"]["page"] == {
        "official": round(31.7 / total, 4),
        "critical": round(24.7 / total, 4),
        "neutral": round(18.7 / total, 4),
    }
    suggestions = json_of(runner, "labels", "suggest", "curves", "--db", db)
    assert {row["ctr_curve"] for row in suggestions} == {"backlinko-2019"}


def test_campaign_supplies_its_own_curve_relative_to_the_file(
    db_url: str, runner: CliRunner, tmp_path: Path
) -> None:
    db = db_url
    (tmp_path / "curves").mkdir()
    own = tmp_path / "curves" / "flat.toml"
    own.write_text(
        'name = "flat"\ntitle = "Every position alike"\nsource = "a test"\ndate = "2026-03-01"\n'
        'url = ""\npositions = [10, 10, 10]\n',
        encoding="utf-8",
    )
    backfill(runner, make_campaign(tmp_path, '\n[analysis]\nctr_curve = "curves/flat.toml"\n'), db)
    own.unlink()  # the curve was copied into the campaign at apply
    document = json_of(runner, "status", "curves", "--db", db)
    assert document["ctr_curve"] == {
        "name": "flat",
        "title": "Every position alike",
        "source": "a test",
        "date": "2026-03-01",
        "url": "",
        "positions": [10.0, 10.0, 10.0],
        "builtin": False,
    }
    third = round(1 / 3, 4)
    assert document["keywords"][0]["share_of_voice"] == {
        "curve": "flat",
        "organic": {"official": third, "critical": third, "neutral": third},
        "page": {"official": third, "critical": third, "neutral": third},
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '"awr-2014"',
            "unknown CTR curve 'awr-2014'; use one of backlinko-2019, sistrix-2020 or the path of a .toml or .json curve file",
        ),
        (
            '"curves/none.toml"',
            "CTR curve file {folder}/curves/none.toml does not exist; check the path",
        ),
        ("3", "Input should be a valid string (got 3)"),
    ],
)
def test_a_bad_curve_stops_apply(
    db_url: str, runner: CliRunner, tmp_path: Path, value: str, message: str
) -> None:
    db = db_url
    store.connect(db).dispose()
    campaign = make_campaign(tmp_path, f"\n[analysis]\nctr_curve = {value}\n")
    result = invoke(runner, "apply", str(campaign), "--db", db)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {campaign}: analysis.ctr_curve (line 19): {message.format(folder=tmp_path)}\n"
    )
    assert json_of(runner, "campaigns", "--db", db) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'domains = ["https://acme.example/about"]',
            "campaign.domains[0] (line 4): 'https://acme.example/about' is not a host such as acme.example",
        ),
        (
            'accounts = ["twitter.com"]',
            "campaign.accounts[0] (line 4): 'twitter.com' is not an account URL such as twitter.com/acme_help",
        ),
    ],
)
def test_brand_domains_and_accounts_are_checked(
    db_url: str, runner: CliRunner, tmp_path: Path, line: str, message: str
) -> None:
    campaign = make_campaign(tmp_path)
    campaign.write_text(
        campaign.read_text().replace('brand = "Acme"\n', f'brand = "Acme"\n{line}\n')
    )
    result = invoke(runner, "apply", str(campaign), "--db", db_url)
    assert result.exit_code == 1
    assert result.output == f"Error: {campaign}: {message}\n"
