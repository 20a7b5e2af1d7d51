"""The inbox list and a customer's history: order, waiting times, paging and scope."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm.inbox import history, listing, replies, routing, threads
from bot.crm.models import Customer, Direction, Member, MessageKind, Thread
from bot.crm.store import unit_of_work
from bot.errors import NotFound, PermissionDenied
from tests.factories import NOW, Shop, add_customer, make_shop

Sessions = async_sessionmaker[AsyncSession]
MINUTE = timedelta(minutes=1)
ACCOUNTS = itertools.count(8_000_001)


async def _customer(
    session: AsyncSession, shop: Shop, name: str, owner: Member | None
) -> Customer:
    uid = next(ACCOUNTS)
    return await add_customer(session, shop, name, owner, tg_user_id=uid, chat_id=uid)


async def _in(
    session: AsyncSession,
    customer: Customer,
    at: timedelta,
    text: str | None = "hi",
    kind: MessageKind = MessageKind.TEXT,
) -> Thread:
    inbound = await threads.record_inbound(
        session,
        customer=customer,
        kind=kind,
        text=text,
        file_id=None if kind is MessageKind.TEXT else "file-1",
        tg_chat_id=customer.chat_id or 0,
        tg_message_id=next(ACCOUNTS),
        now=NOW + at,
    )
    return inbound.thread


async def _out(session: AsyncSession, actor: Member, thread: Thread, at: timedelta) -> None:
    await replies.record_outbound(
        session,
        actor=actor,
        thread_id=thread.id,
        kind=MessageKind.TEXT,
        text="thanks, coming",
        file_id=None,
        tg_chat_id=0,
        tg_message_id=next(ACCOUNTS),
        now=NOW + at,
    )


async def test_the_inbox_lists_the_oldest_unanswered_first(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        a, b, c = [await _customer(session, shop, n, shop.li) for n in ("Ai", "Bo", "Cui")]
        pool = await _customer(session, shop, "Pool", None)
        await _in(session, a, 60 * MINUTE)
        await _in(session, b, 0 * MINUTE, "first")
        await _in(session, b, 50 * MINUTE, "second, still unanswered")
        answered = await _in(session, c, 30 * MINUTE)
        await _out(session, shop.li, answered, 40 * MINUTE)
        await _in(session, pool, 10 * MINUTE, None, MessageKind.VOICE)
        now = NOW + 2 * timedelta(hours=1)
        mine = await listing.open_threads(session, actor=shop.li, now=now)
        assert [i.customer_name for i in mine.items] == ["Bo", "Ai", "Cui"]
        assert [i.waiting for i in mine.items] == [120 * MINUTE, 60 * MINUTE, None]
        assert (mine.total, mine.unanswered) == (3, 2)
        bo, _ai, cui = mine.items
        assert (bo.last_direction, bo.last_text) == (Direction.IN, "second, still unanswered")
        assert (cui.last_direction, cui.assignee_name) == (Direction.OUT, "Li")
        everyone = await listing.open_threads(session, actor=shop.admin, now=now)
        assert [i.customer_name for i in everyone.items] == ["Bo", "Pool", "Ai", "Cui"]
        voice = everyone.items[1]
        assert (voice.last_kind, voice.last_text, voice.assignee_id) == (
            MessageKind.VOICE,
            None,
            None,
        )
        lis = await listing.open_threads(session, actor=shop.owner, now=now, member=shop.li)
        assert lis.total == 3
        capped = await listing.open_threads(session, actor=shop.owner, now=now, limit=1)
        assert (len(capped.items), capped.total, capped.unanswered) == (1, 4, 3)


async def test_staff_see_only_their_own_conversations(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop, other = await make_shop(session), await make_shop(session, "Porcelain")
        sun = await _customer(session, shop, "Sun", shop.li)
        thread = await _in(session, sun, 0 * MINUTE)
        assert (await listing.open_threads(session, actor=shop.chen, now=NOW)).items == ()
        with pytest.raises(PermissionDenied):
            await listing.open_threads(session, actor=shop.chen, now=NOW, member=shop.li)
        assert (await listing.open_threads(session, actor=other.owner, now=NOW)).total == 0
        for actor in (shop.chen, other.owner):
            with pytest.raises(NotFound):
                await history.history(session, actor=actor, customer_id=sun.id)
            with pytest.raises(NotFound):
                await replies.reply_target(session, actor=actor, thread_id=thread.id)
            with pytest.raises(NotFound):
                await threads.done(session, actor=actor, thread_id=thread.id, now=NOW)
        with pytest.raises(PermissionDenied):
            await listing.open_threads(session, actor=other.owner, now=NOW, member=shop.li)
        # Handed to Chen, the conversation and its history become his to see.
        await routing.transfer(session, actor=shop.owner, thread_id=thread.id, to=shop.chen)
        chens = await listing.open_threads(session, actor=shop.chen, now=NOW)
        assert [i.customer_name for i in chens.items] == ["Sun"]
        assert (await listing.open_threads(session, actor=shop.li, now=NOW)).total == 0
        page = await history.history(session, actor=shop.chen, customer_id=sun.id)
        assert len(page.entries) == 1


async def test_history_pages_newest_first_across_conversations(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await _customer(session, shop, "Sun", shop.li)
        first = await _in(session, sun, 0 * MINUTE, "message 0")
        await threads.done(session, actor=shop.li, thread_id=first.id, now=NOW)
        for n in range(1, 24):
            thread = await _in(session, sun, n * MINUTE, f"message {n}")
        await _out(session, shop.li, thread, 30 * MINUTE)
        page = await history.history(session, actor=shop.li, customer_id=sun.id)
        assert [e.text for e in page.entries[:3]] == ["thanks, coming", "message 23", "message 22"]
        assert (page.entries[0].direction, page.entries[0].member_name) == (Direction.OUT, "Li")
        assert len(page.entries) == history.PAGE
        assert page.next_before is not None
        older = await history.history(
            session, actor=shop.li, customer_id=sun.id, before=page.next_before
        )
        assert [e.text for e in older.entries] == [f"message {n}" for n in (4, 3, 2, 1, 0)]
        assert older.next_before is None
        assert {e.thread_id for e in older.entries} == {first.id, thread.id}
        timeline = await history.last_messages(session, actor=shop.admin, customer_id=sun.id, n=2)
        assert [e.text for e in timeline] == ["thanks, coming", "message 23"]
