"""``labels suggest``: URLs seen in the top 20 that no rule labels, most exposed first, with a guess.

The guess, in order:

1. ``official``: the URL is on one of the brand's domains or accounts (``[campaign] domains``
   and ``accounts``), or under a URL already labelled official (``twitter.com/acme_help/...``);
2. ``critical``: its title or snippet names the brand together with crisis vocabulary, English
   or French (scandal, breach, lawsuit, recall, faille, polémique, censure ...); with no brand
   set, the vocabulary alone;
3. ``neutral`` otherwise.

Exposure is the sum, over every appearance at rank 1-20 of a successful check, of the CTR
curve's percentage at that rank: what the URL got in front of searchers. Aggregation runs in
the database over the campaign's unlabelled URLs (``url_stances.rule IS NULL``), and each
URL's checks are looked up in Python (see :func:`serptrack.store.reads.unlabelled_exposure`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from .classify import Labeller, Rule, parse_rule
from .ctr import CtrCurve, curve_from_settings
from .models import Campaign
from .store import campaign_keywords, campaign_rules, reads

__all__ = ["TOP", "Suggestion", "crisis_word", "guess_stance", "suggest_labels"]

TOP = 20

# Matched at the start of a word, after case and accent folding: "scandal" also finds
# "scandale" and "scandals", "censur" finds "censure" and "censuré".
_STEMS = (
    "scandal", "breach", "leak", "lawsuit", "recall", "boycott", "fraud", "censor", "outrage",
    "backlash", "controvers", "investigat", "complain", "defect", "danger", "injur", "hazard",
    "explod", "explos", "hack", "vulnerab", "accus", "penalt", "victim", "toxic", "contamina",
    "faille", "polemi", "censur", "rappel", "fuite", "plainte", "arnaque", "enquete", "pirat",
    "amende", "incendi", "condamn", "sanction", "brulur", "defectueu",
)  # fmt: skip
# Matched as whole words only: as stems they would catch too much ("fireplace", "process").
_WORDS = (
    "sued", "sues", "suing", "probe", "probes", "fire", "fires", "ban", "banned", "bans",
    "crisis", "crises", "crise", "death", "deaths", "dead", "proces", "scam", "scams",
)  # fmt: skip
# Case-sensitive, on folded text (see _fold): IGNORECASE made each search four times slower.
_CRISIS = re.compile(r"\b(?:(?:" + "|".join(_STEMS) + r")\w*|(?:" + "|".join(_WORDS) + r")\b)")


@dataclass(frozen=True)
class Suggestion:
    """An unlabelled URL with what it was exposed to and the stance it probably has."""

    url: str
    norm_url: str
    domain: str
    placement: str
    title: str
    snippet: str
    stance: str
    reason: str
    pattern: str  # what to add under [labels] <stance> to adopt the suggestion
    checks: int
    keywords: int
    best_rank: int
    exposure: float
    first_seen: dt.datetime
    last_seen: dt.datetime
    curve: str

    def to_json(self) -> dict[str, Any]:
        """The ``labels suggest --json`` object."""
        return {
            "url": self.url,
            "norm_url": self.norm_url,
            "domain": self.domain,
            "suggested_stance": self.stance,
            "reason": self.reason,
            "pattern": self.pattern,
            "title": self.title,
            "snippet": self.snippet,
            "placement": self.placement,
            "checks": self.checks,
            "keywords": self.keywords,
            "best_rank": self.best_rank,
            "exposure": round(self.exposure, 2),
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "ctr_curve": self.curve,
        }


def crisis_word(text: str) -> str | None:
    """The first crisis word (English or French) in ``text``, as written there, or None."""
    return _crisis_word(text, _fold(text))


def _crisis_word(text: str, folded: str) -> str | None:
    match = _CRISIS.search(folded)
    return text[match.start() : match.end()] if match else None


def guess_stance(
    norm_url: str,
    title: str,
    snippet: str,
    *,
    brand: str,
    owned: Labeller,
) -> tuple[str, str, str]:
    """(stance, reason, pattern) for one unlabelled URL; ``owned`` labels the brand's own URLs."""
    rule = owned.rule_for(norm_url)
    if rule is not None:
        return "official", _owned_reason(rule), _owned_pattern(rule)
    parts = (("title", title, _fold(title)), ("snippet", snippet, _fold(snippet)))
    words = [(part, word) for part, text, folded in parts if (word := _crisis_word(text, folded))]
    brand_re = _brand_pattern(brand)
    named = [part for part, _, folded in parts if brand_re and brand_re.search(folded)]
    if words and brand_re is None:
        part, word = words[0]
        return "critical", f"{part} uses crisis vocabulary ({word!r})", norm_url
    if words and named:
        both = [(part, word) for part, word in words if part in named]
        if both:
            part, word = both[0]
            return "critical", f"{part} names {brand} with {word!r}", norm_url
        part, word = words[0]
        return "critical", f"{named[0]} names {brand}, {part} says {word!r}", norm_url
    if named:
        return "neutral", f"names {brand} without crisis vocabulary", norm_url
    if words:
        return "neutral", f"crisis vocabulary ({words[0][1]!r}) but not about {brand}", norm_url
    return "neutral", "not the brand's, and no crisis vocabulary", norm_url


def suggest_labels(
    session: Session,
    campaign: Campaign,
    *,
    curve: CtrCurve | None = None,
    limit: int | None = None,
) -> list[Suggestion]:
    """Unlabelled URLs seen at rank 1-20 by the campaign's active keywords, most exposed first."""
    assert campaign.id is not None
    curve = curve or curve_from_settings(campaign.settings)
    keyword_ids = [k.id for k in campaign_keywords(session, campaign) if k.id is not None]
    if not keyword_ids:
        return []
    connection = session.connection()
    rows = reads.unlabelled_exposure(
        connection, reads.stance_view(session, campaign), keyword_ids, curve, top=TOP
    )
    if limit is not None:
        rows = rows[:limit]
    latest = reads.exposed_results(connection, rows)
    owned = _owned_labeller(campaign, campaign_rules(session, campaign))
    suggestions = []
    for row in rows:
        result = latest[row.latest_result]
        stance, reason, pattern = guess_stance(
            row.norm_url, result.title, result.snippet, brand=campaign.brand, owned=owned
        )
        suggestions.append(
            Suggestion(
                url=result.url,
                norm_url=row.norm_url,
                domain=result.domain,
                placement=result.placement,
                title=result.title,
                snippet=result.snippet,
                stance=stance,
                reason=reason,
                pattern=pattern,
                checks=row.checks,
                keywords=row.keywords,
                best_rank=row.best_rank,
                exposure=float(row.exposure or 0),
                first_seen=row.first_seen,
                last_seen=row.last_seen,
                curve=curve.name,
            )
        )
    return suggestions


def _owned_labeller(campaign: Campaign, rules: Sequence[Rule]) -> Labeller:
    """Rules for the brand's own URLs: its domains, its accounts, and what is under official URLs."""
    brand: Mapping[str, Any] = (campaign.settings or {}).get("brand") or {}
    owned: list[Rule] = []
    for host in brand.get("domains", []):
        owned.append(Rule("official", host, "host", host))
    for account in brand.get("accounts", []):
        owned.append(Rule("official", account, "url", account))
        owned.append(_under(account, "account"))
    for rule in rules:
        if rule.stance == "official" and rule.kind == "url":
            owned.append(_under(rule.key, "labelled"))
    return Labeller(owned)


def _under(url: str, origin: str) -> Rule:
    rule = parse_rule("official", url.rstrip("/") + "/*")
    return Rule(rule.stance, f"{origin}:{url}", rule.kind, rule.key)


def _owned_reason(rule: Rule) -> str:
    if rule.kind == "host":
        return f"on the brand's domain {rule.key} ([campaign] domains)"
    if rule.kind == "url":
        return f"the brand's account {rule.key} ([campaign] accounts)"
    origin, _, url = rule.pattern.partition(":")
    if origin == "account":
        return f"under the brand's account {url} ([campaign] accounts)"
    return f"under {url}, which is labelled official"


def _owned_pattern(rule: Rule) -> str:
    if rule.kind in ("host", "url"):
        return rule.key
    return rule.key + "*"


@functools.lru_cache(maxsize=64)
def _brand_pattern(brand: str) -> re.Pattern[str] | None:
    folded = _fold(brand).strip()
    if not folded:
        return None
    return re.compile(r"(?<!\w)" + re.escape(folded) + r"(?!\w)", re.IGNORECASE)


def _fold(text: str) -> str:
    """Lower-case, accents stripped, same length: "Polémique" reads "polemique", and "𝐒𝐔𝐄𝐃"
    (mathematical bold) "sued"."""
    return text.translate(_FOLDED)


class _Folds(dict[int, str]):
    """Each character's folded form, worked out at its first sight (``str.translate`` asks
    for each character of a title: ``labels suggest`` folds tens of thousands of them)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        lower = char.lower()
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(c)
        )
        folded = plain if len(plain) == 1 else lower[:1] or char
        # What the regex module matches to an ASCII letter under IGNORECASE (the C that ℂ
        # decomposes to, a dotless ı) becomes that letter: the crisis pattern, lower-case
        # ASCII, then finds case-sensitively what it found ignoring case.
        twin = next((a for a in string.ascii_lowercase if re.fullmatch(a, folded, re.I)), None)
        self[code] = twin or folded
        return self[code]


_FOLDED = _Folds()
