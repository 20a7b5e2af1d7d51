"""History: a customer's conversation messages, newest first, and their erasure.

Members page through every message of a customer they may see (or whose open
conversation is assigned to them), across conversations, by message id:
``history(..., before=page.next_before)`` gives the next, older page, and
``history(..., offset=n)`` the page that skips the ``n`` newest messages (both
ways through pages without holding a cursor; ``Page.total`` counts them all).

Erasure (``erase_messages``, called by ``bot.crm.privacy`` for ``/forget`` and
``/erase``) blanks every text, caption and file id and marks the messages erased;
the rows stay, so counts and response times survive without anything personal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.guards import require_role
from bot.crm.models import (
    ChatMessage,
    CloseReason,
    Customer,
    Direction,
    Member,
    MessageKind,
    Role,
    ShopChoice,
    Thread,
    ThreadStatus,
)
from bot.crm.scope import get_visible
from bot.errors import NotFound

PAGE = 20
MAX_PAGE = 100
TIMELINE = 5


@dataclass(frozen=True, slots=True)
class Entry:
    """One message of a customer's history; ``member_name`` answered it (outbound only)."""

    message_id: int
    thread_id: int
    at: datetime
    direction: Direction
    kind: MessageKind
    text: str | None
    file_id: str | None
    member_id: int | None
    member_name: str | None
    erased: bool


@dataclass(frozen=True, slots=True)
class Page:
    """A page of history, newest first; ``next_before`` asks for the older page (None: done)."""

    customer_id: int
    customer_name: str
    entries: tuple[Entry, ...]
    next_before: int | None
    total: int = 0
    offset: int = 0


async def history(
    session: AsyncSession,
    *,
    actor: Member,
    customer_id: int,
    before: int | None = None,
    limit: int = PAGE,
    offset: int = 0,
) -> Page:
    """Return a page of a customer's messages, newest first, older than message ``before``.

    ``offset`` skips that many of the newest (of those older than ``before``).

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the customer is outside the actor's scope or in another shop.
    """
    customer = await _customer(session, actor, customer_id)
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    entries = await _entries(session, customer, before=before, limit=limit + 1, offset=offset)
    more = len(entries) > limit
    entries = entries[:limit]
    next_before = entries[-1].message_id if more and entries else None
    total = await session.scalar(
        select(func.count())
        .select_from(ChatMessage)
        .where(
            ChatMessage.workspace_id == customer.workspace_id,
            ChatMessage.customer_id == customer.id,
        )
    )
    return Page(customer.id, customer.name, tuple(entries), next_before, int(total or 0), offset)


async def last_messages(
    session: AsyncSession, *, actor: Member, customer_id: int, n: int = TIMELINE
) -> tuple[Entry, ...]:
    """Return the customer's ``n`` latest messages, newest first (the card's timeline).

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the customer is outside the actor's scope or in another shop.
    """
    customer = await _customer(session, actor, customer_id)
    return tuple(await _entries(session, customer, before=None, limit=max(0, min(n, MAX_PAGE))))


async def erase_messages(session: AsyncSession, *, customer: Customer, now: datetime) -> int:
    """Blank the texts and files of all the customer's messages and close their conversation.

    Also forgets the person's shop choice for this shop. Call it before the record's
    Telegram link is cut. Returns how many messages were erased.
    """
    result = await session.execute(
        update(ChatMessage)
        .where(
            ChatMessage.workspace_id == customer.workspace_id,
            ChatMessage.customer_id == customer.id,
            ChatMessage.erased_at.is_(None),
        )
        .values(text=None, file_id=None, erased_at=now)
        .execution_options(synchronize_session=False)
    )
    # Nobody can answer a person who was forgotten: the open conversation ends.
    await session.execute(
        update(Thread)
        .where(
            Thread.workspace_id == customer.workspace_id,
            Thread.customer_id == customer.id,
            Thread.status == ThreadStatus.OPEN,
        )
        .values(
            status=ThreadStatus.CLOSED,
            closed_at=now,
            close_reason=CloseReason.ERASED,
            waiting_since=None,
        )
        .execution_options(synchronize_session=False)
    )
    if customer.tg_user_id is not None:
        await session.execute(
            delete(ShopChoice).where(
                ShopChoice.tg_user_id == customer.tg_user_id,
                ShopChoice.workspace_id == customer.workspace_id,
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)


async def export_rows(session: AsyncSession, *, customer: Customer) -> list[dict[str, Any]]:
    """Return the customer's messages for a copy of their data, oldest first.

    Each row: ``at`` (ISO 8601), ``direction`` ("in" from the customer, "out" from
    the shop), ``kind``, ``text`` and ``file`` (whether a file came with it).
    """
    rows = await session.scalars(
        select(ChatMessage)
        .where(
            ChatMessage.workspace_id == customer.workspace_id,
            ChatMessage.customer_id == customer.id,
        )
        .order_by(ChatMessage.id)
    )
    return [
        {
            "at": m.created_at.isoformat(),
            "direction": m.direction.value,
            "kind": m.kind.value,
            "text": m.text,
            "file": m.file_id is not None,
        }
        for m in rows
    ]


async def _customer(session: AsyncSession, actor: Member, customer_id: int) -> Customer:
    require_role(actor, *Role)
    try:
        return await get_visible(session, actor=actor, customer_id=customer_id)
    except NotFound:
        # A conversation handed to a member reaches its customer's history too.
        assigned = await session.scalar(
            select(Customer)
            .join(Thread, Thread.customer_id == Customer.id)
            .where(
                Customer.workspace_id == actor.workspace_id,
                Customer.id == customer_id,
                Thread.assignee_member_id == actor.id,
                Thread.status == ThreadStatus.OPEN,
            )
            .limit(1)
        )
        if assigned is None:
            raise
        return assigned


async def _entries(
    session: AsyncSession, customer: Customer, *, before: int | None, limit: int, offset: int = 0
) -> list[Entry]:
    query = (
        select(ChatMessage, Member.display_name)
        .outerjoin(Member, Member.id == ChatMessage.member_id)
        .where(
            ChatMessage.workspace_id == customer.workspace_id,
            ChatMessage.customer_id == customer.id,
        )
        .order_by(ChatMessage.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if before is not None:
        query = query.where(ChatMessage.id < before)
    return [
        Entry(
            message_id=m.id,
            thread_id=m.thread_id,
            at=m.created_at,
            direction=m.direction,
            kind=m.kind,
            text=m.text,
            file_id=m.file_id,
            member_id=m.member_id,
            member_name=name,
            erased=m.erased_at is not None,
        )
        for m, name in await session.execute(query)
    ]
