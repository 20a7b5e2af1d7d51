"""Replies: where a member's answer goes, and recording it once Telegram accepted it.

``reply_target`` is called before sending (access, the customer's chat, the
signature); ``record_outbound`` after Telegram answered OK, with the message id
it gave. An answer is a conversation reply, not a campaign message: it needs no
marketing consent and never counts towards the campaign cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.inbox import settings
from bot.crm.inbox.access import thread_for
from bot.crm.inbox.routing import active_member
from bot.crm.inbox.threads import NO_LONGER_REACHABLE, open_thread_of
from bot.crm.models import ChatMessage, Direction, Member, MessageKind, Thread, ThreadStatus
from bot.errors import Conflict


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where a member's answer goes and how it is signed.

    ``signature`` is the member's display name when the shop signs replies, else
    None; ``locale`` is the customer's language (for picking a quick reply);
    ``reachable`` is False after the customer blocked the bot (sending may still
    succeed if they unblocked it since).
    """

    thread_id: int
    customer_id: int
    customer_name: str
    chat_id: int
    locale: str | None
    signature: str | None
    reachable: bool


async def reply_target(session: AsyncSession, *, actor: Member, thread_id: int) -> ReplyTarget:
    """Return where the actor's answer to a conversation goes, before it is sent.

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the thread is not one the actor may handle.
        Conflict: when the customer was erased or has no Telegram chat with the bot.
    """
    thread, customer = await thread_for(session, actor=actor, thread_id=thread_id)
    if customer.erased_at is not None or customer.chat_id is None:
        raise Conflict(NO_LONGER_REACHABLE)
    shop = await settings.get_settings(session, workspace_id=actor.workspace_id)
    return ReplyTarget(
        thread_id=thread.id,
        customer_id=customer.id,
        customer_name=customer.name,
        chat_id=customer.chat_id,
        locale=customer.locale,
        signature=actor.display_name if shop.sign_replies else None,
        reachable=customer.reachable,
    )


async def record_outbound(
    session: AsyncSession,
    *,
    actor: Member,
    thread_id: int,
    kind: MessageKind,
    text: str | None,
    file_id: str | None,
    tg_chat_id: int,
    tg_message_id: int | None,
    now: datetime,
) -> ChatMessage:
    """Store a member's answer that Telegram accepted, and mark the conversation answered.

    The first answer sets the conversation's first response time. An answer on a
    closed conversation is stored in the customer's open one when they have one
    (it answers that), else in the closed one, which stays closed. A conversation
    nobody was assigned to (or whose assignee left) becomes the answerer's.

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the thread is not one the actor may handle.
        Conflict: when the customer's record was erased.
    """
    thread, customer = await thread_for(session, actor=actor, thread_id=thread_id, lock=True)
    if customer.erased_at is not None:
        raise Conflict(NO_LONGER_REACHABLE)
    if thread.status is ThreadStatus.CLOSED:
        thread = await open_thread_of(session, customer=customer, lock=True) or thread
    message = ChatMessage(
        workspace_id=thread.workspace_id,
        thread_id=thread.id,
        customer_id=customer.id,
        direction=Direction.OUT,
        kind=kind,
        text=text,
        file_id=file_id,
        tg_chat_id=tg_chat_id,
        tg_message_id=tg_message_id,
        member_id=actor.id,
        created_at=now,
    )
    session.add(message)
    thread.last_outbound_at = now
    if thread.status is ThreadStatus.OPEN:
        await _answered(session, thread, actor=actor, now=now)
    customer.last_contact_at = now
    await session.flush()
    return message


async def _answered(
    session: AsyncSession, thread: Thread, *, actor: Member, now: datetime
) -> None:
    if thread.first_response_at is None:
        thread.first_response_at = now
    # The answer ends the wait: the next unanswered message starts a new one, with
    # its own reminder and escalation.
    thread.waiting_since = None
    thread.sla_reminded_at = thread.sla_escalated_at = None
    if await active_member(session, thread.assignee_member_id) is None:
        thread.assignee_member_id = actor.id
