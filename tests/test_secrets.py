"""No API key reaches stdout, stderr, the database or recorded fixtures, even when an API echoes it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from serptrack import store
from serptrack.cli import cli
from serptrack.models import Check

from .loopback_server import Reply, Seen, base_url, json_reply, loopback
from .providers_support import fixture

KEYS = {
    "SERPAPI_API_KEY": "sk-serpapi-LEAK-1111",
    "SERPER_API_KEY": "sk-serper-LEAK-2222",
    "DATAFORSEO_LOGIN": "leak@acme.example",
    "DATAFORSEO_PASSWORD": "pw+LEAK/3333=&",  # no space: a key with one is refused
    "BRAVE_API_KEY": "sk-brave-LEAK-4444",
    "GOOGLE_CSE_KEY": "AIza-LEAK-5555",
    "GOOGLE_CSE_CX": "cx-LEAK-6666:abc",
    "VALUESERP_API_KEY": "sk-valueserp-LEAK-7777",
    "PERPLEXITY_API_KEY": "pplx-LEAK-8888",
    "OPENAI_API_KEY": "sk-openai-LEAK-9999",
}
PROVIDERS = [
    "serpapi",
    "serper",
    "dataforseo",
    "brave",
    "google_cse",
    "valueserp",
    "perplexity",
    "openai",
]
AI_MODE = ("serpapi", "dataforseo")  # the providers that serve engine google_ai_mode
OK = {
    "/search.json": ("serpapi", "no_ads.json"),
    "/v3/serp/google/organic/live/advanced": ("dataforseo", "live_no_ads.json"),
    "/v3/serp/google/ai_mode/live/advanced": ("dataforseo", "ai_mode.json"),
    "/res/v1/web/search": ("brave", "page1.json"),
    "/customsearch/v1": ("google_cse", "page3.json"),
    "/chat/completions": ("perplexity", "answer.json"),
    "/v1/responses": ("openai", "answer.json"),
}


def forms(secret: str) -> set[str]:
    """Every form a secret could be written in."""
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def leaked_forms() -> set[str]:
    found = set().union(*(forms(value) for value in KEYS.values()))
    basic = f"{KEYS['DATAFORSEO_LOGIN']}:{KEYS['DATAFORSEO_PASSWORD']}"
    found.add(base64.b64encode(basic.encode()).decode())
    return found


def route(seen: Seen) -> Reply:
    """Answer like each API; for "leak" queries, echo the whole request into an error body."""
    body = json.loads(seen.body) if seen.body else None
    query = seen.query.get("q") or (body.get("q") if isinstance(body, dict) else None)
    if isinstance(body, list):
        query = body[0]["keyword"]
    if isinstance(body, dict) and not query:  # an answer engine's prompt
        query = body.get("input") or body.get("messages", [{}])[0].get("content")
    if query and "leak" in query:
        echo = f"Invalid API key in {seen.method} {seen.path}?{seen.query} {seen.headers} {body}"
        return json_reply({"error": echo, "message": echo, "statusCode": 401}, 401)
    if seen.path == "/search" and seen.method == "POST":
        return Reply(body=fixture("serper", "plain.json"))
    if seen.query.get("engine") == "google_ai_mode":  # an answer citing a page titled by the key
        doc = json.loads(fixture("serpapi", "ai_mode.json"))
        doc["references"][0]["title"] = f"Recall {seen.query['api_key']}"
        return json_reply(doc)
    if seen.path == "/search":  # ValueSERP echoes the request URL, key included, in its metadata
        doc = json.loads(fixture("valueserp", "no_ads.json"))
        doc["search_metadata"]["json_url"] = f"https://api.valueserp.com/search?{seen.query}"
        return json_reply(doc)
    provider, name = OK[seen.path]
    return Reply(body=fixture(provider, name))


def campaign_file(folder: Path, url: str) -> Path:
    lines = ["[campaign]", 'name = "leaks"', "[defaults]", 'country = "us"', 'language = "en"']
    lines += ["depth = 5", 'provider = "serpapi"']
    for name in PROVIDERS:
        lines += [f"[providers.{name}]", f'base_url = "{url}"']
    for name in PROVIDERS:
        for query in (f"acme {name}", f"acme leak {name}"):
            lines += ["[[keywords]]", f'query = "{query}"', f'provider = "{name}"']
            if name == "brave":  # Brave serves its own results only
                lines.append('engine = "brave"')
    for name in AI_MODE:
        for query in (f"acme ai {name}", f"acme leak ai {name}"):
            lines += ["[[keywords]]", f'query = "{query}"', f'provider = "{name}"']
            lines.append('engine = "google_ai_mode"')
    path = folder / "leaks.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_no_key_in_output_database_or_recordings(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    db = tmp_path / "leaks.db"
    recorded = tmp_path / "recorded"
    with loopback(route) as server:
        path = campaign_file(tmp_path, base_url(server))
        applied = runner.invoke(cli, ["apply", str(path), "--db", str(db)])
        assert applied.exit_code == 0, applied.output
        checked = runner.invoke(
            cli,
            [
                "check",
                "--db",
                str(db),
                "--record",
                str(recorded),
                "--as-of",
                "2026-03-03T07:00:00Z",
                "--allow-live-past",
            ],
        )
        as_json = runner.invoke(
            cli,
            [
                "check",
                "--db",
                str(db),
                "--as-of",
                "2026-03-04T07:00:00Z",
                "--json",
                "--allow-live-past",
            ],
        )
        history = runner.invoke(cli, ["history", "leaks", "--db", str(db), "--json"])
    assert checked.exit_code == 1
    assert "20 checks: 10 ok, 10 failed or blocked." in checked.stdout
    assert "  auth: 10 (e.g. " in checked.stderr
    assert checked.stderr.strip().endswith("Error: 10 of 20 checks failed")
    assert as_json.exit_code == 1 and len(json.loads(as_json.stdout)) == 20
    assert history.exit_code == 0
    # The echoed requests did reach the store and the recordings, with every key masked.
    assert "Invalid API key in" in history.stdout and "***" in history.stdout
    assert '"placement": "ai_mode"' in history.stdout and "Recall ***" in history.stdout
    files = [p for p in recorded.rglob("*") if p.is_file()]
    assert len(files) == 20
    outputs = {
        "check stdout": checked.stdout,
        "check stderr": checked.stderr,
        "check --json": as_json.stdout + as_json.stderr,
        "history": history.stdout,
    }
    blobs = {str(p): p.read_bytes() for p in tmp_path.glob("leaks.db*")}
    blobs.update({str(p): p.read_bytes() for p in files})
    engine = store.connect(str(db))
    with Session(engine) as session:
        for check_id in session.exec(select(Check.id)):
            assert check_id is not None
            for number, (_, body) in enumerate(store.load_payloads(session, check_id)):
                blobs[f"payload {check_id}.{number}"] = body  # stored compressed
    engine.dispose()
    assert len([name for name in blobs if name.startswith("payload")]) == 40
    for form in leaked_forms():
        for where, output in outputs.items():
            assert form not in output, f"{form!r} leaked into {where}"
        for where, blob in blobs.items():
            assert form.encode() not in blob, f"{form!r} leaked into {where}"
