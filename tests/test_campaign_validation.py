"""apply refuses what cannot be tracked truthfully: unknown countries and languages, queries no
engine takes, settings the provider cannot serve; each in one line, storing nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from serptrack import store
from serptrack.campaign import MAX_QUERY_LENGTH, load_campaign_file
from serptrack.cli import cli
from serptrack.errors import CampaignFileError

from .test_campaign import GOOD, dump, write_campaign

# GOOD's second keyword, "acme rappel", starts at line 20; its country is on line 22.
RAPPEL = 'query = "acme rappel"\ncountry = "fr"\nlanguage = "fr"\ntags = ["france"]\n'


def rappel(extra: str) -> str:
    """GOOD with ``extra`` lines added to the second keyword (from line 25 on)."""
    return GOOD.replace(RAPPEL, RAPPEL + extra)


def refused(db: str, tmp_path: Path, runner: CliRunner, body: str) -> str:
    """Apply GOOD, then ``body``: assert exit 1, one line and nothing changed; the message."""
    good = write_campaign(tmp_path, name="good.toml")
    assert runner.invoke(cli, ["apply", str(good), "--db", db]).exit_code == 0
    listed = runner.invoke(cli, ["campaigns", "--json", "--db", db])
    engine = store.connect(db)
    before = dump(engine)
    path = write_campaign(tmp_path, body)
    result = runner.invoke(cli, ["apply", str(path), "--db", db])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert dump(engine) == before
    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme-recall")
        active = store.campaign_keywords(session, campaign)
        assert [(k.query, k.country, k.language) for k in active] == [
            ("acme recall", "us", "en"),
            ("acme rappel", "fr", "fr"),
        ]
    engine.dispose()
    assert runner.invoke(cli, ["campaigns", "--json", "--db", db]).output == listed.output
    prefix = f"Error: {path}: "
    assert lines[0].startswith(prefix), lines[0]
    return lines[0].removeprefix(prefix)


# --- 1. countries and languages ----------------------------------------------------------------

LOCALE_ERRORS = [
    (
        GOOD.replace('country = "fr"', 'country = "france"'),
        "keywords #2 ('acme rappel').country (line 22): 'france' is not an ISO 3166-1 alpha-2 "
        'country code; did you mean "fr"?',
    ),
    (
        GOOD.replace('country = "us"', 'country = "USA"'),
        "defaults.country (line 9): 'USA' is not an ISO 3166-1 alpha-2 country code; "
        'did you mean "us"?',
    ),
    (
        GOOD.replace('country = "fr"', 'country = "uk"'),
        "keywords #2 ('acme rappel').country (line 22): 'uk' is not an ISO 3166-1 alpha-2 "
        'country code; did you mean "gb"?',
    ),
    (
        GOOD.replace('country = "fr"', 'country = "zz"'),
        "keywords #2 ('acme rappel').country (line 22): 'zz' is not an ISO 3166-1 alpha-2 "
        "country code",
    ),
    (
        GOOD.replace('language = "fr"', 'language = "french"'),
        "keywords #2 ('acme rappel').language (line 23): 'french' is not an ISO 639-1 language "
        'code, optionally with a region (e.g. "pt-br"); did you mean "fr"?',
    ),
    (
        GOOD.replace('language = "en"', 'language = "eng"'),
        "defaults.language (line 10): 'eng' is not an ISO 639-1 language code, optionally with "
        'a region (e.g. "pt-br"); did you mean "en"?',
    ),
    (
        GOOD.replace('language = "fr"', 'language = "pt_BR"'),
        "keywords #2 ('acme rappel').language (line 23): 'pt_BR' is not an ISO 639-1 language "
        'code, optionally with a region (e.g. "pt-br"); did you mean "pt-br"?',
    ),
    (
        GOOD.replace('language = "fr"', 'language = "en-uk"'),
        "keywords #2 ('acme rappel').language (line 23): 'en-uk' is not an ISO 639-1 language "
        'code, optionally with a region (e.g. "pt-br"); did you mean "en-gb"?',
    ),
    (
        GOOD.replace('language = "fr"', 'language = "xx-fr"'),
        "keywords #2 ('acme rappel').language (line 23): 'xx-fr' is not an ISO 639-1 language "
        'code, optionally with a region (e.g. "pt-br")',
    ),
]


@pytest.mark.parametrize(
    ("body", "message"),
    LOCALE_ERRORS,
    ids=["france", "USA", "uk", "zz", "french", "eng", "pt_BR", "en-uk", "xx-fr"],
)
def test_unknown_countries_and_languages_are_refused(
    db_url: str, tmp_path: Path, runner: CliRunner, body: str, message: str
) -> None:
    assert refused(db_url, tmp_path, runner, body) == message


def test_country_france_does_not_replace_the_real_keyword(
    db_url: str, tmp_path: Path, runner: CliRunner
) -> None:
    message = refused(db_url, tmp_path, runner, GOOD.replace('"fr"', '"france"'))
    assert message.endswith('did you mean "fr"?')


def test_codes_are_stored_lower_case_and_empty_means_unspecified(tmp_path: Path) -> None:
    body = GOOD.replace('country = "fr"', 'country = "FR"').replace(
        'language = "fr"', 'language = "pt-BR"'
    )
    body = body.replace('country = "us"', 'country = ""').replace(
        'language = "en"', 'language = ""'
    )
    body = body.replace('query = "acme recall"', 'query = "acme recall"\nlanguage = "es-419"')
    first, second = load_campaign_file(write_campaign(tmp_path, body)).keywords
    assert (first.country, first.language) == ("", "es-419")
    assert (second.country, second.language) == ("fr", "pt-br")


# --- 2. queries --------------------------------------------------------------------------------

QUERY_ERRORS = [
    ('query = "   "', "keywords #1 ('   ').query (line 18): query is blank"),
    ('query = ""', "keywords #1 ('').query (line 18): query is blank"),
    (
        'query = "acme\\nrecall"',
        "keywords #1 ('acme\\nrecall').query (line 18): query contains a newline (U+000A)",
    ),
    (
        'query = """acme\nrecall"""',
        "keywords #1 ('acme\\nrecall').query (line 18): query contains a newline (U+000A)",
    ),
    (
        'query = "acme\\u0000recall"',
        "keywords #1 ('acme\\x00recall').query (line 18): query contains a NUL (U+0000)",
    ),
    (
        'query = "acme\\u001b[31mrecall"',
        "keywords #1 ('acme\\x1b[31mrecall').query (line 18): query contains a control character "
        "(U+001B)",
    ),
    (
        "query = 'acme\trecall'",
        "keywords #1 ('acme\\trecall').query (line 18): query contains a tab (U+0009)",
    ),
    (
        'query = "acme\\u2028recall"',
        "keywords #1 ('acme\\u2028recall').query (line 18): query contains a line separator "
        "(U+2028)",
    ),
    (
        f'query = "{"a" * 2049}"',
        f"keywords #1 ({'a' * 57 + '...'!r}).query (line 18): query is 2,049 characters long; "
        "search engines take at most 2,048",
    ),
]


@pytest.mark.parametrize(
    ("line", "message"),
    QUERY_ERRORS,
    ids=["spaces", "empty", "newline", "multi-line", "nul", "escape", "tab", "u2028", "2049"],
)
def test_queries_no_engine_takes_are_refused(
    db_url: str, tmp_path: Path, runner: CliRunner, line: str, message: str
) -> None:
    body = GOOD.replace('query = "acme recall"', line)
    assert refused(db_url, tmp_path, runner, body).startswith(message)


def test_a_query_of_2048_characters_is_taken(tmp_path: Path) -> None:
    query = "a" * MAX_QUERY_LENGTH
    body = GOOD.replace('query = "acme recall"', f'query = "  {query} "')
    assert load_campaign_file(write_campaign(tmp_path, body)).keywords[0].query == query


# --- 3. what the provider cannot serve ---------------------------------------------------------

WHERE = "keywords #2 ('acme rappel', line 20): "
CAPABILITY_ERRORS = [
    (
        rappel('provider = "serper"\ndevice = "mobile"\n'),
        WHERE + "provider 'serper' (Serper) cannot emulate a mobile search, only desktop "
        '(device = "mobile", line 26); set device = "desktop" or use a provider that can: '
        "dataforseo, serpapi, valueserp",
    ),
    (
        rappel('provider = "brave"\n'),
        WHERE + "provider 'brave' (Brave Search) serves only brave results, not google "
        '(engine = "google", the built-in default); set engine = "brave" or use a provider '
        "that serves google: dataforseo, google_cse, searxng, serpapi, serper, valueserp",
    ),
    (
        rappel('provider = "brave"\nengine = "brave"\nlocation = "Paris, France"\n'),
        WHERE + "provider 'brave' (Brave Search) cannot target a location "
        '(location = "Paris, France", line 27); remove location or use a provider that can: '
        "dataforseo, serpapi, serper, valueserp",
    ),
    (
        rappel('provider = "google_cse"\nlocation = "Lyon"\n'),
        WHERE + "provider 'google_cse' (Google Custom Search) cannot target a location "
        '(location = "Lyon", line 26); remove location or use a provider that can: '
        "dataforseo, serpapi, serper, valueserp",
    ),
    (
        rappel('provider = "searxng"\ndevice = "tablet"\n')
        + '\n[providers.searxng]\nbase_url = "http://127.0.0.1:8888"\n',
        WHERE + "provider 'searxng' (SearXNG) cannot emulate a tablet search, only desktop "
        '(device = "tablet", line 26); set device = "desktop" or use a provider that can: '
        "serpapi, valueserp",
    ),
    (
        rappel('provider = "dataforseo"\n').replace('country = "fr"', 'country = "is"'),
        WHERE + "provider 'dataforseo' (DataForSEO) knows no location code for country 'is' "
        '(country = "is", line 22); set location (e.g. "Reykjavik,Iceland") on the keyword or '
        "location_code in [providers.dataforseo]",
    ),
    (
        rappel('provider = "serper"\nengine = "google_ai_mode"\n'),
        WHERE + "provider 'serper' (Serper) serves only google results, not google_ai_mode "
        '(engine = "google_ai_mode", line 26); set engine = "google" or use a provider that '
        "serves google_ai_mode: dataforseo, serpapi",
    ),
    (
        GOOD.replace('provider = "replay"', 'provider = "serper"\ndevice = "mobile"'),
        "keywords #1 ('acme recall', line 18): provider 'serper' (Serper) cannot emulate a mobile "
        'search, only desktop (device = "mobile" in [defaults], line 9); set device = "desktop"',
    ),
]


@pytest.mark.parametrize(
    ("body", "message"),
    CAPABILITY_ERRORS,
    ids=[
        "serper-mobile",
        "brave-google",
        "brave-location",
        "cse-location",
        "searxng-tablet",
        "dataforseo-country",
        "serper-ai-mode",
        "from-defaults",
    ],
)
def test_settings_the_provider_cannot_serve_are_refused(
    db_url: str, tmp_path: Path, runner: CliRunner, body: str, message: str
) -> None:
    assert refused(db_url, tmp_path, runner, body).startswith(message)


def test_settings_the_provider_can_serve_are_taken(tmp_path: Path) -> None:
    body = rappel('provider = "serpapi"\ndevice = "mobile"\nlocation = "Lyon, France"\n')
    body = body.replace('query = "acme recall"', 'query = "acme recall"\nprovider = "brave"')
    body = body.replace('query = "acme recall"', 'query = "acme recall"\nengine = "brave"')
    body += '\n[[keywords]]\nquery = "acme island"\nprovider = "dataforseo"\ncountry = "is"\n'
    body += "\n[providers.dataforseo]\nlocation_code = 2352\n"
    spec = load_campaign_file(write_campaign(tmp_path, body))
    assert [(k.provider, k.engine, k.device, k.location) for k in spec.keywords] == [
        ("brave", "brave", "desktop", ""),
        ("serpapi", "google", "mobile", "Lyon, France"),
        ("dataforseo", "google", "desktop", ""),
    ]


def test_a_missing_api_key_is_a_warning_not_an_error(
    db_url: str, tmp_path: Path, runner: CliRunner
) -> None:
    body = rappel('provider = "dataforseo"\n')
    body += '\n[[keywords]]\nquery = "acme kettle"\nprovider = "dataforseo"\n'
    path = write_campaign(tmp_path, body)
    spec = load_campaign_file(path, environ={"DATAFORSEO_LOGIN": "me"})
    assert spec.warnings == [
        "provider 'dataforseo' needs DATAFORSEO_PASSWORD in the environment to check its 2 "
        "keywords; set it where checks run (export DATAFORSEO_PASSWORD=...)"
    ]
    keys = {"DATAFORSEO_LOGIN": "me", "DATAFORSEO_PASSWORD": "secret"}
    assert load_campaign_file(path, environ=keys).warnings == []
    replay_only = write_campaign(tmp_path, name="replay.toml")
    assert load_campaign_file(replay_only).warnings == []  # replay needs no key
    result = runner.invoke(cli, ["apply", str(path), "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    assert "secret" not in result.output
    assert json.loads(result.stdout)["keywords_active"] == 3


# --- 4. [defaults] errors carry their line ------------------------------------------------------

COMMENTED = GOOD.replace("[defaults]\n", "[defaults]   # every keyword inherits these\n").replace(
    "[[keywords]]\n", "[[keywords]]  # one search\n"
)
DEFAULTS_ERRORS = [
    (
        COMMENTED.replace("depth = 20", 'depth = "20"'),
        "defaults.depth (line 11): Input should be a valid integer (got '20')",
    ),
    (
        COMMENTED.replace('country = "us"', 'country = "united states"'),
        "defaults.country (line 9): 'united states' is not an ISO 3166-1 alpha-2 country code; "
        'did you mean "us"?',
    ),
    (
        COMMENTED.replace('provider = "replay"', 'provider = "serpappi"'),
        "defaults.provider (line 8): unknown provider 'serpappi'; known providers: ",
    ),
    (
        COMMENTED.replace("depth = 20", "depth = 20\ncolour = 1"),
        "defaults: unknown key 'colour' (line 12)",
    ),
    (
        COMMENTED.replace('country = "fr"', 'country = "fr"\ndepth = 0'),
        "keywords #2 ('acme rappel').depth (line 23): Input should be greater than or equal to 1",
    ),
    (
        COMMENTED.replace(
            'provider = "replay"', 'provider = "brave"\nengine = "brave"\nlocation = "Paris"'
        ),
        "keywords #1 ('acme recall', line 19): provider 'brave' (Brave Search) cannot target a "
        'location (location = "Paris" in [defaults], line 10)',
    ),
]


@pytest.mark.parametrize(
    ("body", "message"),
    DEFAULTS_ERRORS,
    ids=["depth", "country", "provider", "unknown-key", "keyword-depth", "location"],
)
def test_defaults_errors_carry_their_line(
    db_url: str, tmp_path: Path, runner: CliRunner, body: str, message: str
) -> None:
    assert refused(db_url, tmp_path, runner, body).startswith(message)


def test_an_unknown_provider_in_defaults_is_refused_even_when_unused(tmp_path: Path) -> None:
    body = GOOD.replace('provider = "replay"', 'provider = "serpappi"')
    body = body.replace('query = "acme recall"', 'query = "acme recall"\nprovider = "replay"')
    body = body.replace('query = "acme rappel"', 'query = "acme rappel"\nprovider = "replay"')
    with pytest.raises(CampaignFileError, match=r"defaults\.provider \(line 8\): unknown provider"):
        load_campaign_file(write_campaign(tmp_path, body))
