"""The periodic job that returns stale leads to the pool and tells their reps."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm.models import Customer, UserPref
from bot.crm.store import unit_of_work
from bot.jobs.leads import return_stale_leads_job
from tests.factories import NOW, add_customer, make_shop
from tests.fakes import RecordingMessenger


async def test_rep_is_told_once_in_their_language(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        stale = await add_customer(
            session, shop, "Zhao <Tea>", shop.li, owner_assigned_at=NOW - timedelta(days=20)
        )
        session.add(UserPref(tg_user_id=shop.li.tg_user_id, locale="zh-CN"))
    messenger = RecordingMessenger()

    await return_stale_leads_job(sessions, messenger, lambda: NOW)
    await return_stale_leads_job(sessions, messenger, lambda: NOW)

    assert len(messenger.texts) == 1
    chat_id, text = messenger.texts[0]
    assert chat_id == shop.li.chat_id
    assert "Zhao &lt;Tea&gt;" in text
    assert "/pool" in text
    assert "Your lead" not in text  # Li reads Chinese
    async with sessions() as session:
        customer = await session.get(Customer, stale.id)
        assert customer is not None
        assert customer.owner_member_id is None
