import base64

import pytest

from serptrack.urls import host_of, normalise_url, registrable_domain, unwrap_redirect


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://WWW.Example.COM/Path", "https://example.com/Path"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a/#section", "https://example.com/a"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a/b/", "https://example.com/a/b"),
        ("https://example.com/a?utm_source=x&id=3&UTM_Medium=y", "https://example.com/a?id=3"),
        ("https://example.com/a?gclid=1&fbclid=2&msclkid=3", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?b=2&a=1"),
        ("http://example.com/a", "https://example.com/a"),
        ("example.com/a", "https://example.com/a"),
        ("//example.com/a", "https://example.com/a"),
        ("https://www.google.com/url?q=https://acme.example/x/&sa=U", "https://acme.example/x"),
        (
            "/url?q=https%3A%2F%2Facme.example%2Fstatement%3Futm_source%3Dg",
            "https://acme.example/statement",
        ),
        (
            "https://duckduckgo.com/l/?uddg=https%3A%2F%2Fnews.example%2Fa&rut=abc",
            "https://news.example/a",
        ),
        ("//duckduckgo.com/l/?uddg=https%3A%2F%2Fnews.example%2Fb", "https://news.example/b"),
        ("https://www.google.com/goto?url=https://acme.example/y", "https://acme.example/y"),
        ("http://[::1]:8080/local/", "https://[::1]:8080/local"),  # IPv6 keeps its brackets
        ("https://[2001:DB8::1]/a", "https://[2001:db8::1]/a"),
    ],
)
def test_normalise_url(raw: str, expected: str) -> None:
    assert normalise_url(raw) == expected


def test_bing_ck_links_are_decoded() -> None:
    target = "https://consumerwatch.example/acme/kettle?ref=bing"
    encoded = base64.urlsafe_b64encode(target.encode()).decode().rstrip("=")
    link = f"https://www.bing.com/ck/a?!&&p=abc&u=a1{encoded}&ntb=1"
    assert unwrap_redirect(link) == target
    assert normalise_url(link) == target


def test_bing_link_with_broken_payload_is_left_alone() -> None:
    link = "https://www.bing.com/ck/a?u=a1%%%%"
    assert unwrap_redirect(link) == link


def test_redirect_to_relative_target_is_not_followed() -> None:
    assert (
        unwrap_redirect("https://www.google.com/url?q=/search")
        == "https://www.google.com/url?q=/search"
    )


def test_non_engine_url_path_is_not_unwrapped() -> None:
    url = "https://example.com/url?q=https://acme.example/"
    assert normalise_url(url) == "https://example.com/url?q=https%3A%2F%2Facme.example%2F"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://news.bbc.co.uk/a", "bbc.co.uk"),
        ("https://www.lemonde.fr/economie/x", "lemonde.fr"),
        ("https://tech.news.com.au/x", "news.com.au"),
        ("acme.example", "acme.example"),
        ("https://blog.acme.example/", "acme.example"),
        ("https://en.wikipedia.org/wiki/X", "wikipedia.org"),
        ("localhost", "localhost"),
    ],
)
def test_registrable_domain(value: str, expected: str) -> None:
    assert registrable_domain(value) == expected


def test_host_of_drops_www() -> None:
    assert host_of("https://WWW.Acme.Example:8080/x") == "acme.example"


@pytest.mark.parametrize("raw", ["https://[broken/x", "http://[::1/a"])
def test_urls_urllib_cannot_split_are_kept_as_written(raw: str) -> None:
    assert normalise_url(raw) == raw
    assert host_of(raw) == ""
    assert registrable_domain(raw) == ""
