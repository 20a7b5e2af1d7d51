"""Reply SLA: conversations that waited too long, each reminder and escalation fired once.

A shop with a reply SLA (``settings.set_reply_sla``) wants every customer message
answered within it. When a conversation's first unanswered message is older than
the SLA, its assignee is reminded (the shop's managers when it has none); older
than twice the SLA, it goes to the shop's owner. Each fires once per wait: the
marks are set in the same unit of work that returns the alert, and an answer
clears them, so the next unanswered message can fire again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm.attributes import set_committed_value

from bot.crm.inbox.routing import thread_recipients
from bot.crm.members import owners_of
from bot.crm.models import Customer, InboxSettings, Member, Thread, ThreadStatus


class Level(StrEnum):
    """Which alert a conversation earned."""

    REMIND = "remind"
    ESCALATE = "escalate"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert to send: to ``recipients``, about ``customer`` waiting since ``waiting_since``."""

    level: Level
    thread_id: int
    workspace_id: int
    customer_id: int
    customer_name: str
    assignee_id: int | None
    waiting_since: datetime
    sla: timedelta
    recipients: tuple[Member, ...]


async def sla_due(session: AsyncSession, *, now: datetime) -> list[Alert]:
    """Return the reminders and escalations due at ``now``, marking each as fired.

    A job that was down for a while sends both a reminder and an escalation for a
    conversation that passed both marks meanwhile: they go to different people.
    """
    alerts: list[Alert] = []
    shops = await session.execute(
        select(InboxSettings.workspace_id, InboxSettings.reply_sla_minutes).where(
            InboxSettings.reply_sla_minutes.is_not(None)
        )
    )
    for workspace_id, minutes in shops.all():
        sla = timedelta(minutes=minutes or 0)
        for level, age, mark in (
            (Level.REMIND, sla, Thread.sla_reminded_at),
            (Level.ESCALATE, 2 * sla, Thread.sla_escalated_at),
        ):
            rows = await session.execute(
                select(Thread, Customer)
                .join(Customer, Customer.id == Thread.customer_id)
                .where(
                    Thread.workspace_id == workspace_id,
                    Thread.status == ThreadStatus.OPEN,
                    Thread.waiting_since <= now - age,
                    mark.is_(None),
                )
                .order_by(Thread.waiting_since)
            )
            for thread, customer in rows.all():
                if not await _claim(session, thread, mark, now):
                    continue
                if level is Level.REMIND:
                    people = await thread_recipients(session, thread=thread, customer=customer)
                else:
                    people = await owners_of(session, workspace_id=workspace_id)
                assert thread.waiting_since is not None  # noqa: S101 - filtered above
                alerts.append(
                    Alert(
                        level=level,
                        thread_id=thread.id,
                        workspace_id=workspace_id,
                        customer_id=customer.id,
                        customer_name=customer.name,
                        assignee_id=thread.assignee_member_id,
                        waiting_since=thread.waiting_since,
                        sla=sla,
                        recipients=people,
                    )
                )
    await session.flush()
    return alerts


async def _claim(
    session: AsyncSession,
    thread: Thread,
    mark: InstrumentedAttribute[datetime | None],
    now: datetime,
) -> bool:
    # A conditional update: of two jobs racing (a second scheduler after a failover),
    # only the one whose update found the mark empty sends the alert.
    result = await session.execute(
        update(Thread)
        .where(Thread.id == thread.id, mark.is_(None), Thread.status == ThreadStatus.OPEN)
        .values({mark: now})
        .execution_options(synchronize_session=False)
    )
    claimed = int(getattr(result, "rowcount", 0) or 0) == 1
    if claimed:
        set_committed_value(thread, mark.key, now)
    return claimed
