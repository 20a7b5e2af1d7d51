"""Reminders on a real database: create, claim once, done and snooze, only your own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import reminders
from bot.crm.models import Reminder
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, NotFound
from tests.factories import NOW, make_rep_shop


async def test_create_checks_scope_time_and_text(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_rep_shop(session)
        customer_id = shop.customers[0].id
        with pytest.raises(NotFound):
            await reminders.create_reminder(
                session,
                actor=shop.other,
                customer_id=customer_id,
                text="call",
                due_at=NOW + timedelta(hours=1),
                now=NOW,
            )
        with pytest.raises(InvalidInput, match="already passed"):
            await reminders.create_reminder(
                session, actor=shop.rep, customer_id=customer_id, text="call", due_at=NOW, now=NOW
            )
        with pytest.raises(InvalidInput):
            await reminders.create_reminder(
                session,
                actor=shop.rep,
                customer_id=customer_id,
                text="  ",
                due_at=NOW + timedelta(hours=1),
                now=NOW,
            )
        reminder = await reminders.create_reminder(
            session,
            actor=shop.rep,
            customer_id=customer_id,
            text="  call   about tea ",
            due_at=NOW + timedelta(hours=1, seconds=42),
            now=NOW,
        )
    assert reminder.text == "call about tea"
    assert reminder.due_at == NOW + timedelta(hours=1)


async def test_claim_fires_each_due_reminder_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_rep_shop(session)
        reminder = await reminders.create_reminder(
            session,
            actor=shop.rep,
            customer_id=shop.customers[0].id,
            text="call",
            due_at=NOW + timedelta(minutes=2),
            now=NOW,
        )
    async with unit_of_work(sessions) as session:
        assert await reminders.claim_due(session, now=NOW + timedelta(minutes=1)) == []
    later = NOW + timedelta(hours=5)
    async with unit_of_work(sessions) as session:
        (due,) = await reminders.claim_due(session, now=later)
    assert (due.reminder_id, due.chat_id, due.customer_name, due.locale) == (
        reminder.id,
        shop.rep.chat_id,
        "customer 0",
        "zh-CN",
    )
    assert due.due_at == NOW + timedelta(minutes=2)
    async with unit_of_work(sessions) as session:
        assert await reminders.claim_due(session, now=later) == []
        await reminders.mark_sent(session, reminder_id=reminder.id, message_id=77)
    async with sessions() as session:
        saved = await session.get(Reminder, reminder.id)
        assert saved is not None and (saved.fired_at, saved.message_id) == (later, 77)


async def test_snooze_refires_and_done_stops(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_rep_shop(session)
        reminder = await reminders.create_reminder(
            session,
            actor=shop.rep,
            customer_id=None,
            text="call",
            due_at=NOW + timedelta(minutes=1),
            now=NOW,
        )
    fired = NOW + timedelta(minutes=1)
    async with unit_of_work(sessions) as session:
        assert len(await reminders.claim_due(session, now=fired)) == 1
        with pytest.raises(NotFound):
            await reminders.snooze(
                session, actor=shop.other, reminder_id=reminder.id, minutes=60, now=fired
            )
        with pytest.raises(InvalidInput):
            await reminders.snooze(
                session, actor=shop.rep, reminder_id=reminder.id, minutes=0, now=fired
            )
        snoozed = await reminders.snooze(
            session, actor=shop.rep, reminder_id=reminder.id, minutes=60, now=fired
        )
        assert snoozed.due_at == fired + timedelta(hours=1)
    async with unit_of_work(sessions) as session:
        assert await reminders.claim_due(session, now=fired + timedelta(minutes=59)) == []
        assert len(await reminders.claim_due(session, now=fired + timedelta(hours=1))) == 1
        done = await reminders.mark_done(
            session, actor=shop.rep, reminder_id=reminder.id, now=fired + timedelta(hours=1)
        )
        assert done.done_at == fired + timedelta(hours=1)
