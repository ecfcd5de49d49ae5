"""Typed handles on the tables of :mod:`serptrack.models`, for queries written in SQLAlchemy Core.

Read from the metadata (a ``Table`` to the type checker), not from ``Model.__table__``, which
SQLModel leaves untyped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlmodel import SQLModel

from .. import models as _models  # registers every table on SQLModel.metadata

__all__ = [
    "ALERT_ATTEMPTS",
    "ALERT_DELIVERIES",
    "ALERT_EVENTS",
    "ALERT_MEMORY",
    "ANNOTATIONS",
    "CAMPAIGNS",
    "CHECKS",
    "CHECK_SAMPLES",
    "KEYWORDS",
    "LABEL_RULES",
    "PAYLOADS",
    "RESULTS",
    "SLOT_CLAIMS",
    "STANCE_MARKS",
    "URL_KEYS",
    "URL_STANCES",
    "conflict_insert",
]


def conflict_insert(dialect: str) -> Callable[[Any], Any] | None:
    """The ``insert`` of ``dialect`` that can say ``ON CONFLICT`` (SQLite's, PostgreSQL's;
    None for another database). Each dialect's module is imported only where it is used:
    PostgreSQL's costs a SQLite run a tenth of a second of start-up."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert

        return insert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    return None


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


CAMPAIGNS = _table(_models.Campaign.__tablename__)
KEYWORDS = _table(_models.Keyword.__tablename__)
LABEL_RULES = _table(_models.LabelRule.__tablename__)
ANNOTATIONS = _table(_models.Annotation.__tablename__)
CHECKS = _table(_models.Check.__tablename__)
CHECK_SAMPLES = _table(_models.CheckSample.__tablename__)
PAYLOADS = _table(_models.Payload.__tablename__)
RESULTS = _table(_models.Result.__tablename__)
URL_STANCES = _table(_models.UrlStance.__tablename__)
URL_KEYS = _table(_models.UrlKey.__tablename__)
STANCE_MARKS = _table(_models.StanceMark.__tablename__)
SLOT_CLAIMS = _table(_models.SlotClaim.__tablename__)
ALERT_MEMORY = _table(_models.AlertMemory.__tablename__)
ALERT_EVENTS = _table(_models.AlertEvent.__tablename__)
ALERT_DELIVERIES = _table(_models.AlertDelivery.__tablename__)
ALERT_ATTEMPTS = _table(_models.AlertAttempt.__tablename__)
