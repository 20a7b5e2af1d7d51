"""The recorder on a real database: every outcome handed to it is written, and it always ends."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.campaigns.delivery import outbox
from bot.campaigns.delivery.book import RunBook
from bot.campaigns.delivery.outbox import Claimed, Settle
from bot.campaigns.delivery.recorder import Done, Recorder
from bot.campaigns.delivery.wiring import Wiring
from bot.crm.models import OutboxMessage, OutboxStatus
from bot.crm.store import unit_of_work
from tests.campaigns.delivery.helpers import FAST, NOW, Clock, FakeTelegram, make_run, make_shop

Sessions = async_sessionmaker[AsyncSession]


async def _claimed(sessions: Sessions, n: int) -> list[Claimed]:
    """Materialise a run of ``n`` customers and claim all of it (every row ``sending``)."""
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [f"C{i}" for i in range(n)])
        run = await make_run(session, shop)
        await outbox.materialise_batch(session, run, {}, birthday=None, limit=100)
        run.materialised_at = NOW
        return await outbox.claim(session, run_id=run.id, after_id=0, now=NOW, limit=n)


def _sent(row: Claimed) -> Done:
    settle = Settle(row.id, OutboxStatus.SENT, None, 1, tg_message_id=row.id, sent_at=NOW)
    return Done(settle, row.run_id, row.customer_id)


def _recorder(sessions: Sessions, written: list[int]) -> Recorder:
    clock = Clock()
    wiring = Wiring(sessions, FakeTelegram(), FAST, clock, time.monotonic)
    return Recorder(wiring, RunBook(sessions, clock), on_written=written.append)


async def _statuses(sessions: Sessions) -> list[OutboxStatus]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


def _engine(sessions: Sessions) -> AsyncEngine:
    bind = sessions.kw["bind"]
    assert isinstance(bind, AsyncEngine)
    return bind


def _on_first_commit(sessions: Sessions, action: Callable[[], None]) -> None:
    fired = False

    def commit(_connection: object) -> None:
        nonlocal fired
        if not fired:
            fired = True
            action()

    event.listen(_engine(sessions).sync_engine, "commit", commit)


async def test_closing_while_a_group_is_written_still_writes_the_rest_and_ends(
    sessions: Sessions,
) -> None:
    first, second = await _claimed(sessions, 2)
    written: list[int] = []
    recorder = _recorder(sessions, written)

    def meanwhile() -> None:
        # The engine is stopping while the first group commits: the last worker's outcome
        # arrives, then closing().
        recorder.add(_sent(second))
        recorder.closing()

    _on_first_commit(sessions, meanwhile)
    serving = asyncio.create_task(recorder.serve())
    recorder.add(_sent(first))
    done, _ = await asyncio.wait({serving}, timeout=5)
    serving.cancel()
    assert done, "the recorder kept waiting after closing()"
    assert written == [1, 1]
    assert await _statuses(sessions) == [OutboxStatus.SENT, OutboxStatus.SENT]


async def test_closing_with_nothing_queued_ends_at_once(sessions: Sessions) -> None:
    recorder = _recorder(sessions, [])
    serving = asyncio.create_task(recorder.serve())
    await asyncio.sleep(0.05)
    recorder.closing()
    done, _ = await asyncio.wait({serving}, timeout=5)
    serving.cancel()
    assert done


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_locked_database_at_stop_gives_up_by_the_deadline_and_leaves_rows_sending(
    sessions: Sessions, tmp_path: Path
) -> None:
    rows = await _claimed(sessions, 3)
    recorder = _recorder(sessions, [])
    serving = asyncio.create_task(recorder.serve())
    # Another process holds the write lock for longer than any stop may take.
    locker = sqlite3.connect(tmp_path / "unit.db", isolation_level=None, timeout=0)
    try:
        locker.execute("BEGIN IMMEDIATE")  # nothing else writes yet: never waits
        for row in rows:
            recorder.add(_sent(row))
        recorder.closing(deadline=asyncio.get_running_loop().time() + 1.0)
        loop = asyncio.get_running_loop()
        began = loop.time()
        done, _ = await asyncio.wait({serving}, timeout=10)
        took = loop.time() - began
    finally:
        locker.rollback()
        locker.close()
    serving.cancel()
    assert done, "the recorder never gave up on a locked database"
    # One attempt may be inside SQLite's busy wait (5 s) when the deadline passes.
    assert took < 7
    # Not written: the rows stay "sending", which the next start turns into "unknown".
    assert await _statuses(sessions) == [OutboxStatus.SENDING] * 3
