import pytest

from serptrack.classify import Labeller, RuleError, duplicate_patterns, parse_rule
from serptrack.urls import normalise_url


def labeller(*rules: tuple[str, str]) -> Labeller:
    return Labeller(parse_rule(stance, pattern) for stance, pattern in rules)


def stance(lab: Labeller, url: str) -> str:
    return lab.stance_of(normalise_url(url))


def test_bare_host_matches_itself_and_subdomains_only() -> None:
    lab = labeller(("official", "acme.example"))
    assert stance(lab, "https://acme.example/") == "official"
    assert stance(lab, "http://www.acme.example/statement") == "official"
    assert stance(lab, "https://blog.acme.example/post") == "official"
    assert stance(lab, "https://notacme.example/") == "neutral"
    assert stance(lab, "https://acme.example.evil.test/") == "neutral"


def test_full_url_matches_after_normalisation_only_that_url() -> None:
    lab = labeller(("critical", "https://news.example/2026/03/acme-recall"))
    assert stance(lab, "http://www.news.example/2026/03/acme-recall/?utm_source=tw#c") == "critical"
    assert stance(lab, "https://news.example/2026/03/acme-recall-2") == "neutral"
    assert stance(lab, "https://news.example/") == "neutral"


def test_prefix_pattern_with_and_without_scheme() -> None:
    lab = labeller(
        ("critical", "consumerwatch.example/acme/*"),
        ("official", "https://www.acme.example/press*"),
    )
    assert stance(lab, "https://consumerwatch.example/acme/kettle-fires") == "critical"
    assert stance(lab, "https://consumerwatch.example/acmeish") == "neutral"
    assert stance(lab, "https://acme.example/press-release-1") == "official"
    assert stance(lab, "https://acme.example/about") == "neutral"


def test_regex_is_searched_in_the_normalised_url() -> None:
    lab = labeller(("critical", r"re:leparisien[^/]*\.fr/.*acme"))
    assert stance(lab, "https://www.leparisien-exemple.fr/eco/acme-rappel") == "critical"
    assert stance(lab, "https://www.leparisien-exemple.fr/eco/other") == "neutral"


def test_unmatched_url_is_neutral() -> None:
    assert (
        stance(labeller(("official", "acme.example")), "https://wikipedia.org/wiki/Acme")
        == "neutral"
    )


def test_exact_url_beats_prefix_regex_and_host() -> None:
    lab = labeller(
        ("official", "acme.example"),
        ("neutral", "re:acme\\.example/blog"),
        ("official", "acme.example/blog/*"),
        ("critical", "https://acme.example/blog/leaked-memo"),
    )
    assert stance(lab, "https://acme.example/blog/leaked-memo") == "critical"


def test_longest_prefix_wins_over_shorter_prefix() -> None:
    lab = labeller(("critical", "forum.example/*"), ("official", "forum.example/t/acme-official/*"))
    assert stance(lab, "https://forum.example/t/acme-official/1") == "official"
    assert stance(lab, "https://forum.example/t/other") == "critical"


def test_prefix_beats_regex() -> None:
    lab = labeller(("critical", "re:acme"), ("official", "acme.example/faq*"))
    assert stance(lab, "https://acme.example/faq") == "official"


def test_regex_beats_host_and_first_regex_in_file_order_wins() -> None:
    lab = labeller(("official", "news.example"), ("critical", "re:/acme-"), ("neutral", "re:acme"))
    assert stance(lab, "https://news.example/acme-recall") == "critical"
    assert stance(lab, "https://news.example/sports") == "official"


def test_most_specific_host_wins() -> None:
    lab = labeller(
        ("neutral", "example.org"),
        ("critical", "blogs.example.org"),
        ("official", "acme.blogs.example.org"),
    )
    assert stance(lab, "https://acme.blogs.example.org/x") == "official"
    assert stance(lab, "https://other.blogs.example.org/x") == "critical"
    assert stance(lab, "https://www.example.org/") == "neutral"


def test_rule_for_reports_the_deciding_rule() -> None:
    lab = labeller(("official", "acme.example"), ("critical", "https://acme.example/leak"))
    rule = lab.rule_for(normalise_url("https://acme.example/leak"))
    assert rule is not None and rule.pattern == "https://acme.example/leak" and rule.kind == "url"
    assert lab.rule_for(normalise_url("https://other.example/")) is None


@pytest.mark.parametrize(
    ("pattern", "kind", "key"),
    [
        ("acme.example", "host", "acme.example"),
        ("WWW.Acme.Example", "host", "acme.example"),
        ("https://twitter.com/acme_help", "url", "https://twitter.com/acme_help"),
        ("twitter.com/acme_help/", "url", "https://twitter.com/acme_help"),
        ("consumerwatch.example/acme/*", "prefix", "https://consumerwatch.example/acme/"),
        ("acme.example*", "prefix", "https://acme.example"),
        ("re:^https://x", "regex", "re:^https://x"),
    ],
)
def test_parse_rule_kinds(pattern: str, kind: str, key: str) -> None:
    rule = parse_rule("official", pattern)
    assert (rule.kind, rule.key, rule.pattern) == (kind, key, pattern)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("re:(unclosed", "invalid regular expression '(unclosed'"),
        ("not a host", "is not a host, URL, prefix"),
        ("acme*.example/*", "is not a host or URL followed by '*'"),
        ("*", "is not a host or URL followed by '*'"),
        ("", "empty pattern"),
        ("https://exa mple.com/x", "is not a host, URL, prefix"),
        ("https:///nohost", "is not a valid URL"),
        ("-bad-.example", "is not a host"),
    ],
)
def test_parse_rule_rejects_bad_patterns(pattern: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule("critical", pattern)
    assert message in str(info.value)


def test_unknown_stance_is_rejected() -> None:
    with pytest.raises(RuleError, match="unknown stance 'hostile'"):
        parse_rule("hostile", "acme.example")


def test_duplicate_patterns_are_found_after_normalisation() -> None:
    rules = [
        parse_rule("official", "https://acme.example/a/"),
        parse_rule("critical", "http://www.acme.example/a"),
    ]
    clashes = duplicate_patterns(rules)
    assert [(a.stance, b.stance) for a, b in clashes] == [("official", "critical")]
    same_stance = [
        parse_rule("official", "acme.example"),
        parse_rule("official", "www.acme.example"),
    ]
    assert duplicate_patterns(same_stance) == []
