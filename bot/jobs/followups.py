"""The scheduler jobs that speak to reps: firing due reminders and sending daily digests.

Both claim their rows in a committed transaction first and send afterwards, so
nothing goes out twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import followups, members, reminders, workspaces
from bot.crm.store import unit_of_work
from bot.errors import DeliveryError
from bot.i18n import N_, Raw, translate
from bot.localtime import show_zoned, zone
from bot.messaging import Keyboard, Messenger
from bot.views.followups import duration, reminder_buttons, render_today

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
LATE_AFTER = timedelta(minutes=1)


async def fire_due_reminders(
    sessions: async_sessionmaker[AsyncSession], messenger: Messenger, clock: Clock
) -> None:
    """Claim due reminders, then send each to its rep with Done/Snooze/Open card buttons."""
    now = clock()
    async with unit_of_work(sessions) as session:
        due = await reminders.claim_due(session, now=now)
    for item in due:
        t = partial(translate, item.locale)
        text = t(N_("⏰ <b>Reminder</b>: {text}"), text=item.text)
        if item.customer_name is not None:
            text += "\n" + t(N_("👤 {name} (#{id})"), name=item.customer_name, id=item.customer_id)
        late = now - item.due_at
        if late > LATE_AFTER:
            text += "\n" + t(
                N_("⌛ Late: this was due {when}, {late} ago."),
                when=show_zoned(item.due_at, zone(item.timezone)),
                late=Raw(duration(late, t)),
            )
        keyboard = reminder_buttons(t, item.reminder_id, item.customer_id)
        try:
            sent = await messenger.send_text(item.chat_id, text, keyboard)
        except DeliveryError as exc:
            logger.warning("reminder %s not delivered: %s", item.reminder_id, exc.description)
            continue
        async with unit_of_work(sessions) as session:
            await reminders.mark_sent(
                session, reminder_id=item.reminder_id, message_id=sent.message_id
            )
        logger.info("reminder %s fired, %d s after due", item.reminder_id, late.total_seconds())


async def send_digests(
    sessions: async_sessionmaker[AsyncSession], messenger: Messenger, clock: Clock
) -> None:
    """Send each member whose digest time has come today their /today summary, once."""
    now = clock()
    outgoing: list[tuple[int, str, Keyboard]] = []
    async with unit_of_work(sessions) as session:
        for member in await followups.claim_digests(session, now=now):
            locale = await members.locale_of(
                session, tg_user_id=member.tg_user_id, workspace_id=member.workspace_id
            )
            t = partial(translate, locale)
            day = await followups.today(session, actor=member, now=now)
            tz = await workspaces.zone_of(session, member.workspace_id)
            body, buttons = render_today(day, t, tz)
            outgoing.append(
                (member.chat_id, t(N_("🗞 Your daily digest")) + "\n\n" + body, buttons)
            )
    for chat_id, text, buttons in outgoing:
        try:
            await messenger.send_text(chat_id, text, buttons)
        except DeliveryError as exc:
            logger.warning("digest not delivered: %s", exc.description)
