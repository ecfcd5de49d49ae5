"""Exactly-once schedule slots without a coordinator: workers claim slots in the database.

A claim is a row keyed by (keyword, slot), so a second claim on the same slot cannot be
inserted, by another process on the same SQLite file or by a worker on another machine sharing
a PostgreSQL database. The transaction that stores the check also marks its claim done. A claim
left without a check by a worker that died is taken over once its lease has passed, or at once
when the worker ran on this machine and its process is gone.

Leases are wall-clock time (``claimed_at``, ``lease_until``), never the logical time a check
stands for (its slot, ``check --due --as-of``). A live worker renews its claims while their
checks run (:func:`renew`), so only a worker that stopped renewing loses them.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine, and_, delete, select, tuple_, update
from sqlmodel import col

from ..defaults import DEFAULT_LEASE
from ..errors import DatabaseError
from ..models import Check, CheckSample, Payload, Result, SlotClaim
from .schema import conflict_insert

__all__ = [
    "DEFAULT_LEASE",
    "Claim",
    "claim_slots",
    "complete_claim",
    "discard_check",
    "release",
    "renew",
    "worker_name",
]

_CHUNK = 400

Claim = tuple[int, dt.datetime]


def worker_name() -> str:
    """``host:pid`` of this process: who holds a claim, and how a dead holder is recognised."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_slots(
    engine: Engine,
    wanted: Iterable[Claim],
    *,
    now: dt.datetime,
    worker: str | None = None,
    lease: dt.timedelta = DEFAULT_LEASE,
) -> tuple[str, set[Claim]]:
    """Claim the (keyword id, slot) pairs nobody holds; return this claim's token and the pairs won.

    ``now`` is the wall-clock time (leases are stamped from it and judged against it), not the
    time the checks are as of. Pairs already checked, or held by a live worker whose lease has
    not passed, are not won.
    """
    # One global order for every writer: two workers inserting overlapping claims in different
    # orders would each wait for a row the other holds (a deadlock on PostgreSQL).
    pairs = sorted(set(wanted))
    token = uuid.uuid4().hex
    worker = worker or worker_name()
    won: set[Claim] = set()
    for first in range(0, len(pairs), _CHUNK):
        chunk = pairs[first : first + _CHUNK]
        with engine.begin() as connection:
            _insert_new(connection, chunk, worker, token, now, lease)
            _take_over_stale(connection, chunk, worker, token, now, lease)
            rows = connection.execute(
                select(col(SlotClaim.keyword_id), col(SlotClaim.slot)).where(
                    col(SlotClaim.token) == token
                )
            )
            won.update((keyword_id, slot) for keyword_id, slot in rows)
    return token, won


def complete_claim(
    connection: Connection, keyword_id: int, slot: dt.datetime, token: str, check_id: int
) -> bool:
    """Mark the claim done with its check, inside the transaction that stored the check.

    Returns False when the claim was lost (taken over after its lease passed): the caller must
    then not keep the check, so the slot still has exactly one.
    """
    result = connection.execute(
        update(SlotClaim)
        .where(
            col(SlotClaim.keyword_id) == keyword_id,
            col(SlotClaim.slot) == slot,
            col(SlotClaim.token) == token,
            col(SlotClaim.check_id).is_(None),
        )
        .values(check_id=check_id)
    )
    return bool(result.rowcount)


def renew(engine: Engine, token: str, *, now: dt.datetime, lease: dt.timedelta) -> set[Claim]:
    """Extend to ``now + lease`` the lease of this token's claims that have no check yet; return
    the pairs the token still holds (done ones included).

    A pair claimed with this token but missing from the answer was lost: taken over by another
    worker after its lease passed, and its check must be neither fetched nor stored.
    """
    with engine.begin() as connection:
        connection.execute(
            update(SlotClaim)
            .where(col(SlotClaim.token) == token, col(SlotClaim.check_id).is_(None))
            .values(lease_until=now + lease)
        )
        rows = connection.execute(
            select(col(SlotClaim.keyword_id), col(SlotClaim.slot)).where(
                col(SlotClaim.token) == token
            )
        )
        return {(keyword_id, slot) for keyword_id, slot in rows}


def release(engine: Engine, token: str) -> int:
    """Give back this token's claims that got no check (stopped, or keys missing); return how many."""
    with engine.begin() as connection:
        result = connection.execute(
            delete(SlotClaim).where(
                col(SlotClaim.token) == token, col(SlotClaim.check_id).is_(None)
            )
        )
    return int(result.rowcount or 0)


def discard_check(connection: Connection, check_id: int) -> None:
    """Remove a check written in this transaction whose claim was lost."""
    connection.execute(delete(Result).where(col(Result.check_id) == check_id))
    connection.execute(delete(Payload).where(col(Payload.check_id) == check_id))
    connection.execute(delete(CheckSample).where(col(CheckSample.check_id) == check_id))
    connection.execute(delete(Check).where(col(Check.id) == check_id))


def _insert_new(
    connection: Connection,
    pairs: Sequence[Claim],
    worker: str,
    token: str,
    now: dt.datetime,
    lease: dt.timedelta,
) -> None:
    rows = [
        {
            "keyword_id": keyword_id,
            "slot": slot,
            "worker": worker,
            "token": token,
            "claimed_at": now,
            "lease_until": now + lease,
        }
        for keyword_id, slot in pairs
    ]
    dialect = connection.dialect.name
    insert_of = conflict_insert(dialect)
    if insert_of is None:
        raise DatabaseError(f"scheduled checks need SQLite or PostgreSQL, not {dialect}")
    connection.execute(insert_of(SlotClaim).on_conflict_do_nothing(), rows)


def _take_over_stale(
    connection: Connection,
    pairs: Sequence[Claim],
    worker: str,
    token: str,
    now: dt.datetime,
    lease: dt.timedelta,
) -> None:
    open_claims = connection.execute(
        select(
            col(SlotClaim.keyword_id),
            col(SlotClaim.slot),
            col(SlotClaim.worker),
            col(SlotClaim.token),
            col(SlotClaim.lease_until),
        ).where(
            tuple_(col(SlotClaim.keyword_id), col(SlotClaim.slot)).in_(pairs),
            col(SlotClaim.check_id).is_(None),
            col(SlotClaim.token) != token,
        )
    ).all()
    stale = sorted(
        (k, s, held_by, until < now)
        for k, s, holder, held_by, until in open_claims
        if until < now or _holder_is_dead(holder)
    )
    for keyword_id, slot, held_by, expired in stale:
        # Compare and swap: the same claim (its token), and still expired, so a renewal that
        # committed since the read above keeps the claim with its live worker.
        still_stale = [col(SlotClaim.lease_until) < now] if expired else []
        connection.execute(
            update(SlotClaim)
            .where(
                and_(
                    col(SlotClaim.keyword_id) == keyword_id,
                    col(SlotClaim.slot) == slot,
                    col(SlotClaim.token) == held_by,
                    col(SlotClaim.check_id).is_(None),
                    *still_stale,
                )
            )
            .values(worker=worker, token=token, claimed_at=now, lease_until=now + lease)
        )


def _holder_is_dead(holder: str) -> bool:
    """Whether a claim's worker ran on this machine and its process no longer exists."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
