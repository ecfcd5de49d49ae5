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
the database over the campaign's unlabelled URLs (``url_stances.rule IS NULL``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, func, select
from sqlmodel import Session

from .classify import Labeller, Rule, parse_rule
from .ctr import CtrCurve, curve_from_settings
from .models import Campaign, Check, Result, UrlStance
from .stances import batches, read_view
from .storage import campaign_keywords, campaign_rules

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
_CRISIS = re.compile(
    r"\b(?:(?:" + "|".join(_STEMS) + r")\w*|(?:" + "|".join(_WORDS) + r")\b)", re.IGNORECASE
)
_STANCES = UrlStance.__table__  # type: ignore[attr-defined]
_RESULTS = Result.__table__  # type: ignore[attr-defined]
_CHECKS = Check.__table__  # type: ignore[attr-defined]


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
    match = _CRISIS.search(_fold(text))
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
    parts = (("title", title), ("snippet", snippet))
    words = [(part, word) for part, text in parts if (word := crisis_word(text))]
    brand_re = _brand_pattern(brand)
    named = [part for part, text in parts if brand_re and brand_re.search(_fold(text))]
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
    keyword_ids = [k.id for k in campaign_keywords(session, campaign)]
    if not keyword_ids:
        return []
    connection = session.connection()
    labels = read_view(connection, campaign.id)
    s, r, c = _STANCES, _RESULTS, _CHECKS
    weight = case(dict(enumerate(curve.positions, start=1)), value=r.c.rank, else_=0.0)
    columns = (
        r.c.norm_url,
        func.count(func.distinct(c.c.id)).label("checks"),
        func.count(func.distinct(c.c.keyword_id)).label("keywords"),
        func.min(r.c.rank).label("best_rank"),
        func.sum(weight).label("exposure"),
        func.min(c.c.observed_at).label("first_seen"),
        func.max(c.c.observed_at).label("last_seen"),
        func.max(r.c.id).label("latest_result"),
    )
    seen = and_(c.c.keyword_id.in_(keyword_ids), c.c.status == "ok", r.c.rank <= TOP)
    statement = (
        select(*columns)
        .select_from(s.join(r, r.c.norm_url == s.c.norm_url).join(c, c.c.id == r.c.check_id))
        .where(s.c.campaign_id == campaign.id, labels.current(), s.c.rule.is_(None), seen)
        .group_by(r.c.norm_url)
    )
    found = list(connection.execute(statement))
    extra = select(*columns).select_from(r.join(c, c.c.id == r.c.check_id))
    for batch in batches(labels.unlabelled_overlay_urls()):
        found.extend(
            connection.execute(extra.where(r.c.norm_url.in_(batch), seen).group_by(r.c.norm_url))
        )
    rows = sorted(
        found,
        key=lambda row: (-float(row.exposure or 0), -row.checks, row.best_rank, row.norm_url),
    )
    if limit is not None:
        rows = rows[:limit]
    latest = _latest_results(connection, [row.latest_result for row in rows])
    owned = _owned_labeller(campaign, campaign_rules(session, campaign))
    suggestions = []
    for row in rows:
        url, domain, placement, title, snippet = latest[row.latest_result]
        stance, reason, pattern = guess_stance(
            row.norm_url, title, snippet, brand=campaign.brand, owned=owned
        )
        suggestions.append(
            Suggestion(
                url=url,
                norm_url=row.norm_url,
                domain=domain,
                placement=placement,
                title=title,
                snippet=snippet,
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


def _latest_results(
    connection: Connection, result_ids: Sequence[int]
) -> dict[int, tuple[Any, ...]]:
    r = _RESULTS
    found: dict[int, tuple[Any, ...]] = {}
    for batch in batches(list(result_ids)):
        for row in connection.execute(
            select(r.c.id, r.c.url, r.c.domain, r.c.placement, r.c.title, r.c.snippet).where(
                r.c.id.in_(batch)
            )
        ):
            found[row[0]] = tuple(row[1:])
    return found


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


def _brand_pattern(brand: str) -> re.Pattern[str] | None:
    folded = _fold(brand).strip()
    if not folded:
        return None
    return re.compile(r"(?<!\w)" + re.escape(folded) + r"(?!\w)", re.IGNORECASE)


def _fold(text: str) -> str:
    """Lower-case, accents stripped, same length: "Polémique" reads "polemique"."""
    folded = []
    for char in text:
        lower = char.lower()
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(c)
        )
        folded.append(plain if len(plain) == 1 else lower[:1] or char)
    return "".join(folded)
