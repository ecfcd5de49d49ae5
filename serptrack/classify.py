"""Label rules: which stance (official, critical, neutral) a result URL takes.

A rule pattern is one of (SPEC section 2):

- ``acme.example``: a bare host, matching it and all its subdomains;
- ``https://acme.example/statement``: one URL, compared after normalisation;
- ``consumerwatch.example/acme/*``: every normalised URL starting with the part before ``*``;
- ``re:PATTERN``: a regular expression searched in the normalised URL.

When several rules match, the exact URL wins, then the longest prefix, then a regex (in file
order), then the most specific host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .urls import host_of, normalise_url
from .vocabulary import Stance

__all__ = ["STANCES", "Labeller", "Rule", "RuleError", "duplicate_patterns", "parse_rule"]

STANCES = tuple(Stance)
KINDS = ("url", "prefix", "regex", "host")

_LABEL = r"\w(?:[\w-]{0,61}\w)?"
_HOST = re.compile(rf"^(?=.{{1,253}}$)({_LABEL}\.)+{_LABEL}$", re.UNICODE)


class RuleError(ValueError):
    """A pattern that is not a host, URL, prefix or valid regular expression."""


@dataclass(frozen=True)
class Rule:
    """One label rule, with its pattern already in the form it is matched in."""

    stance: str
    pattern: str
    kind: str
    key: str  # the normalised pattern: two rules with the same key are the same rule


def parse_rule(stance: str, pattern: str, classes: Sequence[str] = STANCES) -> Rule:
    """Turn a pattern written by the user into a :class:`Rule`, or raise :class:`RuleError`.

    ``classes`` are the labels a rule may give: the stances, or another set matched with the
    same patterns and precedence (the ownership classes).
    """
    if stance not in classes:
        raise RuleError(f"unknown stance {stance!r}; use one of {', '.join(classes)}")
    text = pattern.strip()
    if not text:
        raise RuleError("empty pattern")
    if text.startswith("re:"):
        expression = text[3:]
        try:
            re.compile(expression)
        except re.error as error:
            raise RuleError(f"invalid regular expression {expression!r}: {error}") from None
        return Rule(stance, pattern, "regex", "re:" + expression)
    if text.endswith("*"):
        prefix = text[:-1]
        if not prefix or "*" in prefix or not _host_part_is_valid(prefix):
            raise RuleError(f"{pattern!r} is not a host or URL followed by '*'")
        key = normalise_url(prefix)
        if prefix.endswith("/") and not key.endswith("/"):
            key += "/"
        elif "/" not in _strip_scheme(prefix):
            # "acme.example*" means the host and anything after it, path included
            key = key.rstrip("/")
        return Rule(stance, pattern, "prefix", key)
    if "*" in text or " " in text:
        raise RuleError(f"{pattern!r} is not a host, URL, prefix (ending in '*') or re: pattern")
    if "/" in _strip_scheme(text) or "://" in text:
        if not _host_part_is_valid(text):
            raise RuleError(f"{pattern!r} is not a valid URL")
        return Rule(stance, pattern, "url", normalise_url(text))
    host = text.lower().rstrip(".")
    host = host[4:] if host.startswith("www.") else host
    if not _HOST.match(host):
        raise RuleError(f"{pattern!r} is not a host, URL, prefix (ending in '*') or re: pattern")
    return Rule(stance, pattern, "host", host)


class Labeller:
    """Assigns stances to normalised URLs by a campaign's rules, with the SPEC's precedence."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        """Index ``rules`` by kind: the first exact URL or host rule wins, longest prefix first."""
        self.rules: list[Rule] = list(rules)
        self._exact = {r.key: r for r in reversed(self.rules) if r.kind == "url"}
        self._prefixes = sorted(
            (r for r in self.rules if r.kind == "prefix"), key=lambda r: -len(r.key)
        )
        self._regexes = [(re.compile(r.key[3:]), r) for r in self.rules if r.kind == "regex"]
        self._hosts = {r.key: r for r in reversed(self.rules) if r.kind == "host"}
        self._cache: dict[str, Rule | None] = {}

    def rule_for(self, norm_url: str) -> Rule | None:
        """The rule that decides the stance of ``norm_url``, or None when no rule matches."""
        if norm_url in self._cache:
            return self._cache[norm_url]
        rule = self._find(norm_url)
        self._cache[norm_url] = rule
        return rule

    def stance_of(self, norm_url: str) -> str:
        """``official``, ``critical`` or ``neutral`` (when no rule matches)."""
        rule = self.rule_for(norm_url)
        return rule.stance if rule else "neutral"

    def _find(self, norm_url: str) -> Rule | None:
        exact = self._exact.get(norm_url)
        if exact:
            return exact
        for rule in self._prefixes:
            if norm_url.startswith(rule.key):
                return rule
        for regex, rule in self._regexes:
            if regex.search(norm_url):
                return rule
        if not self._hosts:
            return None
        host = _host_of_normalised(norm_url)
        while True:
            host_rule = self._hosts.get(host)
            if host_rule:
                return host_rule
            dot = host.find(".")
            if dot < 0:
                return None
            host = host[dot + 1 :]


def duplicate_patterns(rules: Sequence[Rule]) -> list[tuple[Rule, Rule]]:
    """Pairs of rules with the same normalised pattern under different stances."""
    seen: dict[str, Rule] = {}
    clashes = []
    for rule in rules:
        other = seen.get(rule.key)
        if other and other.stance != rule.stance:
            clashes.append((other, rule))
        seen.setdefault(rule.key, rule)
    return clashes


def _host_of_normalised(norm_url: str) -> str:
    # A normalised URL is "scheme://host[:port]/...": plain string slicing is exact and fast.
    netloc = norm_url.split("/", 3)[2] if "://" in norm_url else host_of(norm_url)
    return netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc


def _strip_scheme(text: str) -> str:
    return text.split("://", 1)[1] if "://" in text else text


def _host_part_is_valid(text: str) -> bool:
    rest = _strip_scheme(text)
    if text.startswith("//"):
        rest = text[2:]
    host = rest.split("/", 1)[0].split("?", 1)[0].lower()
    host = host.rsplit("@", 1)[-1]
    if ":" in host and not host.startswith("["):
        host, _, port = host.partition(":")
        if port and not port.isdigit():
            return False
    return bool(_HOST.match(host.rstrip(".")))
