"""The check writer's group commit: checks that arrive one by one are stored together."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Engine, event, text

from serptrack import tracker

from .test_hostile_payloads import keyword_ids, record


def commits_of(engine: Engine) -> list[int]:
    """A list that grows by one at every commit on ``engine``."""
    seen: list[int] = []
    event.listen(engine, "commit", lambda connection: seen.append(1))
    return seen


def test_checks_arriving_one_by_one_within_the_window_share_one_commit(
    engine: Engine, tmp_path: Path
) -> None:
    ids = keyword_ids(engine, tmp_path, 3)
    commits = commits_of(engine)

    async def run() -> list[int]:
        writer = tracker._Writer(engine)
        writer.WINDOW = 2.0  # generous: the three arrive a millisecond apart
        stored = []
        for keyword_id in ids:
            stored.append(writer.store(record(keyword_id)))
            await asyncio.sleep(0.001)
        return list(await asyncio.gather(*stored))

    check_ids = asyncio.run(run())
    assert all(check_ids) and len(set(check_ids)) == 3
    assert len(commits) == 1
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM checks")).scalar() == 3


def test_a_full_batch_is_written_without_waiting_for_the_window(
    engine: Engine, tmp_path: Path
) -> None:
    ids = keyword_ids(engine, tmp_path, 2)

    async def run() -> list[int]:
        writer = tracker._Writer(engine, full=2)
        writer.WINDOW = 600.0  # were the window waited for, wait_for would give up first
        stored = [writer.store(record(keyword_id)) for keyword_id in ids]
        return list(await asyncio.wait_for(asyncio.gather(*stored), timeout=30))

    assert len(set(asyncio.run(run()))) == 2


def test_a_lone_check_is_written_when_the_window_ends(engine: Engine, tmp_path: Path) -> None:
    (keyword_id,) = keyword_ids(engine, tmp_path, 1)

    async def run() -> int:
        writer = tracker._Writer(engine)
        writer.WINDOW = 0.05
        return await asyncio.wait_for(writer.store(record(keyword_id)), timeout=30)

    assert asyncio.run(run()) > 0


def test_a_writer_that_may_hold_four_checks_writes_eight_in_two_commits(
    engine: Engine, tmp_path: Path
) -> None:
    """``run_checks`` lets four checks per fetch slot wait to be stored and tells the writer
    so: once that many wait, no other can come, and the window is not waited for."""
    ids = keyword_ids(engine, tmp_path, 8)
    commits = commits_of(engine)

    async def run() -> list[int]:
        writer = tracker._Writer(engine, full=4)
        writer.WINDOW = 600.0
        stored = [writer.store(record(keyword_id)) for keyword_id in ids]
        return list(await asyncio.wait_for(asyncio.gather(*stored), timeout=30))

    assert len(set(asyncio.run(run()))) == 8
    assert len(commits) == 2
