"""The scheduler jobs of the inbox: reply-time reminders and escalations, and quiet closing.

``sla_alerts`` marks each reminder and escalation fired in a committed unit of
work before anything is sent (``sla.sla_due``), so a crash or a second scheduler
never sends one twice; an alert Telegram refuses or that times out is lost, and
the conversation still shows in /inbox with its waiting time. Alerts are for
members at work: they ignore the shop's quiet hours, as a relayed message does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import members
from bot.crm.inbox import sla, threads
from bot.crm.models import Member
from bot.crm.store import unit_of_work
from bot.errors import DeliveryError
from bot.i18n import N_, translate
from bot.messaging import Keyboard, Messenger
from bot.views.card import card_button
from bot.views.inbox import RelayReply
from bot.views.inbox_desk import waited

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
# One slow chat must not hold the scheduler's tick: each alert gets this long.
SEND_TIMEOUT_SECONDS = 10.0
# Closing answered conversations gone quiet for a day needs no finer grain.
QUIET_EVERY_SECONDS = 600

REMIND = N_("⏰ {name} has waited {age} for an answer.")
ESCALATE = N_("🚨 {name} has waited {age}; {rep} has not answered.")
ESCALATE_UNASSIGNED = N_("🚨 {name} has waited {age} and has no answer yet.")


@dataclass(frozen=True, slots=True)
class _Note:
    thread_id: int
    level: sla.Level
    chat_id: int
    text: str
    buttons: Keyboard


async def sla_alerts(
    sessions: async_sessionmaker[AsyncSession], messenger: Messenger, clock: Clock
) -> None:
    """Remind reps of conversations past the reply SLA; escalate to the owner at twice it."""
    now = clock()
    async with unit_of_work(sessions) as session:
        notes = [
            note
            for alert in await sla.sla_due(session, now=now)
            for note in await _notes(session, alert, now)
        ]
    for note in notes:
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                await messenger.send_text(note.chat_id, note.text, note.buttons)
        except DeliveryError as exc:
            logger.warning(
                "conversation %d %s not delivered: %s", note.thread_id, note.level, exc.description
            )
            continue
        except TimeoutError:
            logger.warning("conversation %d %s timed out", note.thread_id, note.level)
            continue
        logger.info("conversation %d %s sent", note.thread_id, note.level)


async def close_quiet_threads(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
    """Close the answered conversations with nothing said for a day."""
    async with unit_of_work(sessions) as session:
        closed = await threads.close_quiet(session, now=clock())
    if closed:
        logger.info("%d quiet conversations closed", closed)


async def _notes(session: AsyncSession, alert: sla.Alert, now: datetime) -> list[_Note]:
    rep = await session.get(Member, alert.assignee_id) if alert.assignee_id else None
    notes = []
    for person in alert.recipients:
        locale = await members.locale_of(
            session, tg_user_id=person.tg_user_id, workspace_id=person.workspace_id
        )
        t = partial(translate, locale)
        # Placeholders are HTML-escaped by translate; ``waited`` is plain text too.
        params = {"name": alert.customer_name, "age": waited(t, now - alert.waiting_since)}
        if alert.level is sla.Level.REMIND:
            text = t(REMIND, **params)
        elif rep is not None and rep.id != person.id:
            text = t(ESCALATE, rep=rep.display_name, **params)
        else:
            # Nobody holds it, or the owner holds it themselves: no one else to name.
            text = t(ESCALATE_UNASSIGNED, **params)
        buttons = [
            [
                RelayReply(thread_id=alert.thread_id).button(t(N_("↩️ Reply"))),
                card_button(t, alert.customer_id, t(N_("📇 Card"))),
            ]
        ]
        notes.append(_Note(alert.thread_id, alert.level, person.chat_id, text, buttons))
    return notes
