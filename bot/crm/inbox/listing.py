"""The inbox list: open conversations, oldest unanswered first, with how long each has waited.

Staff see the conversations assigned to them. The owner and admins see every
open conversation they may handle (a team-limited admin: their team's and the
pool's), or with ``member`` one colleague's. Unanswered conversations come first,
the longest wait at the top; answered ones still open (waiting for Done or a
quiet day) follow, the least recently active first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.guards import require_role
from bot.crm.inbox.access import handled_by
from bot.crm.models import (
    ChatMessage,
    Customer,
    Direction,
    Member,
    MessageKind,
    Role,
    Thread,
    ThreadStatus,
)
from bot.crm.scope import within_reach
from bot.errors import PermissionDenied
from bot.i18n import N_

LIST_CAP = 30
PREVIEW = 80


@dataclass(frozen=True, slots=True)
class OpenThread:
    """One line of the inbox.

    ``waiting_since`` is the first unanswered customer message (None once answered)
    and ``waiting`` how long ago that was; ``last_text`` is the last message's text
    or caption cut to ``PREVIEW`` characters (None for media without a caption).
    """

    thread_id: int
    customer_id: int
    customer_name: str
    assignee_id: int | None
    assignee_name: str | None
    opened_at: datetime
    waiting_since: datetime | None
    waiting: timedelta | None
    last_direction: Direction | None
    last_kind: MessageKind | None
    last_text: str | None
    last_at: datetime | None


@dataclass(frozen=True, slots=True)
class Inbox:
    """The capped inbox list and the full counts behind it."""

    items: tuple[OpenThread, ...]
    total: int
    unanswered: int


async def open_threads(
    session: AsyncSession,
    *,
    actor: Member,
    now: datetime,
    member: Member | None = None,
    limit: int = LIST_CAP,
    offset: int = 0,
) -> Inbox:
    """Return the open conversations the actor handles, oldest unanswered first.

    ``offset`` skips that many from the top: a later page of the same order.

    Raises:
        PermissionDenied: when the actor is inactive, is staff asking for someone
            else's inbox, or ``member`` is outside the actor's reach.
    """
    require_role(actor, *Role)
    where = [Thread.status == ThreadStatus.OPEN, handled_by(actor)]
    if actor.role is Role.STAFF:
        if member is not None and member.id != actor.id:
            raise PermissionDenied(N_("Sorry, your role can't do that."))
        where.append(Thread.assignee_member_id == actor.id)
    elif member is not None:
        if not within_reach(actor, member):
            raise PermissionDenied(N_("{member} isn't on your team."), member=member.display_name)
        where.append(Thread.assignee_member_id == member.id)
    counts = (
        await session.execute(
            select(func.count(), func.count(Thread.waiting_since))
            .select_from(Thread)
            .where(*where)
        )
    ).one()
    last_id = (
        select(func.max(ChatMessage.id))
        .where(ChatMessage.thread_id == Thread.id)
        .correlate(Thread)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Thread, Customer.name, Member.display_name, ChatMessage)
        .join(Customer, Customer.id == Thread.customer_id)
        .outerjoin(Member, Member.id == Thread.assignee_member_id)
        .outerjoin(ChatMessage, ChatMessage.id == last_id)
        .where(*where)
        .order_by(
            Thread.waiting_since.is_(None),
            Thread.waiting_since,
            func.coalesce(Thread.last_outbound_at, Thread.last_inbound_at),
            Thread.id,
        )
        .limit(max(1, limit))
        .offset(max(0, offset))
    )
    items = tuple(
        _line(thread, name, assignee, last, now) for thread, name, assignee, last in rows
    )
    return Inbox(items, total=int(counts[0]), unanswered=int(counts[1]))


def _line(
    thread: Thread,
    customer_name: str,
    assignee_name: str | None,
    last: ChatMessage | None,
    now: datetime,
) -> OpenThread:
    waiting = now - thread.waiting_since if thread.waiting_since is not None else None
    text = last.text if last is not None else None
    if text is not None and len(text) > PREVIEW:
        text = text[: PREVIEW - 1] + "…"
    return OpenThread(
        thread_id=thread.id,
        customer_id=thread.customer_id,
        customer_name=customer_name,
        assignee_id=thread.assignee_member_id,
        assignee_name=assignee_name,
        opened_at=thread.opened_at,
        waiting_since=thread.waiting_since,
        waiting=waiting,
        last_direction=last.direction if last is not None else None,
        last_kind=last.kind if last is not None else None,
        last_text=text,
        last_at=last.created_at if last is not None else None,
    )
