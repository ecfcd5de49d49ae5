"""Answer engines (Perplexity, OpenAI): the request, cited sources in order, faults, replay."""

from __future__ import annotations

import json
from typing import Any

import pytest

from serptrack.errors import FetchError, MissingKeyError
from serptrack.parsers import BadResponseError, parse_content
from serptrack.providers import PROVIDERS, SearchRequest, SettingError, build_provider

from .providers_support import Expect, Script, attach, fetch, fetch_error, fixture, placements

KEYS = {"perplexity": "pplx-secret-key-1234", "openai": "sk-openai-secret-key-1234"}
ENV = {"PERPLEXITY_API_KEY": KEYS["perplexity"], "OPENAI_API_KEY": KEYS["openai"]}
PATHS = {"perplexity": "/chat/completions", "openai": "/v1/responses"}
ANSWERS = {"perplexity": "answer.json", "openai": "answer.json"}
ENGINES = sorted(KEYS)


def request(engine: str, **fields: Any) -> SearchRequest:
    return SearchRequest("acme recall", engine=engine, country="us", language="en", **fields)


def provider(name: str, **settings: object) -> Any:
    made = build_provider(name, settings, ENV)
    attach(made)
    return made


def perplexity_body(content: str = "acme recall", model: str = "sonar") -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "web_search_options": {"user_location": {"country": "US"}},
    }


def openai_body(content: str = "acme recall", model: str = "gpt-4.1-mini") -> dict[str, Any]:
    tool = {"type": "web_search", "user_location": {"type": "approximate", "country": "US"}}
    return {"model": model, "tools": [tool], "input": content}


BODIES = {"perplexity": perplexity_body, "openai": openai_body}


def call(name: str, body: bytes, status: int = 200, **headers: str) -> Expect:
    """The one request a check makes: POST, bearer key, JSON body, no query string."""
    return Expect(
        "POST",
        PATHS[name],
        headers={"authorization": f"Bearer {KEYS[name]}", "content-type": "application/json"},
        json_body=BODIES[name](),
        status=status,
        body=body,
        response_headers=headers,
    )


def test_perplexity_sources_are_ai_answer_items_in_citation_order_each_url_once() -> None:
    fetched = fetch(
        provider("perplexity"),
        request("perplexity"),
        Script(call("perplexity", fixture("perplexity", "answer.json"))),
    )
    assert placements(fetched) == [
        ("ai_answer", None, 1, 1, "https://news.example/2026/03/acme-recall"),
        ("ai_answer", None, 2, 2, "https://consumerwatch.example/acme/kettle-2000"),
        ("ai_answer", None, 3, 3, "https://lawfirm.example/acme-class-action"),
        ("ai_answer", None, 4, 4, "https://acme.example/recall"),
    ]
    results = fetched.snapshot.results
    assert results[0].title == "Acme recalls Kettle 2000 over overheating base"
    assert results[3].title == "Kettle 2000 recall – Acme"
    snapshot = fetched.snapshot
    assert (snapshot.engine, snapshot.source, snapshot.query) == (
        "perplexity",
        "perplexity",
        "acme recall",
    )
    assert snapshot.observed_at is not None
    assert snapshot.observed_at.isoformat() == "2026-03-03T07:00:03+00:00"
    # the answer text is evidence only: in the raw page, in no item
    answer = "the base can overheat"
    assert answer.encode() in fetched.pages[0].body
    assert not any(answer in item.title + item.snippet for item in results)


def test_perplexity_without_citations_reads_search_results_in_order() -> None:
    script = Script(call("perplexity", fixture("perplexity", "search_results_only.json")))
    fetched = fetch(provider("perplexity"), request("perplexity"), script)
    assert [(r[2], r[4]) for r in placements(fetched)] == [
        (1, "https://acme.example/recall"),
        (2, "https://news.example/2026/03/acme-recall"),
    ]


def test_openai_sources_follow_the_text_order_each_url_once() -> None:
    fetched = fetch(
        provider("openai"),
        request("openai"),
        Script(call("openai", fixture("openai", "answer.json"))),
    )
    assert placements(fetched) == [
        ("ai_answer", None, 1, 1, "https://news.example/2026/03/acme-recall?utm_source=openai"),
        ("ai_answer", None, 2, 2, "https://acme.example/recall?utm_source=openai"),
        ("ai_answer", None, 3, 3, "https://lawfirm.example/acme-class-action?utm_source=openai"),
    ]
    assert [item.title for item in fetched.snapshot.results] == [
        "Acme recalls Kettle 2000 over overheating base",
        "Kettle 2000 recall – Acme",
        "Acme Kettle 2000 class action",
    ]
    assert all(item.snippet == "" for item in fetched.snapshot.results)
    assert fetched.snapshot.engine == "openai"


@pytest.mark.parametrize("name", ENGINES)
def test_the_prompt_template_is_filled_with_the_query(name: str) -> None:
    expect = call(name, fixture(name, ANSWERS[name]))
    expect.json_body = BODIES[name]("What happened with acme recall?")
    fetch(provider(name), request(name, prompt="What happened with {query}?"), Script(expect))


@pytest.mark.parametrize("name", ENGINES)
def test_the_model_setting_and_no_country(name: str) -> None:
    expect = call(name, fixture(name, ANSWERS[name]))
    body = BODIES[name](model="custom-model-1")
    body.pop("web_search_options", None)
    for tool in body.get("tools", []):
        tool.pop("user_location")
    expect.json_body = body
    made = provider(name, model="custom-model-1")
    fetch(made, SearchRequest("acme recall", engine=name, device="mobile"), Script(expect))


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        ("perplexity", "no_sources.json"),
        ("openai", "no_citations.json"),
        ("openai", "refusal.json"),
    ],
)
def test_an_answer_that_cites_nothing_is_an_ok_page_with_no_results(name: str, doc: str) -> None:
    fetched = fetch(provider(name), request(name), Script(call(name, fixture(name, doc))))
    assert fetched.snapshot.results == []


@pytest.mark.parametrize(
    ("name", "doc", "kind", "message"),
    [
        (
            "perplexity",
            {"choices": [], "citations": []},
            "bad-response",
            "Perplexity sent no answer (an empty or missing 'choices' list): nothing it cites "
            "can be read",
        ),
        (
            "perplexity",
            {"choices": [{"message": {"content": ""}, "finish_reason": "stop"}], "citations": []},
            "bad-response",
            "Perplexity sent an answer with no text (finish_reason: stop): not an answer",
        ),
        (
            "perplexity",
            {"error": {"message": "Internal failure", "code": 500}, "choices": []},
            "provider-error",
            "Perplexity returned an error: Internal failure",
        ),
        (
            "openai",
            json.loads(fixture("openai", "no_message.json")),
            "bad-response",
            "OpenAI sent no answer text ('output' has 1 item, no message with text): not an answer",
        ),
        (
            "openai",
            {"object": "response", "status": "completed", "output": []},
            "bad-response",
            "OpenAI sent no answer text ('output' has 0 items, no message with text): not an answer",
        ),
        (
            "openai",
            json.loads(fixture("openai", "incomplete.json")),
            "provider-error",
            "OpenAI left the answer incomplete (max_output_tokens); its sources are unknown, "
            "not absent",
        ),
        (
            "openai",
            {"object": "response", "status": "failed", "error": {"message": "Search failed"}},
            "provider-error",
            "OpenAI returned an error: Search failed",
        ),
    ],
)
def test_no_answer_is_a_failed_check_never_no_citation(
    name: str, doc: Any, kind: str, message: str
) -> None:
    script = Script(call(name, json.dumps(doc).encode()))
    error = fetch_error(provider(name), request(name), script)
    assert (error.kind, str(error)) == (kind, message)
    assert error.pages and error.pages[0].status_code == 200  # the evidence is kept


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "perplexity",
            "Perplexity rejected the key (HTTP 401): Invalid API key provided. You can find your "
            "API key at https://www.perplexity.ai/settings/api.; check PERPLEXITY_API_KEY",
        ),
        (
            "openai",
            "OpenAI rejected the key (HTTP 401): Incorrect API key provided: sk-proj-****1234. "
            "You can find your API key at https://platform.openai.com/account/api-keys.; check "
            "OPENAI_API_KEY",
        ),
    ],
)
def test_a_rejected_key_is_an_auth_failure_without_retry(name: str, message: str) -> None:
    error = fetch_error(
        provider(name), request(name), Script(call(name, fixture(name, "error_auth.json"), 401))
    )
    assert (error.kind, error.status_code, str(error)) == ("auth", 401, message)
    assert KEYS[name] not in str(error)


@pytest.mark.parametrize("name", ENGINES)
def test_429_is_retried_after_retry_after(name: str) -> None:
    made = provider(name)
    clock = attach(made)
    limited = json.dumps({"error": {"message": "Rate limit reached", "code": 429}}).encode()
    script = Script(
        call(name, limited, 429, **{"Retry-After": "7"}), call(name, fixture(name, ANSWERS[name]))
    )
    assert fetch(made, request(name), script).snapshot.results
    assert clock.sleeps == [7.0]


@pytest.mark.parametrize("name", ENGINES)
def test_a_persistent_429_fails_as_http_429(name: str) -> None:
    body = fixture("openai", "rate_limited.json")
    error = fetch_error(provider(name), request(name), Script(*(call(name, body, 429),) * 3))
    assert error.kind == "http-429"
    assert "gave up after 3 attempts" in str(error)
    assert f"lower rate_limit in [providers.{name}]" in str(error)
    assert "\n" not in str(error) and KEYS[name] not in str(error)


def test_openai_insufficient_quota_is_a_quota_failure_without_retry() -> None:
    script = Script(call("openai", fixture("openai", "insufficient_quota.json"), 429))
    error = fetch_error(provider("openai"), request("openai"), script)
    assert error.kind == "quota"
    assert str(error) == (
        "OpenAI says the account has no quota left (HTTP 429): You exceeded your current quota, "
        "please check your plan and billing details.; check the plan and billing details"
    )


@pytest.mark.parametrize("name", ENGINES)
def test_500_is_retried_then_fails_with_the_status(name: str) -> None:
    body = b'{"error": {"message": "The server had an error"}}'
    script = Script(*(call(name, body, 500),) * 3)
    error = fetch_error(provider(name), request(name), script)
    assert error.kind == "http-500"
    assert "failed on its side (HTTP 500): The server had an error; try again later" in str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize("name", ENGINES)
def test_500_then_an_answer_succeeds(name: str) -> None:
    script = Script(call(name, b"{}", 500), call(name, fixture(name, ANSWERS[name])))
    assert fetch(provider(name), request(name), script).snapshot.results


@pytest.mark.parametrize("name", ENGINES)
def test_a_truncated_body_is_bad_response(name: str) -> None:
    cut = fixture(name, ANSWERS[name])[:200]
    error = fetch_error(provider(name), request(name), Script(*(call(name, cut),) * 3))
    assert error.kind == "bad-response"
    assert str(error).startswith(
        f"{provider(name).display_name()} answered with a cut-off or invalid JSON body (HTTP 200)"
    )


def test_a_bad_model_names_the_setting() -> None:
    script = Script(call("perplexity", fixture("perplexity", "error_model.json"), 400))
    error = fetch_error(provider("perplexity"), request("perplexity"), script)
    assert error.kind == "provider-error"
    assert str(error).endswith("; check model in [providers.perplexity] (now 'sonar')")


@pytest.mark.parametrize("name", ENGINES)
def test_settings_keys_and_capabilities(name: str) -> None:
    cls = PROVIDERS[name]
    assert cls.answer_engine and cls.uses_http and cls.engines == (name,)
    assert [str(p) for p in cls.placements] == ["ai_answer"]
    with pytest.raises(SettingError, match="is not a model name"):
        cls.check_settings({"model": "two words"}, None)  # type: ignore[arg-type]
    with pytest.raises(MissingKeyError, match=cls.key_env[0]):
        build_provider(name, {}, {}).require_keys()
    assert build_provider(name, {}, ENV).secrets() == [KEYS[name]]


@pytest.mark.parametrize("name", ENGINES)
def test_a_location_is_refused(name: str) -> None:
    error = fetch_error(provider(name), request(name, location="Austin, Texas"), Script())
    assert error.kind == "unsupported"


@pytest.mark.parametrize("name", ENGINES)
def test_a_recorded_answer_replays_to_the_same_sources(name: str) -> None:
    script = Script(call(name, fixture(name, ANSWERS[name])))
    fetched = fetch(provider(name), request(name), script)
    replayed = parse_content(fetched.pages[0].body)
    assert replayed.to_json()["results"] == fetched.snapshot.to_json()["results"]
    assert replayed.engine == name


def test_the_parsers_claim_only_their_own_payloads() -> None:
    from serptrack.parsers.openai import is_openai_response
    from serptrack.parsers.perplexity import is_perplexity

    assert is_perplexity(json.loads(fixture("perplexity", "answer.json")))
    assert not is_perplexity(json.loads(fixture("openai", "answer.json")))
    assert is_openai_response(json.loads(fixture("openai", "answer.json")))
    assert not is_openai_response(json.loads(fixture("perplexity", "answer.json")))
    assert not is_perplexity(json.loads(fixture("serpapi", "page1.json")))


def test_a_wrong_shape_is_bad_response() -> None:
    with pytest.raises(BadResponseError, match="'citations' as a string"):
        parse_content(
            json.dumps({"choices": [{"message": {"content": "x"}}], "citations": "x"}).encode()
        )
    with pytest.raises(FetchError, match="'output' as an object"):
        parse_content(json.dumps({"object": "response", "output": {}}).encode())
