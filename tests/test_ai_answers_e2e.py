"""Who AI answers cite, end to end from the CLI against loopback mocks of each API (issue 16).

One campaign asks the same query four ways, each with ``samples = 3``: Google through SerpApi
(its AI overview deferred to a ``page_token`` follow-up), Google AI mode through SerpApi,
Perplexity and OpenAI. Every second call of each API cites another site instead of the
official page, so two samples of three cite the official side and all three a critical one.
Then: every cited source is stored with its stance (``history --json``), ``status --json``
gives the shares with their Wilson intervals (checked against the history rows themselves),
and the report carries and draws them.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from serptrack.cli import cli

from .loopback_server import Reply, Seen, base_url, loopback
from .providers_support import fixture
from .test_report import figures
from .test_report_ai import share_document

KEYS = {
    "SERPAPI_API_KEY": "sk-serpapi-e2e-1111",
    "PERPLEXITY_API_KEY": "pplx-e2e-2222",
    "OPENAI_API_KEY": "sk-openai-e2e-3333",
}
AS_OF = "2026-03-03T07:00:00Z"
#: (provider, engine) of each keyword -> the placement its answers' sources are stored as
KEYWORDS = {
    ("serpapi", "google"): "ai_overview",
    ("serpapi", "google_ai_mode"): "ai_mode",
    ("perplexity", "perplexity"): "ai_answer",
    ("openai", "openai"): "ai_answer",
}
OFFICIAL = b"acme.example/recall"


def campaign(folder: Path, url: str) -> Path:
    lines = [
        '[campaign]\nname = "answers"',
        '[defaults]\ncountry = "us"\nlanguage = "en"\nsamples = 3',
        *(
            f'[providers.{name}]\nbase_url = "{url}"'
            for name in ("serpapi", "perplexity", "openai")
        ),
        '[labels]\nofficial = ["acme.example"]\ncritical = ["lawfirm.example", "news.example"]',
    ]
    for provider, engine in KEYWORDS:
        lines.append(
            f'[[keywords]]\nquery = "acme recall"\nprovider = "{provider}"\nengine = "{engine}"'
        )
    path = folder / "answers.toml"
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return path


class Apis:
    """SerpApi, Perplexity and OpenAI on one loopback server; each answer kind counts its
    calls, and every second one cites other.example instead of the official page."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, seen: Seen) -> Reply:
        if seen.path == "/search.json":
            engine = seen.query["engine"]
            if engine == "google":  # the search defers its overview to a second request
                return Reply(body=fixture("serpapi", "deferred.json"))
            assert seen.query["page_token"] if engine == "google_ai_overview" else True
            name = {"google_ai_overview": "ai_overview.json", "google_ai_mode": "ai_mode.json"}
            return self._varied(engine, fixture("serpapi", name[engine]))
        if seen.path == "/chat/completions":
            return self._varied("perplexity", fixture("perplexity", "answer.json"))
        assert seen.path == "/v1/responses", seen.path
        return self._varied("openai", fixture("openai", "answer.json"))

    def _varied(self, kind: str, body: bytes) -> Reply:
        with self._lock:
            self.calls[kind] += 1
            number = self.calls[kind]
        if number % 2 == 0:
            body = body.replace(OFFICIAL, b"other.example/recall")
        return Reply(body=body)


def run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(cli, list(args))


def test_ai_overview_ai_mode_and_answer_engines_sampled_three_times(
    runner: CliRunner, tmp_path: Path, monkeypatch: Any
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    db = tmp_path / "answers.db"
    apis = Apis()
    with loopback(apis) as server:
        applied = run(runner, "apply", str(campaign(tmp_path, base_url(server))), "--db", str(db))
        assert applied.exit_code == 0, applied.output
        checked = run(
            runner, "check", "--db", str(db), "--as-of", AS_OF, "--allow-live-past", "--json"
        )
    assert checked.exit_code == 0, checked.output
    outcomes = json.loads(checked.stdout)
    assert sorted((o["provider"], o["engine"], o["status"], o["samples_ok"]) for o in outcomes) == [
        (provider, engine, "ok", 3) for provider, engine in sorted(KEYWORDS)
    ]
    # what was paid for: the Google keyword's three searches each deferred its overview
    pages = {(o["provider"], o["engine"]): o["pages"] for o in outcomes}
    assert pages == {
        ("serpapi", "google"): 6,
        ("serpapi", "google_ai_mode"): 3,
        ("perplexity", "perplexity"): 3,
        ("openai", "openai"): 3,
    }
    # each API answered three samples (the deferred overview: three follow-ups)
    assert apis.calls == {
        "google_ai_overview": 3,
        "google_ai_mode": 3,
        "perplexity": 3,
        "openai": 3,
    }

    # every cited source is stored, per sample, with its stance
    history = run(runner, "history", "answers", "--db", str(db), "--json")
    assert history.exit_code == 0, history.output
    rows = [r for r in json.loads(history.stdout) if r["placement"] in set(KEYWORDS.values())]
    cited: dict[tuple[str, str], dict[int, set[str]]] = {}
    for row in rows:
        assert row["stance"] in ("official", "critical", "neutral")
        if row["domain"] == "acme.example":
            assert row["stance"] == "official"
        by_sample = cited.setdefault((row["provider"], row["engine"]), {})
        by_sample.setdefault(row["sample"], set()).add(row["stance"])
    assert sorted(cited) == sorted(KEYWORDS)
    for samples in cited.values():
        assert sorted(samples) == [1, 2, 3]
        assert ["official" in stances for _, stances in sorted(samples.items())] == [
            True,
            False,
            True,
        ]
        assert all("critical" in stances for stances in samples.values())

    # status --json: the shares over the samples, with their 95% Wilson intervals
    status = run(runner, "status", "answers", "--db", str(db), "--json")
    assert status.exit_code == 0, status.output
    keywords = json.loads(status.stdout)["keywords"]
    assert len(keywords) == 4
    provider_of = {engine: provider for provider, engine in KEYWORDS}  # one keyword per engine
    for keyword in keywords:
        keyword["provider"] = provider_of[keyword["engine"]]
        placement = KEYWORDS[(keyword["provider"], keyword["engine"])]
        shares = keyword["ai"][placement]
        assert shares["samples"] == 3
        assert shares["cites_official"] == share_document(2, 3)
        assert shares["cites_critical"] == share_document(3, 3)
        stances = [
            r["stance"]
            for r in rows
            if (r["provider"], r["engine"]) == (keyword["provider"], keyword["engine"])
        ]
        assert shares["citations"] == len(stances)
        for stance in ("official", "critical", "neutral"):
            assert shares["by_stance"][stance] == share_document(
                stances.count(stance), len(stances)
            )

    # the report carries the same shares and draws one AI chart per keyword
    out = tmp_path / "answers.json"
    made = run(
        runner,
        "report",
        "answers",
        "--month",
        "2026-03",
        "--db",
        str(db),
        "--out",
        str(out),
        "--format",
        "json",
    )
    assert made.exit_code == 0, made.output
    document = json.loads(out.read_text(encoding="utf-8"))
    by_keyword = {(k["provider"], k["engine"]): k for k in document["keywords"]}
    for keyword in keywords:
        placement = KEYWORDS[(keyword["provider"], keyword["engine"])]
        ai = by_keyword[(keyword["provider"], keyword["engine"])]["ai"]
        assert (ai["samples"], ai["failed_samples"]) == (3, 0)
        assert ai["placements"][placement] == keyword["ai"][placement]
    page = tmp_path / "answers.html"
    made = run(
        runner, "report", "answers", "--month", "2026-03", "--db", str(db), "--out", str(page)
    )
    assert made.exit_code == 0, made.output
    charts = figures(page.read_text(encoding="utf-8"))
    assert sorted(name for name in charts if name.startswith("ai-")) == [
        "ai-0",
        "ai-1",
        "ai-2",
        "ai-3",
    ]
