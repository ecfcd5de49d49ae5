"""Slot claims: one check per keyword and slot, whoever asks and however they die."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

from sqlalchemy import text, update
from sqlmodel import Session, col

from serptrack import store
from serptrack.models import Campaign, Keyword, SlotClaim
from serptrack.store import claims

NOW = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)
SLOT = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)


def keywords(engine, count: int = 3) -> list[int]:
    with Session(engine) as session:
        campaign = Campaign(name="c")
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        rows = [
            Keyword(campaign_id=campaign.id, query=f"q{n}", provider="replay") for n in range(count)
        ]
        session.add_all(rows)
        session.commit()
        return [k.id for k in rows if k.id is not None]


def test_a_slot_is_won_once(engine) -> None:
    ids = keywords(engine)
    token, won = claims.claim_slots(engine, [(i, SLOT) for i in ids], now=NOW, worker="host-a:1")
    assert won == {(i, SLOT) for i in ids}
    other_token, other = claims.claim_slots(
        engine, [(i, SLOT) for i in ids], now=NOW, worker="host-b:2"
    )
    assert other == set() and other_token != token


def test_an_expired_claim_without_a_check_is_taken_over(engine) -> None:
    (keyword,) = keywords(engine, 1)
    claims.claim_slots(
        engine, [(keyword, SLOT)], now=NOW, worker="host-a:1", lease=dt.timedelta(minutes=5)
    )
    _, early = claims.claim_slots(
        engine, [(keyword, SLOT)], now=NOW + dt.timedelta(minutes=4), worker="host-b:2"
    )
    assert early == set()
    _, late = claims.claim_slots(
        engine, [(keyword, SLOT)], now=NOW + dt.timedelta(minutes=6), worker="host-b:2"
    )
    assert late == {(keyword, SLOT)}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT worker FROM slot_claims")).scalar() == "host-b:2"


def test_a_claim_of_a_dead_process_on_this_machine_is_taken_over_at_once(engine) -> None:
    (keyword,) = keywords(engine, 1)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    holder = f"{socket.gethostname()}:{dead.stdout.strip()}"
    claims.claim_slots(engine, [(keyword, SLOT)], now=NOW, worker=holder)
    _, won = claims.claim_slots(engine, [(keyword, SLOT)], now=NOW, worker="me:1")
    assert won == {(keyword, SLOT)}


def test_a_completed_claim_is_never_taken_over(engine) -> None:

    (keyword,) = keywords(engine, 1)
    token, _ = claims.claim_slots(
        engine, [(keyword, SLOT)], now=NOW, worker="host-a:1", lease=dt.timedelta(seconds=1)
    )
    check_id = store.record_check(engine, store.CheckRecord(keyword, "replay", NOW, slot=SLOT))
    with engine.begin() as connection:
        assert claims.complete_claim(connection, keyword, SLOT, token, check_id)
        assert not claims.complete_claim(connection, keyword, SLOT, token, check_id)
    _, won = claims.claim_slots(
        engine, [(keyword, SLOT)], now=NOW + dt.timedelta(days=1), worker="host-b:2"
    )
    assert won == set()


def test_a_lost_claim_cannot_be_completed(engine) -> None:
    (keyword,) = keywords(engine, 1)
    token, _ = claims.claim_slots(
        engine, [(keyword, SLOT)], now=NOW, worker="host-a:1", lease=dt.timedelta(seconds=1)
    )
    claims.claim_slots(
        engine, [(keyword, SLOT)], now=NOW + dt.timedelta(seconds=5), worker="host-b:2"
    )
    with engine.begin() as connection:
        assert not claims.complete_claim(connection, keyword, SLOT, token, 1)


def lease_of(engine, keyword: int) -> tuple[str, dt.datetime, dt.datetime]:
    with Session(engine) as session:
        claim = session.get(SlotClaim, (keyword, SLOT))
        assert claim is not None
        return claim.worker, claim.claimed_at, claim.lease_until


def test_renewing_extends_unfinished_claims_and_tells_which_were_lost(engine) -> None:
    running, done, lost = keywords(engine)
    lease = dt.timedelta(minutes=5)
    pairs = [(running, SLOT), (done, SLOT), (lost, SLOT)]
    token, _ = claims.claim_slots(engine, pairs, now=NOW, worker="host-a:1", lease=lease)
    record = store.CheckRecord(done, "replay", NOW, slot=SLOT, claim_token=token)
    assert store.record_check(engine, record)
    with engine.begin() as connection:  # A stopped renewing this one: its lease has passed
        connection.execute(
            update(SlotClaim).where(col(SlotClaim.keyword_id) == lost).values(lease_until=NOW)
        )
    _, taken = claims.claim_slots(
        engine, [(lost, SLOT)], now=NOW + dt.timedelta(minutes=1), worker="host-b:2", lease=lease
    )
    assert taken == {(lost, SLOT)}
    at = NOW + dt.timedelta(minutes=4)
    held = claims.renew(engine, token, now=at, lease=lease)
    assert held == {(running, SLOT), (done, SLOT)}  # (lost, SLOT) is missing: lost
    assert lease_of(engine, running) == ("host-a:1", NOW, at + lease)
    assert lease_of(engine, done) == ("host-a:1", NOW, NOW + lease)  # done: left alone
    b_claimed = NOW + dt.timedelta(minutes=1)
    assert lease_of(engine, lost) == ("host-b:2", b_claimed, b_claimed + lease)  # not B's renewed
    # past A's first lease, the renewed claim is still A's
    _, won = claims.claim_slots(
        engine, [(running, SLOT)], now=NOW + dt.timedelta(minutes=6), worker="host-b:2"
    )
    assert won == set()


def test_a_released_token_renews_nothing(engine) -> None:
    (keyword,) = keywords(engine, 1)
    token, _ = claims.claim_slots(engine, [(keyword, SLOT)], now=NOW, worker="host-a:1")
    assert claims.release(engine, token) == 1
    assert claims.renew(engine, token, now=NOW, lease=dt.timedelta(minutes=5)) == set()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM slot_claims")).scalar() == 0
