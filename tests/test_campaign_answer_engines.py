"""Answer-engine keywords in a campaign file: their engine by default, the prompt template."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from serptrack import store, tracker
from serptrack.campaign import parse_campaign
from serptrack.errors import CampaignFileError

HEAD = '[campaign]\nname = "ai"\n'
AS_OF = dt.datetime(2026, 3, 3, 7, tzinfo=dt.UTC)


def keywords(text: str, tmp_path: Path) -> list[tuple[str, str, str, str]]:
    """(query, provider, engine, prompt) of each keyword of campaign ``text``."""
    spec = parse_campaign(HEAD + text, "ai.toml", base_dir=tmp_path, environ={})
    return [(k.query, k.provider, k.engine, k.prompt) for k in spec.keywords]


def refusal(text: str, tmp_path: Path) -> str:
    with pytest.raises(CampaignFileError) as caught:
        parse_campaign(HEAD + text, "ai.toml", base_dir=tmp_path, environ={})
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_an_answer_engine_keyword_defaults_to_its_own_engine(tmp_path: Path) -> None:
    text = (
        '[defaults]\nprovider = "serpapi"\n'
        '[[keywords]]\nquery = "acme recall"\n'
        '[[keywords]]\nquery = "acme recall"\nprovider = "perplexity"\n'
        '[[keywords]]\nquery = "acme recall"\nprovider = "openai"\n'
        '[[keywords]]\nquery = "acme brave"\nprovider = "brave"\nengine = "brave"\n'
    )
    assert keywords(text, tmp_path) == [
        ("acme recall", "serpapi", "google", ""),
        ("acme recall", "perplexity", "perplexity", ""),
        ("acme recall", "openai", "openai", ""),
        ("acme brave", "brave", "brave", ""),
    ]


def test_an_explicit_engine_an_answer_engine_cannot_serve_is_refused(tmp_path: Path) -> None:
    text = '[defaults]\nengine = "google"\n[[keywords]]\nquery = "acme"\nprovider = "perplexity"\n'
    assert refusal(text, tmp_path) == (
        "ai.toml: keywords #1 ('acme', line 5): provider 'perplexity' (Perplexity) serves only "
        'perplexity results, not google (engine = "google" in [defaults], line 4); set engine = '
        '"perplexity" or use a provider that serves google: dataforseo, google_cse, searxng, '
        "serpapi, serper, valueserp"
    )
    text = '[[keywords]]\nquery = "acme"\nprovider = "serpapi"\nengine = "openai"\n'
    assert refusal(text, tmp_path).endswith(
        'set engine = "google" or use a provider that serves openai: openai'
    )


def test_a_search_provider_keyword_keeps_google_by_default_and_its_old_errors(
    tmp_path: Path,
) -> None:
    text = '[[keywords]]\nquery = "acme"\nprovider = "brave"\n'
    assert "serves only brave results, not google" in refusal(text, tmp_path)
    text = '[[keywords]]\nquery = "acme"\nprovider = "serper"\ndevice = "mobile"\n'
    assert refusal(text, tmp_path).endswith(
        "or use a provider that can: dataforseo, serpapi, valueserp"
    )  # no answer engine offered for a Google search


def test_the_prompt_comes_from_defaults_or_the_keyword(tmp_path: Path) -> None:
    text = (
        '[defaults]\nprovider = "perplexity"\nprompt = "What happened with {query}?"\n'
        '[[keywords]]\nquery = "acme recall"\n'
        '[[keywords]]\nquery = "acme kettle"\nprompt = "Is {query} safe?"\n'
        '[[keywords]]\nquery = "acme recall"\nprovider = "serpapi"\n'
        '[[keywords]]\nquery = "acme"\nprompt = ""\n'
    )
    assert keywords(text, tmp_path) == [
        ("acme recall", "perplexity", "perplexity", "What happened with {query}?"),
        ("acme kettle", "perplexity", "perplexity", "Is {query} safe?"),
        ("acme recall", "serpapi", "google", ""),  # a search API ignores the defaults' prompt
        ("acme", "perplexity", "perplexity", ""),  # "" asks the query itself
    ]


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        (
            "What happened with acme?",
            "a prompt must say where the query goes with {query}; "
            'e.g. prompt = "What happened with {query}?"',
        ),
        (
            "What about {topic} and {query}?",
            "a prompt may hold no brace but those of {query}; remove the others "
            '(e.g. prompt = "What happened with {query}?")',
        ),
        ("{query} }", "a prompt may hold no brace but those of {query}"),
    ],
)
def test_a_bad_prompt_is_refused_with_its_fix(tmp_path: Path, prompt: str, message: str) -> None:
    text = f'[[keywords]]\nquery = "acme"\nprovider = "openai"\nprompt = "{prompt}"\n'
    found = refusal(text, tmp_path)
    assert found.startswith("ai.toml: keywords #1 ('acme').prompt (line 6): "), found
    assert message in found


def test_a_prompt_on_a_search_provider_keyword_is_refused(tmp_path: Path) -> None:
    text = '[[keywords]]\nquery = "acme"\nprovider = "serpapi"\nprompt = "About {query}"\n'
    assert refusal(text, tmp_path) == (
        "ai.toml: keywords #1 ('acme', line 3): prompt is for answer engines (openai, "
        "perplexity), not provider 'serpapi'; remove prompt from this keyword"
    )


def test_the_prompt_is_stored_updated_and_asked_but_no_part_of_the_identity(
    engine: Engine, tmp_path: Path
) -> None:
    def apply(prompt: str) -> store.ApplySummary:
        text = f'[[keywords]]\nquery = "acme recall"\nprovider = "openai"\n{prompt}'
        spec = parse_campaign(HEAD + text, "ai.toml", base_dir=tmp_path, environ={})
        return store.apply_campaign(engine, spec)

    apply("")
    summary = apply('prompt = "What happened with {query}?"\n')
    assert summary.keywords_updated == ["acme recall"] and not summary.keywords_added
    with Session(engine) as session:
        campaign = store.get_campaign(session, "ai")
        (task,) = tracker.plan_checks(session, campaign, AS_OF)
    assert task.request.prompt_text == "What happened with acme recall?"
    assert (task.request.engine, task.request.query) == ("openai", "acme recall")
