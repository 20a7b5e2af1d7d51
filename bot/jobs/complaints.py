"""The scheduler job that reminds members of overdue complaints.

Claiming marks each complaint reminded in a committed transaction before anything
is sent, so a crash or a second process never sends a reminder twice; a reminder
Telegram refuses is lost until the next ``REMIND_EVERY``.
"""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.context import Clock
from bot.crm import complaints
from bot.crm.store import unit_of_work
from bot.errors import DeliveryError
from bot.i18n import N_, translate
from bot.localtime import show_short, zone
from bot.messaging import Messenger
from bot.views.complaint import open_button

logger = logging.getLogger(__name__)


async def complaint_reminders(
    sessions: async_sessionmaker[AsyncSession], messenger: Messenger, clock: Clock
) -> None:
    """Remind each overdue complaint's assignee, once per ``REMIND_EVERY``."""
    async with unit_of_work(sessions) as session:
        due = await complaints.claim_overdue(session, now=clock())
    for item in due:
        t = partial(translate, item.locale)
        when = show_short(item.due_at, zone(item.timezone))
        text = t(
            N_("⏰ Complaint #{id} from {name} is overdue: it was due {when}."),
            id=item.complaint_id,
            name=item.customer_name,
            when=when,
        )
        try:
            await messenger.send_text(
                item.chat_id, text, [open_button(item.complaint_id, item.locale)]
            )
        except DeliveryError as exc:
            logger.warning(
                "complaint %d reminder not delivered: %s", item.complaint_id, exc.description
            )
            continue
        logger.info("complaint %d overdue reminder sent", item.complaint_id)
