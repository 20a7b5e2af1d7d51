"""Two first messages at once on PostgreSQL: one conversation, opened once, both messages in it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm.inbox import threads
from bot.crm.models import ChatMessage, Customer, MessageKind, Thread
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work
from tests.factories import NOW, add_customer, make_shop

pytestmark = pytest.mark.postgres


async def test_two_workers_open_one_conversation(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("concurrent writers are PostgreSQL's; SQLite has a single writer")
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await add_customer(session, shop, "Sun", shop.li, tg_user_id=42, chat_id=42)
    engines = [create_engine(db_url), create_engine(db_url)]
    makers = [create_sessionmaker(engine) for engine in engines]
    inserted = asyncio.Event()

    async def worker(maker: async_sessionmaker[AsyncSession], n: int) -> bool:
        async with unit_of_work(maker) as session:
            customer = await session.get(Customer, sun.id)
            assert customer is not None
            if n == 1:
                # Start after the first worker inserted but before it commits: the
                # unique index makes this insert wait, then do nothing.
                await inserted.wait()
            inbound = await threads.record_inbound(
                session,
                customer=customer,
                kind=MessageKind.TEXT,
                text=f"message {n}",
                file_id=None,
                tg_chat_id=42,
                tg_message_id=n,
                now=NOW,
            )
            if n == 0:
                inserted.set()
                await asyncio.sleep(0.3)
            return inbound.first

    try:
        firsts = await asyncio.gather(worker(makers[0], 0), worker(makers[1], 1))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(firsts) == [False, True]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Thread)) == 1
        thread_ids = await session.scalars(select(ChatMessage.thread_id).distinct())
        assert len(thread_ids.all()) == 1
