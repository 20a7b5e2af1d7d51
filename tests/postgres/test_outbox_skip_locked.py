"""Claiming on PostgreSQL: concurrent claimers skip each other's locked rows, never share one."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import outbox
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work
from tests.campaigns.delivery.helpers import NOW, make_run, make_shop

pytestmark = pytest.mark.postgres


async def test_two_claimers_never_get_the_same_row(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has a single writer")
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [f"C{n}" for n in range(300)])
        run = await make_run(session, shop)
        await outbox.materialise_batch(session, run, {}, birthday=None, limit=1000)
    # Two workers: two engines, two connection pools, as two processes would have.
    engines = [create_engine(db_url), create_engine(db_url)]
    makers = [create_sessionmaker(engine) for engine in engines]
    hold = asyncio.Event()

    async def claimer(maker: async_sessionmaker[AsyncSession], first: bool) -> list[int]:
        got: list[int] = []
        while True:
            async with unit_of_work(maker) as session:
                rows = await outbox.claim(session, run_id=run.id, after_id=0, now=NOW, limit=7)
                if first and not hold.is_set():
                    # Keep the first batch locked while the other claims: it must skip it.
                    hold.set()
                    await asyncio.sleep(0.2)
            if not rows:
                return got
            got.extend(r.id for r in rows)

    async def second() -> list[int]:
        await hold.wait()
        return await claimer(makers[1], first=False)

    try:
        a, b = await asyncio.gather(claimer(makers[0], first=True), second())
    finally:
        for engine in engines:
            await engine.dispose()
    assert not set(a) & set(b)
    assert len(a) + len(b) == 300
    assert b, "the second claimer waited instead of skipping the locked rows"
    assert sorted(a)[:7] == sorted(a + b)[:7]  # the first batch is the lowest ids
