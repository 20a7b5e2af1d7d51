"""The scheduler jobs that speak to reps: firing due reminders and sending daily digests.

Both claim their rows in a committed transaction first and send afterwards, so
nothing goes out twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import followups, members, reminders, workspaces
from bot.crm.inbox.listing import open_threads
from bot.crm.models import AuditLog, Customer, Member
from bot.crm.scope import visible_customers
from bot.crm.store import unit_of_work
from bot.errors import DeliveryError
from bot.i18n import N_, Raw, translate
from bot.localtime import show_zoned, zone
from bot.messaging import Keyboard, Messenger
from bot.metrics import METRICS
from bot.views.followups import duration, reminder_buttons, render_today

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
LATE_AFTER = timedelta(minutes=1)
# A member's first digest counts the customers of the day before it.
FIRST_DIGEST_LOOKBACK = timedelta(days=1)


async def fire_due_reminders(
    sessions: async_sessionmaker[AsyncSession], messenger: Messenger, clock: Clock
) -> None:
    """Claim due reminders one by one, sending each to its rep with Done/Snooze/Open buttons.

    A reminder is marked fired before it is sent, so it never goes out twice; claimed
    one at a time, a process that dies (a leader SIGKILLed) loses at most the one it
    was sending, and the next leader fires the rest.
    """
    now = clock()
    for _ in range(reminders.CLAIM_BATCH):
        async with unit_of_work(sessions) as session:
            due = await reminders.claim_due(session, now=now, limit=1)
        if not due:
            return
        await _fire(sessions, messenger, now, due[0])


async def _fire(
    sessions: async_sessionmaker[AsyncSession],
    messenger: Messenger,
    now: datetime,
    item: reminders.DueReminder,
) -> None:
    """Send one claimed reminder and remember the message that carried it."""
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
        return
    async with unit_of_work(sessions) as session:
        await reminders.mark_sent(
            session, reminder_id=item.reminder_id, message_id=sent.message_id
        )
    logger.info("reminder %s fired, %d s after due", item.reminder_id, late.total_seconds())
    if late > LATE_AFTER:
        METRICS.reminders_late.inc()


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
            head = [t(N_("🗞 Your daily digest"))]
            head.extend(await _arrivals(session, member, now, t))
            outgoing.append((member.chat_id, "\n".join(head) + "\n\n" + body, buttons))
    for chat_id, text, buttons in outgoing:
        try:
            await messenger.send_text(chat_id, text, buttons)
        except DeliveryError as exc:
            logger.warning("digest not delivered: %s", exc.description)


async def _arrivals(
    session: AsyncSession, member: Member, now: datetime, t: Callable[..., str]
) -> list[str]:
    """Return the digest's lines on new customers and conversations waiting, when there are any.

    New customers are those the member may see (staff: their own and shared;
    owner and admins: the shop's, a team-limited admin's team and pool) added since
    their previous digest. Waiting conversations are the unanswered ones /inbox
    lists for them.
    """
    since = await session.scalar(
        select(func.max(AuditLog.at)).where(
            AuditLog.workspace_id == member.workspace_id,
            AuditLog.action == followups.DIGEST_ACTION,
            AuditLog.entity_id == member.id,
            AuditLog.at < now,
        )
    )
    visible = (
        visible_customers(member)
        .where(
            Customer.created_at >= (since or now - FIRST_DIGEST_LOOKBACK),
            Customer.created_at < now,
            Customer.erased_at.is_(None),
        )
        .subquery()
    )
    new = int(await session.scalar(select(func.count()).select_from(visible)) or 0)
    waiting = (await open_threads(session, actor=member, now=now, limit=1)).unanswered
    lines = []
    if new:
        lines.append(t(N_("👋 New customers since your last digest: {count}"), count=new))
    if waiting:
        lines.append(
            t(N_("💬 Conversations waiting for an answer: {count} (/inbox)"), count=waiting)
        )
    return lines
