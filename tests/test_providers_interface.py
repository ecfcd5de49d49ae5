"""The provider interface is small; the HTTP machinery lives on HttpProvider only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from serptrack.fetch import Fetcher
from serptrack.providers import (
    PROVIDERS,
    Fetched,
    HttpProvider,
    Provider,
    RawPage,
    SearchRequest,
    SettingError,
    base,
    build_provider,
)
from serptrack.providers.replay import ReplayProvider

HTTP_PROVIDERS = [
    "brave",
    "dataforseo",
    "google_cse",
    "openai",
    "perplexity",
    "searxng",
    "serpapi",
    "serper",
    "valueserp",
]


def test_the_interface_is_one_abstract_method() -> None:
    assert Provider.__abstractmethods__ == frozenset({"fetch"})
    assert not hasattr(Provider, "get_json") and not hasattr(Provider, "page_request")
    assert (base.Fetched, base.RawPage, base.SearchRequest) == (Fetched, RawPage, SearchRequest)


def test_every_http_api_derives_from_the_http_base() -> None:
    assert sorted(name for name, cls in PROVIDERS.items() if issubclass(cls, HttpProvider)) == (
        HTTP_PROVIDERS
    )
    assert all(PROVIDERS[name].uses_http for name in HTTP_PROVIDERS)


def test_replay_has_no_http_machinery(tmp_path: Path) -> None:
    assert not issubclass(ReplayProvider, HttpProvider)
    replay = build_provider("replay", {"path": str(tmp_path)}, {})
    replay.attach(Fetcher())
    assert not hasattr(replay, "fetcher") and replay.secrets() == []
    with pytest.raises(SettingError, match=r"unknown setting 'base_url' \(known: path\)"):
        ReplayProvider.check_settings({"base_url": "http://x"}, tmp_path)


def test_http_settings_are_still_checked(tmp_path: Path) -> None:
    cls = PROVIDERS["serpapi"]
    assert cls.check_settings({"rate_limit": 2, "timeout": 5.0}, tmp_path) == {
        "rate_limit": 2,
        "timeout": 5.0,
    }
    with pytest.raises(SettingError, match="rate_limit must be a positive number"):
        cls.check_settings({"rate_limit": 0}, tmp_path)
    with pytest.raises(SettingError, match="must start with http:// or https://"):
        cls.check_settings({"base_url": "serpapi.com"}, tmp_path)


PARAMS: dict[str, Any] = {
    "q": "acme rappel é & co #1 100% [x]:@!$'()*,;",
    "gl": "fr",
    "num": 10,
    "safe": True,
    "off": False,
    "tags": ["a", "b c"],
    "empty": "",  # dropped, as None is
    "none": None,
}


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8080", "https://api.example/v1", "https://api.example/v1?fixed=1"],
)
def test_a_request_carries_its_parameters_as_httpx_would_merge_them(base_url: str) -> None:
    provider = build_provider("serpapi", {"base_url": base_url}, {"SERPAPI_API_KEY": "k"})
    assert isinstance(provider, HttpProvider)
    wanted = {k: v for k, v in PARAMS.items() if v not in (None, "")}
    clients = [httpx.AsyncClient(), httpx.AsyncClient(params={"client": "x", "gl": "us"})]
    for client in clients:
        built = provider.build_request(client, "GET", "/search.json", params=PARAMS)
        merged = client.build_request("GET", f"{base_url}/search.json", params=wanted)
        assert (built.url, built.url.raw_path, built.headers.raw) == (
            merged.url,
            merged.url.raw_path,
            merged.headers.raw,
        )
    plain = provider.build_request(clients[0], "GET", "/search.json", params={"q": None})
    assert plain.url == clients[0].build_request("GET", f"{base_url}/search.json", params={}).url
