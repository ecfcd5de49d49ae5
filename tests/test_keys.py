"""Keys as the environment holds them: stripped, refused when no API could take them, and
masked in every spelling they can take, even when an API echoes one into a result."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text
from sqlmodel import Session

from serptrack import store
from serptrack.cli import cli
from serptrack.errors import FetchError, InvalidKeyError, MissingKeyError
from serptrack.providers import SearchRequest, build_provider
from serptrack.redaction import MASK, may_hide, redact, redact_bytes, redact_json, settled

from .loopback_server import Reply, Seen, base_url, json_reply, loopback
from .providers_support import fixture

# --- every spelling is masked -----------------------------------------------------------------

KEY = "sk/LIVE+key=42&\"q'\\x"  # printable ASCII, each character an encoder treats apart


def spellings(secret: str) -> dict[str, str]:
    return {
        "raw": secret,
        "repr": repr(secret)[1:-1],
        "bytes repr": repr(secret.encode())[2:-1],
        "quote": quote(secret, safe=""),
        "quote keeping /": quote(secret),
        "quote_plus": quote_plus(secret),
        "quote, lower-case hex": re.sub("%..", lambda m: m.group().lower(), quote(secret, safe="")),
        "json": json.dumps(secret)[1:-1],
        "json with \\/": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "json of quote": json.dumps(quote(secret))[1:-1].replace("/", "\\/"),
        "base64": base64.b64encode(secret.encode()).decode(),
        "basic user": base64.b64encode(f"{secret}:".encode()).decode(),
    }


@pytest.mark.parametrize(("how", "form"), sorted(spellings(KEY).items()))
def test_redact_masks_every_spelling_of_a_key(how: str, form: str) -> None:
    assert redact(f"before {form} after", [KEY]) == f"before {MASK} after", how
    assert redact_bytes(f"<{form}>".encode(), [KEY]) == f"<{MASK}>".encode(), how


def test_a_payload_redacted_once_stays_as_it_is_unless_a_key_spells_the_mask() -> None:
    body = f'{{"a": "{KEY}", "b": "{quote(KEY, safe="")}"}}'.encode()
    once = redact_bytes(body, [KEY])
    assert settled([KEY]) and redact_bytes(once, [KEY]) == once
    starred = "x***y"  # a mask completes a new spelling: only a second pass finds it
    once = redact_bytes(b"xx***yy", [starred])
    assert once == b"x***y"
    assert not settled([starred]) and redact_bytes(once, [starred]) == MASK.encode()


def test_an_illegal_header_message_is_masked() -> None:
    # what httpx says of a key with its line ending still on (repr, escapes and all)
    message = "Illegal header value b'sk_live_CRLF_key\\r\\n'"
    assert "sk_live" not in redact(message, ["sk_live_CRLF_key\r\n"])
    assert "sk_live" not in redact(message, ["sk_live_CRLF_key"])


def test_the_basic_token_of_a_login_and_password_is_masked_in_every_spelling() -> None:
    environ = {"DATAFORSEO_LOGIN": "leak@acme.example", "DATAFORSEO_PASSWORD": "pw???>??"}
    provider = build_provider("dataforseo", {}, environ)
    token = base64.b64encode(b"leak@acme.example:pw???>??").decode()
    assert "/" in token and "+" in token  # so every encoder writes it differently
    secrets = provider.secrets()
    for how, form in spellings(token).items():
        if how in ("base64", "basic user"):
            continue
        assert redact(f"Authorization: Basic {form}", secrets) == f"Authorization: Basic {MASK}"


def test_redact_json_masks_keys_behind_any_escape() -> None:
    doc = json.loads('{"title": "key \\u0073k\\/LIVE", "sk/LIVE": ["sk/LIVE?", 1, null]}')
    masked = redact_json(doc, ["sk/LIVE"])
    assert masked == {"title": f"key {MASK}", MASK: [f"{MASK}?", 1, None]}
    clean = {"title": "nothing here", "items": [1, 2]}
    assert redact_json(clean, ["sk/LIVE"]) is clean


@pytest.mark.parametrize(
    ("body", "hides"),
    [
        (b'{"title": "key \\u0073k_LIVE"}', True),  # the s of the key, escaped
        (b'{"title": "key \\u0053"}', False),  # S is no letter of the key (case matters)
        (b'{"title": "\\u00E9\\u203a \\"quoted\\" \\n"}', False),  # escapes of other letters
        (b'{"title": "sk\\u005FLIVE"}', True),  # upper-case hex digits
        (b'{"title": "key sk_LIVE plain"}', False),  # as it is: redact_bytes' business
    ],
)
def test_may_hide_is_true_only_for_an_escape_of_a_letter_of_a_key(body: bytes, hides: bool) -> None:
    assert may_hide(body, ["sk_LIVE"]) is hides
    assert may_hide(body, []) is False


def test_may_hide_sees_every_escape_of_json_for_unusual_keys() -> None:
    secrets = ['k"y/\\é😀42']
    for escape in [b"\\/", b'\\"', b"\\\\", b"\\u00e9", b"\\ud83d\\ude00"]:
        assert may_hide(b'{"a": "' + escape + b'"}', secrets), escape
    assert not may_hide(b'{"a": "\\n\\u203a"}', secrets)


@pytest.mark.parametrize("secret", ['k"ey\\42', "kéy\u2028€42", "key\t\n42"])
def test_redact_json_finds_keys_holding_characters_json_escapes(secret: str) -> None:
    doc = json.loads(json.dumps({"deep": [{"title": f"echo {secret}!"}], secret: 1}))
    assert redact_json(doc, [secret]) == {"deep": [{"title": f"echo {MASK}!"}], MASK: 1}
    assert redact_json(doc, [secret + "x"]) is doc


# --- keys as read from the environment --------------------------------------------------------


def test_a_key_is_read_without_the_whitespace_around_it() -> None:
    provider = build_provider("serper", {}, {"SERPER_API_KEY": " sk_live_x\r\n"})
    provider.require_keys()
    assert provider.keys == {"SERPER_API_KEY": "sk_live_x"}
    assert provider.secrets() == ["sk_live_x"]


def test_a_key_of_whitespace_only_is_missing() -> None:
    provider = build_provider("serper", {}, {"SERPER_API_KEY": " \r\n"})
    assert provider.missing_keys(provider.environ) == ["SERPER_API_KEY"]
    with pytest.raises(MissingKeyError, match="needs SERPER_API_KEY"):
        provider.require_keys()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("sk live", "whitespace inside it"),
        ("sk\tlive", "whitespace inside it"),
        ("clé", "a non-ASCII character"),
        ("sk\x00live", "a control character"),
        ("sk\x7flive", "a control character"),
    ],
)
def test_a_key_no_api_could_take_is_one_error_naming_the_variable(value: str, problem: str) -> None:
    provider = build_provider("serper", {}, {"SERPER_API_KEY": value})
    with pytest.raises(InvalidKeyError) as caught:
        provider.require_keys()
    message = str(caught.value)
    assert message == (
        f"provider 'serper' cannot use its key: SERPER_API_KEY has {problem}; a key is "
        "printable ASCII with no spaces, so set it again with: export SERPER_API_KEY=..."
    )
    assert value not in message


def test_a_provider_asked_to_fetch_with_an_unusable_key_fails_the_check_cleanly() -> None:
    provider = build_provider("serper", {}, {"SERPER_API_KEY": "clé"})

    async def run() -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(200))
        async with httpx.AsyncClient(transport=transport) as client:
            await provider.fetch(SearchRequest("q"), client)

    with pytest.raises(FetchError, match="SERPER_API_KEY has a non-ASCII character") as caught:
        asyncio.run(run())  # no UnicodeEncodeError from the header
    assert caught.value.kind == "auth"


# --- end to end: the CLI against a loopback API ----------------------------------------------

SERPER_KEY = "sk_live_serper_HEADER_9"  # sent in a header
SERPAPI_KEY = "sk/live+ECHO=42"  # sent in the query string, echoed by the API in titles


def echoing_route(seen: Seen) -> Reply:
    """Serper and SerpApi, each checking its key; SerpApi echoes it into two result titles."""
    if seen.path == "/search":
        if seen.headers.get("x-api-key") != SERPER_KEY:
            return json_reply({"message": f"Unauthorized: {seen.headers}"}, 401)
        return Reply(body=fixture("serper", "plain.json"))
    if seen.query.get("api_key") != SERPAPI_KEY:
        return json_reply({"error": f"Invalid API key: {seen.query}"}, 401)
    doc = json.loads(fixture("serpapi", "no_ads.json"))
    doc["organic_results"][0]["title"] = "ECHO_QUOTED"
    doc["organic_results"][1]["title"] = "ECHO_ESCAPED"
    doc["organic_results"][2]["title"] = "ECHO_UNICODE"
    body = json.dumps(doc)
    escaped = json.dumps(SERPAPI_KEY)[1:-1].replace("/", "\\/")
    body = body.replace("ECHO_QUOTED", f"Results for key {quote(SERPAPI_KEY, safe='')}")
    body = body.replace("ECHO_ESCAPED", f"Results for key {escaped}")
    body = body.replace("ECHO_UNICODE", "Results for key \\u0073k\\/live\\u002bECHO=42")
    return Reply(body=body.encode())


def keys_campaign(folder: Path, url: str) -> Path:
    lines = ["[campaign]", 'name = "keys"', "[defaults]", 'country = "us"', 'language = "en"']
    lines += ["depth = 5", 'provider = "serpapi"']
    for name in ("serpapi", "serper"):
        lines += [f"[providers.{name}]", f'base_url = "{url}"']
        lines += ["[[keywords]]", f'query = "acme {name}"', f'provider = "{name}"']
    path = folder / "keys.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_keys_with_line_endings_work_and_echoed_keys_are_stored_masked(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERPER_API_KEY", SERPER_KEY + "\r\n")  # pasted from a Windows file
    monkeypatch.setenv("SERPAPI_API_KEY", SERPAPI_KEY + "\n")
    db = tmp_path / "keys.db"
    with loopback(echoing_route) as server:
        applied = runner.invoke(
            cli, ["apply", str(keys_campaign(tmp_path, base_url(server))), "--db", str(db)]
        )
        assert applied.exit_code == 0, applied.output
        args = ["check", "--db", str(db), "--allow-live-past"]
        checked = runner.invoke(cli, [*args, "--as-of", "2026-03-03T07:00:00Z"])
        as_json = runner.invoke(cli, [*args, "--as-of", "2026-03-04T07:00:00Z", "--json"])
        history = runner.invoke(cli, ["history", "keys", "--db", str(db), "--json"])
    assert checked.exit_code == 0, checked.output
    assert "2 checks: 2 ok" in checked.stdout
    assert as_json.exit_code == 0 and [c["status"] for c in json.loads(as_json.stdout)] == [
        "ok",
        "ok",
    ]
    engine = store.connect(str(db))
    with engine.connect() as connection:
        titles = [
            row[0]
            for row in connection.execute(
                text("SELECT title FROM results WHERE title LIKE '%key%'")
            )
        ]
        payloads = [
            body
            for check_id in connection.execute(text("SELECT id FROM checks")).scalars()
            for _, body in _payloads(engine, check_id)
        ]
    engine.dispose()
    assert sorted(set(titles)) == [f"Results for key {MASK}"]
    assert len(titles) == 6  # three titles, two checks
    outputs = {
        "check": checked.stdout + checked.stderr,
        "check --json": as_json.stdout + as_json.stderr,
        "history": history.stdout + history.stderr,
        "titles": "\n".join(titles),
    }
    blobs = {str(p): p.read_bytes() for p in tmp_path.glob("keys.db*")}
    blobs.update({f"payload {n}": body for n, body in enumerate(payloads)})
    assert len(payloads) == 4
    for secret in (SERPER_KEY, SERPAPI_KEY):
        for how, form in spellings(secret).items():
            for where, output in outputs.items():
                assert form not in output, f"{how} {form!r} leaked into {where}"
            for where, blob in blobs.items():
                assert form.encode() not in blob, f"{how} {form!r} leaked into {where}"
    assert b"sk\\/live" not in b"".join(payloads) and b"\\u0073k" not in b"".join(payloads)


def _payloads(engine: Engine, check_id: int) -> list[tuple[str, bytes]]:
    with Session(engine) as session:
        return [(name, body) for name, body in store.load_payloads(session, check_id)]


@pytest.mark.parametrize(
    ("value", "problem"),
    [("sk live", "whitespace inside it"), ("clé", "a non-ASCII character")],
)
def test_an_unusable_key_is_one_clear_error_and_no_request(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("SERPER_API_KEY", value)
    monkeypatch.setenv("SERPAPI_API_KEY", SERPAPI_KEY)
    db = tmp_path / "keys.db"
    with loopback(echoing_route) as server:
        path = keys_campaign(tmp_path, base_url(server))
        assert runner.invoke(cli, ["apply", str(path), "--db", str(db)]).exit_code == 0
        checked = runner.invoke(cli, ["check", "--db", str(db), "--allow-live-past"])
        requests = len(server.seen)
    assert checked.exit_code == 1
    assert checked.stderr == (
        f"Error: provider 'serper' cannot use its key: SERPER_API_KEY has {problem}; a key is "
        "printable ASCII with no spaces, so set it again with: export SERPER_API_KEY=...\n"
    )
    assert value not in checked.output and requests == 0
