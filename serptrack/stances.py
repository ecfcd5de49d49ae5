"""The ``url_stances`` table: each campaign's distinct result URLs with their current stance.

Analysis joins stances in SQL instead of labelling millions of result rows in Python. The
table holds one row per (campaign, normalised URL), far fewer than results, each computed by
:class:`~serptrack.classify.Labeller` (matching lives there only) and stamped with a
fingerprint of the rules used. It is kept complete and current by:

- :func:`refresh_url_stances`, before every analysis: adds the URLs of results stored since
  the campaign's mark (``stance_marks.result_id``, a range scan of new rows only) and relabels
  rows stamped with other rules, so it is right whatever wrote the results or the rules;
- :func:`relabel_url_stances`, inside ``apply``'s transaction, when the rules change;
- :func:`remember_url_stances`, inside a check's transaction: on PostgreSQL, concurrent
  writers may commit result ids out of order, which a mark alone could step over.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .classify import Labeller, Rule
from .models import Check, Keyword, LabelRule, Result, StanceMark, UrlStance

__all__ = [
    "read_rules",
    "refresh_url_stances",
    "relabel_url_stances",
    "remember_url_stances",
    "rules_fingerprint",
]

_STANCES = UrlStance.__table__  # type: ignore[attr-defined]
_MARKS = StanceMark.__table__  # type: ignore[attr-defined]
_RULES = LabelRule.__table__  # type: ignore[attr-defined]
_RESULTS = Result.__table__  # type: ignore[attr-defined]
_CHECKS = Check.__table__  # type: ignore[attr-defined]
_KEYWORDS = Keyword.__table__  # type: ignore[attr-defined]
_BATCH = 500


def rules_fingerprint(rules: Sequence[Rule]) -> str:
    """A short digest of the rules in order: equal digests label every URL the same way."""
    text = json.dumps([[r.stance, r.kind, r.key] for r in rules], separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def read_rules(connection: Connection, campaign_id: int) -> list[Rule]:
    """The campaign's label rules in file order, read on ``connection``."""
    rows = connection.execute(
        select(_RULES.c.stance, _RULES.c.pattern, _RULES.c.kind, _RULES.c.key)
        .where(_RULES.c.campaign_id == campaign_id)
        .order_by(_RULES.c.position)
    )
    return [Rule(*row) for row in rows]


def remember_url_stances(
    connection: Connection, urls_by_keyword: Mapping[int, Iterable[str]]
) -> None:
    """Add a stance row for each URL its keyword's campaign has not seen yet (one check batch)."""
    campaign_of: dict[int, int] = dict(
        connection.execute(
            select(_KEYWORDS.c.id, _KEYWORDS.c.campaign_id).where(
                _KEYWORDS.c.id.in_(list(urls_by_keyword))
            )
        ).all()
    )
    by_campaign: dict[int, set[str]] = {}
    for keyword_id, urls in urls_by_keyword.items():
        by_campaign.setdefault(campaign_of[keyword_id], set()).update(urls)
    for campaign_id, urls in by_campaign.items():
        missing = urls - _known_urls(connection, campaign_id, urls)
        if missing:
            _insert_labelled(connection, campaign_id, missing, read_rules(connection, campaign_id))


def _known_urls(connection: Connection, campaign_id: int, urls: set[str]) -> set[str]:
    # Plain driver SQL: SQLAlchemy's expanding IN costs more than the lookup itself here.
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    known: set[str] = set()
    cursor = connection.connection.cursor()
    try:
        for batch in _batches(sorted(urls)):
            cursor.execute(
                f"SELECT norm_url FROM url_stances WHERE campaign_id = {marker} "
                f"AND norm_url IN ({', '.join([marker] * len(batch))})",
                (campaign_id, *batch),
            )
            known.update(row[0] for row in cursor.fetchall())
    finally:
        cursor.close()
    return known


def relabel_url_stances(connection: Connection, campaign_id: int, rules: Sequence[Rule]) -> int:
    """Relabel every row of the campaign not computed with ``rules``; return how many changed."""
    _ensure_mark(connection, campaign_id)
    fingerprint = rules_fingerprint(rules)
    rows = connection.execute(
        select(_STANCES.c.norm_url, _STANCES.c.stance, _STANCES.c.rule).where(
            _STANCES.c.campaign_id == campaign_id, _STANCES.c.rules_hash != fingerprint
        )
    ).all()
    if not rows:
        return 0
    labeller = Labeller(rules)
    changed = []
    for norm_url, stance, rule_key in rows:
        rule = labeller.rule_for(norm_url)
        new_stance, new_key = (rule.stance, rule.key) if rule else ("neutral", None)
        if (new_stance, new_key) != (stance, rule_key):
            changed.append({"u": norm_url, "s": new_stance, "r": new_key})
    if changed:
        connection.execute(
            update(_STANCES)
            .where(
                and_(_STANCES.c.campaign_id == campaign_id, _STANCES.c.norm_url == bindparam("u"))
            )
            .values(stance=bindparam("s"), rule=bindparam("r")),
            changed,
        )
    connection.execute(
        update(_STANCES)
        .where(_STANCES.c.campaign_id == campaign_id, _STANCES.c.rules_hash != fingerprint)
        .values(rules_hash=fingerprint)
    )
    return len(changed)


def refresh_url_stances(connection: Connection, campaign_id: int) -> bool:
    """Cover results stored since the campaign's mark and relabel stale rows.

    Returns whether anything was written (the caller commits).
    """
    wrote = _cover_new_results(connection, campaign_id)
    rules = read_rules(connection, campaign_id)
    stale = connection.execute(
        select(_STANCES.c.norm_url)
        .where(
            _STANCES.c.campaign_id == campaign_id,
            _STANCES.c.rules_hash != rules_fingerprint(rules),
        )
        .limit(1)
    ).first()
    if stale is not None:
        relabel_url_stances(connection, campaign_id, rules)
        wrote = True
    return wrote


def _cover_new_results(connection: Connection, campaign_id: int) -> bool:
    mark = connection.execute(
        select(_MARKS.c.result_id).where(_MARKS.c.campaign_id == campaign_id)
    ).scalar()
    top = connection.execute(select(func.max(_RESULTS.c.id))).scalar() or 0
    if mark is not None and top <= mark:
        return False
    known = _STANCES.alias("known")
    missing = connection.execute(
        select(_RESULTS.c.norm_url)
        .distinct()
        .select_from(
            _RESULTS.join(_CHECKS, _CHECKS.c.id == _RESULTS.c.check_id)
            .join(_KEYWORDS, _KEYWORDS.c.id == _CHECKS.c.keyword_id)
            .outerjoin(
                known,
                and_(known.c.campaign_id == campaign_id, known.c.norm_url == _RESULTS.c.norm_url),
            )
        )
        .where(
            _RESULTS.c.id > (mark or 0),
            _RESULTS.c.id <= top,
            _KEYWORDS.c.campaign_id == campaign_id,
            known.c.norm_url.is_(None),
        )
    ).scalars()
    urls = set(missing)
    if urls:
        _insert_labelled(connection, campaign_id, urls, read_rules(connection, campaign_id))
    _set_mark(connection, campaign_id, top, exists=mark is not None)
    return True


def _ensure_mark(connection: Connection, campaign_id: int) -> None:
    """Give a campaign without results a mark at the current top, so its first refresh is free."""
    if connection.execute(
        select(_MARKS.c.result_id).where(_MARKS.c.campaign_id == campaign_id)
    ).first():
        return
    has_checks = connection.execute(
        select(_CHECKS.c.id)
        .join(_KEYWORDS, _KEYWORDS.c.id == _CHECKS.c.keyword_id)
        .where(_KEYWORDS.c.campaign_id == campaign_id)
        .limit(1)
    ).first()
    if has_checks is None:
        top = connection.execute(select(func.max(_RESULTS.c.id))).scalar() or 0
        _set_mark(connection, campaign_id, top, exists=False)


def _set_mark(connection: Connection, campaign_id: int, result_id: int, *, exists: bool) -> None:
    if exists:
        connection.execute(
            update(_MARKS)
            .where(_MARKS.c.campaign_id == campaign_id, _MARKS.c.result_id < result_id)
            .values(result_id=result_id)
        )
    else:
        connection.execute(
            _insert_ignoring_conflicts(connection, _MARKS),
            [{"campaign_id": campaign_id, "result_id": result_id}],
        )


def _insert_labelled(
    connection: Connection, campaign_id: int, urls: Iterable[str], rules: Sequence[Rule]
) -> None:
    labeller = Labeller(rules)
    fingerprint = rules_fingerprint(rules)
    rows: list[dict[str, Any]] = []
    for norm_url in sorted(urls):
        rule = labeller.rule_for(norm_url)
        rows.append(
            {
                "campaign_id": campaign_id,
                "norm_url": norm_url,
                "stance": rule.stance if rule else "neutral",
                "rule": rule.key if rule else None,
                "rules_hash": fingerprint,
            }
        )
    statement = _insert_ignoring_conflicts(connection, _STANCES)
    for batch in _batches(rows):
        connection.execute(statement, batch)


def _insert_ignoring_conflicts(connection: Connection, table: Any) -> Any:
    # Two writers of one campaign may meet the same new URL at once (PostgreSQL runs checks
    # in parallel): the second insert must not fail its check, so conflicts are ignored.
    dialect = connection.dialect.name
    if dialect == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return insert(table)


def _batches(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]
