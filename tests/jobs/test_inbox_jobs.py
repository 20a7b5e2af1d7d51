"""The inbox jobs on an injected clock: reply-time reminders and escalations once; quiet close."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm.inbox import replies, settings, threads
from bot.crm.models import Customer, Member, MessageKind, Thread, UserPref
from bot.crm.store import unit_of_work
from bot.jobs.followups import send_digests
from bot.jobs.inbox import close_quiet_threads, sla_alerts
from tests.factories import NOW, Shop, add_customer, make_shop
from tests.handlers.chat import ChatMessenger

SLA = timedelta(minutes=30)
_message_ids = itertools.count(100)
Sessions = async_sessionmaker[AsyncSession]


async def shop_with_sla(sessions: Sessions, *, minutes: int | None = 30) -> Shop:
    """Create a shop whose conversations should be answered within ``minutes``."""
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        if minutes is not None:
            await settings.set_reply_sla(session, actor=shop.owner, minutes=minutes)
    return shop


async def customer_writes(
    sessions: Sessions, shop: Shop, name: str, owner: Member | None, at: datetime
) -> int:
    """Add a customer (new at ``at``) who writes to the shop then; return the conversation's id."""
    async with unit_of_work(sessions) as session:
        tg = 5000 + next(_message_ids)
        customer = await add_customer(
            session, shop, name, owner, tg_user_id=tg, chat_id=tg, created_at=at
        )
        inbound = await threads.record_inbound(
            session,
            customer=customer,
            kind=MessageKind.TEXT,
            text="do you have aged pu'er?",
            file_id=None,
            tg_chat_id=tg,
            tg_message_id=next(_message_ids),
            now=at,
        )
        return inbound.thread.id


async def answer(sessions: Sessions, member: Member, thread_id: int, at: datetime) -> None:
    """Store ``member``'s answer in the conversation at ``at``."""
    async with unit_of_work(sessions) as session:
        actor = await session.get(Member, member.id)
        assert actor is not None
        await replies.record_outbound(
            session,
            actor=actor,
            thread_id=thread_id,
            kind=MessageKind.TEXT,
            text="Yes, 2015 vintage!",
            file_id=None,
            tg_chat_id=1,
            tg_message_id=next(_message_ids),
            now=at,
        )


def received(messenger: ChatMessenger, member: Member) -> list[str]:
    """Return the texts ``member`` received."""
    return [m["text"] for m in messenger.chats[member.chat_id]]


def labels(message: dict[str, Any]) -> list[str]:
    """Return the labels of a message's buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def test_the_rep_is_reminded_once_at_the_sla_and_the_owner_hears_at_twice_it(
    sessions: Sessions,
) -> None:
    shop = await shop_with_sla(sessions)
    await customer_writes(sessions, shop, "Sun", shop.li, NOW)
    messenger = ChatMessenger()

    await sla_alerts(sessions, messenger, lambda: NOW + SLA - timedelta(seconds=1))
    assert messenger.chats == {}

    await sla_alerts(sessions, messenger, lambda: NOW + SLA + timedelta(minutes=1))
    await sla_alerts(sessions, messenger, lambda: NOW + SLA + timedelta(minutes=2))
    assert received(messenger, shop.li) == ["⏰ Sun has waited 31 min for an answer."]
    [reminder] = messenger.chats[shop.li.chat_id]
    assert labels(reminder) == ["↩️ Reply", "📇 Card"]
    assert received(messenger, shop.owner) == []
    assert received(messenger, shop.chen) == []

    await sla_alerts(sessions, messenger, lambda: NOW + 2 * SLA)
    await sla_alerts(sessions, messenger, lambda: NOW + 3 * SLA)
    assert received(messenger, shop.owner) == ["🚨 Sun has waited 1 h 0 min; Li has not answered."]
    [escalation] = messenger.chats[shop.owner.chat_id]
    assert labels(escalation) == ["↩️ Reply", "📇 Card"]
    assert len(received(messenger, shop.li)) == 1
    assert received(messenger, shop.admin) == []


async def test_an_answer_stops_the_alerts_and_a_new_wait_fires_again(sessions: Sessions) -> None:
    shop = await shop_with_sla(sessions)
    thread_id = await customer_writes(sessions, shop, "Sun", shop.li, NOW)
    messenger = ChatMessenger()
    await sla_alerts(sessions, messenger, lambda: NOW + SLA)
    await answer(sessions, shop.li, thread_id, NOW + SLA + timedelta(minutes=5))

    await sla_alerts(sessions, messenger, lambda: NOW + 3 * SLA)
    assert len(received(messenger, shop.li)) == 1
    assert received(messenger, shop.owner) == []

    # The customer writes again: the new wait earns its own reminder.
    async with unit_of_work(sessions) as session:
        customer = await session.scalar(select(Customer).where(Customer.name == "Sun"))
        assert customer is not None
        await threads.record_inbound(
            session,
            customer=customer,
            kind=MessageKind.TEXT,
            text="and a tea tray",
            file_id=None,
            tg_chat_id=customer.chat_id or 0,
            tg_message_id=next(_message_ids),
            now=NOW + 4 * SLA,
        )
    await sla_alerts(sessions, messenger, lambda: NOW + 5 * SLA)
    assert received(messenger, shop.li)[-1] == "⏰ Sun has waited 30 min for an answer."
    assert len(received(messenger, shop.li)) == 2


async def test_an_unassigned_conversation_reminds_the_managers_and_escalates_plainly(
    sessions: Sessions,
) -> None:
    shop = await shop_with_sla(sessions)
    await customer_writes(sessions, shop, "Moon", None, NOW)
    messenger = ChatMessenger()

    await sla_alerts(sessions, messenger, lambda: NOW + 2 * SLA)
    reminder = "⏰ Moon has waited 1 h 0 min for an answer."
    assert received(messenger, shop.admin) == [reminder]
    assert received(messenger, shop.owner) == [
        reminder,
        "🚨 Moon has waited 1 h 0 min and has no answer yet.",
    ]
    assert received(messenger, shop.li) == []


async def test_alerts_are_in_each_recipients_language(sessions: Sessions) -> None:
    shop = await shop_with_sla(sessions)
    async with unit_of_work(sessions) as session:
        session.add(UserPref(tg_user_id=shop.owner.tg_user_id, locale="zh-CN"))
    await customer_writes(sessions, shop, "Sun", shop.li, NOW)
    messenger = ChatMessenger()

    await sla_alerts(sessions, messenger, lambda: NOW + 2 * SLA + timedelta(minutes=5))
    assert received(messenger, shop.li) == ["⏰ Sun has waited 1 h 5 min for an answer."]
    [escalation] = messenger.chats[shop.owner.chat_id]
    assert escalation["text"].startswith("🚨 Sun 已等待")
    assert "Li 仍未回复" in escalation["text"]
    assert "↩️ Reply" not in labels(escalation)


async def test_a_shop_without_a_reply_time_gets_no_alerts(sessions: Sessions) -> None:
    shop = await shop_with_sla(sessions, minutes=None)
    await customer_writes(sessions, shop, "Sun", shop.li, NOW)
    messenger = ChatMessenger()
    await sla_alerts(sessions, messenger, lambda: NOW + timedelta(days=3))
    assert messenger.chats == {}


async def test_an_answered_conversation_closes_after_a_day_of_quiet_and_not_before(
    sessions: Sessions,
) -> None:
    shop = await shop_with_sla(sessions, minutes=None)
    answered = await customer_writes(sessions, shop, "Sun", shop.li, NOW)
    waiting = await customer_writes(sessions, shop, "Moon", shop.li, NOW)
    replied_at = NOW + timedelta(minutes=10)
    await answer(sessions, shop.li, answered, replied_at)

    async def status(thread_id: int) -> str:
        async with sessions() as session:
            thread = await session.get(Thread, thread_id)
            assert thread is not None
            return str(thread.status.value)

    await close_quiet_threads(sessions, lambda: replied_at + timedelta(hours=23, minutes=59))
    assert await status(answered) == "open"

    await close_quiet_threads(sessions, lambda: replied_at + timedelta(hours=24))
    assert await status(answered) == "closed"
    # Nobody answered Moon: her conversation stays open however long it waits.
    await close_quiet_threads(sessions, lambda: NOW + timedelta(days=3))
    assert await status(waiting) == "open"


async def test_the_digest_counts_new_customers_and_conversations_waiting(
    sessions: Sessions,
) -> None:
    shop = await shop_with_sla(sessions, minutes=None)
    async with unit_of_work(sessions) as session:
        for member in (shop.owner, shop.li, shop.admin):
            row = await session.get(Member, member.id)
            assert row is not None
            row.digest_time = "08:00"  # NOW is 16:00 in Shanghai: due
        await add_customer(session, shop, "Old", shop.li, created_at=NOW - timedelta(days=3))
    sun = await customer_writes(sessions, shop, "Sun", shop.li, NOW - timedelta(hours=2))
    await customer_writes(sessions, shop, "Moon", shop.chen, NOW - timedelta(hours=1))
    await answer(
        sessions,
        shop.admin,
        await customer_writes(sessions, shop, "Star", None, NOW - timedelta(hours=1)),
        NOW - timedelta(minutes=30),
    )
    messenger = ChatMessenger()

    await send_digests(sessions, messenger, lambda: NOW)
    [li] = received(messenger, shop.li)
    assert li.startswith(
        "🗞 Your daily digest\n"
        "👋 New customers since your last digest: 1\n"
        "💬 Conversations waiting for an answer: 1 (/inbox)\n\n"
    )
    [owner] = received(messenger, shop.owner)
    assert "👋 New customers since your last digest: 3\n" in owner
    assert "💬 Conversations waiting for an answer: 2 (/inbox)" in owner
    assert received(messenger, shop.chen) == []

    # The next day: Li answered Sun and one more customer of hers arrived.
    await answer(sessions, shop.li, sun, NOW + timedelta(hours=1))
    async with unit_of_work(sessions) as session:
        await add_customer(session, shop, "Rain", shop.li, created_at=NOW + timedelta(hours=2))
    await send_digests(sessions, messenger, lambda: NOW + timedelta(days=1))
    li = received(messenger, shop.li)[-1]
    assert li.startswith("🗞 Your daily digest\n👋 New customers since your last digest: 1\n\n")
    assert "waiting for an answer" not in li
    admin = received(messenger, shop.admin)[-1]
    assert "New customers" in admin
    assert "💬 Conversations waiting for an answer: 1 (/inbox)" in admin
