"""Threads: a customer's messages in, and the conversation's open and closed life.

A conversation (``Thread``) opens with a customer's message and stays open until
a member answered and pressed Done, or answered and then nothing was said for
``QUIET_AFTER`` (``close_quiet``, run by a job). A conversation nobody answered
never closes by itself. The customer's next message after a close opens a new one.

The handler layer's order of calls:

1. A customer writes: ``threads.record_inbound`` stores it and says whether it is
   the first message of the conversation (send the acknowledgement) and who to
   tell. It updates the customer's last contact: a conversation counts as contact.
2. For each message sent into a member's chat about it (the copy of the content,
   the notice with buttons), ``relays.record_relay`` (after commit, many at once:
   ``relays.record_relays_together``), so that a Telegram reply to either finds
   the conversation again through ``relays.thread_of_relay``.
3. A member answers: ``replies.reply_target`` checks access and says where to send
   and how to sign; after Telegram accepted the message, ``replies.record_outbound``
   stores it.
4. ``threads.done`` closes; ``threads.close_quiet`` closes answered conversations
   gone quiet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit
from bot.crm.inbox.access import thread_for
from bot.crm.inbox.routing import active_member, thread_recipients
from bot.crm.models import (
    Campaign,
    CampaignRun,
    ChatMessage,
    CloseReason,
    Customer,
    Direction,
    Member,
    MessageKind,
    OutboxMessage,
    Thread,
    ThreadStatus,
)
from bot.crm.models.inbox import OPEN_THREAD
from bot.crm.store import insert_of
from bot.errors import Conflict
from bot.i18n import N_

QUIET_AFTER = timedelta(hours=24)
NO_LONGER_REACHABLE = N_("This customer can no longer be reached through the bot.")


@dataclass(frozen=True, slots=True)
class Inbound:
    """A customer's message as stored, and what the handler does next.

    ``first``: the message opened the conversation (acknowledge it).
    ``recipients``: the members to relay it to (the assignee, else the managers).
    ``campaign_name``: the campaign whose message it replied to, when it did.
    """

    thread: Thread
    message: ChatMessage
    first: bool
    recipients: tuple[Member, ...]
    campaign_run_id: int | None
    campaign_name: str | None


async def record_inbound(
    session: AsyncSession,
    *,
    customer: Customer,
    kind: MessageKind,
    text: str | None,
    file_id: str | None,
    tg_chat_id: int,
    tg_message_id: int,
    now: datetime,
    reply_to_message_id: int | None = None,
) -> Inbound:
    """Store a customer's message in their open conversation, opening one when there is none.

    ``reply_to_message_id`` is the message in the customer's chat they replied to;
    when it was a campaign message, the conversation remembers that campaign's run.

    Raises:
        Conflict: when the customer's record was erased.
    """
    if customer.erased_at is not None:
        raise Conflict(NO_LONGER_REACHABLE)
    thread, first = await _open_thread(session, customer, now)
    run_id, campaign_name = await _answered_campaign(session, customer, reply_to_message_id)
    if run_id is not None:
        thread.campaign_run_id = run_id
    message = ChatMessage(
        workspace_id=customer.workspace_id,
        thread_id=thread.id,
        customer_id=customer.id,
        direction=Direction.IN,
        kind=kind,
        text=text,
        file_id=file_id,
        tg_chat_id=tg_chat_id,
        tg_message_id=tg_message_id,
        created_at=now,
    )
    session.add(message)
    thread.last_inbound_at = now
    if thread.waiting_since is None:
        thread.waiting_since = now
    customer.last_contact_at = now
    await session.flush()
    people = await thread_recipients(session, thread=thread, customer=customer)
    return Inbound(thread, message, first, people, run_id, campaign_name)


async def done(session: AsyncSession, *, actor: Member, thread_id: int, now: datetime) -> Thread:
    """Close a conversation (the Done button); a closed one is returned unchanged.

    Members close a conversation after answering it; one closed unanswered (a
    "thanks" that needs no answer) simply leaves the inbox and counts as
    unanswered in no figure.

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the thread is not one the actor may handle.
    """
    thread, _customer = await thread_for(session, actor=actor, thread_id=thread_id, lock=True)
    if thread.status is ThreadStatus.CLOSED:
        return thread
    _close(thread, reason=CloseReason.DONE, now=now, by=actor.id)
    await audit.record(
        session,
        workspace_id=actor.workspace_id,
        actor_member_id=actor.id,
        action="thread.done",
        entity="chat_thread",
        entity_id=thread.id,
        details={
            "customer_id": thread.customer_id,
            "answered": thread.first_response_at is not None,
        },
    )
    await session.flush()
    return thread


async def close_quiet(
    session: AsyncSession, *, now: datetime, quiet: timedelta = QUIET_AFTER
) -> int:
    """Close every answered conversation with nothing said for ``quiet``; return how many."""
    result = await session.execute(
        update(Thread)
        .where(
            Thread.status == ThreadStatus.OPEN,
            Thread.waiting_since.is_(None),
            Thread.last_outbound_at <= now - quiet,
        )
        .values(status=ThreadStatus.CLOSED, closed_at=now, close_reason=CloseReason.QUIET)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _close(thread: Thread, *, reason: CloseReason, now: datetime, by: int | None) -> None:
    thread.status = ThreadStatus.CLOSED
    thread.closed_at = now
    thread.close_reason = reason
    thread.closed_by_member_id = by


async def open_thread_of(
    session: AsyncSession, *, customer: Customer, lock: bool = False
) -> Thread | None:
    """Return the customer's open conversation, if any; ``lock`` locks its row."""
    query = select(Thread).where(
        Thread.workspace_id == customer.workspace_id,
        Thread.customer_id == customer.id,
        Thread.status == ThreadStatus.OPEN,
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def _open_thread(
    session: AsyncSession, customer: Customer, now: datetime
) -> tuple[Thread, bool]:
    thread = await open_thread_of(session, customer=customer, lock=True)
    if thread is not None:
        if await active_member(session, thread.assignee_member_id) is None:
            # The assignee left: the conversation follows the record's current owner.
            owner = await active_member(session, customer.owner_member_id)
            thread.assignee_member_id = owner.id if owner is not None else None
        return thread, False
    owner = await active_member(session, customer.owner_member_id)
    insert = insert_of(session)
    # The partial unique index settles two first messages at once (two workers): the
    # loser inserts nothing and joins the winner's conversation.
    thread_id = await session.scalar(
        insert(Thread)
        .values(
            workspace_id=customer.workspace_id,
            customer_id=customer.id,
            assignee_member_id=owner.id if owner is not None else None,
            status=ThreadStatus.OPEN,
            opened_at=now,
            last_inbound_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Thread.customer_id], index_where=OPEN_THREAD)
        .returning(Thread.id)
    )
    if thread_id is None:
        thread = await open_thread_of(session, customer=customer, lock=True)
        assert thread is not None  # noqa: S101 - the conflicting row is committed and open
        return thread, False
    thread = await session.get(Thread, thread_id)
    assert thread is not None  # noqa: S101 - just inserted
    return thread, True


async def _answered_campaign(
    session: AsyncSession, customer: Customer, reply_to_message_id: int | None
) -> tuple[int | None, str | None]:
    if reply_to_message_id is None:
        return None, None
    row = (
        await session.execute(
            select(CampaignRun.id, Campaign.name)
            .join(OutboxMessage, OutboxMessage.run_id == CampaignRun.id)
            .join(Campaign, Campaign.id == CampaignRun.campaign_id)
            .where(
                OutboxMessage.workspace_id == customer.workspace_id,
                OutboxMessage.customer_id == customer.id,
                OutboxMessage.tg_message_id == reply_to_message_id,
            )
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)
