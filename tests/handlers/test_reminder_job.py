"""The reminder job on an injected clock: never early, on time without "Late", late says so."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import SchedulerSettings
from bot.crm import reminders
from bot.crm.models import Reminder
from bot.crm.store import unit_of_work
from bot.jobs.followups import fire_due_reminders
from tests.factories import NOW, Shop, add_customer, make_shop
from tests.fakes import RecordingMessenger

# Seconds after its due minute within which a reminder must arrive (the bound).
ON_TIME = 5


async def remind_li(sessions: async_sessionmaker[AsyncSession]) -> tuple[Shop, Reminder]:
    """Create Li's reminder about Zhao Min, due two minutes after NOW."""
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        customer = await add_customer(session, shop, "Zhao Min", shop.li)
        reminder = await reminders.create_reminder(
            session,
            actor=shop.li,
            customer_id=customer.id,
            text="call about the order",
            due_at=NOW + timedelta(minutes=2),
            now=NOW,
        )
    return shop, reminder


async def test_a_reminder_arrives_at_its_minute_never_before_and_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, reminder = await remind_li(sessions)
    messenger = RecordingMessenger()

    await fire_due_reminders(sessions, messenger, lambda: reminder.due_at - timedelta(seconds=1))
    assert messenger.texts == []

    # The scheduler runs the job every tick, so "due + tick" is the latest it looks.
    tick = SchedulerSettings().tick_seconds
    assert tick < ON_TIME
    at = reminder.due_at + timedelta(seconds=tick)
    await fire_due_reminders(sessions, messenger, lambda: at)
    await fire_due_reminders(sessions, messenger, lambda: at + timedelta(seconds=tick))
    assert len(messenger.texts) == 1
    chat_id, text = messenger.texts[0]
    assert chat_id == shop.li.chat_id
    assert "Reminder" in text
    assert "call about the order" in text
    assert "Zhao Min" in text
    assert "Late" not in text


async def test_a_reminder_sent_after_downtime_says_how_late_it_is(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, reminder = await remind_li(sessions)
    messenger = RecordingMessenger()

    await fire_due_reminders(sessions, messenger, lambda: reminder.due_at + timedelta(minutes=10))
    (_, text), *more = messenger.texts
    assert more == []
    assert "call about the order" in text
    assert "Late" in text
    assert "10 min ago" in text
