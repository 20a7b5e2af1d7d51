"""The pace workers share on PostgreSQL: slots never overlap, pauses and holds bind them all."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery.shared_pace import SharedPace
from bot.crm.store import create_engine, create_sessionmaker

pytestmark = pytest.mark.postgres
# The database's clock runs on while a test reserves; its round trips take milliseconds.
TOLERANCE = 0.03


@pytest.fixture
def pg_url(db_url: str) -> str:
    """Return the URL when it is PostgreSQL's; the shared pace is for several workers."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the shared pace is for several workers on PostgreSQL; SQLite is one")
    return db_url


async def _slots(pace: SharedPace, count: int, *, database_clock: bool = False) -> list[float]:
    """Reserve and take ``count`` slots without waiting for them; return their times.

    On ``database_clock`` the times are the database's (each slot as its block was
    placed, with the offset read at that reservation): a slow round trip on a busy
    machine moves a worker's reading of that clock by up to half its length, which
    would blur where the database put two workers' slots.
    """
    times = []
    for _ in range(count):
        wait = await pace.next_slot(time.monotonic())
        # The wait counts from when a reservation (if one was needed) came back.
        now = time.monotonic()
        assert pace.clock_offset is not None
        times.append(now + wait + (pace.clock_offset if database_clock else 0.0))
        pace.take()
    return times


async def test_two_workers_get_slots_one_after_the_other(pg_url: str) -> None:
    engines = [create_engine(pg_url), create_engine(pg_url)]
    try:
        first, second = (SharedPace(create_sessionmaker(e), 30) for e in engines)
        a = await _slots(first, first.block, database_clock=True)
        b = await _slots(second, second.block, database_clock=True)
        a += await _slots(first, first.block, database_clock=True)
    finally:
        for engine in engines:
            await engine.dispose()
    merged = sorted(a + b)
    gaps = [later - earlier for earlier, later in zip(merged, merged[1:], strict=False)]
    # 30/s with 3 % headroom: one slot every 34.4 ms, whoever holds it.
    assert all(abs(gap - first.interval) < TOLERANCE for gap in gaps), gaps
    assert b[0] > a[first.block - 1] and a[first.block] > b[-1]


async def test_a_429_on_one_worker_pauses_the_other(
    pg_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    engine = create_engine(pg_url)
    try:
        first = SharedPace(sessions, 30)
        second = SharedPace(create_sessionmaker(engine), 30)
        await first.pause(2.0)
        wait = await second.next_slot(time.monotonic())
    finally:
        await engine.dispose()
    assert 2.0 - TOLERANCE < wait < 2.0 + TOLERANCE


async def test_a_late_arrival_holds_back_the_slot_a_second_after_it(
    pg_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    pace = SharedPace(sessions, 30)
    [sent] = await _slots(pace, 1)
    late = 0.05
    assert pace.matters(late)
    assert not pace.matters(0.001)
    await pace.hold(sent, late)
    times = [sent, *await _slots(pace, 40)]
    # Telegram counts 30 a second as they arrive: the 31st after the late one waits
    # until a second after that one's arrival.
    assert times[30] >= sent + late + 1.0 - TOLERANCE / 3
    # The rest of the pace is not held back.
    assert times[28] < sent + 1.0
