"""Perplexity and OpenAI keywords end to end: check --record over loopback, history, replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from serptrack.cli import cli

from .loopback_server import Reply, Seen, base_url, json_reply, loopback
from .providers_support import fixture
from .test_secrets import forms

KEYS = {"PERPLEXITY_API_KEY": "pplx-LEAK-e2e-1111", "OPENAI_API_KEY": "sk-openai-LEAK-e2e-2222"}
AS_OF = "2026-03-03T07:00:00Z"
LABELS = (
    '[labels]\nofficial = ["acme.example"]\n'
    'critical = ["lawfirm.example", "https://news.example/2026/03/acme-recall"]\n'
)


def campaign(folder: Path, url: str) -> Path:
    """A Perplexity keyword and an OpenAI keyword (no engine named), a prompt in [defaults]."""
    path = folder / "ai.toml"
    path.write_text(
        '[campaign]\nname = "ai"\n[defaults]\ncountry = "us"\nlanguage = "en"\n'
        'prompt = "What happened with {query}?"\n'
        f'[providers.perplexity]\nbase_url = "{url}"\n'
        f'[providers.openai]\nbase_url = "{url}"\nmodel = "gpt-4.1-mini"\n'
        '[[keywords]]\nquery = "acme recall"\nprovider = "perplexity"\n'
        # Replay file names carry no engine (SPEC section 5): two engines asked the same query
        # would record to one file, so the OpenAI keyword asks another.
        '[[keywords]]\nquery = "acme kettle"\nprovider = "openai"\n' + LABELS,
        encoding="utf-8",
    )
    return path


def route(asked: list[tuple[str, Any]]) -> Any:
    """Both APIs on loopback; each request's path and JSON body is noted in ``asked``."""

    def answer(seen: Seen) -> Reply:
        body = json.loads(seen.body)
        asked.append((seen.path, body))
        if seen.path == "/chat/completions":
            assert seen.headers["authorization"] == f"Bearer {KEYS['PERPLEXITY_API_KEY']}"
            return Reply(body=fixture("perplexity", "answer.json"))
        assert seen.path == "/v1/responses"
        assert seen.headers["authorization"] == f"Bearer {KEYS['OPENAI_API_KEY']}"
        doc = json.loads(fixture("openai", "answer.json"))
        doc["output"][1]["content"][0]["text"] += f" <script>{seen.headers['authorization']}"
        return json_reply(doc)

    return answer


def run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(cli, list(args))


def history(runner: CliRunner, name: str, db: Path) -> list[dict[str, Any]]:
    result = run(runner, "history", name, "--db", str(db), "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_answer_engine_keywords_store_cited_sources_with_stances(
    runner: CliRunner, tmp_path: Path, monkeypatch: Any
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    db, recorded = tmp_path / "ai.db", tmp_path / "recorded"
    asked: list[tuple[str, Any]] = []
    with loopback(route(asked)) as server:
        applied = run(runner, "apply", str(campaign(tmp_path, base_url(server))), "--db", str(db))
        assert applied.exit_code == 0, applied.output
        checked = run(
            runner, "check", "--db", str(db), "--record", str(recorded), "--as-of", AS_OF,
            "--allow-live-past", "--json",
        )  # fmt: skip
    assert checked.exit_code == 0, checked.output
    outcomes = json.loads(checked.stdout)
    assert sorted((o["provider"], o["engine"], o["status"], o["results"]) for o in outcomes) == [
        ("openai", "openai", "ok", 3),
        ("perplexity", "perplexity", "ok", 4),
    ]
    prompt = "What happened with {}?"
    assert sorted(asked, key=lambda a: a[0]) == [
        (
            "/chat/completions",
            {
                "model": "sonar",
                "messages": [{"role": "user", "content": prompt.format("acme recall")}],
                "web_search_options": {"user_location": {"country": "US"}},
            },
        ),
        (
            "/v1/responses",
            {
                "model": "gpt-4.1-mini",
                "tools": [
                    {
                        "type": "web_search",
                        "user_location": {"type": "approximate", "country": "US"},
                    }
                ],
                "input": prompt.format("acme kettle"),
            },
        ),
    ]
    rows = history(runner, "ai", db)
    cited = sorted(
        (r["provider"], r["placement"], r["rank"], r["domain"], r["stance"]) for r in rows
    )
    assert cited == [
        ("openai", "ai_answer", 1, "news.example", "critical"),
        ("openai", "ai_answer", 2, "acme.example", "official"),
        ("openai", "ai_answer", 3, "lawfirm.example", "critical"),
        ("perplexity", "ai_answer", 1, "news.example", "critical"),
        ("perplexity", "ai_answer", 2, "consumerwatch.example", "neutral"),
        ("perplexity", "ai_answer", 3, "lawfirm.example", "critical"),
        ("perplexity", "ai_answer", 4, "acme.example", "official"),
    ]
    assert {(r["provider"], r["query"], r["status"]) for r in rows} == {
        ("perplexity", "acme recall", "ok"),
        ("openai", "acme kettle", "ok"),
    }
    assert not any("can overheat" in (r["title"] or "") for r in rows)  # the answer is no title
    # The recordings replay to the same sources, and hold no key.
    files = sorted(p for p in recorded.rglob("*.json"))
    assert len(files) == 2
    for file in files:
        for value in KEYS.values():
            assert not any(form.encode() in file.read_bytes() for form in forms(value))
    replay = tmp_path / "replayed.toml"
    replay.write_text(
        '[campaign]\nname = "replayed"\n[defaults]\nprovider = "replay"\ncountry = "us"\n'
        f'language = "en"\n[providers.replay]\npath = "{recorded}"\n'
        '[[keywords]]\nquery = "acme recall"\nengine = "perplexity"\n'
        '[[keywords]]\nquery = "acme kettle"\nengine = "openai"\n' + LABELS,
        encoding="utf-8",
    )
    assert run(runner, "apply", str(replay), "--db", str(db)).exit_code == 0
    replayed = run(runner, "check", "replayed", "--db", str(db), "--as-of", AS_OF)
    assert replayed.exit_code == 0, replayed.output

    def seen(found: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        keys = ("query", "placement", "rank", "url", "title", "stance")
        return sorted(tuple(r[key] for key in keys) for r in found)

    assert seen(history(runner, "replayed", db)) == seen(rows)
