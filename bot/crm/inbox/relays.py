"""Relays: messages in members' chats that stand for a conversation, so replies find it.

Every message the bot puts into a member's chat about a customer's message (the
copied content, the notice with its buttons) is recorded with ``record_relay``.
When the member answers with Telegram's own reply, ``thread_of_relay`` finds the
conversation from the replied-to message's chat and id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.inbox.access import may_handle
from bot.crm.models import Customer, Member, Relay, RelayRole, Thread


@dataclass(frozen=True, slots=True)
class Relayed:
    """The conversation a message in a member's chat stands for."""

    thread: Thread
    customer: Customer
    message_id: int | None


async def record_relay(
    session: AsyncSession,
    *,
    thread: Thread,
    member: Member,
    staff_chat_id: int,
    staff_message_id: int,
    role: RelayRole,
    message_id: int | None = None,
) -> Relay:
    """Remember that a message in a member's chat stands for ``thread`` (and its message)."""
    relay = Relay(
        workspace_id=thread.workspace_id,
        thread_id=thread.id,
        message_id=message_id,
        member_id=member.id,
        role=role,
        staff_chat_id=staff_chat_id,
        staff_message_id=staff_message_id,
    )
    session.add(relay)
    await session.flush()
    return relay


async def thread_of_relay(
    session: AsyncSession, *, actor: Member, staff_chat_id: int, staff_message_id: int
) -> Relayed | None:
    """Return the conversation a message in a member's chat stands for.

    None when the message is no relay, belongs to another shop, or its thread is
    outside the actor's reach: the reply is then an ordinary message.
    """
    row = (
        await session.execute(
            select(Relay, Thread)
            .join(Thread, Thread.id == Relay.thread_id)
            .where(
                Relay.staff_chat_id == staff_chat_id,
                Relay.staff_message_id == staff_message_id,
                Relay.workspace_id == actor.workspace_id,
            )
        )
    ).first()
    if row is None or not actor.active:
        return None
    relay, thread = row
    if not await may_handle(session, actor=actor, thread=thread):
        return None
    customer = await session.get(Customer, thread.customer_id)
    assert customer is not None  # noqa: S101 - enforced by the foreign key
    return Relayed(thread, customer, relay.message_id)
