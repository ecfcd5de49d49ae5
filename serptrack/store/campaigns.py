"""Campaigns, their keywords, label rules and annotations: ``apply`` and the reads of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, func
from sqlmodel import Session, col, select

from ..classify import Labeller, Rule
from ..errors import NotFoundError
from ..models import Annotation, Campaign, Check, Keyword, LabelRule, utcnow
from ..vocabulary import CheckStatus, identity_of
from .schema import ALERT_MEMORY, KEYWORDS
from .stances import bring_up_to_date

if TYPE_CHECKING:
    from ..specs import CampaignSpec, KeywordSpec

__all__ = [
    "ApplySummary",
    "apply_campaign",
    "campaign_keywords",
    "campaign_labeller",
    "campaign_rules",
    "check_summary",
    "get_campaign",
    "list_campaigns",
]


@dataclass
class ApplySummary:
    """What ``apply`` changed."""

    campaign: str
    created: bool
    keywords_added: list[str] = field(default_factory=list)
    keywords_updated: list[str] = field(default_factory=list)
    keywords_reactivated: list[str] = field(default_factory=list)
    keywords_deactivated: list[str] = field(default_factory=list)
    keywords_active: int = 0
    rules: int = 0
    annotations: int = 0
    changed: bool = True  # False when the file says exactly what was stored already


def apply_campaign(
    engine: Engine, spec: CampaignSpec, now: dt.datetime | None = None
) -> ApplySummary:
    """Create or update a campaign from its validated file, in one transaction."""
    now = now or utcnow()
    with Session(engine) as session, session.begin():
        campaign = session.exec(select(Campaign).where(Campaign.name == spec.name)).first()
        created = campaign is None
        before = None if campaign is None else _stored_state(session, campaign)
        if campaign is None:
            campaign = Campaign(name=spec.name, created_at=now)
        campaign.brand = spec.brand
        campaign.description = spec.description
        campaign.crisis_start = spec.crisis_start
        campaign.source_path = spec.path
        campaign.settings = spec.settings
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        summary = ApplySummary(spec.name, created)
        _apply_keywords(session, campaign.id, spec.keywords, now, summary)
        summary.changed = before != _spec_state(spec) or any(
            (
                summary.keywords_added,
                summary.keywords_updated,
                summary.keywords_reactivated,
                summary.keywords_deactivated,
            )
        )
        if summary.changed:
            campaign.updated_at = now
            session.add(campaign)
        session.execute(delete(LabelRule).where(col(LabelRule.campaign_id) == campaign.id))
        session.execute(delete(Annotation).where(col(Annotation.campaign_id) == campaign.id))
        for position, rule in enumerate(spec.rules):
            session.add(
                LabelRule(
                    campaign_id=campaign.id,
                    stance=rule.stance,
                    pattern=rule.pattern,
                    kind=rule.kind,
                    key=rule.key,
                    position=position,
                )
            )
        for note in spec.annotations:
            session.add(
                Annotation(
                    campaign_id=campaign.id, date=note.date, text=note.text, query=note.query
                )
            )
        # labels apply retroactively: relabel every URL already seen, in this same transaction
        bring_up_to_date(session.connection(), campaign.id, spec.rules)
        if not spec.alerts.rules:
            # No rule keeps the alert memory current from now on: forget it, so rules added
            # back later start from the stored history, never from a stale memory.
            _forget_alert_memory(session, campaign.id)
        summary.rules = len(spec.rules)
        summary.annotations = len(spec.annotations)
        summary.keywords_active = len(spec.keywords)
    return summary


def _stored_state(session: Session, campaign: Campaign) -> tuple[Any, ...]:
    """What a campaign file decides besides keywords, as stored: to tell an unchanged apply."""
    rules = [(r.stance, r.pattern, r.kind, r.key) for r in campaign_rules(session, campaign)]
    notes = session.exec(
        select(Annotation)
        .where(col(Annotation.campaign_id) == campaign.id)
        .order_by(col(Annotation.id))
    )
    return (
        campaign.brand,
        campaign.description,
        campaign.crisis_start,
        campaign.source_path,
        campaign.settings,
        rules,
        [(n.date, n.text, n.query) for n in notes],
    )


def _spec_state(spec: CampaignSpec) -> tuple[Any, ...]:
    return (
        spec.brand,
        spec.description,
        spec.crisis_start,
        spec.path,
        spec.settings,
        [(r.stance, r.pattern, r.kind, r.key) for r in spec.rules],
        [(n.date, n.text, n.query) for n in spec.annotations],
    )


def _apply_keywords(
    session: Session,
    campaign_id: int,
    specs: Sequence[KeywordSpec],
    now: dt.datetime,
    summary: ApplySummary,
) -> None:
    existing = {
        _identity(k): k
        for k in session.exec(select(Keyword).where(col(Keyword.campaign_id) == campaign_id))
    }
    wanted = {spec.identity for spec in specs}
    for spec in specs:
        keyword = existing.get(spec.identity)
        values: dict[str, Any] = {
            "provider": spec.provider,
            "depth": spec.depth,
            "samples": spec.samples,
            "schedule": spec.schedule,
            "timezone": spec.timezone,
            "tags": list(spec.tags),
            "prompt": spec.prompt,
        }
        if keyword is None:
            session.add(
                Keyword(
                    campaign_id=campaign_id,
                    query=spec.query,
                    engine=spec.engine,
                    country=spec.country,
                    language=spec.language,
                    device=spec.device,
                    location=spec.location,
                    active=True,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            summary.keywords_added.append(spec.query)
            continue
        changed = any(getattr(keyword, name) != value for name, value in values.items())
        if not keyword.active:
            summary.keywords_reactivated.append(spec.query)
        elif changed:
            summary.keywords_updated.append(spec.query)
        if changed or not keyword.active:
            for name, value in values.items():
                setattr(keyword, name, value)
            keyword.active = True
            keyword.updated_at = now
            session.add(keyword)
    for identity, keyword in existing.items():
        if identity not in wanted and keyword.active:
            keyword.active = False
            keyword.updated_at = now
            session.add(keyword)
            summary.keywords_deactivated.append(keyword.query)


def _identity(keyword: Keyword) -> tuple[str, ...]:
    return identity_of(keyword)


def get_campaign(session: Session, name: str) -> Campaign:
    """The campaign called ``name``, or an error that says how to create it."""
    campaign = session.exec(select(Campaign).where(Campaign.name == name)).first()
    if campaign is None:
        names = list(session.exec(select(Campaign.name).order_by(col(Campaign.name))))
        known = f" (known: {', '.join(names)})" if names else ""
        raise NotFoundError(
            f"no campaign named {name!r}{known}; create it with: serptrack apply FILE"
        )
    return campaign


def list_campaigns(session: Session) -> list[dict[str, Any]]:
    """Every campaign with its keyword and check counts."""
    keyword_counts: dict[int | None, int] = dict(
        session.exec(
            select(Keyword.campaign_id, func.count())
            .where(col(Keyword.active))
            .group_by(col(Keyword.campaign_id))
        ).all()
    )
    check_counts: dict[int | None, int] = dict(
        session.exec(
            select(Keyword.campaign_id, func.count(col(Check.id)))
            .join(Check, col(Check.keyword_id) == col(Keyword.id))
            .group_by(col(Keyword.campaign_id))
        ).all()
    )
    rows = []
    for campaign in session.exec(select(Campaign).order_by(col(Campaign.name))):
        rows.append(
            {
                "name": campaign.name,
                "brand": campaign.brand,
                "crisis_start": campaign.crisis_start.isoformat()
                if campaign.crisis_start
                else None,
                "keywords": keyword_counts.get(campaign.id, 0),
                "checks": check_counts.get(campaign.id, 0),
                "source_path": campaign.source_path,
            }
        )
    return rows


def check_summary(session: Session, campaign: Campaign) -> tuple[dt.datetime | None, int]:
    """When the campaign was last checked, and how many of its checks failed or were blocked."""
    joined = (
        select(func.max(Check.observed_at), func.count(col(Check.id)))
        .join(Keyword, col(Keyword.id) == col(Check.keyword_id))
        .where(col(Keyword.campaign_id) == campaign.id)
    )
    last, _ = session.exec(joined).one()
    _, failed = session.exec(joined.where(col(Check.status) != CheckStatus.OK)).one()
    return last, failed


def campaign_keywords(
    session: Session, campaign: Campaign, *, active_only: bool = True
) -> list[Keyword]:
    """The campaign's keywords, in the order they were added."""
    query = select(Keyword).where(col(Keyword.campaign_id) == campaign.id)
    if active_only:
        query = query.where(col(Keyword.active))
    return list(session.exec(query.order_by(col(Keyword.id))))


def campaign_rules(session: Session, campaign: Campaign) -> list[Rule]:
    """The campaign's label rules in file order."""
    rows = session.exec(
        select(LabelRule)
        .where(col(LabelRule.campaign_id) == campaign.id)
        .order_by(col(LabelRule.position))
    )
    return [Rule(r.stance, r.pattern, r.kind, r.key) for r in rows]


def campaign_labeller(session: Session, campaign: Campaign) -> Labeller:
    """A labeller for the campaign's current rules (labels apply retroactively)."""
    return Labeller(campaign_rules(session, campaign))


def _forget_alert_memory(session: Session, campaign_id: int) -> None:
    """Drop the alert memory of the campaign's keywords (its alert rules are gone). Here, not
    in the outbox: every command that reads campaigns would load the alert machinery."""
    keywords = select(KEYWORDS.c.id).where(KEYWORDS.c.campaign_id == campaign_id)
    session.connection().execute(
        ALERT_MEMORY.delete().where(ALERT_MEMORY.c.keyword_id.in_(keywords))
    )
