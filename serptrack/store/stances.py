"""The one answer to "what is this URL's stance?": the ``url_stances`` table and its read view.

Every stance comes from :class:`~serptrack.classify.Labeller` (matching lives there only).
The table holds one row per (campaign, normalised URL), far fewer than results, stamped with a
fingerprint of the rules used, so analysis can join stances in SQL.

Writes keep it current, each in its own transaction:

- a check's transaction adds its new URLs (:func:`remember_url_stances`) and moves the
  campaign's mark (``stance_marks.check_id``: every check of the campaign up to it has its
  URLs in the table), covering on the way any check another writer stored without them;
- ``apply`` relabels the campaign's rows under its new rules (:func:`bring_up_to_date`).

Reads never write. :func:`read_view` returns what the table cannot say yet, computed in
memory: rows stamped with other rules (a database from before the table, a writer of another
version) and URLs of checks above the mark (a bulk loader that skipped the check path). Reads
use the table's current rows and this overlay, so a read-only database answers exactly as
the writable one does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, insert, select, union_all, update

from ..classify import Labeller, Rule
from .schema import (
    CHECKS,
    KEYWORDS,
    LABEL_RULES,
    RESULTS,
    STANCE_MARKS,
    URL_STANCES,
    conflict_insert,
)

__all__ = [
    "StanceView",
    "bring_up_to_date",
    "read_rules",
    "read_view",
    "relabel_url_stances",
    "remember_url_stances",
    "rules_fingerprint",
]

_BATCH = 500

Labelled = tuple[str, str | None]  # (stance, key of the deciding rule or None)


def rules_fingerprint(rules: Sequence[Rule]) -> str:
    """A short digest of the rules in order: equal digests label every URL the same way."""
    text = json.dumps([[r.stance, r.kind, r.key] for r in rules], separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def label(labeller: Labeller, norm_url: str) -> Labelled:
    """(stance, rule key) of one URL: the only place a stance is computed."""
    rule = labeller.rule_for(norm_url)
    return (rule.stance, rule.key) if rule else ("neutral", None)


def read_rules(connection: Connection, campaign_id: int) -> list[Rule]:
    """The campaign's label rules in file order, read on ``connection``."""
    rows = connection.execute(
        select(LABEL_RULES.c.stance, LABEL_RULES.c.pattern, LABEL_RULES.c.kind, LABEL_RULES.c.key)
        .where(LABEL_RULES.c.campaign_id == campaign_id)
        .order_by(LABEL_RULES.c.position)
    )
    return [Rule(row.stance, row.pattern, row.kind, row.key) for row in rows]


# --- reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StanceView:
    """How a read sees a campaign's stances: the table's current rows, corrected by ``overlay``.

    ``overlay`` holds every URL whose table row is missing or stamped with other rules, with
    its stance under the current rules. Queries join the table on ``fingerprint`` (see
    :meth:`current`) and add the overlay's URLs themselves. It is empty whenever serptrack's
    own writes stored the data, which is the common case.
    """

    campaign_id: int
    fingerprint: str
    labeller: Labeller
    overlay: Mapping[str, Labelled]

    def current(self) -> Any:
        """The SQL condition that a joined ``url_stances`` row holds the current answer."""
        return URL_STANCES.c.rules_hash == self.fingerprint

    def overlay_urls(self, stances: Collection[str]) -> list[str]:
        """The overlay's URLs with one of ``stances``, sorted."""
        return sorted(url for url, (stance, _) in self.overlay.items() if stance in stances)

    def unlabelled_overlay_urls(self) -> list[str]:
        """The overlay's URLs that no rule labels, sorted."""
        return sorted(url for url, (_, rule) in self.overlay.items() if rule is None)

    def stances_of(self, connection: Connection, urls: Iterable[str]) -> dict[str, str]:
        """The stance of each URL, read from the table or the overlay (or labelled now)."""
        wanted = set(urls)
        found = {url: self.overlay[url][0] for url in wanted if url in self.overlay}
        rest = sorted(wanted - found.keys())
        s = URL_STANCES
        for batch in batches(rest):
            for row in connection.execute(
                select(s.c.norm_url, s.c.stance).where(
                    s.c.campaign_id == self.campaign_id,
                    s.c.norm_url.in_(batch),
                    self.current(),
                )
            ):
                found[row.norm_url] = row.stance
        for url in rest:
            if url not in found:  # not in the table at all: stored by a foreign writer
                found[url] = label(self.labeller, url)[0]
        return found


def read_view(connection: Connection, campaign_id: int) -> StanceView:
    """The campaign's stance view, computed without writing anything."""
    rules = read_rules(connection, campaign_id)
    labeller = Labeller(rules)
    fingerprint = rules_fingerprint(rules)
    overlay: dict[str, Labelled] = {}
    s = URL_STANCES
    for row in connection.execute(_stale_rows(campaign_id, fingerprint, s.c.norm_url)):
        overlay[row.norm_url] = label(labeller, row.norm_url)
    mark = _mark(connection, campaign_id)
    checks = _checks_after(connection, campaign_id, mark or 0)
    for norm_url in _uncovered_urls(connection, campaign_id, checks):
        overlay[norm_url] = label(labeller, norm_url)
    return StanceView(campaign_id, fingerprint, labeller, overlay)


# --- writes ----------------------------------------------------------------------------------


def remember_url_stances(
    connection: Connection,
    urls_by_keyword: Mapping[int, Iterable[str]],
    checks_by_keyword: Mapping[int, Sequence[int]],
) -> None:
    """Inside a check batch's transaction: add the rows of URLs each campaign has not seen
    yet, then move each campaign's mark past the batch's checks."""
    keyword_ids = sorted(set(urls_by_keyword) | set(checks_by_keyword))
    campaign_of: dict[int, int] = {
        row.id: row.campaign_id
        for row in connection.execute(
            select(KEYWORDS.c.id, KEYWORDS.c.campaign_id).where(KEYWORDS.c.id.in_(keyword_ids))
        )
    }
    urls: dict[int, set[str]] = {}
    checks: dict[int, list[int]] = {}
    for keyword_id, found in urls_by_keyword.items():
        urls.setdefault(campaign_of[keyword_id], set()).update(found)
    for keyword_id, ids in checks_by_keyword.items():
        checks.setdefault(campaign_of[keyword_id], []).extend(ids)
    # Campaigns in id order: two batches never wait on each other's marks in opposite orders.
    for campaign_id in sorted(set(urls) | set(checks)):
        rules: list[Rule] | None = None
        missing = urls.get(campaign_id, set()) - _known_urls(
            connection, campaign_id, urls.get(campaign_id, set())
        )
        if missing:
            rules = read_rules(connection, campaign_id)
            _insert_labelled(connection, campaign_id, missing, rules)
        own = checks.get(campaign_id, [])
        if own:
            _advance_mark(connection, campaign_id, own, rules)


def bring_up_to_date(connection: Connection, campaign_id: int, rules: Sequence[Rule]) -> int:
    """Inside ``apply``'s transaction: cover every check above the mark and relabel every row
    not computed with ``rules``; return how many rows changed stance."""
    mark = _mark(connection, campaign_id)
    if mark is None:
        _set_mark(connection, campaign_id, 0, exists=False)
        mark = 0
    checks = _checks_after(connection, campaign_id, mark)
    if checks:
        missing = _uncovered_urls(connection, campaign_id, checks)
        if missing:
            _insert_labelled(connection, campaign_id, missing, rules)
        _set_mark(connection, campaign_id, max(checks), exists=True)
    return relabel_url_stances(connection, campaign_id, rules)


def relabel_url_stances(connection: Connection, campaign_id: int, rules: Sequence[Rule]) -> int:
    """Relabel every row of the campaign not computed with ``rules``; return how many changed."""
    fingerprint = rules_fingerprint(rules)
    s = URL_STANCES
    rows = connection.execute(
        _stale_rows(campaign_id, fingerprint, s.c.norm_url, s.c.stance, s.c.rule)
    ).all()
    if not rows:
        return 0
    labeller = Labeller(rules)
    changed = []
    for row in rows:
        stance, rule_key = label(labeller, row.norm_url)
        if (stance, rule_key) != (row.stance, row.rule):
            changed.append({"u": row.norm_url, "s": stance, "r": rule_key})
    if changed:
        connection.execute(
            update(s)
            .where(and_(s.c.campaign_id == campaign_id, s.c.norm_url == bindparam("u")))
            .values(stance=bindparam("s"), rule=bindparam("r")),
            changed,
        )
    connection.execute(
        update(s)
        .where(s.c.campaign_id == campaign_id, s.c.rules_hash != fingerprint)
        .values(rules_hash=fingerprint)
    )
    return len(changed)


# --- helpers ---------------------------------------------------------------------------------


def _stale_rows(campaign_id: int, fingerprint: str, *columns: Any) -> Any:
    """``columns`` of the campaign's rows computed under other rules than ``fingerprint``.

    Two ranges rather than "!=": each is a seek on ``ix_url_stances_rules`` that finds
    nothing in the common case, where "!=" reads every URL the campaign has met.
    """
    s = URL_STANCES
    mine = s.c.campaign_id == campaign_id
    return union_all(
        select(*columns).where(mine, s.c.rules_hash < fingerprint),
        select(*columns).where(mine, s.c.rules_hash > fingerprint),
    )


def _advance_mark(
    connection: Connection, campaign_id: int, own: Sequence[int], rules: list[Rule] | None
) -> None:
    mark = _mark(connection, campaign_id)
    mine = set(own)
    foreign = [c for c in _checks_after(connection, campaign_id, mark or 0) if c not in mine]
    if foreign:  # checks another writer stored without their URLs
        missing = _uncovered_urls(connection, campaign_id, foreign)
        if missing:
            rules = rules if rules is not None else read_rules(connection, campaign_id)
            _insert_labelled(connection, campaign_id, missing, rules)
    _set_mark(connection, campaign_id, max([*own, *foreign]), exists=mark is not None)


def _mark(connection: Connection, campaign_id: int) -> int | None:
    value = connection.execute(
        select(STANCE_MARKS.c.check_id).where(STANCE_MARKS.c.campaign_id == campaign_id)
    ).scalar()
    return None if value is None else int(value)


def _set_mark(connection: Connection, campaign_id: int, check_id: int, *, exists: bool) -> None:
    if exists:
        m = STANCE_MARKS
        connection.execute(
            update(m)
            .where(m.c.campaign_id == campaign_id)
            .values(check_id=case((m.c.check_id < check_id, check_id), else_=m.c.check_id))
        )
    else:
        connection.execute(
            _insert_ignoring_conflicts(connection, STANCE_MARKS),
            [{"campaign_id": campaign_id, "result_id": 0, "check_id": check_id}],
        )


def _checks_after(connection: Connection, campaign_id: int, mark: int) -> list[int]:
    """The campaign's checks with an id above ``mark`` (its checks stored since the mark)."""
    c, k = CHECKS, KEYWORDS
    # A primary-key range scan of the few checks stored since the mark, whichever campaign
    # they belong to: joining keywords first would read every check the campaign ever had.
    rows = connection.execute(
        select(c.c.id, c.c.keyword_id).where(c.c.id > mark).order_by(c.c.id)
    ).all()
    # Then only those checks' keywords: not every keyword of the campaign at every batch.
    keywords: set[int] = set()
    for batch in batches(sorted({row.keyword_id for row in rows})):
        keywords.update(
            connection.execute(
                select(k.c.id).where(k.c.campaign_id == campaign_id, k.c.id.in_(batch))
            ).scalars()
        )
    return [row.id for row in rows if row.keyword_id in keywords]


def _uncovered_urls(connection: Connection, campaign_id: int, check_ids: Sequence[int]) -> set[str]:
    """URLs of these checks' results that have no row in the campaign's table."""
    if not check_ids:
        return set()
    r, known = RESULTS, URL_STANCES.alias("known")
    found: set[str] = set()
    for batch in batches(list(check_ids)):
        found.update(
            connection.execute(
                select(r.c.norm_url)
                .distinct()
                .select_from(
                    r.outerjoin(
                        known,
                        and_(known.c.campaign_id == campaign_id, known.c.norm_url == r.c.norm_url),
                    )
                )
                .where(r.c.check_id.in_(batch), known.c.norm_url.is_(None))
            ).scalars()
        )
    return found


def _known_urls(connection: Connection, campaign_id: int, urls: set[str]) -> set[str]:
    if not urls:
        return set()
    # Plain driver SQL: SQLAlchemy's expanding IN costs more than the lookup itself here.
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    known: set[str] = set()
    cursor = connection.connection.cursor()
    try:
        for batch in batches(sorted(urls)):
            cursor.execute(
                f"SELECT norm_url FROM url_stances WHERE campaign_id = {marker} "
                f"AND norm_url IN ({', '.join([marker] * len(batch))})",
                (campaign_id, *batch),
            )
            known.update(row[0] for row in cursor.fetchall())
    finally:
        cursor.close()
    return known


def _insert_labelled(
    connection: Connection, campaign_id: int, urls: Iterable[str], rules: Sequence[Rule]
) -> None:
    labeller = Labeller(rules)
    fingerprint = rules_fingerprint(rules)
    rows: list[dict[str, Any]] = []
    for norm_url in sorted(urls):
        stance, rule_key = label(labeller, norm_url)
        rows.append(
            {
                "campaign_id": campaign_id,
                "norm_url": norm_url,
                "stance": stance,
                "rule": rule_key,
                "rules_hash": fingerprint,
            }
        )
    statement = _insert_ignoring_conflicts(connection, URL_STANCES)
    for batch in batches(rows):
        connection.execute(statement, batch)


def _insert_ignoring_conflicts(connection: Connection, table: Any) -> Any:
    # Two writers of one campaign may meet the same new URL at once (PostgreSQL runs checks
    # in parallel): the second insert must not fail its check, so conflicts are ignored.
    insert_of = conflict_insert(connection.dialect.name)
    return insert(table) if insert_of is None else insert_of(table).on_conflict_do_nothing()


def batches(items: Sequence[Any], size: int = _BATCH) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size`` (IN lists stay under every driver's limit)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
