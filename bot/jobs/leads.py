"""The scheduler job that returns stale leads to the pool and tells their former reps."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import leads, members
from bot.crm.store import unit_of_work
from bot.errors import DeliveryError
from bot.i18n import P_, translate
from bot.messaging import Messenger

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def returned_lead_text(locale: str, lead: leads.ReturnedLead) -> str:
    """Compose the note telling a rep that a stale lead went back to the pool."""
    return translate(
        locale,
        P_(
            "⏰ Your lead <b>{name}</b> (#{id}) had no follow-up for {days} day, so it went "
            "back to the shared pool. Send /pool to see it.",
            "⏰ Your lead <b>{name}</b> (#{id}) had no follow-up for {days} days, so it "
            "went back to the shared pool. Send /pool to see it.",
            by="days",
        ),
        name=lead.name,
        id=lead.customer_id,
        days=lead.days,
    )


async def return_stale_leads_job(
    sessions: async_sessionmaker[AsyncSession], messenger: Messenger, clock: Clock
) -> None:
    """Put stale leads back into the pool, then tell each former rep in their language."""
    async with unit_of_work(sessions) as session:
        returned = await leads.return_stale_leads(session, now=clock())
        notes = []
        for lead in returned:
            locale = await members.locale_of(
                session, tg_user_id=lead.tg_user_id, workspace_id=lead.workspace_id
            )
            notes.append((lead.chat_id, returned_lead_text(locale, lead)))
    # Sent after the commit: a rep is never told about a return that did not happen.
    for chat_id, text in notes:
        try:
            await messenger.send_text(chat_id, text)
        except DeliveryError as exc:
            logger.warning("stale-lead note not delivered: %s", exc.description)
    if notes:
        logger.info("%d stale leads returned to the pool", len(notes))
